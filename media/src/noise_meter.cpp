// Spectral flatness per block with FFmpeg's real FFT (libavutil/tx), weighted by energy.
#include "noise_meter.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

extern "C" {
#include <libavutil/mem.h>
}

namespace loa::media::detail {

namespace {

constexpr double kLowestHz = 100.0;
// Blocks quieter than this (mean square, about -90 dBFS) are digital silence or near it.
constexpr double kSilentMeanSquare = 1e-9;
constexpr double kTiny = 1e-20;

}  // namespace

NoiseMeter::NoiseMeter(int sample_rate, double top_hz) : window_(kNoiseBlock) {
    const double hz_per_bin = static_cast<double>(sample_rate) / kNoiseBlock;
    first_bin_ = std::max(1, static_cast<int>(std::ceil(kLowestHz / hz_per_bin)));
    last_bin_ = std::min(kNoiseBlock / 2 - 1, static_cast<int>(top_hz / hz_per_bin));
    for (int i = 0; i < kNoiseBlock; ++i) {
        window_[static_cast<std::size_t>(i)] = static_cast<float>(
            0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / (kNoiseBlock - 1)));
    }
    float scale = 1.0f;
    if (av_tx_init(&tx_, &transform_, AV_TX_FLOAT_RDFT, 0, kNoiseBlock, &scale, 0) < 0) {
        tx_ = nullptr;
    }
    block_ = static_cast<float*>(av_malloc(sizeof(float) * (kNoiseBlock + 2)));
    spectrum_ =
        static_cast<AVComplexFloat*>(av_malloc(sizeof(AVComplexFloat) * (kNoiseBlock / 2 + 1)));
}

NoiseMeter::~NoiseMeter() {
    av_tx_uninit(&tx_);
    av_free(block_);
    av_free(spectrum_);
}

void NoiseMeter::add(const float* samples, int frames) {
    if (tx_ == nullptr || block_ == nullptr || spectrum_ == nullptr || last_bin_ <= first_bin_) {
        return;  // out of memory at the start, or no band to look at: no figure, no warning
    }
    while (frames > 0) {
        const int take = std::min(frames, kNoiseBlock - filled_);
        std::copy(samples, samples + take, block_ + filled_);
        filled_ += take;
        samples += take;
        frames -= take;
        if (filled_ == kNoiseBlock) {
            measureBlock();
            filled_ = 0;
        }
    }
}

void NoiseMeter::measureBlock() {
    double mean_square = 0.0;
    for (int i = 0; i < kNoiseBlock; ++i) {
        mean_square += static_cast<double>(block_[i]) * block_[i];
        block_[i] *= window_[static_cast<std::size_t>(i)];
    }
    mean_square /= kNoiseBlock;
    if (mean_square < kSilentMeanSquare) {
        return;
    }
    transform_(tx_, spectrum_, block_, sizeof(float));
    double log_sum = 0.0;
    double sum = 0.0;
    for (int k = first_bin_; k <= last_bin_; ++k) {
        const double power = static_cast<double>(spectrum_[k].re) * spectrum_[k].re +
                             static_cast<double>(spectrum_[k].im) * spectrum_[k].im + kTiny;
        log_sum += std::log(power);
        sum += power;
    }
    const int bins = last_bin_ - first_bin_ + 1;
    const double flatness = std::exp(log_sum / bins) / (sum / bins);
    energy_ += mean_square;
    if (flatness > kNoisyFlatness) {
        noisy_energy_ += mean_square;
    }
}

double NoiseMeter::noise_share() const {
    return energy_ > 0.0 ? noisy_energy_ / energy_ : 0.0;
}

}  // namespace loa::media::detail
