// Private: the names an operator knows formats by ("MP4/M4A", "PNG", "AMR-NB"), never FFmpeg's
// internal ones ("mov,mp4,m4a,3gp,3g2,mj2", "png_pipe", "amr_nb"), and the refusals that name
// a file's kind.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ffmpeg_handles.hpp"

namespace loa::media::detail {

/// The container as operators call it: "WAV", "MP3", "MP4/M4A", "Ogg", "PNG" …
std::string formatName(std::string_view demuxer);
std::string formatName(const AVFormatContext* format);

/// The codec as operators call it: "PCM", "MP3", "AAC", "Opus", "AMR-NB", "H.264" …
std::string codecName(std::string_view codec);

/// "not media" in both languages, for `file`.
std::unexpected<Error> notMedia(const std::filesystem::path& file);

/// What kind of list a demuxer that reads other files reads, in both languages ("an HLS
/// playlist (.m3u8)"); none for a demuxer of media.
std::optional<std::string> listKind(std::string_view demuxer);

/// A plain playlist (M3U, PLS, XSPF, ASX, WPL) by its first bytes or, for text FFmpeg does not
/// take as media, by its name: what kind, in both languages.
std::optional<std::string> playlistKind(const std::filesystem::path& file);

/// The refusal of a list of other files (a playlist or a script) named by `kind`.
std::unexpected<Error> refersElsewhereRefusal(const std::filesystem::path& file,
                                              const std::string& kind);

}  // namespace loa::media::detail
