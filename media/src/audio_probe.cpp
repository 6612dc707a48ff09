// Probing audio files with libavformat/libavcodec: decodes the whole stream to prove it plays.
#include "loa/media/audio_probe.hpp"

#include "ffmpeg_handles.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>

#include <fmt/core.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
}

namespace loa::media {

namespace {

using namespace detail;

namespace fs = std::filesystem;

constexpr std::int64_t kMicros = 1'000'000;
constexpr AVRational kMicrosBase{1, 1'000'000};
// Codec delay and padding make honest files decode a few tens of milliseconds short of what the
// container declares; anything under this is never called truncation.
constexpr std::int64_t kShortfallFloorUs = 100'000;
constexpr std::int64_t kShortfallAbsoluteUs = 500'000;
constexpr std::int64_t kShortfallPercent = 10;

// When a file will not open, tells "not media at all" from "media whose header is damaged", such
// as an MP4 cut before its index: the latter is named when the content probe is confident.
std::optional<std::string> confidentFormat(const fs::path& file) {
    AVIOContext* raw_io = nullptr;
    if (avio_open(&raw_io, file.c_str(), AVIO_FLAG_READ) < 0) {
        return std::nullopt;
    }
    IoPtr io(raw_io);
    const AVInputFormat* format = nullptr;
    int score = av_probe_input_buffer2(io.get(), &format, file.c_str(), nullptr, 0, 0);
    if (score <= AVPROBE_SCORE_RETRY || format == nullptr) {
        return std::nullopt;
    }
    return format->name;
}

// Sums decoded samples per run of equal sample rate, so long files do not accumulate the rounding
// of a per-frame conversion to microseconds.
class DurationCounter {
  public:
    void add(int sample_rate, int samples) {
        if (sample_rate != rate_) {
            flush();
            rate_ = sample_rate;
        }
        samples_ += samples;
        total_samples_ += samples;
    }
    std::int64_t micros() {
        flush();
        return micros_;
    }
    std::int64_t totalSamples() const { return total_samples_; }

  private:
    void flush() {
        if (rate_ > 0 && samples_ > 0) {
            micros_ += av_rescale(samples_, kMicros, rate_);
        }
        samples_ = 0;
    }

    int rate_ = 0;
    std::int64_t samples_ = 0;
    std::int64_t micros_ = 0;
    std::int64_t total_samples_ = 0;
};

// Receives every frame the decoder has ready; returns 0 when it wants more input or is drained.
int drainFrames(AVCodecContext* codec, AVFrame* frame, DurationCounter& counter) {
    while (true) {
        int rc = avcodec_receive_frame(codec, frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
        int rate = frame->sample_rate > 0 ? frame->sample_rate : codec->sample_rate;
        counter.add(rate, frame->nb_samples);
        av_frame_unref(frame);
    }
}

int decodePacket(AVCodecContext* codec, const AVPacket* packet, AVFrame* frame,
                 DurationCounter& counter) {
    while (true) {
        int rc = avcodec_send_packet(codec, packet);
        if (rc == AVERROR(EAGAIN)) {
            // The decoder is full: empty it, then offer the same packet again.
            if (int drained = drainFrames(codec, frame, counter); drained < 0) {
                return drained;
            }
            continue;
        }
        if (rc < 0 && !(packet == nullptr && rc == AVERROR_EOF)) {
            return rc;
        }
        return drainFrames(codec, frame, counter);
    }
}

// What the container says the stream lasts, or -1 when it does not say or merely guesses from the
// bitrate (a guess that shrinks with the file, so it cannot reveal truncation anyway).
std::int64_t declaredDurationUs(const AVFormatContext* format, const AVStream* stream) {
    if (format->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) {
        return -1;
    }
    if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
        return av_rescale_q(stream->duration, stream->time_base, kMicrosBase);
    }
    if (format->duration != AV_NOPTS_VALUE && format->duration > 0) {
        return av_rescale_q(format->duration, AVRational{1, AV_TIME_BASE}, kMicrosBase);
    }
    return -1;
}

bool clearlyShort(std::int64_t decoded_us, std::int64_t declared_us) {
    std::int64_t shortfall = declared_us - decoded_us;
    if (shortfall <= kShortfallFloorUs) {
        return false;
    }
    return shortfall > kShortfallAbsoluteUs || shortfall * 100 > declared_us * kShortfallPercent;
}

// FFmpeg's Ogg demuxer takes a page cut short for a clean end of file, and derives the declared
// duration from the last page it can read, so a cut Ogg file looks whole. Walking the page
// headers shows whether the file ends where its last page says it does. Returns why it does not.
std::optional<std::string> oggTruncation(const fs::path& file, std::uint64_t size) {
    constexpr std::size_t kHeaderSize = 27;  // "OggS", version, flags, granule, serial, seq, crc, n
    std::ifstream in(file, std::ios::binary);
    std::uint64_t pos = 0;
    unsigned char header[kHeaderSize];
    unsigned char lacing[255];
    while (pos < size) {
        in.seekg(static_cast<std::streamoff>(pos));
        in.read(reinterpret_cast<char*>(header), kHeaderSize);
        auto got = static_cast<std::size_t>(in.gcount());
        if (std::memcmp(header, "OggS", std::min<std::size_t>(got, 4)) != 0) {
            return std::nullopt;  // data after the last page is not ours to judge
        }
        if (got < kHeaderSize) {
            return fmt::format("truncated: the file ends inside an Ogg page header at byte {}",
                               pos);
        }
        std::size_t segments = header[kHeaderSize - 1];
        in.read(reinterpret_cast<char*>(lacing), static_cast<std::streamsize>(segments));
        if (static_cast<std::size_t>(in.gcount()) < segments) {
            return fmt::format("truncated: the file ends inside an Ogg page header at byte {}",
                               pos);
        }
        std::uint64_t body = 0;
        for (std::size_t i = 0; i < segments; ++i) {
            body += lacing[i];
        }
        std::uint64_t end = pos + kHeaderSize + segments + body;
        if (end > size) {
            return fmt::format(
                "truncated: the last Ogg page, at byte {}, needs {} bytes but the file ends "
                "after {}",
                pos, end - pos, size - pos);
        }
        pos = end;
    }
    return std::nullopt;
}

std::string seconds(std::int64_t micros) {
    return fmt::format("{:.3f} s", static_cast<double>(micros) / kMicros);
}

}  // namespace

std::expected<AudioInfo, Error> probe_audio(const fs::path& file) {
    quietFfmpeg();

    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (ec) {
        return fail(Error::Code::io, file, "cannot read: " + ec.message());
    }
    if (size == 0) {
        return fail(Error::Code::empty, file, "the file is empty (0 bytes)");
    }
    // Tell unreadable files apart from unrecognised ones before FFmpeg blurs both into one code.
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(Error::Code::io, file, std::string("cannot open: ") + std::strerror(errno));
    }
    ::close(fd);

    AVFormatContext* raw_format = nullptr;
    if (int rc = avformat_open_input(&raw_format, file.c_str(), nullptr, nullptr); rc < 0) {
        if (auto name = confidentFormat(file)) {
            return fail(Error::Code::corrupt, file,
                        fmt::format("looks like {} but does not open ({})", *name, avError(rc)));
        }
        return fail(Error::Code::not_media, file,
                    fmt::format("not a media file FFmpeg recognises ({})", avError(rc)));
    }
    FormatPtr format(raw_format);
    // A demuxer picked on a weak guess (the file name alone) that then finds nothing it knows
    // means the file was never media, not that it is damaged or silent.
    const bool weak_guess = format->probe_score <= AVPROBE_SCORE_RETRY;
    if (int rc = avformat_find_stream_info(format.get(), nullptr); rc < 0) {
        if (weak_guess) {
            return fail(Error::Code::not_media, file,
                        fmt::format("not a media file FFmpeg recognises ({})", avError(rc)));
        }
        return fail(Error::Code::corrupt, file,
                    fmt::format("cannot read the stream information ({})", avError(rc)));
    }

    int index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (index < 0) {
        if (weak_guess) {
            return fail(Error::Code::not_media, file, "not a media file FFmpeg recognises");
        }
        return fail(Error::Code::no_audio, file,
                    fmt::format("{} file without an audio stream", format->iformat->name));
    }
    AVStream* stream = format->streams[index];
    const AVCodecParameters* params = stream->codecpar;
    const char* codec_name = avcodec_get_name(params->codec_id);

    const AVCodec* decoder = avcodec_find_decoder(params->codec_id);
    if (decoder == nullptr) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("no decoder for the {} audio stream", codec_name));
    }
    CodecPtr codec(avcodec_alloc_context3(decoder));
    PacketPtr packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    if (!codec || !packet || !frame) {
        return fail(Error::Code::io, file, "out of memory while setting up the decoder");
    }
    if (int rc = avcodec_parameters_to_context(codec.get(), params); rc < 0) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("unusable {} stream parameters ({})", codec_name, avError(rc)));
    }
    codec->pkt_timebase = stream->time_base;
    if (int rc = avcodec_open2(codec.get(), decoder, nullptr); rc < 0) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("cannot open the {} decoder ({})", codec_name, avError(rc)));
    }
    // Only the audio stream is decoded; skipping the others keeps probing a video cheap.
    for (unsigned i = 0; i < format->nb_streams; ++i) {
        if (static_cast<int>(i) != index) {
            format->streams[i]->discard = AVDISCARD_ALL;
        }
    }

    DurationCounter counter;
    while (true) {
        int rc = av_read_frame(format.get(), packet.get());
        if (rc == AVERROR_EOF) {
            break;
        }
        if (rc < 0) {
            return fail(Error::Code::corrupt, file,
                        fmt::format("read error in the {} stream after {} ({})", codec_name,
                                    seconds(counter.micros()), avError(rc)));
        }
        if (packet->stream_index != index) {
            av_packet_unref(packet.get());
            continue;
        }
        rc = decodePacket(codec.get(), packet.get(), frame.get(), counter);
        av_packet_unref(packet.get());
        if (rc < 0) {
            return fail(Error::Code::corrupt, file,
                        fmt::format("the {} stream does not decode after {} ({})", codec_name,
                                    seconds(counter.micros()), avError(rc)));
        }
    }
    if (int rc = decodePacket(codec.get(), nullptr, frame.get(), counter); rc < 0) {
        return fail(
            Error::Code::corrupt, file,
            fmt::format("the {} stream does not decode at its end ({})", codec_name, avError(rc)));
    }

    if (counter.totalSamples() == 0) {
        return fail(Error::Code::empty, file,
                    fmt::format("the {} stream holds no audio samples", codec_name));
    }
    std::int64_t decoded_us = counter.micros();
    std::int64_t declared_us = declaredDurationUs(format.get(), stream);
    if (declared_us > 0 && clearlyShort(decoded_us, declared_us)) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("truncated: the {} stream decodes to {} but the {} container "
                                "declares {}",
                                codec_name, seconds(decoded_us), format->iformat->name,
                                seconds(declared_us)));
    }

    if (std::string_view(format->iformat->name) == "ogg") {
        if (auto why = oggTruncation(file, size)) {
            return fail(Error::Code::corrupt, file, *why);
        }
    }

    AudioInfo info;
    info.container = format->iformat->name;
    info.codec = codec_name;
    info.sample_rate = codec->sample_rate > 0 ? codec->sample_rate : params->sample_rate;
    info.channels = codec->ch_layout.nb_channels > 0 ? codec->ch_layout.nb_channels
                                                     : params->ch_layout.nb_channels;
    info.duration_us = decoded_us;
    info.size_bytes = size;
    return info;
}

}  // namespace loa::media
