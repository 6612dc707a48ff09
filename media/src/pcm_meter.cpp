// Float conversion with libswresample and EBU R128 metering with libebur128.
#include "pcm_meter.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <ebur128.h>
#include <fmt/core.h>

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace loa::media::detail {

namespace {

namespace fs = std::filesystem;

// BS.1770's gating block: audio shorter than this has no gated loudness.
constexpr std::int64_t kBlockMs = 400;

double toDb(double linear) {
    return linear > 0.0 ? 20.0 * std::log10(linear) : -HUGE_VAL;
}

// libebur128 assumes L, R, C, Ls, Rs; FFmpeg's 5.1 puts the LFE fourth, which must not count.
void mapChannels(ebur128_state* st, int channels) {
    if (channels == 6) {
        ebur128_set_channel(st, 3, EBUR128_UNUSED);
        ebur128_set_channel(st, 4, EBUR128_LEFT_SURROUND);
        ebur128_set_channel(st, 5, EBUR128_RIGHT_SURROUND);
    }
}

}  // namespace

PcmConverter::PcmConverter(const fs::path& file) : file_(file) {}

std::expected<PcmFormat, Error> PcmConverter::setup(const AVCodecContext& codec, int sample_rate,
                                                    int channels) {
    format_.sample_rate = sample_rate > 0 ? sample_rate : codec.sample_rate;
    format_.channels = channels > 0 ? channels : codec.ch_layout.nb_channels;
    AVChannelLayout in_layout;
    AVChannelLayout out_layout;
    // Some decoders leave the layout unspecified; the default for the count is what they mean.
    if (codec.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in_layout, codec.ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&in_layout, &codec.ch_layout) < 0) {
        return fail(Error::Code::io, file_, "hết bộ nhớ / out of memory");
    }
    av_channel_layout_default(&out_layout, format_.channels);
    SwrContext* raw = nullptr;
    int rc = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_FLT, format_.sample_rate,
                                 &in_layout, codec.sample_fmt, codec.sample_rate, 0, nullptr);
    av_channel_layout_uninit(&in_layout);
    av_channel_layout_uninit(&out_layout);
    swr_.reset(raw);
    if (rc < 0 || (rc = swr_init(swr_.get())) < 0) {
        swr_.reset();
        return fail(Error::Code::corrupt, file_,
                    fmt::format("không chuyển được âm thanh sang dạng số thực ({0}) / cannot "
                                "convert the audio to float ({0})",
                                avError(rc)));
    }
    return format_;
}

std::expected<void, Error> PcmConverter::push(const AVFrame* frame, const PcmSink& sink) {
    const int in_samples = frame != nullptr ? frame->nb_samples : 0;
    const int capacity = swr_get_out_samples(swr_.get(), in_samples);
    if (capacity <= 0) {
        return {};
    }
    buffer_.resize(static_cast<std::size_t>(capacity) * static_cast<std::size_t>(format_.channels));
    auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const int got = swr_convert(
        swr_.get(), &out, capacity,
        frame != nullptr ? const_cast<const std::uint8_t**>(frame->extended_data) : nullptr,
        in_samples);
    if (got < 0) {
        return fail(Error::Code::corrupt, file_,
                    fmt::format("chuyển đổi mẫu âm thanh thất bại ({0}) / sample conversion "
                                "failed ({0})",
                                avError(got)));
    }
    if (got == 0) {
        return {};
    }
    return sink(buffer_.data(), got, format_);
}

// ---- BS.1770 integrated loudness, K-weighted and gated, for meters without true peak

class LoudnessMeter::Gated {
  public:
    Gated(int rate, int channels)
        : channels_(channels),
          sub_block_(std::max(1, rate / 10)),
          state_(static_cast<std::size_t>(channels)),
          weights_(static_cast<std::size_t>(channels), 0.0),
          bins_(kBins),
          energy_(kBins) {
        designFilter(rate);
        // libebur128's default map: L, R, C, Ls, Rs; FFmpeg's 5.1 puts the LFE fourth.
        for (int ch = 0; ch < channels && ch < 5; ++ch) {
            weights_[static_cast<std::size_t>(ch)] = ch < 3 ? 1.0 : kSurroundWeight;
        }
        if (channels == 6) {
            weights_[3] = 0.0;
            weights_[4] = kSurroundWeight;
            weights_[5] = kSurroundWeight;
        }
    }

    void add(const float* samples, int frames, double& peak) {
        for (int i = 0; i < frames; ++i) {
            double sum = 0.0;
            for (int ch = 0; ch < channels_; ++ch) {
                const double x = samples[static_cast<std::size_t>(i) * channels_ + ch];
                peak = std::max(peak, std::fabs(x));
                const double w = weights_[static_cast<std::size_t>(ch)];
                if (w == 0.0) {
                    continue;
                }
                Biquads& f = state_[static_cast<std::size_t>(ch)];
                // Pre-filter (high shelf), then the RLB high-pass, direct form II.
                const double v1 = x - a1_[0] * f.z1[0] - a2_[0] * f.z2[0];
                const double y1 = b0_[0] * v1 + b1_[0] * f.z1[0] + b2_[0] * f.z2[0];
                f.z2[0] = f.z1[0];
                f.z1[0] = v1;
                const double v2 = y1 - a1_[1] * f.z1[1] - a2_[1] * f.z2[1];
                const double y2 = b0_[1] * v2 + b1_[1] * f.z1[1] + b2_[1] * f.z2[1];
                f.z2[1] = f.z1[1];
                f.z1[1] = v2;
                sum += w * y2 * y2;
            }
            sub_sum_ += sum;
            whole_sum_ += sum;
            if (++sub_count_ == sub_block_) {
                closeSubBlock();
            }
        }
        total_frames_ += frames;
    }

    // Integrated loudness (LUFS), or over the whole length when shorter than one block.
    double integrated() const {
        if (blocks_ == 0) {
            return total_frames_ > 0 ? toLufs(whole_sum_ / static_cast<double>(total_frames_))
                                     : -HUGE_VAL;
        }
        // Absolute gate: blocks above -70 LUFS, then relative: above their mean less 10 LU.
        const auto mean_above = [&](double gate) {
            double energy = 0.0;
            std::int64_t count = 0;
            for (int b = binOf(gate); b < kBins; ++b) {
                energy += energy_[static_cast<std::size_t>(b)];
                count += bins_[static_cast<std::size_t>(b)];
            }
            return count > 0 ? energy / static_cast<double>(count) : 0.0;
        };
        const double absolute = mean_above(kAbsoluteGate);
        if (absolute <= 0.0) {
            return -HUGE_VAL;
        }
        const double relative = mean_above(toLufs(absolute) + kRelativeGate);
        return relative > 0.0 ? toLufs(relative) : -HUGE_VAL;
    }

  private:
    struct Biquads {
        double z1[2] = {0, 0};
        double z2[2] = {0, 0};
    };
    static constexpr double kSurroundWeight = 1.41;  // +1.5 dB, BS.1770
    static constexpr double kAbsoluteGate = -70.0;
    static constexpr double kRelativeGate = -10.0;
    static constexpr double kLowest = -70.0;
    static constexpr double kBinLu = 0.01;
    static constexpr int kBins = 8000;  // -70 … +10 LUFS

    static double toLufs(double mean_square) {
        return mean_square > 0.0 ? -0.691 + 10.0 * std::log10(mean_square) : -HUGE_VAL;
    }
    static int binOf(double lufs) {
        const double at = std::floor((lufs - kLowest) / kBinLu);
        return static_cast<int>(std::clamp(at, 0.0, static_cast<double>(kBins - 1)));
    }

    // BS.1770's K-weighting at any rate, from its analog prototypes (as libebur128 designs it).
    void designFilter(int rate) {
        double f0 = 1681.974450955533;
        const double gain_db = 3.999843853973347;
        double q = 0.7071752369554196;
        double k = std::tan(std::numbers::pi * f0 / rate);
        const double vh = std::pow(10.0, gain_db / 20.0);
        const double vb = std::pow(vh, 0.4996667741545416);
        double a0 = 1.0 + k / q + k * k;
        b0_[0] = (vh + vb * k / q + k * k) / a0;
        b1_[0] = 2.0 * (k * k - vh) / a0;
        b2_[0] = (vh - vb * k / q + k * k) / a0;
        a1_[0] = 2.0 * (k * k - 1.0) / a0;
        a2_[0] = (1.0 - k / q + k * k) / a0;
        f0 = 38.13547087602444;
        q = 0.5003270373238773;
        k = std::tan(std::numbers::pi * f0 / rate);
        a0 = 1.0 + k / q + k * k;
        b0_[1] = 1.0;
        b1_[1] = -2.0;
        b2_[1] = 1.0;
        a1_[1] = 2.0 * (k * k - 1.0) / a0;
        a2_[1] = (1.0 - k / q + k * k) / a0;
    }

    // A 100 ms sub-block is done: with the three before it, a 400 ms block (75 % overlap).
    void closeSubBlock() {
        subs_[sub_index_ % 4] = sub_sum_;
        ++sub_index_;
        sub_sum_ = 0.0;
        sub_count_ = 0;
        if (sub_index_ < 4) {
            return;
        }
        const double mean = (subs_[0] + subs_[1] + subs_[2] + subs_[3]) / (4.0 * sub_block_);
        const double lufs = toLufs(mean);
        if (lufs < kAbsoluteGate) {
            return;
        }
        const auto b = static_cast<std::size_t>(binOf(lufs));
        ++bins_[b];
        energy_[b] += mean;
        ++blocks_;
    }

    int channels_;
    int sub_block_;
    std::vector<Biquads> state_;
    std::vector<double> weights_;
    double b0_[2]{}, b1_[2]{}, b2_[2]{}, a1_[2]{}, a2_[2]{};
    double sub_sum_ = 0.0;
    int sub_count_ = 0;
    double subs_[4] = {0, 0, 0, 0};
    std::int64_t sub_index_ = 0;
    std::vector<std::int64_t> bins_;
    std::vector<double> energy_;
    std::int64_t blocks_ = 0;
    double whole_sum_ = 0.0;
    std::int64_t total_frames_ = 0;
};

void LoudnessMeter::Freer::operator()(ebur128_state* state) const {
    ebur128_destroy(&state);
}

LoudnessMeter::LoudnessMeter(Peak peak) : peak_(peak) {}
LoudnessMeter::~LoudnessMeter() = default;
LoudnessMeter::LoudnessMeter(LoudnessMeter&&) noexcept = default;
LoudnessMeter& LoudnessMeter::operator=(LoudnessMeter&&) noexcept = default;

std::expected<void, Error> LoudnessMeter::add(const float* samples, int frames,
                                              const PcmFormat& format, const fs::path& file) {
    if (frames_ == 0 && !state_ && !gated_) {
        format_ = format;
        if (peak_ != Peak::true_peak) {
            gated_ = std::make_unique<Gated>(format.sample_rate, format.channels);
        } else {
            state_.reset(
                ebur128_init(static_cast<unsigned>(format.channels),
                             static_cast<unsigned long>(format.sample_rate),
                             EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_HISTOGRAM));
            if (!state_) {
                return fail(Error::Code::corrupt, file,
                            fmt::format("không đo được độ to của {0} kênh ở {1} Hz / libebur128 "
                                        "cannot measure {0} channels at {1} Hz",
                                        format.channels, format.sample_rate));
            }
            mapChannels(state_.get(), format.channels);
        }
    }
    frames_ += frames;
    if (gated_) {
        gated_->add(samples, frames, sample_peak_);
        return {};
    }
    if (ebur128_add_frames_float(state_.get(), samples, static_cast<std::size_t>(frames)) !=
        EBUR128_SUCCESS) {
        return fail(Error::Code::io, file, "libebur128 không nhận mẫu / libebur128 failed");
    }
    return {};
}

Loudness LoudnessMeter::result() const {
    Loudness result{-HUGE_VAL, -HUGE_VAL, 0.0};
    if ((!state_ && !gated_) || frames_ == 0) {
        return result;
    }
    result.duration_s = static_cast<double>(frames_) / format_.sample_rate;
    if (gated_) {
        result.integrated_lufs = gated_->integrated();
        if (peak_ == Peak::sample) {
            result.true_peak_dbtp = toDb(sample_peak_);
        }
        return result;
    }
    const std::int64_t length_ms = frames_ * 1000 / format_.sample_rate;
    if (length_ms >= kBlockMs) {
        ebur128_loudness_global(state_.get(), &result.integrated_lufs);
    } else if (length_ms > 0) {
        // Shorter than one block: the whole of it is the window (ungated, as a momentary figure).
        ebur128_loudness_window(state_.get(), static_cast<unsigned long>(length_ms),
                                &result.integrated_lufs);
    }
    for (int ch = 0; ch < format_.channels; ++ch) {
        double peak = 0.0;
        if (ebur128_true_peak(state_.get(), static_cast<unsigned>(ch), &peak) == EBUR128_SUCCESS) {
            result.true_peak_dbtp = std::max(result.true_peak_dbtp, toDb(peak));
        }
    }
    return result;
}

}  // namespace loa::media::detail
