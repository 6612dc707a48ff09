// EBU R128 loudness: FFmpeg decodes, libswresample converts to float, libebur128 measures.
#include "loa/media/loudness.hpp"

#include "probe_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ebur128.h>
#include <fmt/core.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>
}

namespace loa::media {

namespace {

using namespace detail;

namespace fs = std::filesystem;

struct EburFreer {
    void operator()(ebur128_state* st) const { ebur128_destroy(&st); }
};
using EburPtr = std::unique_ptr<ebur128_state, EburFreer>;

// An opened decoder for the best audio stream of a file.
struct Source {
    Input input;
    CodecPtr codec;
    int index = -1;
};

std::expected<Source, Error> openSource(const fs::path& file) {
    Source src;
    auto input = openInput(file);
    if (!input) {
        return std::unexpected(input.error());
    }
    src.input = std::move(*input);
    AVFormatContext* format = src.input.format.get();
    src.index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (src.index < 0) {
        return fail(src.input.weak_guess ? Error::Code::not_media : Error::Code::no_audio, file,
                    "no audio stream");
    }
    auto codec = openDecoder(file, format->streams[src.index]);
    if (!codec) {
        return std::unexpected(codec.error());
    }
    src.codec = std::move(*codec);
    keepOnlyStream(format, src.index);
    if (src.codec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        int channels = src.codec->ch_layout.nb_channels;
        av_channel_layout_uninit(&src.codec->ch_layout);
        av_channel_layout_default(&src.codec->ch_layout, channels);
    }
    return src;
}

// Converts decoded frames to interleaved float and passes them to the sink.
class Converter {
  public:
    Converter(const fs::path& file, const PcmSink& sink) : file_(file), sink_(sink) {}

    std::expected<PcmFormat, Error> setup(AVCodecContext* codec, int rate, int channels) {
        format_.sample_rate = rate > 0 ? rate : codec->sample_rate;
        format_.channels = channels > 0 ? channels : codec->ch_layout.nb_channels;
        AVChannelLayout out_layout;
        if (channels > 0) {
            av_channel_layout_default(&out_layout, channels);
        } else if (av_channel_layout_copy(&out_layout, &codec->ch_layout) < 0) {
            return fail(Error::Code::io, file_, "out of memory");
        }
        SwrContext* raw = nullptr;
        int rc = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_FLT, format_.sample_rate,
                                     &codec->ch_layout, codec->sample_fmt, codec->sample_rate, 0,
                                     nullptr);
        av_channel_layout_uninit(&out_layout);
        swr_.reset(raw);
        if (rc < 0 || (rc = swr_init(swr_.get())) < 0) {
            return fail(Error::Code::corrupt, file_,
                        fmt::format("cannot convert the audio to float ({})", avError(rc)));
        }
        return format_;
    }

    // `frame` null flushes the resampler.
    std::expected<void, Error> push(const AVFrame* frame) {
        int in_samples = frame ? frame->nb_samples : 0;
        int capacity = swr_get_out_samples(swr_.get(), in_samples);
        if (capacity <= 0) {
            return {};
        }
        buffer_.resize(static_cast<std::size_t>(capacity) * format_.channels);
        auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
        int got = swr_convert(
            swr_.get(), &out, capacity,
            frame ? const_cast<const std::uint8_t**>(frame->extended_data) : nullptr, in_samples);
        if (got < 0) {
            return fail(Error::Code::corrupt, file_,
                        fmt::format("sample conversion failed ({})", avError(got)));
        }
        if (got == 0) {
            return {};
        }
        return sink_(buffer_.data(), got, format_);
    }

  private:
    const fs::path& file_;
    const PcmSink& sink_;
    SwrPtr swr_;
    PcmFormat format_{};
    std::vector<float> buffer_;
};

std::expected<void, Error> decodeAll(const fs::path& file, Source& src, Converter& converter,
                                     const Progress& progress) {
    std::optional<Error> refused;  // why the sink stopped the decoding
    std::int64_t frames = 0;
    const int rate = src.codec->sample_rate;
    auto stop = decodeStream(
        src.input.format.get(), src.codec.get(), src.index,
        [&](const AVFrame& frame) {
            frames += frame.nb_samples;
            if (auto pushed = converter.push(&frame); !pushed) {
                refused = pushed.error();
                return false;
            }
            return true;
        },
        progress);
    if (refused) {
        return std::unexpected(*refused);
    }
    if (stop) {
        return decodeFailure(file, src.input,
                             {*stop, avcodec_get_name(src.codec->codec_id),
                              seconds(rate > 0 ? av_rescale(frames, 1'000'000, rate) : 0),
                              frames == 0, std::nullopt});
    }
    return converter.push(nullptr);
}

// libebur128 assumes L, R, C, Ls, Rs; FFmpeg's 5.1 puts the LFE fourth, which must not count.
void mapChannels(ebur128_state* st, int channels) {
    if (channels == 6) {
        ebur128_set_channel(st, 3, EBUR128_UNUSED);
        ebur128_set_channel(st, 4, EBUR128_LEFT_SURROUND);
        ebur128_set_channel(st, 5, EBUR128_RIGHT_SURROUND);
    }
}

double toDb(double linear) {
    return linear > 0.0 ? 20.0 * std::log10(linear) : -HUGE_VAL;
}

}  // namespace

std::expected<PcmFormat, Error> decode_pcm(const fs::path& file, const PcmSink& sink,
                                           int sample_rate, int channels,
                                           const Progress& progress) {
    auto src = openSource(file);
    if (!src) {
        return std::unexpected(src.error());
    }
    Converter converter(file, sink);
    auto format = converter.setup(src->codec.get(), sample_rate, channels);
    if (!format) {
        return format;
    }
    if (auto done = decodeAll(file, *src, converter, progress); !done) {
        return std::unexpected(done.error());
    }
    return format;
}

std::expected<Loudness, Error> measure_loudness(const fs::path& file, int sample_rate, int channels,
                                                const Progress& progress) {
    EburPtr state;
    std::int64_t frames_seen = 0;
    PcmSink sink = [&](const float* samples, int frames,
                       const PcmFormat& format) -> std::expected<void, Error> {
        if (!state) {
            state.reset(ebur128_init(static_cast<unsigned>(format.channels),
                                     static_cast<unsigned long>(format.sample_rate),
                                     EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK));
            if (!state) {
                return fail(Error::Code::corrupt, file,
                            fmt::format("libebur128 cannot measure {} channels at {} Hz",
                                        format.channels, format.sample_rate));
            }
            mapChannels(state.get(), format.channels);
        }
        frames_seen += frames;
        if (ebur128_add_frames_float(state.get(), samples, static_cast<std::size_t>(frames)) !=
            EBUR128_SUCCESS) {
            return fail(Error::Code::io, file, "libebur128 failed to take samples");
        }
        return {};
    };
    auto format = decode_pcm(file, sink, sample_rate, channels, progress);
    if (!format) {
        return std::unexpected(format.error());
    }
    if (!state || frames_seen == 0) {
        return fail(Error::Code::empty, file, "the audio stream holds no samples");
    }
    Loudness result{-HUGE_VAL, -HUGE_VAL, static_cast<double>(frames_seen) / format->sample_rate};
    ebur128_loudness_global(state.get(), &result.integrated_lufs);
    for (int ch = 0; ch < format->channels; ++ch) {
        double peak = 0.0;
        if (ebur128_true_peak(state.get(), static_cast<unsigned>(ch), &peak) == EBUR128_SUCCESS) {
            result.true_peak_dbtp = std::max(result.true_peak_dbtp, toDb(peak));
        }
    }
    return result;
}

std::expected<Loudness, Error> measure_loudness(const fs::path& file) {
    return measure_loudness(file, 0, 0);
}

}  // namespace loa::media
