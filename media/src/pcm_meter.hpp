// Private: decoded frames converted to float, and the EBU R128 meter every loudness figure of the
// import comes from (the input, the signal the encoder gets, the encoded result).
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <vector>

#include <ebur128.h>

#include "ffmpeg_handles.hpp"
#include "loa/media/loudness.hpp"

namespace loa::media::detail {

/// Converts decoded frames with libswresample to interleaved float at a chosen rate and channel
/// count and hands them to a sink; its buffer is one frame's worth, whatever the file's length.
class PcmConverter {
  public:
    explicit PcmConverter(const std::filesystem::path& file);

    /// Sets up the conversion from `codec`'s samples; 0 keeps the source's rate or channels.
    std::expected<PcmFormat, Error> setup(const AVCodecContext& codec, int sample_rate,
                                          int channels);
    bool ready() const { return static_cast<bool>(swr_); }

    /// Converts `frame` (null flushes the resampler) and hands the result to `sink`.
    std::expected<void, Error> push(const AVFrame* frame, const PcmSink& sink);

  private:
    std::filesystem::path file_;
    SwrPtr swr_;
    PcmFormat format_{};
    std::vector<float> buffer_;
};

/// EBU R128 integrated loudness and true peak of interleaved float samples, in memory that does
/// not grow with the length (libebur128's histogram mode). Audio shorter than one 400 ms gating
/// block has no integrated loudness by BS.1770; it is measured over its whole length instead, so
/// that a 0.3 s jingle has a loudness rather than passing for silence.
class LoudnessMeter {
  public:
    /// Which peak is measured with the loudness: the true peak (4x oversampled, as BS.1770
    /// defines it; most of the meter's work), the sample peak, or none.
    enum class Peak { none, sample, true_peak };
    explicit LoudnessMeter(Peak peak = Peak::true_peak);
    ~LoudnessMeter();
    LoudnessMeter(LoudnessMeter&&) noexcept;
    LoudnessMeter& operator=(LoudnessMeter&&) noexcept;

    std::expected<void, Error> add(const float* samples, int frames, const PcmFormat& format,
                                   const std::filesystem::path& file);
    std::int64_t frames() const { return frames_; }
    /// The figures so far; -infinity for silence (see Loudness). `true_peak_dbtp` holds the peak
    /// measured: the sample peak with Peak::sample, -infinity with Peak::none.
    Loudness result() const;

  private:
    struct Freer {
        void operator()(ebur128_state* state) const;
    };
    /// BS.1770 integrated loudness without libebur128, for the meters that need no true peak:
    /// K-weighting as two biquads per channel, 400 ms blocks every 100 ms, gated from a
    /// histogram of block loudness (0.01 LU bins holding their blocks' energy, so the mean is
    /// exact). Several times faster than libebur128 on long files, the same figures (tested).
    class Gated;

    std::unique_ptr<ebur128_state, Freer> state_;
    std::unique_ptr<Gated> gated_;
    PcmFormat format_{};
    std::int64_t frames_ = 0;
    double sample_peak_ = 0.0;
    Peak peak_ = Peak::true_peak;
};

}  // namespace loa::media::detail
