// The FFmpeg helpers shared by probing, loudness measurement and transcoding.
#include "ffmpeg_handles.hpp"

#include <mutex>

#include <fmt/core.h>

extern "C" {
#include <libavutil/log.h>
}

namespace loa::media::detail {

void quietFfmpeg() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

std::string avError(int code) {
    char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
    if (av_strerror(code, buffer, sizeof buffer) < 0) {
        return fmt::format("FFmpeg error {}", code);
    }
    return buffer;
}

std::unexpected<Error> fail(Error::Code code, const std::filesystem::path& file,
                            const std::string& why) {
    return std::unexpected(Error{code, fmt::format("{}: {}", file.string(), why)});
}

}  // namespace loa::media::detail
