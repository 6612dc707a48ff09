// Float conversion with libswresample and EBU R128 metering with libebur128.
#include "pcm_meter.hpp"

#include <algorithm>
#include <cmath>

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

void LoudnessMeter::Freer::operator()(ebur128_state* state) const {
    ebur128_destroy(&state);
}

LoudnessMeter::LoudnessMeter() = default;
LoudnessMeter::~LoudnessMeter() = default;
LoudnessMeter::LoudnessMeter(LoudnessMeter&&) noexcept = default;
LoudnessMeter& LoudnessMeter::operator=(LoudnessMeter&&) noexcept = default;

std::expected<void, Error> LoudnessMeter::add(const float* samples, int frames,
                                              const PcmFormat& format, const fs::path& file) {
    if (!state_) {
        state_.reset(ebur128_init(
            static_cast<unsigned>(format.channels), static_cast<unsigned long>(format.sample_rate),
            EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_HISTOGRAM));
        if (!state_) {
            return fail(Error::Code::corrupt, file,
                        fmt::format("không đo được độ to của {0} kênh ở {1} Hz / libebur128 "
                                    "cannot measure {0} channels at {1} Hz",
                                    format.channels, format.sample_rate));
        }
        mapChannels(state_.get(), format.channels);
        format_ = format;
    }
    frames_ += frames;
    if (ebur128_add_frames_float(state_.get(), samples, static_cast<std::size_t>(frames)) !=
        EBUR128_SUCCESS) {
        return fail(Error::Code::io, file, "libebur128 không nhận mẫu / libebur128 failed");
    }
    return {};
}

Loudness LoudnessMeter::result() const {
    Loudness result{-HUGE_VAL, -HUGE_VAL, 0.0};
    if (!state_ || frames_ == 0) {
        return result;
    }
    result.duration_s = static_cast<double>(frames_) / format_.sample_rate;
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
