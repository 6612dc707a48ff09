// EBU R128 loudness: FFmpeg decodes, libswresample converts to float, libebur128 measures.
#include "loa/media/loudness.hpp"

#include "pcm_meter.hpp"
#include "probe_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
                    "không có dòng âm thanh / no audio stream");
    }
    auto codec = openDecoder(file, format->streams[src.index]);
    if (!codec) {
        return std::unexpected(codec.error());
    }
    src.codec = std::move(*codec);
    keepOnlyStream(format, src.index);
    return src;
}

std::expected<void, Error> decodeAll(const fs::path& file, Source& src, PcmConverter& converter,
                                     const PcmSink& sink, const Progress& progress) {
    std::optional<Error> refused;  // why the sink stopped the decoding
    std::int64_t frames = 0;
    const int rate = src.codec->sample_rate;
    auto stop = decodeStream(
        src.input.format.get(), src.codec.get(), src.index,
        [&](const AVFrame& frame) {
            frames += frame.nb_samples;
            if (auto pushed = converter.push(&frame, sink); !pushed) {
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
    return converter.push(nullptr, sink);
}

}  // namespace

std::expected<PcmFormat, Error> decode_pcm(const fs::path& file, const PcmSink& sink,
                                           int sample_rate, int channels,
                                           const Progress& progress) {
    auto src = openSource(file);
    if (!src) {
        return std::unexpected(src.error());
    }
    PcmConverter converter(file);
    auto format = converter.setup(*src->codec, sample_rate, channels);
    if (!format) {
        return format;
    }
    if (auto done = decodeAll(file, *src, converter, sink, progress); !done) {
        return std::unexpected(done.error());
    }
    return format;
}

std::expected<Loudness, Error> measure_loudness(const fs::path& file, int sample_rate, int channels,
                                                const Progress& progress) {
    LoudnessMeter meter;
    PcmSink sink = [&](const float* samples, int frames,
                       const PcmFormat& format) -> std::expected<void, Error> {
        return meter.add(samples, frames, format, file);
    };
    auto format = decode_pcm(file, sink, sample_rate, channels, progress);
    if (!format) {
        return std::unexpected(format.error());
    }
    if (meter.frames() == 0) {
        return fail(Error::Code::empty, file,
                    "dòng âm thanh không có mẫu nào / the audio stream holds no samples");
    }
    return meter.result();
}

std::expected<Loudness, Error> measure_loudness(const fs::path& file) {
    return measure_loudness(file, 0, 0);
}

}  // namespace loa::media
