// Probing what LED panel boards show: PNG and JPEG images, and video, decoded whole with FFmpeg.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "loa/media/error.hpp"
#include "loa/media/progress.hpp"

namespace loa::media {

/// What a probe learned about a picture or a video.
struct VisualInfo {
    enum class Kind { image, video };
    Kind kind = Kind::image;
    std::string container;  ///< libavformat short name, e.g. "png_pipe", "image2", "mov,mp4,…"
    std::string codec;      ///< codec short name: "png" or "mjpeg" for images; e.g. "h264"
    int width = 0;          ///< pixels
    int height = 0;
    std::int64_t duration_us = 0;  ///< video: from the decoded frames' timestamps; images: 0
    std::int64_t frames = 0;       ///< pictures decoded (1 for an image)
    bool has_audio = false;        ///< a video with a sound track (not decoded here)
    std::uint64_t size_bytes = 0;
};

/// "image" or "video", as the controller records it.
std::string_view to_string(VisualInfo::Kind kind);

/// Opens `file`, finds its video stream (cover art does not count) and decodes every picture, so
/// that truncated or damaged files are refused, not just bad headers. A file that decodes to a
/// single picture and has no sound is an image, and must be PNG or JPEG (else
/// Error::Code::unsupported); anything longer is a video, in any codec FFmpeg decodes. Audio-only
/// files are Error::Code::no_picture. `progress` follows the decoding. Never throws.
std::expected<VisualInfo, Error> probe_visual(const std::filesystem::path& file,
                                              const Progress& progress = {});

}  // namespace loa::media
