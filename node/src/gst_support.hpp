// Private: GStreamer chores shared by the player's pipelines (start-up, the clock, errors,
// elements, pads, running times).
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <gst/gst.h>

namespace loa::node::detail {

/// Initialises GStreamer once per process; empty, or why it could not start.
const std::string& gst_init_error();

/// The clock of every pipeline: a system clock on CLOCK_REALTIME (UTC nanoseconds). Borrowed.
GstClock* realtime_clock();

/// "element: message (details)" for a GStreamer ERROR message.
std::string error_text(GstMessage* msg);

/// The ERROR already waiting on `bus` after a failed state change, else `fallback`.
std::string pending_error(GstBus* bus, std::string_view fallback);

/// Whether `msg` is an application message whose structure is called `name`.
bool is_application(GstMessage* msg, const char* name);

/// Posts an empty application message called `name` from `from`.
void post_application(GstElement* from, const char* name);

/// Makes a `factory` element named `name` inside `bin`; the pointer is borrowed from the bin.
/// nullptr if the element is not installed.
GstElement* add_element(GstElement* bin, const char* factory, const char* name);

/// The error for an element that is not installed.
std::unexpected<std::string> missing_element(std::string_view factory);

/// Whether the pad's caps are media of `prefix` ("audio/", "video/").
bool pad_carries(GstPad* pad, const char* prefix);

/// Links `pad` of `decode` to a new unclocked fakesink in decode's parent bin.
void discard_stream(GstElement* decode, GstPad* pad);

/// The running time at which a sink renders `buffer` under the segment on `pad`; 0 if unknown.
GstClockTime running_time_of(GstPad* pad, GstBuffer* buffer);

/// The GstBaseSink with a "stats" property: `display` itself or the real sink inside a bin such as
/// autovideosink. A new ref, or nullptr.
GstElement* counting_sink(GstElement* display);

}  // namespace loa::node::detail
