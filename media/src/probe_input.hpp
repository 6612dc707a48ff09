// What probing audio and probing pictures share: opening a file with verdicts an operator can act
// on, decoding one stream whole, and telling a truncated stream from an honest one.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "ffmpeg_handles.hpp"
#include "loa/media/audio_probe.hpp"
#include "loa/media/error.hpp"
#include "loa/media/progress.hpp"

namespace loa::media::detail {

/// A file opened by libavformat with its stream information read.
struct Input {
    FormatPtr format;
    std::uint64_t size = 0;
    /// The demuxer was picked on a weak guess (the file name alone, nothing in the content): when
    /// it then finds nothing it knows, the file was never media, rather than damaged or silent.
    bool weak_guess = false;
};

/// Opens `file`, refusing with the right code: io (missing, unreadable), empty (0 bytes),
/// not_media (nothing FFmpeg recognises), corrupt (recognisable media that does not open, such
/// as an MP4 cut before its index).
std::expected<Input, Error> openInput(const std::filesystem::path& file);

/// Opens a decoder for `stream`; errors name the codec.
std::expected<CodecPtr, Error> openDecoder(const std::filesystem::path& file,
                                           const AVStream* stream);

/// Sets every stream but `index` to be discarded by the demuxer: only one stream is decoded.
void keepOnlyStream(AVFormatContext* format, int index);

/// True for a video stream that is really cover art (AV_DISPOSITION_ATTACHED_PIC), such as the
/// picture in an MP3's ID3 tag or an M4A's covr atom.
bool isAttachedPicture(const AVStream* stream);

/// The first video stream that is not cover art, or -1.
int realVideoStream(const AVFormatContext* format);

/// Where decodeStream stopped before the end of the stream.
struct DecodeStop {
    enum class Where {
        read,      ///< the demuxer failed to read a packet
        decode,    ///< the decoder refused a packet or failed on a frame
        flush,     ///< the decoder failed while draining at the end
        consumer,  ///< the frame consumer asked to stop (it keeps its own reason)
    };
    Where where;
    int rc;  ///< FFmpeg's error code (0 for consumer)
};

/// Receives each decoded frame; false stops decoding.
using FrameConsumer = std::function<bool(const AVFrame& frame)>;

/// Bytes after the last good frame of a stream whose frames are found by their sync words (MP3,
/// ADTS AAC): junk that players skip, such as zero padding or a stray tail.
struct IgnoredTail {
    std::uint64_t offset = 0;  ///< where the first packet that did not decode starts
    std::uint64_t bytes = 0;   ///< from there to the end of the file
};

/// Reads every packet of stream `index` and decodes it, handing each frame to `consume`, then
/// drains the decoder. Reports progress by the share of the file's bytes read. Returns where it
/// stopped if it did not reach the end.
///
/// For MP3 and ADTS AAC, a packet that does not decode is not the end yet: if no later packet
/// decodes either, the bytes from it on were a tail of junk, reported in `tail` (when given) and
/// not an error; if audio decodes after it, the stream is damaged in the middle and the first
/// failure is returned. Whether the audio before the tail is whole is for the caller to judge
/// (durationShortfall): an MP3 cut mid-stream and padded ends in such a tail too.
std::optional<DecodeStop> decodeStream(AVFormatContext* format, AVCodecContext* codec, int index,
                                       const FrameConsumer& consume, const Progress& progress,
                                       IgnoredTail* tail = nullptr);

/// How far decoding got when it stopped early, for the refusal's wording.
struct Stopped {
    DecodeStop stop;
    std::string codec_name;  ///< names the stream
    std::string position;    ///< how far decoding got, e.g. "12.340 s"
    bool nothing_decoded = false;
    /// durationShortfall's verdict on what did decode: a cut file usually fails on its last
    /// packet, and "truncated" tells the operator more than the decoder's complaint.
    std::optional<std::string> truncation;
};

/// The refusal for a decoding that stopped early (not at the consumer's request): corrupt, or
/// not_media when nothing decoded from a file recognised by its name alone (text called .png).
std::unexpected<Error> decodeFailure(const std::filesystem::path& file, const Input& input,
                                     const Stopped& stopped);

/// What the container says `stream` lasts, or -1 when it does not say or merely guesses from the
/// bitrate (a guess that shrinks with the file, so it cannot reveal truncation anyway).
std::int64_t declaredDurationUs(const AVFormatContext* format, const AVStream* stream);

/// Why a stream that decodes to `decoded_us` while its container declares `declared_us` was cut
/// short, or nothing when the difference is the usual codec delay and padding.
std::optional<std::string> durationShortfall(std::int64_t decoded_us, std::int64_t declared_us,
                                             const std::string& codec_name,
                                             const AVFormatContext* format);

/// Checks of the file's own structure for containers whose demuxer takes a cut file for a whole
/// one (Ogg). Returns why the file is truncated.
std::optional<std::string> containerTruncation(const std::filesystem::path& file,
                                               const AVFormatContext* format, std::uint64_t size);

/// "12.340 s".
std::string seconds(std::int64_t micros);

/// "1:02:03 (3723.0 s)": a length as operators count broadcast time, and in seconds.
std::string clock_and_seconds(std::int64_t micros);

/// Receives every decoded frame of the probed stream, with its decoder for the sample format;
/// then once more with a null frame at the end. An error stops the probe and is returned.
using FrameTap =
    std::function<std::expected<void, Error>(const AVCodecContext& codec, const AVFrame* frame)>;

/// probe_audio with a limit and a tap: audio longer than `max_duration_us` (0: no limit) is
/// refused with Error::Code::too_long, from its header's stated length before anything is
/// decoded when it states one, or as soon as decoding passes the limit; `tap` sees the audio the
/// probe decodes, so that one decoding serves every measurement.
std::expected<AudioInfo, Error> probeAudio(const std::filesystem::path& file,
                                           std::int64_t max_duration_us, const Progress& progress,
                                           const FrameTap& tap);

}  // namespace loa::media::detail
