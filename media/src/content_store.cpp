// The content-addressed media store: files named by SHA-256, written via temp file, fsync, rename.
#include "loa/media/content_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include <fmt/core.h>

#include "file_blocks.hpp"
#include "loa/media/content_hash.hpp"

namespace loa::media {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCopyBlock = 64 * 1024;
constexpr const char* kPartSuffix = ".part";

class UniqueFd {
  public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /// Closes now so the caller sees the error; a failed close can mean lost writes.
    int close() {
        int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

// Deletes a temporary file unless it was handed over by a successful rename.
class TempFileGuard {
  public:
    explicit TempFileGuard(fs::path path) : path_(std::move(path)) {}
    ~TempFileGuard() {
        if (!released_) {
            ::unlink(path_.c_str());
        }
    }
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;

    void release() { released_ = true; }

  private:
    fs::path path_;
    bool released_ = false;
};

std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

// "PATH: <what, in Vietnamese> (<the system's words>) / <what, in English> (<the same>)".
std::unexpected<Error> failErrno(std::string_view vi, std::string_view en, const fs::path& path,
                                 int err) {
    return fail(Error::Code::io, fmt::format("{0}: {1} ({3}) / {2} ({3})", path.string(), vi, en,
                                             std::strerror(err)));
}

std::unexpected<Error> notStored(const std::string& hash, const fs::path& root) {
    return fail(Error::Code::not_found,
                fmt::format("không có nội dung {0} trong {1} / no content {0} in {1}", hash,
                            root.string()));
}

// Hashes come from the network and the operator; only 64 hex digits may become a file name, which
// rules out "../", "/" and the store's own ".part" and temporary files.
std::expected<void, Error> checkHash(const std::string& hash) {
    if (!is_content_hash(hash)) {
        return fail(Error::Code::not_found,
                    fmt::format("'{0}' không phải mã băm nội dung (64 chữ số thập lục phân viết "
                                "thường) / '{0}' is not a content hash (64 lowercase hex digits)",
                                hash));
    }
    return {};
}

std::expected<void, Error> writeAll(int fd, const char* data, std::size_t size,
                                    const fs::path& path) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return failErrno("không ghi được vào kho nội dung", "cannot write to the content store",
                             path, errno);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

// A rename is only durable once the directory entry itself reaches the disk.
std::expected<void, Error> syncDirectory(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
        return failErrno("không mở được thư mục", "cannot open the directory", dir, errno);
    }
    if (::fsync(fd.get()) != 0) {
        return failErrno("không ghi được thư mục xuống đĩa", "cannot sync the directory", dir,
                         errno);
    }
    return {};
}

std::expected<void, Error> syncFile(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) {
        int err = errno;
        if (err == ENOENT) {
            return fail(Error::Code::not_found,
                        fmt::format("{0}: không có tệp này / does not exist", path.string()));
        }
        return failErrno("không mở được", "cannot open", path, err);
    }
    if (::fsync(fd.get()) != 0) {
        return failErrno("không ghi được xuống đĩa", "cannot sync", path, errno);
    }
    if (fd.close() != 0) {
        return failErrno("không đóng được", "cannot close", path, errno);
    }
    return {};
}

fs::path partialPath(const fs::path& root, const std::string& hash) {
    return root / (hash + kPartSuffix);
}

}  // namespace

ContentStore::ContentStore(fs::path root) : root_(std::move(root)) {
    // A failure here surfaces as an io Error from the first operation that needs the directory.
    std::error_code ec;
    fs::create_directories(root_, ec);
}

fs::path ContentStore::path_for(const std::string& hash) const {
    // An invalid hash has no place in the store; an empty path opens nothing.
    if (!is_content_hash(hash)) {
        return {};
    }
    return root_ / hash;
}

std::vector<ContentStore::StoredFile> ContentStore::list() const {
    std::vector<StoredFile> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
        const std::string name = entry.path().filename().string();
        std::error_code entry_ec;
        if (!is_content_hash(name) || !entry.is_regular_file(entry_ec)) {
            continue;  // partial downloads, temporary files, anything else
        }
        StoredFile file{name, entry.file_size(entry_ec), entry.last_write_time(entry_ec)};
        if (!entry_ec) {
            files.push_back(std::move(file));
        }
    }
    return files;
}

bool ContentStore::contains(const std::string& hash) const {
    if (!is_content_hash(hash)) {
        return false;
    }
    std::error_code ec;
    return fs::is_regular_file(root_ / hash, ec);
}

std::expected<std::uint64_t, Error> ContentStore::size_of(const std::string& hash) const {
    if (auto ok = checkHash(hash); !ok) {
        return std::unexpected(ok.error());
    }
    std::error_code ec;
    auto size = fs::file_size(root_ / hash, ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) {
            return notStored(hash, root_);
        }
        return fail(Error::Code::io,
                    fmt::format("{0}: không xem được cỡ tệp ({1}) / cannot stat ({1})",
                                (root_ / hash).string(), ec.message()));
    }
    return size;
}

std::expected<std::string, Error> ContentStore::put_file(const fs::path& source) {
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) {
        return fail(Error::Code::io,
                    fmt::format("{}: {}", source.string(), detail::unreadable_because(errno)));
    }

    std::string pattern = (root_ / ".put-XXXXXX").string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    UniqueFd out(::mkstemp(name.data()));
    if (!out.valid()) {
        return failErrno("không tạo được tệp tạm trong kho nội dung",
                         "cannot create a temporary file in the content store", root_, errno);
    }
    fs::path temp(name.data());
    TempFileGuard guard(temp);
    // mkstemp makes the file private; stored media must be readable like any other file here.
    ::fchmod(out.get(), 0644);

    std::vector<char> block(kCopyBlock);
    while (true) {
        ssize_t n = ::read(in.get(), block.data(), block.size());
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Error::Code::io,
                        fmt::format("{}: {}", source.string(), detail::unreadable_because(errno)));
        }
        if (auto ok = writeAll(out.get(), block.data(), static_cast<std::size_t>(n), temp); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (::fsync(out.get()) != 0) {
        return failErrno("không ghi được vào kho nội dung", "cannot write to the content store",
                         temp, errno);
    }
    if (out.close() != 0) {
        return failErrno("không ghi được vào kho nội dung", "cannot write to the content store",
                         temp, errno);
    }

    // Hash the copy, not the source: the copy is what gets stored, even if the source changes.
    auto hash = sha256_file(temp);
    if (!hash) {
        return std::unexpected(hash.error());
    }
    if (contains(*hash)) {
        return hash;  // same content already stored; the guard drops the copy
    }
    fs::path final_path = root_ / *hash;
    if (::rename(temp.c_str(), final_path.c_str()) != 0) {
        return failErrno("không đưa được tệp vào chỗ", "cannot rename into place", final_path,
                         errno);
    }
    guard.release();
    if (auto ok = syncDirectory(root_); !ok) {
        return std::unexpected(ok.error());
    }
    return hash;
}

std::expected<std::string, Error> ContentStore::read_chunk(const std::string& hash,
                                                           std::uint64_t offset,
                                                           std::uint32_t length) const {
    if (auto ok = checkHash(hash); !ok) {
        return std::unexpected(ok.error());
    }
    return read_range(root_ / hash, hash, offset, length);
}

std::expected<std::string, Error> ContentStore::read_partial(const std::string& hash,
                                                             std::uint64_t offset,
                                                             std::uint32_t length) const {
    if (auto ok = checkHash(hash); !ok) {
        return std::unexpected(ok.error());
    }
    return read_range(partialPath(root_, hash), hash, offset, length);
}

std::expected<std::string, Error> ContentStore::read_range(const fs::path& path,
                                                           const std::string& hash,
                                                           std::uint64_t offset,
                                                           std::uint32_t length) const {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT) {
            return notStored(hash, root_);
        }
        return failErrno("không mở được", "cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return failErrno("không xem được cỡ tệp", "cannot stat", path, errno);
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (offset > size) {
        return fail(Error::Code::io,
                    fmt::format("vị trí {0} nằm sau cuối {1} ({2} byte) / offset {0} is beyond the "
                                "end of {1} ({2} bytes)",
                                offset, hash, size));
    }
    // Never allocate more than the file can give, whatever length was asked for.
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, size - offset));
    std::string chunk;
    int read_error = 0;
    // Read straight into the string, without zero-filling it first.
    chunk.resize_and_overwrite(want, [&](char* buffer, std::size_t capacity) {
        std::size_t done = 0;
        while (done < capacity) {
            ssize_t n = ::pread(fd.get(), buffer + done, capacity - done,
                                static_cast<off_t>(offset + done));
            if (n == 0) {
                break;  // the file shrank under us; return what there is
            }
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                read_error = errno;
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        return done;
    });
    if (read_error != 0) {
        return failErrno("không đọc được", "cannot read", path, read_error);
    }
    return chunk;
}

std::expected<void, Error> ContentStore::write_partial(const std::string& hash,
                                                       std::uint64_t offset,
                                                       std::string_view data) {
    if (auto ok = checkHash(hash); !ok) {
        return std::unexpected(ok.error());
    }
    fs::path path = partialPath(root_, hash);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        return failErrno("không mở được", "cannot open", path, errno);
    }
    // No fsync per chunk: complete_partial syncs once, and a crash before that only loses a
    // partial download that is re-verified anyway.
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd.get(), data.data() + done, data.size() - done,
                             static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return failErrno("không ghi được", "cannot write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    if (fd.close() != 0) {
        return failErrno("không ghi được", "cannot write", path, errno);
    }
    return {};
}

std::uint64_t ContentStore::partial_size(const std::string& hash) const {
    if (!is_content_hash(hash)) {
        return 0;
    }
    std::error_code ec;
    auto size = fs::file_size(partialPath(root_, hash), ec);
    return ec ? 0 : size;
}

std::vector<bool> ContentStore::partial_chunks(const ChunkManifest& manifest) const {
    std::vector<bool> intact(manifest.chunk_count(), false);
    if (!is_content_hash(manifest.media_hash)) {
        return intact;
    }
    UniqueFd fd(::open(partialPath(root_, manifest.media_hash).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return intact;
    }
    // No chunk is longer than the file: a manifest from the network cannot make this allocate
    // gigabytes by naming a huge chunk size.
    std::string block(std::min<std::uint64_t>(manifest.chunk_size, manifest.total_size), '\0');
    for (std::uint32_t i = 0; i < manifest.chunk_count(); ++i) {
        std::size_t want = manifest.length_of(i);
        ssize_t n =
            ::pread(fd.get(), block.data(), want, static_cast<off_t>(manifest.offset_of(i)));
        if (n <= 0) {
            break;  // end of what was written (or unreadable): the rest is fetched again
        }
        intact[i] =
            manifest.matches(i, std::string_view(block.data(), static_cast<std::size_t>(n)));
    }
    return intact;
}

std::expected<void, Error> ContentStore::complete_partial(const std::string& hash) {
    return complete(hash, nullptr);
}

std::expected<void, Error> ContentStore::complete_partial(const std::string& hash,
                                                          const Digest& written) {
    return complete(hash, &written);
}

std::expected<void, Error> ContentStore::complete(const std::string& hash, const Digest* written) {
    if (auto ok = checkHash(hash); !ok) {
        return std::unexpected(ok.error());
    }
    fs::path part = partialPath(root_, hash);
    if (auto ok = syncFile(part); !ok) {
        return ok;
    }
    auto actual = written != nullptr ? std::expected<std::string, Error>(to_hex(*written))
                                     : sha256_file(part);
    if (!actual) {
        return std::unexpected(actual.error());
    }
    if (*actual != hash) {
        ::unlink(part.c_str());
        return fail(Error::Code::mismatch,
                    fmt::format("bản tải về của {0} có mã băm {1}; tệp tải dở đã bị bỏ / download "
                                "of {0} hashes to {1}; the partial file was discarded",
                                hash, *actual));
    }
    fs::path final_path = root_ / hash;
    if (::rename(part.c_str(), final_path.c_str()) != 0) {
        return failErrno("không đưa được tệp vào chỗ", "cannot rename into place", final_path,
                         errno);
    }
    return syncDirectory(root_);
}

std::expected<void, Error> ContentStore::verify(const std::string& hash) {
    if (auto ok = checkHash(hash); !ok) {
        return ok;
    }
    fs::path path = root_ / hash;
    if (!contains(hash)) {
        return notStored(hash, root_);
    }
    auto actual = sha256_file(path);
    if (!actual) {
        return std::unexpected(actual.error());
    }
    if (*actual != hash) {
        ::unlink(path.c_str());
        return fail(Error::Code::mismatch,
                    fmt::format("{0}: nay có mã băm {1} (hỏng trên đĩa) nên đã bị xoá / now "
                                "hashes to {1} (damaged on disk); it was deleted",
                                path.string(), *actual));
    }
    return {};
}

void ContentStore::remove(const std::string& hash) {
    if (!is_content_hash(hash)) {
        return;
    }
    // A half-downloaded copy of content the caller no longer wants is just as unwanted.
    ::unlink((root_ / hash).c_str());
    ::unlink(partialPath(root_, hash).c_str());
}

}  // namespace loa::media
