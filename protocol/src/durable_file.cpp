// Durable replacement of small files: temporary file, fsync, rename, fsync of the directory.
#include "loa/protocol/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/core.h>

namespace loa::protocol {

namespace {

std::atomic<bool> g_fail_before_rename{false};

std::string failure(const std::filesystem::path& path, const char* what_vi, const char* what_en,
                    int error) {
    return fmt::format("{}: {} / {}: {}", path.string(), what_vi, what_en, std::strerror(error));
}

/// Closes a descriptor on every path out of a function.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    /// close() reports write-back errors some file systems keep until then.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

std::filesystem::path directory_of(const std::filesystem::path& file) {
    return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

/// The directory entry of a rename or link is durable only once its directory is synced.
std::expected<void, std::string> sync_directory(const std::filesystem::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        return std::unexpected(
            failure(dir, "không mở được thư mục", "cannot open the directory", errno));
    }
    if (::fsync(fd.get()) != 0) {
        return std::unexpected(failure(dir, "không đồng bộ được thư mục xuống đĩa",
                                       "cannot sync the directory to disk", errno));
    }
    return {};
}

/// Writes and syncs a temporary file next to `file`; returns its path.
std::expected<std::filesystem::path, std::string> write_temporary(const std::filesystem::path& file,
                                                                  std::string_view content,
                                                                  std::filesystem::perms mode) {
    std::error_code ec;
    std::filesystem::create_directories(directory_of(file), ec);
    if (ec) {
        return std::unexpected(
            fmt::format("{}: không tạo được thư mục / cannot create the "
                        "directory: {}",
                        directory_of(file).string(), ec.message()));
    }
    // A name of its own per call: two writers of one file (the controller and loactl making the
    // controller key at once) must never write into each other's temporary.
    static std::atomic<unsigned> serial{0};
    const auto temporary = std::filesystem::path(
        fmt::format("{}.tmp-{}-{}", file.string(), ::getpid(), serial.fetch_add(1)));
    const auto bits = static_cast<mode_t>(mode);
    // Created with its final mode, so a secret is never readable by others, not even briefly;
    // O_EXCL: a file or link planted at the temporary name is never written through.
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int raw = ::open(temporary.c_str(), flags, bits);
    if (raw < 0 && errno == EEXIST) {
        // Left by a crashed process that had the same pid.
        ::unlink(temporary.c_str());
        raw = ::open(temporary.c_str(), flags, bits);
    }
    Fd fd(raw);
    if (fd.get() < 0) {
        return std::unexpected(failure(temporary, "không tạo được tệp", "cannot create", errno));
    }
    auto fail = [&](const char* what_vi, const char* what_en) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return std::unexpected(failure(temporary, what_vi, what_en, error));
    };
    // The process umask may have taken bits away.
    if (::fchmod(fd.get(), bits) != 0) {
        return fail("không đặt được quyền", "cannot set its mode");
    }
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail("không ghi được", "cannot write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("không đồng bộ được xuống đĩa", "cannot sync to disk");
    }
    if (fd.close() != 0) {
        return fail("không ghi được", "cannot write");
    }
    if (g_fail_before_rename.exchange(false)) {
        // Left in place, as a crash here would leave it.
        return std::unexpected(fmt::format(
            "{}: lỗi giả lập trước khi đổi tên (kiểm thử) / fault injected before the rename "
            "(test)",
            file.string()));
    }
    return temporary;
}

}  // namespace

std::expected<void, std::string> write_file_durably(const std::filesystem::path& file,
                                                    std::string_view content,
                                                    std::filesystem::perms mode) {
    auto temporary = write_temporary(file, content, mode);
    if (!temporary) {
        return std::unexpected(temporary.error());
    }
    if (::rename(temporary->c_str(), file.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary->c_str());
        return std::unexpected(failure(file, "không thay được tệp", "cannot replace", error));
    }
    return sync_directory(directory_of(file));
}

std::expected<bool, std::string> create_file_durably(const std::filesystem::path& file,
                                                     std::string_view content,
                                                     std::filesystem::perms mode) {
    auto temporary = write_temporary(file, content, mode);
    if (!temporary) {
        return std::unexpected(temporary.error());
    }
    // Atomic "create if absent": of two processes creating the file at once, one wins and the
    // other reads the winner's file, so no caller ever hands out content that was replaced.
    int rc = ::renameat2(AT_FDCWD, temporary->c_str(), AT_FDCWD, file.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        // A file system without RENAME_NOREPLACE: a hard link fails the same way on EEXIST.
        rc = ::link(temporary->c_str(), file.c_str());
    }
    const int error = errno;
    ::unlink(temporary->c_str());  // gone after a rename; the spare name after a link
    if (rc != 0) {
        if (error == EEXIST) {
            return false;
        }
        return std::unexpected(failure(file, "không tạo được tệp", "cannot create", error));
    }
    if (auto synced = sync_directory(directory_of(file)); !synced) {
        return std::unexpected(synced.error());
    }
    return true;
}

std::expected<void, std::string> rename_durably(const std::filesystem::path& from,
                                                const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return std::unexpected(fmt::format("{} → {}: không đổi tên được / cannot rename: {}",
                                           from.string(), to.string(), std::strerror(errno)));
    }
    return sync_directory(directory_of(to));
}

void testing::fail_next_durable_write_before_rename() {
    g_fail_before_rename = true;
}

}  // namespace loa::protocol
