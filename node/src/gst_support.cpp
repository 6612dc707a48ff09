// Private: the GStreamer chores every player pipeline needs, written once.
#include "gst_support.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include <fmt/core.h>

namespace loa::node::detail {

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

// The clock of every pipeline: a system clock reading CLOCK_REALTIME, so that a base time made
// from a UTC instant has the sinks render the first buffer at that instant, and players in
// separate processes agree through the system clock alone. One for the process, never released.
GstClock* realtime_clock() {
    static GstClock* clock = [] {
        auto* made =
            GST_CLOCK(g_object_new(GST_TYPE_SYSTEM_CLOCK, "clock-type", GST_CLOCK_TYPE_REALTIME,
                                   "name", "loa-realtime-clock", nullptr));
        gst_object_ref_sink(made);  // the process's ref
        return made;
    }();
    return clock;
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

void post_application(GstElement* from, const char* name) {
    gst_element_post_message(
        from, gst_message_new_application(GST_OBJECT(from), gst_structure_new_empty(name)));
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

std::unexpected<std::string> missing_element(std::string_view factory) {
    return std::unexpected(fmt::format("the GStreamer element '{}' is not installed", factory));
}

// Whether a decodebin pad carries `prefix` media ("audio/", "video/").
bool pad_carries(GstPad* pad, const char* prefix) {
    GstCaps* caps = gst_pad_get_current_caps(pad);  // ref taken
    if (!caps) {
        caps = gst_pad_query_caps(pad, nullptr);
    }
    bool match = caps && gst_caps_get_size(caps) > 0 &&
                 g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), prefix);
    if (caps) {
        gst_caps_unref(caps);
    }
    return match;
}

// Streams the item does not use (a video's sound on a panel, a cover picture on a loudspeaker)
// end in a fakesink that takes them as fast as they come: left unlinked they would stop the
// demuxer with not-linked once the used stream ends, and an async sink would hold up preroll.
void discard_stream(GstElement* decode, GstPad* pad) {
    GstObject* bin = gst_element_get_parent(decode);  // ref taken: the pipeline
    if (!bin) {
        return;
    }
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    if (sink) {
        g_object_set(sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);
        gst_bin_add(GST_BIN(bin), sink);  // the bin sinks the floating ref
        gst_element_sync_state_with_parent(sink);
        GstPad* input = gst_element_get_static_pad(sink, "sink");  // ref taken
        gst_pad_link(pad, input);
        gst_object_unref(input);
    }
    gst_object_unref(bin);
}

// The running time at which a sink renders `buffer` under the pad's current segment: its start,
// clipped to the segment as the sink clips it (after an accurate seek the first buffer may begin
// a little before the segment). Zero when it cannot be told.
GstClockTime running_time_of(GstPad* pad, GstBuffer* buffer) {
    GstClockTime running = 0;
    GstEvent* event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);  // ref taken
    if (event && GST_BUFFER_PTS_IS_VALID(buffer)) {
        const GstSegment* segment = nullptr;
        gst_event_parse_segment(event, &segment);
        const guint64 start = GST_BUFFER_PTS(buffer);
        const guint64 stop = GST_BUFFER_DURATION_IS_VALID(buffer)
                                 ? start + GST_BUFFER_DURATION(buffer)
                                 : GST_CLOCK_TIME_NONE;
        guint64 clipped = 0;
        if (segment->format == GST_FORMAT_TIME &&
            gst_segment_clip(segment, GST_FORMAT_TIME, start, stop, &clipped, nullptr)) {
            const GstClockTime value =
                gst_segment_to_running_time(segment, GST_FORMAT_TIME, clipped);
            if (GST_CLOCK_TIME_IS_VALID(value)) {
                running = value;
            }
        }
    }
    if (event) {
        gst_event_unref(event);
    }
    return running;
}

// The element that counts rendered frames: the display sink itself, or the real sink inside
// autovideosink. Returns a ref, or nullptr.
GstElement* counting_sink(GstElement* display) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(display), "stats")) {
        return GST_ELEMENT(gst_object_ref(display));
    }
    if (!GST_IS_BIN(display)) {
        return nullptr;
    }
    GstElement* found = nullptr;
    GstIterator* it = gst_bin_iterate_recurse(GST_BIN(display));
    GValue item = G_VALUE_INIT;
    while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        auto* child = GST_ELEMENT(g_value_get_object(&item));  // borrowed from item
        if (GST_OBJECT_FLAG_IS_SET(child, GST_ELEMENT_FLAG_SINK) &&
            g_object_class_find_property(G_OBJECT_GET_CLASS(child), "stats")) {
            found = GST_ELEMENT(gst_object_ref(child));
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return found;
}

}  // namespace loa::node::detail
