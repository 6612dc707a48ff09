// Error values of the media library.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace loa::media {

struct Error {
    enum class Code {
        io,           ///< the file could not be read or written
        not_media,    ///< FFmpeg does not recognise the file as a media container
        no_audio,     ///< a media file without an audio stream (e.g. an image)
        no_picture,   ///< a media file without an image or video stream (cover art does not count)
        unsupported,  ///< media loa does not take, e.g. a picture neither PNG nor JPEG
        corrupt,      ///< truncated or undecodable stream
        empty,        ///< zero-length file or no decoded samples
        too_long,     ///< lasts more than the limit it was probed with
        too_short,    ///< too short to be an item (a click, not a jingle)
        not_found,    ///< no content with that hash in the store
        mismatch,     ///< content does not match the hash it was stored under
    };
    Code code;
    std::string message;  ///< what, where and why, ready to show an operator
};

/// Why `file` cannot be read, in Vietnamese then English: no such file, a folder, not a regular
/// file (a device, a pipe), no permission. Nothing when it can be opened for reading.
std::optional<std::string> unreadable_reason(const std::filesystem::path& file);

}  // namespace loa::media
