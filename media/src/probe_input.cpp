// Opening, decoding whole and checking for truncation: the parts of probing every stream shares.
#include "probe_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/core.h>

#include "amr_nb.hpp"
#include "media_names.hpp"

namespace loa::media::detail {

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMicros = 1'000'000;
constexpr AVRational kMicrosBase{1, 1'000'000};
// Codec delay and padding make honest files decode a few tens of milliseconds short of what the
// container declares; anything under this is never called truncation.
constexpr std::int64_t kShortfallFloorUs = 100'000;
constexpr std::int64_t kShortfallAbsoluteUs = 500'000;
constexpr std::int64_t kShortfallPercent = 10;
// decodeStream reports progress in steps of at least this much of the file.
constexpr double kProgressStep = 0.01;
// drainFrames/decodePacket: the consumer asked to stop (FFmpeg's own codes are negative).
constexpr int kStopped = 1;

// Set by openOnlyTheFile when it refused to open anything but the file being opened.
thread_local bool refused_other_file = false;

// Playlists and scripts (HLS, concat, DASH …) name further files or URLs that their demuxer then
// opens: an imported "ban-tin.mp3" that is really an HLS playlist would make the controller read
// any file it can (another area's media, its own database) or fetch URLs for the uploader. Only
// the file asked for may be opened; every other open fails.
int openOnlyTheFile(AVFormatContext* format, AVIOContext** pb, const char* url, int flags,
                    AVDictionary** options) {
    if (format->url == nullptr || std::strcmp(url, format->url) != 0 ||
        (flags & AVIO_FLAG_WRITE) != 0) {
        refused_other_file = true;
        return AVERROR(EPERM);
    }
    return avio_open2(pb, url, flags, &format->interrupt_callback, options);
}

// The demuxer FFmpeg picks for `file` and how sure it is, judged by its content and, when
// `by_name`, its name too; none when nothing fits.
std::optional<std::pair<std::string, int>> probedFormat(const fs::path& file, bool by_name) {
    AVIOContext* raw_io = nullptr;
    if (avio_open(&raw_io, file.c_str(), AVIO_FLAG_READ) < 0) {
        return std::nullopt;
    }
    IoPtr io(raw_io);
    const AVInputFormat* format = nullptr;
    int score =
        av_probe_input_buffer2(io.get(), &format, by_name ? file.c_str() : nullptr, nullptr, 0, 0);
    if (score <= 0 || format == nullptr) {
        return std::nullopt;
    }
    return std::pair<std::string, int>{format->name, score};
}

// The demuxer FFmpeg is confident of for `file` (a score above "retry"). When a file will not
// open, this tells "not media at all" from "media whose header is damaged", such as an MP4 cut
// before its index.
std::optional<std::string> confidentFormat(const fs::path& file, bool by_name) {
    auto probed = probedFormat(file, by_name);
    if (!probed || probed->second <= AVPROBE_SCORE_RETRY) {
        return std::nullopt;
    }
    return probed->first;
}

// Demuxers that read other files, URLs or scripts named in the file (playlists, concat and
// composition lists, SDP sessions, subtitles beside the file, AviSynth scripts). Some (concat,
// vobsub) open them in a context of their own, out of reach of openOnlyTheFile: they are refused
// before the file is opened at all.
bool refersElsewhere(std::string_view demuxer) {
    constexpr std::array<std::string_view, 8> kDemuxers = {
        "hls", "dash", "concat", "imf", "sdp", "vobsub", "avisynth", "vapoursynth"};
    return std::find(kDemuxers.begin(), kDemuxers.end(), demuxer) != kDemuxers.end();
}

// Receives every frame the decoder has ready; returns 0 when it wants more input or is drained.
int drainFrames(AVCodecContext* codec, AVFrame* frame, const FrameConsumer& consume) {
    while (true) {
        int rc = avcodec_receive_frame(codec, frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
        bool more = consume(*frame);
        av_frame_unref(frame);
        if (!more) {
            return kStopped;
        }
    }
}

int decodePacket(AVCodecContext* codec, const AVPacket* packet, AVFrame* frame,
                 const FrameConsumer& consume) {
    while (true) {
        int rc = avcodec_send_packet(codec, packet);
        if (rc == AVERROR(EAGAIN)) {
            // The decoder is full: empty it, then offer the same packet again.
            if (int drained = drainFrames(codec, frame, consume); drained != 0) {
                return drained;
            }
            continue;
        }
        if (rc < 0 && !(packet == nullptr && rc == AVERROR_EOF)) {
            return rc;
        }
        return drainFrames(codec, frame, consume);
    }
}

// Progress by the share of the file's bytes the demuxer has read so far.
class ByteProgress {
  public:
    ByteProgress(AVFormatContext* format, const Progress& progress)
        : format_(format), progress_(progress) {
        if (progress_ && format_->pb != nullptr) {
            total_ = avio_size(format_->pb);
        }
    }
    void update() {
        if (!progress_ || total_ <= 0) {
            return;
        }
        double fraction = std::min(
            1.0, static_cast<double>(avio_tell(format_->pb)) / static_cast<double>(total_));
        if (fraction >= reported_ + kProgressStep) {
            reported_ = fraction;
            progress_(fraction);
        }
    }
    void done() {
        if (progress_) {
            progress_(1.0);
        }
    }

  private:
    AVFormatContext* format_;
    const Progress& progress_;
    std::int64_t total_ = 0;
    double reported_ = 0.0;
};

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
            return fmt::format(
                "bị cắt: tệp hết giữa phần đầu một trang Ogg, ở byte {0} / "
                "truncated: the file ends inside an Ogg page header at byte {0}",
                pos);
        }
        std::size_t segments = header[kHeaderSize - 1];
        in.read(reinterpret_cast<char*>(lacing), static_cast<std::streamsize>(segments));
        if (static_cast<std::size_t>(in.gcount()) < segments) {
            return fmt::format(
                "bị cắt: tệp hết giữa phần đầu một trang Ogg, ở byte {0} / "
                "truncated: the file ends inside an Ogg page header at byte {0}",
                pos);
        }
        std::uint64_t body = 0;
        for (std::size_t i = 0; i < segments; ++i) {
            body += lacing[i];
        }
        std::uint64_t end = pos + kHeaderSize + segments + body;
        if (end > size) {
            return fmt::format(
                "bị cắt: trang Ogg cuối, ở byte {0}, cần {1} byte nhưng tệp hết sau {2} / "
                "truncated: the last Ogg page, at byte {0}, needs {1} bytes but the file ends "
                "after {2}",
                pos, end - pos, size - pos);
        }
        pos = end;
    }
    return std::nullopt;
}

std::uint32_t le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

bool isChunkId(const unsigned char* id) {
    return std::all_of(id, id + 4, [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

// FFmpeg's WAV reader trims a `data` size larger than the file to what the file holds and
// stops at the declared size when more follows, so a WAV cut by an interrupted copy, or whose
// header claims too little, decodes "whole" and would be stored cut. The RIFF chunks say what
// the file should hold; this compares. Streamed WAVs declare nothing (see below).
std::optional<std::string> wavTruncation(const fs::path& file, std::uint64_t size) {
    std::ifstream in(file, std::ios::binary);
    unsigned char head[12];
    in.read(reinterpret_cast<char*>(head), sizeof head);
    if (in.gcount() < 12 || std::memcmp(head, "RIFF", 4) != 0 ||
        std::memcmp(head + 8, "WAVE", 4) != 0) {
        return std::nullopt;  // RF64 and others: not this reader's to judge
    }
    std::uint32_t byte_rate = 0;
    auto amount = [&](std::uint64_t bytes) {
        return byte_rate == 0 ? fmt::format("{} bytes", bytes)
                              : fmt::format("{} bytes ({:.3f} s)", bytes,
                                            static_cast<double>(bytes) / byte_rate);
    };
    std::uint64_t pos = 12;
    // A chunk's id and size, and for `fmt ` the start of its body up to the byte rate.
    unsigned char chunk[20];
    while (pos + 8 <= size) {
        in.seekg(static_cast<std::streamoff>(pos));
        in.read(reinterpret_cast<char*>(chunk), sizeof chunk);
        const auto got = in.gcount();
        if (got < 8) {
            return std::nullopt;
        }
        in.clear();
        const std::uint32_t len = le32(chunk + 4);
        if (std::memcmp(chunk, "fmt ", 4) == 0 && len >= 16 && got == sizeof chunk) {
            byte_rate = le32(chunk + 16);
        }
        if (std::memcmp(chunk, "data", 4) != 0) {
            pos += 8 + std::uint64_t{len} + (len & 1);
            continue;
        }
        if (len == 0 || len >= 0x7ffff000U) {
            // Streamed: the writer could not go back to write the size and left a placeholder
            // (FFmpeg 0xFFFFFFFF, espeak-ng 0x7FFFF000, others 0). Above 2 GiB is no import.
            return std::nullopt;
        }
        const std::uint64_t start = pos + 8;
        const std::uint64_t held = size - start;
        if (len > held) {
            return fmt::format(
                "bị cắt: phần đầu tệp WAV ghi {0} âm thanh nhưng tệp chỉ có {1}: thiếu {2} "
                "(chép tệp bị ngắt giữa chừng?) / truncated: the WAV header declares {0} of "
                "audio but the file holds {1}: {2} missing (an interrupted copy?)",
                amount(len), amount(held), amount(len - held));
        }
        // After the audio only RIFF chunks (metadata) may follow; audio bytes there mean the
        // header claims too little and the rest of the recording would be dropped.
        std::uint64_t after = start + len + (len & 1);
        while (after + 8 <= size) {
            unsigned char next[8];
            in.seekg(static_cast<std::streamoff>(after));
            in.read(reinterpret_cast<char*>(next), sizeof next);
            in.clear();
            if (!isChunkId(next)) {
                return fmt::format(
                    "phần đầu tệp WAV ghi {0} âm thanh nhưng sau đó còn {1} byte không thuộc "
                    "khối RIFF nào: phần đầu ghi thiếu, phần còn lại của bản ghi sẽ bị mất / the "
                    "WAV header declares {0} of audio but {1} more bytes follow it that are not "
                    "a RIFF chunk: the header claims too little, and the rest of the recording "
                    "would be dropped",
                    amount(len), size - (start + len));
            }
            const std::uint32_t next_len = le32(next + 4);
            after += 8 + std::uint64_t{next_len} + (next_len & 1);
        }
        return std::nullopt;  // a cut metadata chunk after whole audio loses no sound
    }
    return std::nullopt;
}

}  // namespace

}  // namespace loa::media::detail

namespace loa::media {

std::optional<std::string> unreadable_reason(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            return "không có tệp này / no such file";
        }
        if (err == EACCES) {
            return "không có quyền mở thư mục chứa tệp / no permission to open its folder";
        }
        return fmt::format("không đọc được tệp ({0}) / cannot read the file ({0})",
                           std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        return "là một thư mục, không phải tệp / is a folder, not a file";
    }
    if (!S_ISREG(st.st_mode)) {
        return "không phải tệp thường (thiết bị, ống hay socket) / not a regular file (a device, "
               "a pipe or a socket)";
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == EACCES || err == EPERM) {
            return "không có quyền đọc tệp / no permission to read it";
        }
        return fmt::format("không mở được tệp ({0}) / cannot open the file ({0})",
                           std::strerror(err));
    }
    ::close(fd);
    return std::nullopt;
}

}  // namespace loa::media

namespace loa::media::detail {

std::expected<Input, Error> openInput(const fs::path& file) {
    quietFfmpeg();
    Input input;
    // Tell unreadable files apart from unrecognised ones before FFmpeg blurs both into one code.
    if (auto why = unreadable_reason(file)) {
        return fail(Error::Code::io, file, *why);
    }
    std::error_code ec;
    input.size = fs::file_size(file, ec);
    if (ec) {
        return fail(
            Error::Code::io, file,
            fmt::format("không đọc được tệp ({0}) / cannot read the file ({0})", ec.message()));
    }
    if (input.size == 0) {
        return fail(Error::Code::empty, file, "tệp rỗng (0 byte) / the file is empty (0 bytes)");
    }

    std::string list_kind = "danh sách phát hay kịch bản / a playlist or a script";
    const auto refers_elsewhere = [&] { return refersElsewhereRefusal(file, list_kind); };
    // The same probe avformat_open_input makes, so the demuxer it would pick is known first.
    auto probed = probedFormat(file, true);
    if (probed && refersElsewhere(probed->first)) {
        list_kind = listKind(probed->first).value_or(list_kind);
        return refers_elsewhere();
    }
    // Plain playlists (M3U, PLS …) are text FFmpeg does not take for media at all.
    if (!confidentFormat(file, false)) {
        if (auto kind = playlistKind(file)) {
            list_kind = *kind;
            return refers_elsewhere();
        }
    }
    AVFormatContext* raw_format = avformat_alloc_context();
    if (raw_format == nullptr) {
        return fail(Error::Code::io, file, "hết bộ nhớ khi mở tệp / out of memory while opening");
    }
    raw_format->io_open = openOnlyTheFile;
    refused_other_file = false;
    if (int rc = avformat_open_input(&raw_format, file.c_str(), nullptr, nullptr); rc < 0) {
        if (refused_other_file) {
            return refers_elsewhere();
        }
        if (auto name = confidentFormat(file, true)) {
            return fail(Error::Code::corrupt, file,
                        fmt::format("có vẻ là tệp {0} nhưng hỏng, không mở được / looks like a "
                                    "{0} file but is damaged and does not open (FFmpeg: {1})",
                                    formatName(*name), avError(rc)));
        }
        return notMedia(file);
    }
    input.format.reset(raw_format);
    // A demuxer chosen for the file name alone (image2 takes any "x.png") has the extension's
    // score; only content that FFmpeg recognises without the name makes such a guess strong.
    input.weak_guess =
        input.format->probe_score <= AVPROBE_SCORE_RETRY ||
        (input.format->probe_score <= AVPROBE_SCORE_EXTENSION && !confidentFormat(file, false));
    const int rc = avformat_find_stream_info(input.format.get(), nullptr);
    if (refused_other_file) {
        return refers_elsewhere();
    }
    if (rc < 0) {
        if (input.weak_guess) {
            return notMedia(file);
        }
        return fail(Error::Code::corrupt, file,
                    fmt::format("tệp {0} hỏng: không đọc được thông tin các dòng / the {0} file "
                                "is damaged: its stream information cannot be read (FFmpeg: {1})",
                                formatName(input.format.get()), avError(rc)));
    }
    return input;
}

std::expected<CodecPtr, Error> openDecoder(const fs::path& file, const AVStream* stream) {
    const AVCodecParameters* params = stream->codecpar;
    const std::string codec_name = codecName(avcodec_get_name(params->codec_id));
    const AVCodec* decoder = avcodec_find_decoder(params->codec_id);
    if (decoder == nullptr) {
        return fail(Error::Code::unsupported, file,
                    fmt::format("loa không giải mã được dòng {0} của tệp; hãy chuyển tệp sang "
                                "WAV hay MP3 rồi nhập lại / loa cannot decode its {0} stream; "
                                "convert the file to WAV or MP3 and import that",
                                codec_name));
    }
    CodecPtr codec(avcodec_alloc_context3(decoder));
    if (!codec) {
        return fail(Error::Code::io, file,
                    "hết bộ nhớ khi chuẩn bị giải mã / out of memory while setting up the decoder");
    }
    if (int rc = avcodec_parameters_to_context(codec.get(), params); rc < 0) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("dòng {0} hỏng: thông số không dùng được / the {0} stream is "
                                "damaged: unusable parameters (FFmpeg: {1})",
                                codec_name, avError(rc)));
    }
    codec->pkt_timebase = stream->time_base;
    codec->thread_count = 0;  // as many threads as cores: a long video decodes several times faster
    if (int rc = avcodec_open2(codec.get(), decoder, nullptr); rc < 0) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("dòng {0} hỏng: không mở được bộ giải mã / the {0} stream is "
                                "damaged: its decoder does not open (FFmpeg: {1})",
                                codec_name, avError(rc)));
    }
    return codec;
}

void keepOnlyStream(AVFormatContext* format, int index) {
    for (unsigned i = 0; i < format->nb_streams; ++i) {
        if (static_cast<int>(i) != index) {
            format->streams[i]->discard = AVDISCARD_ALL;
        }
    }
}

bool isAttachedPicture(const AVStream* stream) {
    return (stream->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
}

int realVideoStream(const AVFormatContext* format) {
    for (unsigned i = 0; i < format->nb_streams; ++i) {
        const AVStream* stream = format->streams[i];
        if (stream->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !isAttachedPicture(stream)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

std::optional<DecodeStop> decodeStream(AVFormatContext* format, AVCodecContext* codec, int index,
                                       const FrameConsumer& consume, const Progress& progress,
                                       IgnoredTail* tail) {
    PacketPtr packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    if (!packet || !frame) {
        return DecodeStop{DecodeStop::Where::decode, AVERROR(ENOMEM)};
    }
    ByteProgress bytes(format, progress);
    // Streams found by sync words may end in junk players skip; see the header.
    const bool junk_may_follow =
        codec->codec_id == AV_CODEC_ID_MP3 || codec->codec_id == AV_CODEC_ID_MP2 ||
        codec->codec_id == AV_CODEC_ID_MP1 ||
        (codec->codec_id == AV_CODEC_ID_AAC && std::string_view(format->iformat->name) == "aac");
    std::optional<DecodeStop> failed;  // the first packet that did not decode, while in doubt
    std::int64_t failed_at = -1;
    bool after_failure = false;  // a frame came after it: the damage is in the middle
    const FrameConsumer checked = [&](const AVFrame& f) {
        if (failed) {
            after_failure = true;
            return false;
        }
        return consume(f);
    };
    // AMR-NB goes to libopencore-amrnb: FFmpeg's decoder refuses DTX silence frames.
    std::unique_ptr<AmrNbDecoder> amr;
    if (codec->codec_id == AV_CODEC_ID_AMR_NB) {
        amr = std::make_unique<AmrNbDecoder>();
    }
    while (true) {
        int rc = av_read_frame(format, packet.get());
        if (rc == AVERROR_EOF) {
            break;
        }
        if (rc < 0) {
            return DecodeStop{DecodeStop::Where::read, rc};
        }
        if (packet->stream_index != index) {
            av_packet_unref(packet.get());
            continue;
        }
        const std::int64_t packet_at = packet->pos;
        if (amr) {
            rc = amr->decode(*packet, codec->sample_fmt, *frame);
            if (rc == 0) {
                rc = consume(*frame) ? 0 : kStopped;
            }
            av_frame_unref(frame.get());
        } else {
            rc = decodePacket(codec, packet.get(), frame.get(), checked);
        }
        av_packet_unref(packet.get());
        if (after_failure) {
            return failed;
        }
        if (rc == kStopped) {
            return DecodeStop{DecodeStop::Where::consumer, 0};
        }
        if (rc < 0 && !failed) {
            if (!junk_may_follow || packet_at < 0) {
                return DecodeStop{DecodeStop::Where::decode, rc};
            }
            failed = DecodeStop{DecodeStop::Where::decode, rc};
            failed_at = packet_at;
        }
        bytes.update();
    }
    if (int rc = amr ? 0 : decodePacket(codec, nullptr, frame.get(), checked); rc != 0) {
        if (after_failure) {
            return failed;
        }
        return rc == kStopped ? DecodeStop{DecodeStop::Where::consumer, 0}
                              : DecodeStop{DecodeStop::Where::flush, rc};
    }
    if (failed && tail != nullptr) {
        const std::int64_t size = format->pb != nullptr ? avio_size(format->pb) : -1;
        tail->offset = static_cast<std::uint64_t>(failed_at);
        tail->bytes = size > failed_at ? static_cast<std::uint64_t>(size - failed_at) : 0;
    }
    bytes.done();
    return std::nullopt;
}

std::unexpected<Error> decodeFailure(const fs::path& file, const Input& input,
                                     const Stopped& stopped) {
    const DecodeStop& stop = stopped.stop;
    const std::string codec = codecName(stopped.codec_name);
    if (stop.where == DecodeStop::Where::consumer) {
        return fail(Error::Code::io, file,
                    fmt::format("việc giải mã dòng {0} dừng sau {1} / decoding the {0} stream "
                                "stopped after {1}",
                                codec, stopped.position));
    }
    if (stopped.nothing_decoded && input.weak_guess) {
        return notMedia(file);
    }
    // A cut file usually fails on its last packet: "truncated" says more than the decoder.
    if (stopped.truncation) {
        return fail(Error::Code::corrupt, file,
                    fmt::format("{} (FFmpeg: {})", *stopped.truncation, avError(stop.rc)));
    }
    std::string why;
    switch (stop.where) {
        case DecodeStop::Where::read:
            why = fmt::format(
                "hỏng: lỗi đọc dòng {0} sau {1} / damaged: read error in the {0} "
                "stream after {1}",
                codec, stopped.position);
            break;
        case DecodeStop::Where::decode:
            why = fmt::format(
                "hỏng: dòng {0} không giải mã được sau {1} / damaged: the {0} "
                "stream does not decode after {1}",
                codec, stopped.position);
            break;
        default:
            why = fmt::format(
                "hỏng: dòng {0} không giải mã được ở cuối / damaged: the {0} "
                "stream does not decode at its end",
                codec);
            break;
    }
    return fail(Error::Code::corrupt, file, fmt::format("{} (FFmpeg: {})", why, avError(stop.rc)));
}

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

std::optional<std::string> durationShortfall(std::int64_t decoded_us, std::int64_t declared_us,
                                             const std::string& codec_name,
                                             const AVFormatContext* format) {
    if (declared_us <= 0) {
        return std::nullopt;
    }
    std::int64_t shortfall = declared_us - decoded_us;
    if (shortfall <= kShortfallFloorUs) {
        return std::nullopt;
    }
    if (shortfall <= kShortfallAbsoluteUs && shortfall * 100 <= declared_us * kShortfallPercent) {
        return std::nullopt;
    }
    return fmt::format(
        "bị cắt: dòng {0} chỉ giải mã được {1} trong khi phần đầu tệp {2} ghi {3} / truncated: "
        "the {0} stream decodes to {1} but the {2} container declares {3}",
        codecName(codec_name), seconds(decoded_us), formatName(format), seconds(declared_us));
}

std::optional<std::string> containerTruncation(const fs::path& file, const AVFormatContext* format,
                                               std::uint64_t size) {
    const std::string_view name = format->iformat->name;
    if (name == "ogg") {
        return oggTruncation(file, size);
    }
    if (name == "wav") {
        return wavTruncation(file, size);
    }
    return std::nullopt;
}

std::string seconds(std::int64_t micros) {
    return fmt::format("{:.3f} s", static_cast<double>(micros) / kMicros);
}

std::string clock_and_seconds(std::int64_t micros) {
    const std::int64_t s = micros / kMicros;
    return fmt::format("{}:{:02}:{:02} ({:.1f} s)", s / 3600, s / 60 % 60, s % 60,
                       static_cast<double>(micros) / kMicros);
}

}  // namespace loa::media::detail
