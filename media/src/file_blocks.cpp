// Reading a file in whole blocks.
#include "file_blocks.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/core.h>

namespace loa::media::detail {

std::string unreadable_because(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return "không có tệp này / no such file";
        case EACCES:
        case EPERM:
            return "không có quyền đọc tệp / no permission to read it";
        case EISDIR:  // open() takes a folder; read() is what refuses it
            return "là một thư mục, không phải tệp / is a folder, not a file";
        default:
            return fmt::format("không đọc được tệp ({0}) / cannot read the file ({0})",
                               std::strerror(err));
    }
}

std::expected<void, Error> for_each_block(const std::filesystem::path& file, std::size_t block_size,
                                          const std::function<void(std::string_view)>& block) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::unexpected(Error{
            Error::Code::io, fmt::format("{}: {}", file.string(), unreadable_because(errno))});
    }
    std::string buffer(block_size, '\0');
    while (true) {
        std::size_t filled = 0;
        while (filled < buffer.size()) {
            ssize_t n = ::read(fd, buffer.data() + filled, buffer.size() - filled);
            if (n == 0) {
                break;
            }
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                int err = errno;
                ::close(fd);
                return std::unexpected(
                    Error{Error::Code::io,
                          fmt::format("{}: {}", file.string(), unreadable_because(err))});
            }
            filled += static_cast<std::size_t>(n);
        }
        if (filled > 0) {
            block(std::string_view(buffer.data(), filled));
        }
        if (filled < buffer.size()) {
            break;
        }
    }
    ::close(fd);
    return {};
}

}  // namespace loa::media::detail
