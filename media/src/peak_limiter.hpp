// Private: a look-ahead peak limiter, for audio whose loudness target would otherwise put its
// peaks over the true-peak limit.
#pragma once

#include <cstdint>
#include <vector>

namespace loa::media::detail {

/// Limits a mono float signal so that no sample leaves above `ceiling` (linear). Gain reduction
/// starts a look-ahead before a peak and reaches the needed depth at the peak, the minimum of the
/// required gain over the look-ahead smoothed by a moving average of the same length (so the
/// gain never jumps: no clicks), and recovers exponentially with the release time. The output is
/// the input delayed by the look-ahead; finish() pushes the last samples out. State is a few
/// look-aheads of samples, whatever the length.
class PeakLimiter {
  public:
    PeakLimiter(int sample_rate, double ceiling, double lookahead_ms = 5.0,
                double release_ms = 80.0);

    /// Appends to `out` as many samples as come in, less the look-ahead at the start.
    void process(const float* in, int frames, std::vector<float>& out);
    /// Appends the samples still held.
    void finish(std::vector<float>& out);
    /// The deepest gain reduction applied so far, in dB (0 when it never acted).
    double deepest_reduction_db() const;

  private:
    void step(float x, std::vector<float>& out);

    int window_;
    double ceiling_;
    double release_;
    std::vector<float> delay_;      // the last `window_` input samples
    std::vector<double> minima_;    // the monotonic queue of required gains, as a ring
    std::vector<std::int64_t> at_;  // the input index of each queued gain
    int head_ = 0;
    int size_ = 0;
    std::vector<double> smoothed_;  // the last `window_` released gains, for the average
    double sum_ = 0.0;
    double released_ = 1.0;
    double deepest_ = 1.0;
    std::int64_t n_ = 0;        // input samples seen
    std::int64_t pending_ = 0;  // outputs still to discard (the look-ahead's leading zeros)
};

}  // namespace loa::media::detail
