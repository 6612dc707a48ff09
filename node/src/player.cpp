// GStreamer playback of one bulletin: preroll to PAUSED, play to EOS, report wall-clock times.
#include "loa/node/player.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <gst/gst.h>

namespace loa::node {

namespace {

namespace fs = std::filesystem;

constexpr auto kPrerollTimeout = std::chrono::seconds(10);
// How often play() looks at the stop flag when the bus is quiet; the stop message usually wakes
// it sooner.
constexpr GstClockTime kBusPoll = 50 * GST_MSECOND;
// A stopped file-sink play gets this long to finalise its WAV header before it is cut.
constexpr auto kFinaliseTimeout = std::chrono::seconds(1);
// The longest wait for the last paced buffer to finish airing; decoders' buffers are far shorter.
constexpr GstClockTime kMaxTail = GST_SECOND;

constexpr const char* kStopMessage = "loa-stop";
constexpr const char* kFlowingMessage = "loa-flowing";

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// gst_init once per process; its failure is kept so every Player can report it as a value.
const std::string& gst_init_error() {
    static std::once_flag once;
    static std::string error;
    std::call_once(once, [] {
        GError* err = nullptr;
        if (!gst_init_check(nullptr, nullptr, &err)) {
            error = fmt::format("GStreamer could not start: {}", err ? err->message : "unknown");
            g_clear_error(&err);
        }
    });
    return error;
}

// Every GStreamer error reaches the caller through here, so they all read the same way.
std::string error_text(GstMessage* msg) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    std::string text = fmt::format("{}: {}", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                                   err ? err->message : "unknown error");
    // The debug string opens with GStreamer's source location and element path; the specifics
    // worth showing an operator (which file, which device, which decoder) follow its first line.
    std::string_view detail = debug ? debug : "";
    if (auto newline = detail.find('\n'); newline != std::string_view::npos) {
        std::string rest(detail.substr(newline + 1));
        std::replace(rest.begin(), rest.end(), '\n', ' ');
        while (!rest.empty() && rest.back() == ' ') {
            rest.pop_back();
        }
        if (!rest.empty()) {
            text += fmt::format(" ({})", rest);
        }
    }
    g_clear_error(&err);
    g_free(debug);
    return text;
}

// The ERROR already waiting on the bus after a failed state change, if GStreamer posted one.
std::string pending_error(GstBus* bus, std::string_view fallback) {
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (!msg) {
        return std::string(fallback);
    }
    std::string text = error_text(msg);
    gst_message_unref(msg);
    return text;
}

bool is_application(GstMessage* msg, const char* name) {
    const GstStructure* s = gst_message_get_structure(msg);
    return GST_MESSAGE_TYPE(msg) == GST_MESSAGE_APPLICATION && s && gst_structure_has_name(s, name);
}

// Creates an element straight into the bin, which sinks its floating ref: the bin owns it and
// the returned pointer is borrowed.
GstElement* add_element(GstElement* bin, const char* factory, const char* name) {
    GstElement* element = gst_element_factory_make(factory, name);
    if (element) {
        gst_bin_add(GST_BIN(bin), element);
    }
    return element;
}

// decodebin exposes its pads only once it has typefound the stream; link the first audio one.
void on_pad_added(GstElement*, GstPad* pad, gpointer user_data) {
    auto* convert = static_cast<GstElement*>(user_data);
    GstCaps* caps = gst_pad_get_current_caps(pad);  // ref taken
    if (!caps) {
        caps = gst_pad_query_caps(pad, nullptr);
    }
    bool audio =
        caps && gst_caps_get_size(caps) > 0 &&
        g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "audio/");
    if (caps) {
        gst_caps_unref(caps);
    }
    if (!audio) {
        return;  // video or subtitle streams stay unlinked; decodebin tolerates that
    }
    GstPad* sink = gst_element_get_static_pad(convert, "sink");  // ref taken
    if (!gst_pad_is_linked(sink)) {
        gst_pad_link(pad, sink);  // a failure surfaces as a not-linked streaming error
    }
    gst_object_unref(sink);
}

// Posts "loa-flowing" once the first decoded buffer has been converted: the evidence of a
// successful preroll when a synchronising identity keeps the sink from prerolling.
GstPadProbeReturn on_first_buffer(GstPad* pad, GstPadProbeInfo*, gpointer) {
    GstElement* parent = gst_pad_get_parent_element(pad);  // ref taken
    if (parent) {
        gst_element_post_message(
            parent, gst_message_new_application(GST_OBJECT(parent),
                                                gst_structure_new_empty(kFlowingMessage)));
        gst_object_unref(parent);
    }
    return GST_PAD_PROBE_REMOVE;
}

// Runs on the streaming thread when the pacing identity of a stopped file-sink play releases its
// next buffer: ends the stream at wavenc so it rewrites its header, and keeps the buffer blocked
// so nothing past the stop is written. Setting the pipeline to NULL later flushes the block away.
GstPadProbeReturn on_block_for_eos(GstPad* pad, GstPadProbeInfo* info, gpointer) {
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM &&
        GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
        return GST_PAD_PROBE_REMOVE;  // the media ended on its own: let its EOS through
    }
    GstPad* peer = gst_pad_get_peer(pad);  // ref taken
    if (peer) {
        gst_pad_send_event(peer, gst_event_new_eos());  // takes the event
        gst_object_unref(peer);
    }
    return GST_PAD_PROBE_OK;
}

}  // namespace

std::expected<SinkSpec, std::string> SinkSpec::parse(std::string_view text) {
    SinkSpec spec;
    if (text == "auto") {
        spec.kind = Kind::automatic;
        return spec;
    }
    if (text == "fake") {
        spec.kind = Kind::fake;
        return spec;
    }
    if (text == "alsa") {
        spec.kind = Kind::alsa;
        return spec;
    }
    if (text.starts_with("alsa:") && text.size() > 5) {
        spec.kind = Kind::alsa;
        spec.alsa_device = std::string(text.substr(5));
        return spec;
    }
    if (text.starts_with("file:") && text.size() > 5) {
        spec.kind = Kind::file;
        spec.file_dir = fs::path(std::string(text.substr(5)));
        return spec;
    }
    return std::unexpected(
        fmt::format("'{}' is not an audio sink (write auto, alsa, alsa:<device> such as alsa:hw:0, "
                    "file:<directory> or fake)",
                    text));
}

struct Player::Impl {
    SinkSpec sink_;
    // Owned by the player thread; stop() only reads bus_ under mutex_.
    GstElement* pipeline_ = nullptr;  // our ref (the floating one, sunk)
    GstBus* bus_ = nullptr;           // our ref
    std::mutex mutex_;
    std::atomic<bool> stop_requested_{false};
    fs::path output_file_;  // the WAV of a file sink, removed if preroll fails
    // Running time at which the last buffer released by the pacing identity ends: identity syncs
    // buffer starts, so EOS arrives one buffer before the audio would have finished airing.
    std::atomic<GstClockTime> paced_end_{GST_CLOCK_TIME_NONE};

    explicit Impl(SinkSpec sink) : sink_(std::move(sink)) {}

    ~Impl() { teardown(); }

    void teardown() {
        GstElement* pipeline = nullptr;
        GstBus* bus = nullptr;
        {
            std::lock_guard lock(mutex_);
            pipeline = std::exchange(pipeline_, nullptr);
            bus = std::exchange(bus_, nullptr);
        }
        if (pipeline) {
            // A child whose own state change failed (decodebin after a typefind error) makes the
            // first step report FAILURE while still in READY; the second attempt completes it.
            for (int attempt = 0; attempt < 3; ++attempt) {
                if (gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE) {
                    break;
                }
            }
            gst_object_unref(pipeline);
        }
        if (bus) {
            gst_object_unref(bus);
        }
    }

    std::unexpected<std::string> fail_preroll(std::string error) {
        teardown();
        if (!output_file_.empty()) {
            std::error_code ec;
            fs::remove(output_file_, ec);  // an empty or headless WAV would look like evidence
        }
        return std::unexpected(std::move(error));
    }

    // Adds the elements after audioresample; returns the first of them, or an error naming a
    // missing element.
    std::expected<GstElement*, std::string> add_sink_part(const std::string& output_name) {
        auto missing = [](const char* factory) {
            return std::unexpected(
                fmt::format("the GStreamer element '{}' is not installed", factory));
        };
        switch (sink_.kind) {
            case SinkSpec::Kind::automatic: {
                GstElement* out = add_element(pipeline_, "autoaudiosink", "sink");
                if (!out) {
                    return missing("autoaudiosink");
                }
                return out;
            }
            case SinkSpec::Kind::alsa: {
                GstElement* out = add_element(pipeline_, "alsasink", "sink");
                if (!out) {
                    return missing("alsasink");
                }
                if (!sink_.alsa_device.empty()) {
                    g_object_set(out, "device", sink_.alsa_device.c_str(), nullptr);
                }
                return out;
            }
            case SinkSpec::Kind::fake: {
                GstElement* out = add_element(pipeline_, "fakesink", "sink");
                if (!out) {
                    return missing("fakesink");
                }
                // Clocked, so a play lasts as long as the audio.
                g_object_set(out, "sync", TRUE, nullptr);
                return out;
            }
            case SinkSpec::Kind::file: {
                if (output_name.empty() || output_name.find('/') != std::string::npos) {
                    return std::unexpected(fmt::format(
                        "'{}' cannot name a WAV file (it must be non-empty, without '/')",
                        output_name));
                }
                std::error_code ec;
                fs::create_directories(sink_.file_dir, ec);
                if (ec) {
                    return std::unexpected(
                        fmt::format("cannot create {}: {}", sink_.file_dir.string(), ec.message()));
                }
                GstElement* pace = add_element(pipeline_, "identity", "pace");
                GstElement* enc = add_element(pipeline_, "wavenc", "wavenc");
                GstElement* out = add_element(pipeline_, "filesink", "sink");
                if (!pace || !enc || !out) {
                    return missing(!pace ? "identity" : !enc ? "wavenc" : "filesink");
                }
                // identity syncs each buffer to the clock, so the WAV is written at real-time
                // pace and the play takes as long as its airtime would.
                g_object_set(pace, "sync", TRUE, nullptr);
                output_file_ = sink_.file_dir / (output_name + ".wav");
                g_object_set(out, "location", output_file_.c_str(), nullptr);
                if (!gst_element_link_many(pace, enc, out, nullptr)) {
                    return std::unexpected(std::string("cannot link identity ! wavenc ! filesink"));
                }
                GstPad* paced = gst_element_get_static_pad(pace, "src");  // ref taken
                // The probe borrows this Impl, which outlives every pipeline it builds.
                gst_pad_add_probe(paced, GST_PAD_PROBE_TYPE_BUFFER, on_paced_buffer, this, nullptr);
                gst_object_unref(paced);
                return pace;
            }
        }
        return std::unexpected(std::string("unknown sink kind"));
    }

    static GstPadProbeReturn on_paced_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer self) {
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        GstEvent* event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);  // ref taken
        if (event && GST_BUFFER_PTS_IS_VALID(buffer)) {
            const GstSegment* segment = nullptr;
            gst_event_parse_segment(event, &segment);
            GstClockTime end = GST_BUFFER_PTS(buffer);
            if (GST_BUFFER_DURATION_IS_VALID(buffer)) {
                end += GST_BUFFER_DURATION(buffer);
            }
            GstClockTime running = gst_segment_to_running_time(segment, GST_FORMAT_TIME, end);
            if (GST_CLOCK_TIME_IS_VALID(running)) {
                static_cast<Impl*>(self)->paced_end_ = running;
            }
        }
        if (event) {
            gst_event_unref(event);
        }
        return GST_PAD_PROBE_OK;
    }

    // With the file sink, holds play() until the last written buffer would have finished airing,
    // so that its end time matches an audio sink's.
    void wait_for_paced_end() {
        const GstClockTime end = paced_end_;
        GstClock* clock = gst_element_get_clock(pipeline_);  // ref taken
        if (!clock || !GST_CLOCK_TIME_IS_VALID(end)) {
            if (clock) {
                gst_object_unref(clock);
            }
            return;
        }
        const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(pipeline_);
        gst_object_unref(clock);
        if (end > now) {
            // At most one buffer's duration; capped in case a bogus timestamp slipped through.
            std::this_thread::sleep_for(
                std::min(std::chrono::nanoseconds(end - now), std::chrono::nanoseconds(kMaxTail)));
        }
    }

    std::expected<void, std::string> preroll(const fs::path& media,
                                             const std::string& output_name) {
        teardown();
        stop_requested_ = false;
        paced_end_ = GST_CLOCK_TIME_NONE;
        output_file_.clear();
        if (const std::string& init = gst_init_error(); !init.empty()) {
            return std::unexpected(init);
        }

        GstElement* pipeline = gst_pipeline_new("loa-player");
        {
            std::lock_guard lock(mutex_);
            pipeline_ = GST_ELEMENT(gst_object_ref_sink(pipeline));  // the ref is ours
            bus_ = gst_element_get_bus(pipeline_);                   // ref taken
        }

        GstElement* src = add_element(pipeline_, "filesrc", "src");
        GstElement* decode = add_element(pipeline_, "decodebin", "decode");
        GstElement* convert = add_element(pipeline_, "audioconvert", "convert");
        GstElement* resample = add_element(pipeline_, "audioresample", "resample");
        if (!src || !decode || !convert || !resample) {
            return fail_preroll(fmt::format("the GStreamer element '{}' is not installed",
                                            !src       ? "filesrc"
                                            : !decode  ? "decodebin"
                                            : !convert ? "audioconvert"
                                                       : "audioresample"));
        }
        // A property, not text in a launch line, so no path needs quoting.
        g_object_set(src, "location", media.c_str(), nullptr);

        auto sink_part = add_sink_part(output_name);
        if (!sink_part) {
            return fail_preroll(std::move(sink_part.error()));
        }
        if (!gst_element_link(src, decode) ||
            !gst_element_link_many(convert, resample, *sink_part, nullptr)) {
            return fail_preroll("cannot link the playback pipeline");
        }
        // The closure holds its own ref on convert, dropped when decodebin is disposed.
        g_signal_connect_data(
            decode, "pad-added", G_CALLBACK(on_pad_added), gst_object_ref(convert),
            [](gpointer data, GClosure*) { gst_object_unref(data); }, GConnectFlags(0));

        GstPad* resample_src = gst_element_get_static_pad(resample, "src");  // ref taken
        gst_pad_add_probe(resample_src, GST_PAD_PROBE_TYPE_BUFFER, on_first_buffer, nullptr,
                          nullptr);
        gst_object_unref(resample_src);

        GstStateChangeReturn ret = gst_element_set_state(pipeline_, GST_STATE_PAUSED);
        if (ret == GST_STATE_CHANGE_FAILURE) {
            return fail_preroll(pending_error(bus_, "the pipeline refused to pause"));
        }
        // A real sink prerolls (ASYNC_DONE); with the file sink the synchronising identity makes
        // the pipeline NO_PREROLL, and the first decoded buffer is what shows it is ready.
        const bool wait_async = ret == GST_STATE_CHANGE_ASYNC;
        const auto deadline = std::chrono::steady_clock::now() + kPrerollTimeout;
        while (true) {
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= decltype(left)::zero()) {
                return fail_preroll(fmt::format("timed out after {} s prerolling {}",
                                                kPrerollTimeout.count(), media.string()));
            }
            GstMessage* msg = gst_bus_timed_pop_filtered(
                bus_, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count(),
                GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE |
                               GST_MESSAGE_APPLICATION));
            if (!msg) {
                continue;
            }
            bool ready = false;
            if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
                std::string error = error_text(msg);
                gst_message_unref(msg);
                return fail_preroll(std::move(error));
            }
            if (wait_async) {
                ready = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ASYNC_DONE &&
                        GST_MESSAGE_SRC(msg) == GST_OBJECT(pipeline_);
            } else {
                ready = is_application(msg, kFlowingMessage);
            }
            gst_message_unref(msg);
            if (ready) {
                return {};
            }
        }
    }

    // After a stop, lets the file sink close a valid WAV holding just what was played.
    void finalise_stopped_file() {
        GstElement* pace = gst_bin_get_by_name(GST_BIN(pipeline_), "pace");  // ref taken
        GstPad* pad = gst_element_get_static_pad(pace, "src");               // ref taken
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, on_block_for_eos, nullptr,
                          nullptr);
        gst_object_unref(pad);
        gst_object_unref(pace);
        GstMessage* msg = gst_bus_timed_pop_filtered(
            bus_, std::chrono::duration_cast<std::chrono::nanoseconds>(kFinaliseTimeout).count(),
            GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        if (msg) {
            gst_message_unref(msg);
        }
    }

    PlayResult play() {
        PlayResult result;
        if (!pipeline_) {
            result.error = "nothing is prerolled (preroll() must succeed before play())";
            return result;
        }
        if (stop_requested_) {
            // stop() between preroll and play cancels the play before it airs.
            result.stopped = true;
            result.error = "stopped";
            teardown();
            return result;
        }

        result.start_us = now_us();
        if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
            result.start_us = 0;  // it never aired
            result.end_us = now_us();
            result.error = pending_error(bus_, "the pipeline refused to play");
            teardown();
            return result;
        }
        while (true) {
            GstMessage* msg = gst_bus_timed_pop_filtered(
                bus_, kBusPoll,
                GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION));
            const GstMessageType type = msg ? GST_MESSAGE_TYPE(msg) : GST_MESSAGE_UNKNOWN;
            // The media's own end wins over a stop() that arrives with it.
            if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) {
                if (type == GST_MESSAGE_EOS && sink_.kind == SinkSpec::Kind::file) {
                    wait_for_paced_end();
                }
                result.end_us = now_us();
                result.ok = type == GST_MESSAGE_EOS;
                if (!result.ok) {
                    result.error = error_text(msg);
                }
                gst_message_unref(msg);
                break;
            }
            if (msg) {
                gst_message_unref(msg);  // the stop wake-up, or someone else's application message
            }
            if (stop_requested_) {
                result.end_us = now_us();
                result.stopped = true;
                result.error = "stopped";
                if (sink_.kind == SinkSpec::Kind::file) {
                    finalise_stopped_file();
                }
                break;
            }
        }
        teardown();
        return result;
    }

    void stop() {
        stop_requested_ = true;
        std::lock_guard lock(mutex_);
        if (bus_) {
            // Wakes play() at once instead of at its next poll.
            gst_bus_post(
                bus_, gst_message_new_application(nullptr, gst_structure_new_empty(kStopMessage)));
        }
    }
};

Player::Player(SinkSpec sink) : impl_(std::make_unique<Impl>(std::move(sink))) {
    (void)gst_init_error();
}

Player::~Player() = default;

std::expected<void, std::string> Player::preroll(const std::filesystem::path& media,
                                                 const std::string& output_name) {
    return impl_->preroll(media, output_name);
}

PlayResult Player::play() {
    return impl_->play();
}

void Player::stop() {
    impl_->stop();
}

}  // namespace loa::node
