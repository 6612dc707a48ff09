// EBU R128 loudness: FFmpeg decodes, libswresample converts to float, libebur128 measures.
#include "loa/media/loudness.hpp"

#include "ffmpeg_handles.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
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
    FormatPtr format;
    CodecPtr codec;
    int index = -1;
};

std::expected<Source, Error> openSource(const fs::path& file) {
    Source src;
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); rc < 0) {
        return fail(Error::Code::not_media, file,
                    fmt::format("not a media file FFmpeg can open ({})", avError(rc)));
    }
    src.format.reset(raw);
    if (int rc = avformat_find_stream_info(src.format.get(), nullptr); rc < 0) {
        return fail(Error::Code::not_media, file,
                    fmt::format("cannot read the stream information ({})", avError(rc)));
    }
    src.index = av_find_best_stream(src.format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (src.index < 0) {
        return fail(Error::Code::no_audio, file, "no audio stream");
    }
    const AVCodecParameters* params = src.format->streams[src.index]->codecpar;
    const AVCodec* decoder = avcodec_find_decoder(params->codec_id);
    if (decoder == nullptr) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("no decoder for {}", avcodec_get_name(params->codec_id)));
    }
    src.codec.reset(avcodec_alloc_context3(decoder));
    if (!src.codec || avcodec_parameters_to_context(src.codec.get(), params) < 0) {
        return fail(Error::Code::corrupt, file, "unusable audio stream parameters");
    }
    src.codec->pkt_timebase = src.format->streams[src.index]->time_base;
    if (int rc = avcodec_open2(src.codec.get(), decoder, nullptr); rc < 0) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("cannot open the decoder ({})", avError(rc)));
    }
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

// Sends one packet (null: end of stream) and converts every frame the decoder then yields.
std::expected<void, Error> decodePacket(const fs::path& file, AVCodecContext* codec,
                                        const AVPacket* packet, AVFrame* frame,
                                        Converter& converter) {
    int rc = avcodec_send_packet(codec, packet);
    if (rc < 0 && rc != AVERROR_EOF) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("the audio stream does not decode ({})", avError(rc)));
    }
    while ((rc = avcodec_receive_frame(codec, frame)) >= 0) {
        auto pushed = converter.push(frame);
        av_frame_unref(frame);
        if (!pushed) {
            return pushed;
        }
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("the audio stream does not decode ({})", avError(rc)));
    }
    return {};
}

std::expected<void, Error> decodeAll(const fs::path& file, Source& src, Converter& converter) {
    PacketPtr packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    if (!packet || !frame) {
        return fail(Error::Code::io, file, "out of memory while decoding");
    }
    while (true) {
        int rc = av_read_frame(src.format.get(), packet.get());
        if (rc == AVERROR_EOF) {
            break;
        }
        if (rc < 0) {
            return fail(Error::Code::corrupt, file, fmt::format("read error ({})", avError(rc)));
        }
        std::expected<void, Error> done{};
        if (packet->stream_index == src.index) {
            done = decodePacket(file, src.codec.get(), packet.get(), frame.get(), converter);
        }
        av_packet_unref(packet.get());
        if (!done) {
            return done;
        }
    }
    if (auto done = decodePacket(file, src.codec.get(), nullptr, frame.get(), converter); !done) {
        return done;
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
                                           int sample_rate, int channels) {
    quietFfmpeg();
    auto src = openSource(file);
    if (!src) {
        return std::unexpected(src.error());
    }
    Converter converter(file, sink);
    auto format = converter.setup(src->codec.get(), sample_rate, channels);
    if (!format) {
        return format;
    }
    if (auto done = decodeAll(file, *src, converter); !done) {
        return std::unexpected(done.error());
    }
    return format;
}

std::expected<Loudness, Error> measure_loudness(const fs::path& file, int sample_rate,
                                                int channels) {
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
    auto format = decode_pcm(file, sink, sample_rate, channels);
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
