// The look-ahead limiter: sliding minimum of the required gain, release, moving average.
#include "peak_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace loa::media::detail {

PeakLimiter::PeakLimiter(int sample_rate, double ceiling, double lookahead_ms, double release_ms)
    : window_(std::max(1, static_cast<int>(std::lround(lookahead_ms * sample_rate / 1000.0)))),
      ceiling_(ceiling),
      release_(std::exp(-1000.0 / (release_ms * sample_rate))),
      delay_(static_cast<std::size_t>(window_), 0.0f),
      minima_(static_cast<std::size_t>(window_) + 1, 1.0),
      at_(static_cast<std::size_t>(window_) + 1, 0),
      smoothed_(static_cast<std::size_t>(window_), 1.0),
      sum_(window_),
      pending_(window_ - 1) {}

void PeakLimiter::step(float x, std::vector<float>& out) {
    const double magnitude = std::fabs(static_cast<double>(x));
    const double needed = magnitude > ceiling_ ? ceiling_ / magnitude : 1.0;
    // The smallest gain needed by the last `window_` inputs: a queue of increasing gains.
    const int capacity = window_ + 1;
    while (size_ > 0) {
        const int back = (head_ + size_ - 1) % capacity;
        if (minima_[static_cast<std::size_t>(back)] < needed) {
            break;
        }
        --size_;
    }
    const int slot = (head_ + size_) % capacity;
    minima_[static_cast<std::size_t>(slot)] = needed;
    at_[static_cast<std::size_t>(slot)] = n_;
    ++size_;
    while (at_[static_cast<std::size_t>(head_)] <= n_ - window_) {
        head_ = (head_ + 1) % capacity;
        --size_;
    }
    const double minimum = minima_[static_cast<std::size_t>(head_)];
    released_ = std::min(minimum, 1.0 - (1.0 - released_) * release_);
    deepest_ = std::min(deepest_, released_);

    const auto i = static_cast<std::size_t>(n_ % window_);
    sum_ += released_ - smoothed_[i];
    smoothed_[i] = released_;
    if (i == 0) {
        // Rounding in the running sum is not left to pile up over hours of audio.
        sum_ = 0.0;
        for (double g : smoothed_) {
            sum_ += g;
        }
    }
    delay_[i] = x;
    const float oldest = delay_[static_cast<std::size_t>((n_ + 1) % window_)];
    ++n_;
    if (pending_ > 0) {
        --pending_;
        return;
    }
    out.push_back(static_cast<float>(oldest * (sum_ / window_)));
}

void PeakLimiter::process(const float* in, int frames, std::vector<float>& out) {
    out.reserve(out.size() + static_cast<std::size_t>(frames));
    for (int k = 0; k < frames; ++k) {
        step(in[k], out);
    }
}

void PeakLimiter::finish(std::vector<float>& out) {
    for (int k = 0; k < window_ - 1; ++k) {
        step(0.0f, out);
    }
}

double PeakLimiter::deepest_reduction_db() const {
    return deepest_ < 1.0 ? -20.0 * std::log10(deepest_) : 0.0;
}

}  // namespace loa::media::detail
