// Airtime evidence from GStreamer's `level` element: mean power, peak and silence of one play.
// The level element posts GValueArray, which GLib deprecated without a replacement GStreamer
// could adopt before 2.0; reading it is the only way to its measurements.
#define GLIB_DISABLE_DEPRECATION_WARNINGS

#include "audio_levels.hpp"

#include <algorithm>
#include <cmath>

namespace loa::node::detail {

namespace {

// What dBFS reports bottom out at: `level` gives about −140 dB for digital silence, and anything
// below −120 is inaudible on any amplifier, so the figures stay comparable between plays.
constexpr double kFloorDbfs = -120;

// The per-channel dB values of one field of a level message.
const GValueArray* channel_values(const GstStructure* s, const char* field) {
    const GValue* value = gst_structure_get_value(s, field);
    if (!value || !G_VALUE_HOLDS(value, G_TYPE_VALUE_ARRAY)) {
        return nullptr;
    }
    return static_cast<const GValueArray*>(g_value_get_boxed(value));
}

double to_dbfs(double power) {
    return power > 0 ? std::max(kFloorDbfs, 10 * std::log10(power)) : kFloorDbfs;
}

}  // namespace

bool LevelMeter::add(GstMessage* message) {
    if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ELEMENT) {
        return false;
    }
    const GstStructure* s = gst_message_get_structure(message);
    if (!s || !gst_structure_has_name(s, "level")) {
        return false;
    }
    guint64 duration = 0;
    const GValueArray* rms = channel_values(s, "rms");
    const GValueArray* peak = channel_values(s, "peak");
    if (!gst_structure_get_uint64(s, "duration", &duration) || !rms || !peak ||
        rms->n_values == 0) {
        return false;
    }
    // At EOS the element posts whatever its last interval holds, possibly no frames at all and
    // then an RMS of 0/0: an empty interval says nothing and would poison the mean.
    if (duration == 0) {
        return true;
    }
    // Channels are averaged as power, so one silent channel of a stereo pair counts for half.
    double power = 0;
    for (guint i = 0; i < rms->n_values; ++i) {
        power += std::pow(10.0, g_value_get_double(&rms->values[i]) / 10);
    }
    power /= rms->n_values;
    if (!std::isfinite(power)) {
        return true;
    }
    for (guint i = 0; i < peak->n_values; ++i) {
        peak_dbfs_ = std::max(peak_dbfs_, g_value_get_double(&peak->values[i]));
    }
    const double seconds = static_cast<double>(duration) / GST_SECOND;
    energy_ += power * seconds;
    seconds_ += seconds;
    if (10 * std::log10(std::max(power, 1e-30)) < threshold_dbfs_) {
        silent_seconds_ += seconds;
    }
    return true;
}

void LevelMeter::reset() {
    *this = LevelMeter(threshold_dbfs_);
}

AudioLevels LevelMeter::result() const {
    AudioLevels levels;
    levels.threshold_dbfs = threshold_dbfs_;
    levels.measured_seconds = seconds_;
    levels.silent_seconds = silent_seconds_;
    if (seconds_ > 0) {
        levels.rms_dbfs = to_dbfs(energy_ / seconds_);
        levels.peak_dbfs = std::max(kFloorDbfs, peak_dbfs_);
    }
    return levels;
}

}  // namespace loa::node::detail
