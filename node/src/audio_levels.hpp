// Private: sums the `level` element's bus messages of one play into AudioLevels.
#pragma once

#include <gst/gst.h>

#include "loa/node/player.hpp"

namespace loa::node::detail {

/// Reads the per-interval messages of GStreamer's `level` element (structure "level": "rms" and
/// "peak" arrays of per-channel dB, "duration" in ns) and keeps what AudioLevels reports.
class LevelMeter {
  public:
    explicit LevelMeter(double threshold_dbfs = -50) : threshold_dbfs_(threshold_dbfs) {}

    /// Takes one bus message; returns false (and ignores it) if it is not a level measurement.
    bool add(GstMessage* message);

    /// Forgets every interval; the threshold stays.
    void reset();

    bool empty() const { return seconds_ <= 0; }
    AudioLevels result() const;

  private:
    double threshold_dbfs_;
    double energy_ = 0;   // sum over intervals of (mean channel power × seconds)
    double seconds_ = 0;  // sum of interval lengths
    double silent_seconds_ = 0;
    double peak_dbfs_ = -1e9;
};

}  // namespace loa::node::detail
