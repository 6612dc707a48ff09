// Probing audio files with libavformat/libavcodec: decodes the whole stream to prove it plays.
#include "loa/media/audio_probe.hpp"

#include "media_names.hpp"
#include "probe_input.hpp"

#include <fmt/core.h>

namespace loa::media {

namespace {

using namespace detail;

namespace fs = std::filesystem;

constexpr std::int64_t kMicros = 1'000'000;
// Headers round, and codec padding adds a frame: a length this close to the limit is judged
// by the decoded samples, not refused from the header.
constexpr std::int64_t kLimitSlackUs = 1'000'000;

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
    /// micros() without closing the current run, for checking a limit frame by frame.
    std::int64_t runningMicros() const {
        return micros_ + (rate_ > 0 ? av_rescale(samples_, kMicros, rate_) : 0);
    }

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

}  // namespace

namespace detail {

std::expected<AudioInfo, Error> probeAudio(const fs::path& file, std::int64_t max_duration_us,
                                           const Progress& progress, const FrameTap& tap) {
    auto input = openInput(file);
    if (!input) {
        return std::unexpected(input.error());
    }
    AVFormatContext* format = input->format.get();
    const int video = realVideoStream(format);

    int index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (index < 0) {
        if (input->weak_guess) {
            return notMedia(file);
        }
        return fail(Error::Code::no_audio, file,
                    fmt::format("tệp {0} không có âm thanh; loa phát thanh cần âm thanh: nhập "
                                "ảnh và video cho bảng điện tử (--for panel) / a {0} file without "
                                "sound; loudspeakers need sound: import images and video for "
                                "panel boards (--for panel)",
                                formatName(format)));
    }
    AVStream* stream = format->streams[index];
    const std::string codec_name = avcodec_get_name(stream->codecpar->codec_id);
    const std::int64_t declared_us = declaredDurationUs(format, stream);
    // Refused from what the header states, before hours of audio are decoded for nothing.
    if (max_duration_us > 0 && declared_us > max_duration_us + kLimitSlackUs) {
        return fail(
            Error::Code::too_long, file,
            fmt::format("quá dài: phần đầu tệp ghi {0}, quá giới hạn {1} cho một mục / "
                        "too long: its header says it lasts {0}, more than the limit of "
                        "{1} for one item",
                        clock_and_seconds(declared_us), clock_and_seconds(max_duration_us)));
    }
    auto codec = openDecoder(file, stream);
    if (!codec) {
        return std::unexpected(codec.error());
    }
    // Only the audio stream is decoded; skipping the others keeps probing a video cheap.
    keepOnlyStream(format, index);

    DurationCounter counter;
    AVCodecContext* decoder = codec->get();
    IgnoredTail tail;
    std::optional<Error> refused;  // why the tap or the limit stopped the decoding
    auto stop = decodeStream(
        format, decoder, index,
        [&](const AVFrame& frame) {
            counter.add(frame.sample_rate > 0 ? frame.sample_rate : decoder->sample_rate,
                        frame.nb_samples);
            if (tap) {
                if (auto ok = tap(*decoder, &frame); !ok) {
                    refused = ok.error();
                    return false;
                }
            }
            if (max_duration_us > 0 && counter.runningMicros() > max_duration_us + kLimitSlackUs) {
                refused = Error{Error::Code::too_long,
                                fmt::format("{0}: quá dài: đã giải mã hơn {1}, quá giới hạn cho "
                                            "một mục / too long: more than the limit of {1} for "
                                            "one item decoded already",
                                            file.string(), clock_and_seconds(max_duration_us))};
                return false;
            }
            return true;
        },
        progress, &tail);
    if (refused) {
        return std::unexpected(*refused);
    }
    const std::int64_t decoded_us = counter.micros();
    auto truncation = durationShortfall(decoded_us, declared_us, codec_name, format);
    if (stop) {
        return decodeFailure(
            file, *input,
            {*stop, codec_name, seconds(decoded_us), counter.totalSamples() == 0, truncation});
    }
    if (counter.totalSamples() == 0) {
        return fail(Error::Code::empty, file,
                    fmt::format("dòng {0} không có mẫu âm thanh nào / the {0} stream holds no "
                                "audio samples",
                                codecName(codec_name)));
    }
    if (truncation) {
        return fail(Error::Code::corrupt, file, *truncation);
    }
    if (auto why = containerTruncation(file, format, input->size)) {
        return fail(Error::Code::corrupt, file, *why);
    }
    if (max_duration_us > 0 && decoded_us > max_duration_us) {
        return fail(Error::Code::too_long, file,
                    fmt::format("quá dài: dài {0}, quá giới hạn {1} cho một mục / too long: it "
                                "lasts {0}, more than the limit of {1} for one item",
                                clock_and_seconds(decoded_us), clock_and_seconds(max_duration_us)));
    }
    if (tap) {
        if (auto ok = tap(*decoder, nullptr); !ok) {
            return std::unexpected(ok.error());
        }
    }

    AudioInfo info;
    info.container = format->iformat->name;
    info.codec = codec_name;
    info.sample_rate =
        decoder->sample_rate > 0 ? decoder->sample_rate : stream->codecpar->sample_rate;
    info.channels = decoder->ch_layout.nb_channels > 0 ? decoder->ch_layout.nb_channels
                                                       : stream->codecpar->ch_layout.nb_channels;
    info.duration_us = decoded_us;
    info.size_bytes = input->size;
    info.has_video = video >= 0;
    if (tail.bytes > 0) {
        info.warnings.push_back(fmt::format(
            "bỏ qua {0} byte ở cuối tệp, sau khung âm thanh cuối cùng (byte {1}, sau {2}): "
            "không phải âm thanh, máy phát nào cũng bỏ qua / ignored {0} bytes at the end of the "
            "file, after the last audio frame (byte {1}, after {2}): not audio, and every player "
            "skips them",
            tail.bytes, tail.offset, seconds(decoded_us)));
    }
    if (info.has_video) {
        info.video_codec = avcodec_get_name(format->streams[video]->codecpar->codec_id);
    }
    return info;
}

}  // namespace detail

std::expected<AudioInfo, Error> probe_audio(const fs::path& file, const Progress& progress) {
    return detail::probeAudio(file, 0, progress, {});
}

}  // namespace loa::media
