// Probing images and video for panel boards: every picture decoded, damaged or cut files refused.
#include "loa/media/visual_probe.hpp"

#include "media_names.hpp"
#include "probe_input.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/core.h>

namespace loa::media {

namespace {

using namespace detail;

namespace fs = std::filesystem;

constexpr AVRational kMicrosBase{1, 1'000'000};

// The time the decoded pictures span: from the first one's timestamp to the end of the last.
class FrameSpan {
  public:
    explicit FrameSpan(const AVStream* stream) : stream_(stream) {}

    void add(const AVFrame& frame) {
        ++frames_;
        std::int64_t pts = frame.best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE) {
            return;
        }
        std::int64_t length = frame.pkt_duration > 0 ? frame.pkt_duration : frameLength();
        first_ = std::min(first_, pts);
        end_ = std::max(end_, pts + length);
    }
    std::int64_t frames() const { return frames_; }
    // Where the last picture decoded sits, for messages about the one after it.
    std::int64_t micros() const {
        if (end_ > first_) {
            return av_rescale_q(end_ - first_, stream_->time_base, kMicrosBase);
        }
        // No timestamps: count pictures at the stream's frame rate.
        AVRational rate = stream_->avg_frame_rate;
        return rate.num > 0 ? av_rescale_q(frames_, av_inv_q(rate), kMicrosBase) : 0;
    }

  private:
    // One picture's length in the stream's time base, from its frame rate.
    std::int64_t frameLength() const {
        AVRational rate = stream_->avg_frame_rate;
        return rate.num > 0 ? av_rescale_q(1, av_inv_q(rate), stream_->time_base) : 0;
    }

    const AVStream* stream_;
    std::int64_t frames_ = 0;
    std::int64_t first_ = std::numeric_limits<std::int64_t>::max();
    std::int64_t end_ = std::numeric_limits<std::int64_t>::min();
};

bool isImageCodec(std::string_view codec) {
    return codec == "png" || codec == "mjpeg";
}

// The mjpeg decoder draws a JPEG cut short with its missing rows grey and reports nothing, so a
// half-copied photo would reach the boards. Walks the JPEG's segments to its end-of-image marker
// (past any thumbnail in its EXIF data) and returns why the file ends without one.
std::optional<std::string> jpegTruncation(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<unsigned char> data{std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>()};
    const std::size_t size = data.size();
    if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        return std::nullopt;  // not a plain JPEG file: the decoder's verdict stands
    }
    std::size_t pos = 2;
    while (pos + 1 < size) {
        if (data[pos] != 0xFF) {
            return std::nullopt;  // not where a marker should be: leave it to the decoder
        }
        unsigned char marker = data[pos + 1];
        if (marker == 0xFF) {
            ++pos;  // fill byte
            continue;
        }
        if (marker == 0xD9) {
            return std::nullopt;  // end of image
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            pos += 2;  // markers without a length
            continue;
        }
        if (pos + 4 > size) {
            break;
        }
        std::size_t end = pos + 2 + (static_cast<std::size_t>(data[pos + 2]) << 8 | data[pos + 3]);
        if (end > size) {
            return fmt::format(
                "bị cắt: tệp JPEG hết giữa một đoạn (mã 0x{0:02X} ở byte {1}) / truncated: the "
                "JPEG ends inside a segment (marker 0x{0:02X} at byte {1})",
                marker, pos);
        }
        pos = end;
        if (marker == 0xDA) {
            // Compressed data follows the scan header; in it 0xFF is followed by 0x00 (a stuffed
            // byte) or a restart marker, and anything else is the next marker.
            while (pos + 1 < size && !(data[pos] == 0xFF && data[pos + 1] != 0x00 &&
                                       !(data[pos + 1] >= 0xD0 && data[pos + 1] <= 0xD7))) {
                ++pos;
            }
            if (pos + 1 >= size) {
                return fmt::format(
                    "bị cắt: tệp JPEG hết giữa dữ liệu ảnh nén, ở byte {0}, không có mã kết thúc "
                    "ảnh / truncated: the JPEG ends inside its compressed picture data, at byte "
                    "{0}, without an end-of-image marker",
                    size);
            }
        }
    }
    return fmt::format(
        "bị cắt: tệp JPEG hết ở byte {0} mà không có mã kết thúc ảnh / truncated: "
        "the JPEG ends at byte {0} without an end-of-image marker",
        size);
}

std::unexpected<Error> noPicture(const fs::path& file, const AVFormatContext* format) {
    bool audio = av_find_best_stream(const_cast<AVFormatContext*>(format), AVMEDIA_TYPE_AUDIO, -1,
                                     -1, nullptr, 0) >= 0;
    bool cover = false;
    for (unsigned i = 0; i < format->nb_streams; ++i) {
        cover = cover || isAttachedPicture(format->streams[i]);
    }
    if (audio) {
        return fail(
            Error::Code::no_picture, file,
            fmt::format("tệp âm thanh {0}{1}: bảng điện tử hiện ảnh và video, không phát "
                        "âm thanh không có hình; nhập nó cho loa (--for speaker) / {0} "
                        "audio{2}: panels show images and video, not sound alone; import "
                        "it for loudspeakers (--for speaker)",
                        formatName(format), cover ? " chỉ có ảnh bìa" : " không có hình",
                        cover ? " with only cover art for a picture" : " without a picture"));
    }
    return fail(Error::Code::no_picture, file,
                fmt::format("tệp {0} không có ảnh hay video / a {0} file without an image or "
                            "video stream",
                            formatName(format)));
}

}  // namespace

std::string_view to_string(VisualInfo::Kind kind) {
    return kind == VisualInfo::Kind::image ? "image" : "video";
}

std::expected<VisualInfo, Error> probe_visual(const fs::path& file, const Progress& progress) {
    auto input = openInput(file);
    if (!input) {
        return std::unexpected(input.error());
    }
    AVFormatContext* format = input->format.get();
    int index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (index >= 0 && isAttachedPicture(format->streams[index])) {
        index = realVideoStream(format);
    }
    if (index < 0) {
        if (input->weak_guess) {
            return notMedia(file);
        }
        return noPicture(file, format);
    }
    AVStream* stream = format->streams[index];
    const std::string codec_name = avcodec_get_name(stream->codecpar->codec_id);
    const bool has_audio = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
    auto codec = openDecoder(file, stream);
    if (!codec) {
        return std::unexpected(codec.error());
    }
    keepOnlyStream(format, index);

    FrameSpan span(stream);
    int width = 0;
    int height = 0;
    bool damaged = false;
    auto stop = decodeStream(
        format, codec->get(), index,
        [&](const AVFrame& frame) {
            if (frame.decode_error_flags != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0) {
                damaged = true;
                return false;
            }
            width = std::max(width, frame.width);
            height = std::max(height, frame.height);
            span.add(frame);
            return true;
        },
        progress);
    if (damaged) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("hỏng: dòng {0} có hình bị hỏng sau {1} ({2} hình tốt) / damaged: "
                                "the {0} stream has a damaged picture after {1} ({2} good "
                                "pictures)",
                                codecName(codec_name), seconds(span.micros()), span.frames()));
    }
    const std::int64_t decoded_us = span.micros();
    auto truncation =
        durationShortfall(decoded_us, declaredDurationUs(format, stream), codec_name, format);
    if (stop) {
        return decodeFailure(
            file, *input, {*stop, codec_name, seconds(decoded_us), span.frames() == 0, truncation});
    }
    if (span.frames() == 0) {
        return fail(Error::Code::empty, file,
                    fmt::format("dòng {0} không có hình nào / the {0} stream holds no pictures",
                                codecName(codec_name)));
    }

    VisualInfo info;
    info.container = format->iformat->name;
    info.codec = codec_name;
    info.width = width;
    info.height = height;
    info.frames = span.frames();
    info.has_audio = has_audio;
    info.size_bytes = input->size;
    if (span.frames() == 1 && !has_audio) {
        if (!isImageCodec(codec_name)) {
            return fail(Error::Code::unsupported, file,
                        fmt::format("một ảnh {0}: bảng điện tử nhận ảnh tĩnh dạng PNG hay JPEG; "
                                    "hãy chuyển ảnh sang PNG / a single {0} picture: panels take "
                                    "still images as PNG or JPEG; convert it to PNG",
                                    codecName(codec_name)));
        }
        if (codec_name == "mjpeg") {
            if (auto why = jpegTruncation(file)) {
                return fail(Error::Code::corrupt, file, *why);
            }
        }
        info.kind = VisualInfo::Kind::image;
        return info;
    }

    info.kind = VisualInfo::Kind::video;
    info.duration_us = decoded_us;
    if (truncation) {
        return fail(Error::Code::corrupt, file, *truncation);
    }
    if (auto why = containerTruncation(file, format, input->size)) {
        return fail(Error::Code::corrupt, file, *why);
    }
    return info;
}

}  // namespace loa::media
