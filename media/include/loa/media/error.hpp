// Error values of the media library.
#pragma once

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
        not_found,    ///< no content with that hash in the store
        mismatch,     ///< content does not match the hash it was stored under
    };
    Code code;
    std::string message;  ///< what, where and why, ready to show an operator
};

}  // namespace loa::media
