// Probing audio files with FFmpeg's libavformat/libavcodec: what they are and whether they decode.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>

#include "loa/media/error.hpp"

namespace loa::media {

/// What a probe learned about an audio file.
struct AudioInfo {
    std::string container;  ///< libavformat short name, e.g. "wav", "mp3", "ogg"
    std::string codec;      ///< codec short name, e.g. "pcm_s16le", "mp3", "opus"
    int sample_rate = 0;    ///< Hz
    int channels = 0;
    std::int64_t duration_us = 0;  ///< from the decoded samples, not the header
    std::uint64_t size_bytes = 0;
};

/// Opens `file`, finds its best audio stream and decodes it completely, so that truncated or
/// corrupt streams are refused, not just bad headers. Never throws.
std::expected<AudioInfo, Error> probe_audio(const std::filesystem::path& file);

}  // namespace loa::media
