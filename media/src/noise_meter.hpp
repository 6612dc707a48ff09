// Private: how much of a signal is noise rather than speech or music, so that an approver is
// warned before hiss, lifted to broadcast loudness, goes on air.
#pragma once

#include <vector>

extern "C" {
#include <libavutil/tx.h>
}

namespace loa::media::detail {

/// Splits a mono signal into blocks of kNoiseBlock samples and measures each block's spectral
/// flatness (the geometric over the arithmetic mean of its power spectrum, Wiener entropy) from
/// 100 Hz up to `top_hz`: about 0.56 for white noise, 0.3 for pink, a few hundredths for voiced
/// speech and tonal music. A block flatter than kNoisyFlatness counts as noise; the figure is the
/// share of the signal's energy in such blocks, so that the pauses of a quiet recording (where
/// only the room is heard) weigh by how little they hold. Memory is one block.
class NoiseMeter {
  public:
    static constexpr int kNoiseBlock = 2048;
    static constexpr double kNoisyFlatness = 0.3;

    NoiseMeter(int sample_rate, double top_hz);
    ~NoiseMeter();
    NoiseMeter(const NoiseMeter&) = delete;
    NoiseMeter& operator=(const NoiseMeter&) = delete;

    void add(const float* samples, int frames);
    /// 0 (no noise, or nothing measured) to 1 (all noise).
    double noise_share() const;

  private:
    void measureBlock();

    int first_bin_;
    int last_bin_;
    AVTXContext* tx_ = nullptr;
    av_tx_fn transform_ = nullptr;
    std::vector<float> window_;
    float* block_ = nullptr;  // av_malloc'd: the transform wants aligned buffers
    AVComplexFloat* spectrum_ = nullptr;
    int filled_ = 0;
    double noisy_energy_ = 0.0;
    double energy_ = 0.0;
};

}  // namespace loa::media::detail
