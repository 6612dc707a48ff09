// Probing audio files with FFmpeg's libavformat/libavcodec: what they are and whether they decode.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "loa/media/error.hpp"
#include "loa/media/progress.hpp"

namespace loa::media {

/// What a probe learned about an audio file.
struct AudioInfo {
    std::string container;  ///< libavformat short name, e.g. "wav", "mp3", "ogg"
    std::string codec;      ///< codec short name, e.g. "pcm_s16le", "mp3", "opus"
    int sample_rate = 0;    ///< Hz
    int channels = 0;
    std::int64_t duration_us = 0;  ///< from the decoded samples, not the header
    std::uint64_t size_bytes = 0;
    /// The file also holds a real video stream. Cover art (an MP3's or M4A's attached picture,
    /// AV_DISPOSITION_ATTACHED_PIC) is not video.
    bool has_video = false;
    std::string video_codec;  ///< that stream's codec, e.g. "h264"; empty without video
    /// What an operator should know although the file is accepted (bilingual, one line each),
    /// e.g. bytes after the last audio frame that were ignored.
    std::vector<std::string> warnings;
};

/// Opens `file`, finds its best audio stream and decodes it completely, so that truncated or
/// corrupt streams are refused, not just bad headers. `progress` follows the decoding.
/// Never throws.
std::expected<AudioInfo, Error> probe_audio(const std::filesystem::path& file,
                                            const Progress& progress = {});

}  // namespace loa::media
