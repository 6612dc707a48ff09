// GStreamer playback of one item: preroll to PAUSED at its offset, start on the wall clock at the
// scheduled instant, report what aired (times, audio levels, frames).
#include "loa/node/player.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <gst/gst.h>

#include "audio_levels.hpp"
#include "gst_support.hpp"
#include "wall_clock.hpp"

namespace loa::node {

namespace {

namespace fs = std::filesystem;
using namespace detail;  // gst_support.hpp, wall_clock.hpp

constexpr auto kPrerollTimeout = std::chrono::seconds(10);
// How often play_at() looks at the stop flag when the bus is quiet; the stop message usually
// wakes it sooner.
constexpr GstClockTime kBusPoll = 50 * GST_MSECOND;
// A stopped file-sink play gets this long to finalise its WAV header before it is cut.
constexpr auto kFinaliseTimeout = std::chrono::seconds(1);
// The longest wait for the last paced buffer to finish airing; decoders' buffers are far shorter.
constexpr GstClockTime kMaxTail = GST_SECOND;
// The pipeline goes to PLAYING this long before the start instant and its sinks then wait on the
// clock for the instant itself, so the state change's own cost (a latency query, an audio device
// opening its ring buffer, a loaded CPU) takes nothing from the start's precision.
constexpr std::int64_t kPlayingLeadUs = 200'000;
// "At once" is still a moment ahead, so that the first buffer is not already late when the
// pipeline reaches PLAYING.
constexpr std::int64_t kImmediateLeadUs = 30'000;
// The level element's interval: the grain of silent_seconds.
constexpr GstClockTime kLevelInterval = 100 * GST_MSECOND;

constexpr const char* kStopMessage = "loa-stop";
constexpr const char* kFlowingMessage = "loa-flowing";
constexpr const char* kNoStreamMessage = "loa-no-stream";

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

std::expected<DisplaySpec, std::string> DisplaySpec::parse(std::string_view text) {
    DisplaySpec spec;
    if (text == "auto") {
        spec.kind = Kind::automatic;
        return spec;
    }
    if (text == "kms") {
        spec.kind = Kind::kms;
        return spec;
    }
    if (text == "fake") {
        spec.kind = Kind::fake;
        return spec;
    }
    return std::unexpected(fmt::format(
        "'{}' is not a display (write auto, kms for an LED board driven through DRM/KMS, "
        "or fake)",
        text));
}

struct Player::Impl {
    PlayerOptions options_;
    std::atomic<double> volume_;
    // Owned by the player thread; stop() and set_volume() only read them under mutex_.
    GstElement* pipeline_ = nullptr;  // our ref (the floating one, sunk)
    GstBus* bus_ = nullptr;           // our ref
    std::mutex mutex_;
    std::atomic<bool> stop_requested_{false};

    // The item prerolled and what its pipeline is made of. Set on the player thread before the
    // pipeline leaves NULL, read by the streaming threads' callbacks afterwards; the elements are
    // borrowed from pipeline_.
    PlayItem item_;
    bool async_preroll_ = true;     // false when the pacing identity makes it NO_PREROLL
    bool measures_render_ = false;  // a probe or handoff sees the first buffer rendered
    GstElement* entry_ = nullptr;   // where decodebin's used stream goes in
    fs::path output_file_;          // the WAV of a file sink, removed if nothing aired
    detail::LevelMeter levels_;     // fed by the player thread from the bus

    // Written by streaming threads.
    std::atomic<bool> stream_linked_{false};
    // Running time of the first buffer reaching the synchronising element since the last flush.
    std::atomic<GstClockTime> first_running_time_{GST_CLOCK_TIME_NONE};
    std::atomic<std::int64_t> rendered_start_us_{0};  // wall time of the first render, 0 before
    // Running time at which the last buffer released by the pacing identity ends: identity syncs
    // buffer starts, so EOS arrives one buffer before the audio would have finished airing.
    std::atomic<GstClockTime> paced_end_{GST_CLOCK_TIME_NONE};

    // Of the current play_at().
    std::int64_t start_instant_us_ = 0;
    std::int64_t playing_since_us_ = 0;  // 0 until the pipeline reached PLAYING
    std::atomic<bool> playing_{false};   // playing_since_us_ != 0, for other threads

    explicit Impl(PlayerOptions options)
        : options_(std::move(options)),
          volume_(std::isnan(options_.volume) ? 1.0 : std::clamp(options_.volume, 0.0, 1.0)),
          levels_(options_.silence_threshold_dbfs) {}

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
        entry_ = nullptr;  // only now: in NULL no streaming thread can be linking a pad to it
    }

    void remove_output_file() {
        if (!output_file_.empty()) {
            std::error_code ec;
            fs::remove(output_file_, ec);  // an empty or headless WAV would look like evidence
        }
    }

    std::unexpected<std::string> fail_preroll(std::string error) {
        teardown();
        remove_output_file();
        return std::unexpected(std::move(error));
    }

    // ---- streaming-thread callbacks; `self` is this Impl, which outlives every pipeline ----

    // decodebin exposes its pads only once it has typefound the stream: the first one of the
    // item's kind goes to entry_, every other one is discarded.
    static void on_pad_added(GstElement* decode, GstPad* pad, gpointer self) {
        auto* impl = static_cast<Impl*>(self);
        const char* wanted = impl->item_.kind == MediaKind::audio ? "audio/" : "video/";
        if (pad_carries(pad, wanted) && !impl->stream_linked_.exchange(true)) {
            GstPad* input = gst_element_get_static_pad(impl->entry_, "sink");  // ref taken
            const bool linked = GST_PAD_LINK_SUCCESSFUL(gst_pad_link(pad, input));
            gst_object_unref(input);
            if (linked) {
                return;
            }
            impl->stream_linked_ = false;  // no-more-pads then reports the missing stream
        }
        discard_stream(decode, pad);
    }

    // Without this, media lacking the item's kind of stream would only time out: nothing would
    // ever reach the sink to preroll it.
    static void on_no_more_pads(GstElement* decode, gpointer self) {
        if (!static_cast<Impl*>(self)->stream_linked_) {
            post_application(decode, kNoStreamMessage);
        }
    }

    // On the input of the element that waits on the clock (the sink, or the pacing identity):
    // notes the running time of the first buffer since the last flush, which play_at() turns
    // into the base time, and tells preroll() that data flows (the evidence of a successful
    // preroll when the identity keeps the sink from prerolling).
    static GstPadProbeReturn on_sync_input(GstPad* pad, GstPadProbeInfo* info, gpointer self) {
        auto* impl = static_cast<Impl*>(self);
        if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_FLUSH) {
            if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_FLUSH_STOP) {
                impl->first_running_time_ = GST_CLOCK_TIME_NONE;
            }
            return GST_PAD_PROBE_OK;
        }
        if (!(GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) ||
            GST_CLOCK_TIME_IS_VALID(impl->first_running_time_.load())) {
            return GST_PAD_PROBE_OK;
        }
        impl->first_running_time_ = running_time_of(pad, GST_PAD_PROBE_INFO_BUFFER(info));
        GstElement* parent = gst_pad_get_parent_element(pad);  // ref taken
        if (parent) {
            post_application(parent, kFlowingMessage);
            gst_object_unref(parent);
        }
        return GST_PAD_PROBE_OK;
    }

    // Before the seek to a start offset, the level element sees the audio prerolled at the
    // media's beginning, which will never air. Marked as gaps, those buffers add nothing to its
    // sums (it resets its frame count, not its sums, at the seek's discontinuity), and its
    // messages stay off until the seek's flush has passed.
    static GstPadProbeReturn on_level_input(GstPad* pad, GstPadProbeInfo* info, gpointer) {
        if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_FLUSH) {
            if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_FLUSH_STOP) {
                return GST_PAD_PROBE_OK;
            }
            GstElement* level = gst_pad_get_parent_element(pad);  // ref taken
            if (level) {
                g_object_set(level, "post-messages", TRUE, nullptr);
                gst_object_unref(level);
            }
            return GST_PAD_PROBE_REMOVE;
        }
        if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
            // Writable metadata only: the samples themselves are shared, not copied.
            GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
            GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_GAP);
            GST_PAD_PROBE_INFO_DATA(info) = buffer;
        }
        return GST_PAD_PROBE_OK;
    }

    // fakesink's handoff comes from its render, after its wait on the clock: the moment the first
    // buffer "aired".
    static void on_handoff(GstElement*, GstBuffer*, GstPad*, gpointer self) {
        auto* impl = static_cast<Impl*>(self);
        if (impl->rendered_start_us_.load(std::memory_order_relaxed) == 0) {
            std::int64_t none = 0;
            impl->rendered_start_us_.compare_exchange_strong(none, now_us());
        }
    }

    // After the pacing identity, i.e. after its wait on the clock.
    static GstPadProbeReturn on_paced_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer self) {
        auto* impl = static_cast<Impl*>(self);
        if (impl->rendered_start_us_.load(std::memory_order_relaxed) == 0) {
            std::int64_t none = 0;
            impl->rendered_start_us_.compare_exchange_strong(none, now_us());
        }
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
                impl->paced_end_ = running;
            }
        }
        if (event) {
            gst_event_unref(event);
        }
        return GST_PAD_PROBE_OK;
    }

    // ---- building ----

    std::expected<GstElement*, std::string> make_fakesink(const char* name) {
        GstElement* out = add_element(pipeline_, "fakesink", name);
        if (!out) {
            return missing_element("fakesink");
        }
        // Clocked, so a play lasts as long as the media; the handoff tells when it started.
        g_object_set(out, "sync", TRUE, "signal-handoffs", TRUE, "enable-last-sample", FALSE,
                     nullptr);
        g_signal_connect(out, "handoff", G_CALLBACK(on_handoff), this);
        measures_render_ = true;
        return out;
    }

    // Adds the elements after the level meter; returns the first of them, or an error naming a
    // missing element. `clocked` is the element whose input waits on the clock.
    std::expected<GstElement*, std::string> add_audio_output(GstElement*& clocked) {
        const SinkSpec& sink = options_.audio;
        switch (sink.kind) {
            case SinkSpec::Kind::automatic: {
                GstElement* out = add_element(pipeline_, "autoaudiosink", "sink");
                if (!out) {
                    return missing_element("autoaudiosink");
                }
                return clocked = out;
            }
            case SinkSpec::Kind::alsa: {
                GstElement* out = add_element(pipeline_, "alsasink", "sink");
                if (!out) {
                    return missing_element("alsasink");
                }
                if (!sink.alsa_device.empty()) {
                    g_object_set(out, "device", sink.alsa_device.c_str(), nullptr);
                }
                return clocked = out;
            }
            case SinkSpec::Kind::fake: {
                auto out = make_fakesink("sink");
                if (out) {
                    clocked = *out;
                }
                return out;
            }
            case SinkSpec::Kind::file: {
                const std::string& name = item_.output_name;
                if (name.empty() || name.find('/') != std::string::npos) {
                    return std::unexpected(fmt::format(
                        "'{}' cannot name a WAV file (it must be non-empty, without '/')", name));
                }
                std::error_code ec;
                fs::create_directories(sink.file_dir, ec);
                if (ec) {
                    return std::unexpected(
                        fmt::format("cannot create {}: {}", sink.file_dir.string(), ec.message()));
                }
                GstElement* pace = add_element(pipeline_, "identity", "pace");
                GstElement* enc = add_element(pipeline_, "wavenc", "wavenc");
                GstElement* out = add_element(pipeline_, "filesink", "sink");
                if (!pace || !enc || !out) {
                    return missing_element(!pace ? "identity" : !enc ? "wavenc" : "filesink");
                }
                // identity syncs each buffer to the clock, so the WAV is written at real-time
                // pace and the play takes as long as its airtime would.
                g_object_set(pace, "sync", TRUE, nullptr);
                output_file_ = sink.file_dir / (name + ".wav");
                g_object_set(out, "location", output_file_.c_str(), nullptr);
                if (!gst_element_link_many(pace, enc, out, nullptr)) {
                    return std::unexpected(std::string("cannot link identity ! wavenc ! filesink"));
                }
                GstPad* paced = gst_element_get_static_pad(pace, "src");  // ref taken
                gst_pad_add_probe(paced, GST_PAD_PROBE_TYPE_BUFFER, on_paced_buffer, this, nullptr);
                gst_object_unref(paced);
                measures_render_ = true;
                async_preroll_ = false;
                return clocked = pace;
            }
        }
        return std::unexpected(std::string("unknown audio sink kind"));
    }

    std::expected<GstElement*, std::string> add_display() {
        switch (options_.display.kind) {
            case DisplaySpec::Kind::automatic: {
                GstElement* out = add_element(pipeline_, "autovideosink", "display");
                if (!out) {
                    return missing_element("autovideosink");
                }
                return out;
            }
            case DisplaySpec::Kind::kms: {
                GstElement* out = add_element(pipeline_, "kmssink", "display");
                if (!out) {
                    return missing_element("kmssink");
                }
                return out;
            }
            case DisplaySpec::Kind::fake:
                return make_fakesink("display");
        }
        return std::unexpected(std::string("unknown display kind"));
    }

    // `convert ! resample ! volume ! level ! <output>`. Level comes after volume: it measures
    // what went to the amplifier, so a bulletin aired at volume 0 shows as silence.
    std::expected<GstElement*, std::string> build_audio(bool masks_preroll) {
        GstElement* convert = add_element(pipeline_, "audioconvert", "convert");
        GstElement* resample = add_element(pipeline_, "audioresample", "resample");
        GstElement* volume = add_element(pipeline_, "volume", "volume");
        GstElement* level = add_element(pipeline_, "level", "level");
        if (!convert || !resample || !volume || !level) {
            return missing_element(!convert    ? "audioconvert"
                                   : !resample ? "audioresample"
                                   : !volume   ? "volume"
                                               : "level");
        }
        g_object_set(volume, "volume", volume_.load(), nullptr);
        g_object_set(level, "interval", kLevelInterval, "post-messages", !masks_preroll, nullptr);
        GstElement* clocked = nullptr;
        auto output = add_audio_output(clocked);
        if (!output) {
            return std::unexpected(std::move(output.error()));
        }
        if (!gst_element_link_many(convert, resample, volume, level, *output, nullptr)) {
            return std::unexpected(std::string("cannot link the audio pipeline"));
        }
        if (masks_preroll) {
            GstPad* input = gst_element_get_static_pad(level, "sink");  // ref taken
            gst_pad_add_probe(
                input, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                on_level_input, nullptr, nullptr);
            gst_object_unref(input);
        }
        entry_ = convert;
        return clocked;
    }

    // Video: `videoconvert ! videoscale ! <display>`. Image: `videoconvert ! videoscale !
    // imagefreeze ! <display>`, the picture converted once and then repeated as frames.
    std::expected<GstElement*, std::string> build_panel() {
        GstElement* convert = add_element(pipeline_, "videoconvert", "convert");
        GstElement* scale = add_element(pipeline_, "videoscale", "scale");
        GstElement* freeze = nullptr;
        if (item_.kind == MediaKind::image) {
            freeze = add_element(pipeline_, "imagefreeze", "freeze");
            if (!freeze) {
                return missing_element("imagefreeze");
            }
        }
        if (!convert || !scale) {
            return missing_element(!convert ? "videoconvert" : "videoscale");
        }
        auto display = add_display();
        if (!display) {
            return display;
        }
        const bool linked = freeze
                                ? gst_element_link_many(convert, scale, freeze, *display, nullptr)
                                : gst_element_link_many(convert, scale, *display, nullptr);
        if (!linked) {
            return std::unexpected(std::string("cannot link the picture pipeline"));
        }
        entry_ = convert;
        return *display;
    }

    std::string no_stream_text() const {
        if (item_.kind == MediaKind::audio) {
            return fmt::format(
                "{} has no sound to play: it holds no audio stream (a picture or a silent video "
                "cannot go to a loudspeaker)",
                item_.media.string());
        }
        return fmt::format(
            "{} has no picture to show: it holds no video stream (sound alone cannot go to a "
            "panel)",
            item_.media.string());
    }

    // Waits for the pipeline to be ready to start: ASYNC_DONE from the pipeline once its sink has
    // prerolled, or, with the pacing identity, the first buffer reaching it.
    std::expected<void, std::string> wait_prerolled() {
        const auto deadline = std::chrono::steady_clock::now() + kPrerollTimeout;
        while (true) {
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= decltype(left)::zero()) {
                return std::unexpected(fmt::format("timed out after {} s prerolling {}",
                                                   kPrerollTimeout.count(), item_.media.string()));
            }
            GstMessage* msg = gst_bus_timed_pop_filtered(
                bus_, std::chrono::duration_cast<std::chrono::nanoseconds>(left).count(),
                GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE |
                               GST_MESSAGE_APPLICATION | GST_MESSAGE_ELEMENT));
            if (!msg) {
                continue;
            }
            if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
                std::string error = error_text(msg);
                gst_message_unref(msg);
                return std::unexpected(std::move(error));
            }
            if (is_application(msg, kNoStreamMessage)) {
                gst_message_unref(msg);
                return std::unexpected(no_stream_text());
            }
            // The first measurements of a play that starts at the beginning come while it
            // prerolls: they are of the audio that will air first.
            levels_.add(msg);
            const bool ready = async_preroll_ ? GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ASYNC_DONE &&
                                                    GST_MESSAGE_SRC(msg) == GST_OBJECT(pipeline_)
                                              : is_application(msg, kFlowingMessage);
            gst_message_unref(msg);
            if (ready) {
                return {};
            }
        }
    }

    // Moves the prerolled pipeline to the item's start offset and end, and waits for the new
    // preroll there: the first buffer then is the first to air.
    std::expected<void, std::string> seek_to_item() {
        const bool image = item_.kind == MediaKind::image;
        const std::int64_t offset_ns = image ? 0 : item_.offset_us * 1000;
        if (offset_ns > 0) {
            gint64 duration = -1;
            if (gst_element_query_duration(pipeline_, GST_FORMAT_TIME, &duration) &&
                duration >= 0 && offset_ns >= duration) {
                return std::unexpected(fmt::format("cannot start {} {:.3f} s in: it lasts {:.3f} s",
                                                   item_.media.string(), offset_ns / 1e9,
                                                   static_cast<double>(duration) / 1e9));
            }
        }
        const bool bounded = item_.display_us > 0;
        const gint64 stop_ns = bounded ? offset_ns + item_.display_us * 1000 : -1;
        if (!gst_element_seek(pipeline_, 1.0, GST_FORMAT_TIME,
                              GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                              GST_SEEK_TYPE_SET, offset_ns,
                              bounded ? GST_SEEK_TYPE_SET : GST_SEEK_TYPE_NONE, stop_ns)) {
            return std::unexpected(
                fmt::format("cannot seek in {} to {:.3f} s (the file does not allow seeking)",
                            item_.media.string(), offset_ns / 1e9));
        }
        return wait_prerolled();
    }

    std::expected<void, std::string> preroll(const PlayItem& item) {
        teardown();
        stop_requested_ = false;
        item_ = item;
        async_preroll_ = true;
        measures_render_ = false;
        output_file_.clear();
        levels_.reset();
        stream_linked_ = false;
        first_running_time_ = GST_CLOCK_TIME_NONE;
        rendered_start_us_ = 0;
        paced_end_ = GST_CLOCK_TIME_NONE;

        if (item.media.empty()) {
            return std::unexpected(std::string("no media file given to preroll"));
        }
        if (item.offset_us < 0 || item.display_us < 0) {
            return std::unexpected(fmt::format(
                "{}: the start offset ({} µs) and display time ({} µs) cannot be negative",
                item.media.string(), item.offset_us, item.display_us));
        }
        if (item.kind == MediaKind::image && item.display_us == 0) {
            return std::unexpected(
                fmt::format("{}: a picture needs a display time (display_us must be more than 0)",
                            item.media.string()));
        }
        if (const std::string& init = gst_init_error(); !init.empty()) {
            return std::unexpected(init);
        }

        GstElement* pipeline = gst_pipeline_new("loa-player");
        {
            std::lock_guard lock(mutex_);
            pipeline_ = GST_ELEMENT(gst_object_ref_sink(pipeline));  // the ref is ours
            bus_ = gst_element_get_bus(pipeline_);                   // ref taken
        }
        // play_at() sets the base time itself, from the scheduled instant; with no start time
        // the pipeline never replaces it (not at PLAYING, not after a flushing seek).
        gst_pipeline_use_clock(GST_PIPELINE(pipeline_), realtime_clock());
        gst_element_set_start_time(pipeline_, GST_CLOCK_TIME_NONE);

        GstElement* src = add_element(pipeline_, "filesrc", "src");
        GstElement* decode = add_element(pipeline_, "decodebin", "decode");
        if (!src || !decode) {
            return fail_preroll(missing_element(!src ? "filesrc" : "decodebin").error());
        }
        // A property, not text in a launch line, so no path needs quoting.
        g_object_set(src, "location", item.media.c_str(), nullptr);
        if (!gst_element_link(src, decode)) {
            return fail_preroll("cannot link filesrc ! decodebin");
        }

        const bool needs_seek =
            (item.kind != MediaKind::image && item.offset_us > 0) || item.display_us > 0;
        auto clocked = item.kind == MediaKind::audio ? build_audio(needs_seek) : build_panel();
        if (!clocked) {
            return fail_preroll(std::move(clocked.error()));
        }
        GstPad* clocked_input = gst_element_get_static_pad(*clocked, "sink");  // ref taken
        gst_pad_add_probe(
            clocked_input,
            GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_FLUSH),
            on_sync_input, this, nullptr);
        gst_object_unref(clocked_input);
        g_signal_connect(decode, "pad-added", G_CALLBACK(on_pad_added), this);
        g_signal_connect(decode, "no-more-pads", G_CALLBACK(on_no_more_pads), this);

        GstStateChangeReturn ret = gst_element_set_state(pipeline_, GST_STATE_PAUSED);
        if (ret == GST_STATE_CHANGE_FAILURE) {
            return fail_preroll(pending_error(bus_, "the pipeline refused to pause"));
        }
        // A real sink prerolls (ASYNC_DONE); with the file sink the synchronising identity makes
        // the pipeline NO_PREROLL, and the first buffer reaching it is what shows it is ready.
        async_preroll_ = ret == GST_STATE_CHANGE_ASYNC;
        if (auto ready = wait_prerolled(); !ready) {
            return fail_preroll(std::move(ready.error()));
        }
        if (needs_seek) {
            if (auto ready = seek_to_item(); !ready) {
                return fail_preroll(std::move(ready.error()));
            }
        }
        return {};
    }

    // ---- playing ----

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

    // With the file sink, holds play_at() until the last written buffer would have finished
    // airing, so that its end time matches an audio sink's.
    void wait_for_paced_end() {
        const GstClockTime end = paced_end_;
        if (!GST_CLOCK_TIME_IS_VALID(end)) {
            return;
        }
        const GstClockTime now =
            gst_clock_get_time(realtime_clock()) - gst_element_get_base_time(pipeline_);
        if (end > now) {
            // At most one buffer's duration; capped in case a bogus timestamp slipped through.
            std::this_thread::sleep_for(
                std::min(std::chrono::nanoseconds(end - now), std::chrono::nanoseconds(kMaxTail)));
        }
    }

    // Sleeps on the bus until `until_us` (wall clock), keeping level measurements. Returns an
    // error posted meanwhile, or "stopped".
    std::expected<void, std::string> wait_on_bus_until(std::int64_t until_us) {
        while (true) {
            if (stop_requested_) {
                return std::unexpected(std::string("stopped"));
            }
            const std::int64_t left_us = until_us - now_us();
            if (left_us <= 0) {
                return {};
            }
            GstMessage* msg = gst_bus_timed_pop_filtered(
                bus_, std::min<GstClockTime>(kBusPoll, left_us * GST_USECOND),
                GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION | GST_MESSAGE_ELEMENT));
            if (!msg) {
                continue;
            }
            if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
                std::string error = error_text(msg);
                gst_message_unref(msg);
                return std::unexpected(std::move(error));
            }
            levels_.add(msg);
            gst_message_unref(msg);  // a level measurement, the stop wake-up, or someone else's
        }
    }

    // When the first sample or frame aired, as of `at_us`; 0 if nothing had.
    std::int64_t aired_start(std::int64_t at_us) const {
        if (measures_render_) {
            return rendered_start_us_;
        }
        // Audio devices and real displays render on their own: the computed instant is the best
        // evidence, or the moment PLAYING was reached if that came later.
        if (playing_since_us_ == 0) {
            return 0;
        }
        const std::int64_t start = std::max(start_instant_us_, playing_since_us_);
        return at_us >= start ? start : 0;
    }

    std::uint64_t frames_rendered() {
        GstElement* display = gst_bin_get_by_name(GST_BIN(pipeline_), "display");  // ref taken
        if (!display) {
            return 0;
        }
        std::uint64_t rendered = 0;
        if (GstElement* counter = counting_sink(display)) {  // ref taken
            GstStructure* stats = nullptr;
            g_object_get(counter, "stats", &stats, nullptr);  // a copy, ours to free
            guint64 value = 0;
            if (stats && gst_structure_get_uint64(stats, "rendered", &value)) {
                rendered = value;
            }
            if (stats) {
                gst_structure_free(stats);
            }
            gst_object_unref(counter);
        }
        gst_object_unref(display);
        return rendered;
    }

    // The measurements still queued when a play is cut: the audio they cover went through.
    void drain_levels() {
        while (GstMessage* msg = gst_bus_pop_filtered(bus_, GST_MESSAGE_ELEMENT)) {
            levels_.add(msg);
            gst_message_unref(msg);
        }
    }

    PlayResult finish(PlayResult result) {
        playing_ = false;
        if (result.end_us == 0) {
            result.end_us = now_us();
        }
        result.start_us = aired_start(result.end_us);
        // A first buffer rendered in the very moment of a stop aired for no time at all.
        result.end_us = std::max(result.end_us, result.start_us);
        if (result.start_us == 0) {
            result.end_us = 0;  // nothing aired: no airtime to claim
        } else if (item_.kind == MediaKind::audio) {
            result.levels = levels_.result();
        }
        if (item_.kind != MediaKind::audio) {
            result.frames_rendered = frames_rendered();
        }
        const bool aired = result.start_us != 0;
        if (result.stopped && aired && options_.audio.kind == SinkSpec::Kind::file &&
            item_.kind == MediaKind::audio) {
            finalise_stopped_file();
        }
        teardown();
        if (!aired && item_.kind == MediaKind::audio) {
            remove_output_file();
        }
        return result;
    }

    PlayResult play_at(std::int64_t start_at_us) {
        PlayResult result;
        if (!pipeline_) {
            result.error = "nothing is prerolled (preroll() must succeed before play())";
            return result;
        }
        start_instant_us_ = std::max(start_at_us, now_us() + kImmediateLeadUs);
        playing_since_us_ = 0;

        if (auto waited = wait_on_bus_until(start_instant_us_ - kPlayingLeadUs); !waited) {
            // Cancelled or failed before anything aired.
            result.stopped = stop_requested_;
            result.error = std::move(waited.error());
            result.end_us = now_us();
            return finish(std::move(result));
        }

        // Rendering time = base time + running time: the first buffer renders at the instant.
        const GstClockTime first = first_running_time_;
        const GstClockTime instant_ns = static_cast<GstClockTime>(start_instant_us_) * 1000;
        gst_element_set_base_time(
            pipeline_,
            instant_ns - (GST_CLOCK_TIME_IS_VALID(first) && first < instant_ns ? first : 0));
        if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
            result.error = pending_error(bus_, "the pipeline refused to play");
            result.end_us = now_us();
            return finish(std::move(result));
        }
        playing_since_us_ = now_us();
        playing_ = true;

        // An image ends by the end of the segment its seek set; so does anything bounded by
        // display_us, and everything else at the end of the media.
        while (true) {
            GstMessage* msg = gst_bus_timed_pop_filtered(
                bus_, kBusPoll,
                GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION |
                               GST_MESSAGE_ELEMENT));
            const GstMessageType type = msg ? GST_MESSAGE_TYPE(msg) : GST_MESSAGE_UNKNOWN;
            // The media's own end wins over a stop() that arrives with it.
            if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) {
                if (type == GST_MESSAGE_EOS && options_.audio.kind == SinkSpec::Kind::file &&
                    item_.kind == MediaKind::audio) {
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
                levels_.add(msg);
                gst_message_unref(msg);  // a measurement, the stop wake-up, or someone else's
            }
            if (stop_requested_) {
                result.end_us = now_us();
                result.stopped = true;
                result.error = "stopped";
                drain_levels();
                break;
            }
        }
        return finish(std::move(result));
    }

    void stop() {
        stop_requested_ = true;
        std::lock_guard lock(mutex_);
        if (bus_) {
            // Wakes play_at() at once instead of at its next poll.
            gst_bus_post(
                bus_, gst_message_new_application(nullptr, gst_structure_new_empty(kStopMessage)));
        }
    }

    void set_volume(double linear) {
        if (std::isnan(linear)) {
            return;
        }
        linear = std::clamp(linear, 0.0, 1.0);
        volume_ = linear;
        std::lock_guard lock(mutex_);
        if (!pipeline_) {
            return;
        }
        // volume applies a new value from its next buffer on: live, without a glitch.
        if (GstElement* volume = gst_bin_get_by_name(GST_BIN(pipeline_), "volume")) {  // ref
            g_object_set(volume, "volume", linear, nullptr);
            gst_object_unref(volume);
        }
    }
};

Player::Player(PlayerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    (void)gst_init_error();
}

Player::Player(SinkSpec sink) : Player(PlayerOptions{.audio = std::move(sink)}) {}

Player::~Player() = default;

std::expected<void, std::string> Player::preroll(const PlayItem& item) {
    return impl_->preroll(item);
}

std::expected<void, std::string> Player::preroll(const std::filesystem::path& media,
                                                 const std::string& output_name) {
    return impl_->preroll(
        PlayItem{.media = media, .kind = MediaKind::audio, .output_name = output_name});
}

PlayResult Player::play_at(std::int64_t start_at_us) {
    return impl_->play_at(start_at_us);
}

PlayResult Player::play() {
    return impl_->play_at(0);
}

void Player::stop() {
    impl_->stop();
}

void Player::set_volume(double linear) {
    impl_->set_volume(linear);
}

bool Player::playing() const {
    return impl_->playing_.load();
}

}  // namespace loa::node
