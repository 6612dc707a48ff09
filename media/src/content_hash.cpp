// SHA-256 content hashes with libsodium's streaming API, as lowercase hex.
#include "loa/media/content_hash.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/core.h>
#include <sodium.h>

namespace loa::media {

namespace {

constexpr std::size_t kBlockSize = 64 * 1024;

// sodium_init picks the fastest implementations for this CPU; it must run before first use. It
// can only fail for want of /dev/urandom, which hashing does not need, so its result is moot.
void initSodium() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sodium_init() < 0) {
            return;
        }
    });
}

std::string toHex(const std::array<unsigned char, crypto_hash_sha256_BYTES>& digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(digest.size() * 2);
    for (unsigned char byte : digest) {
        hex.push_back(kDigits[byte >> 4]);
        hex.push_back(kDigits[byte & 0x0f]);
    }
    return hex;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    initSodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size());
    return toHex(digest);
}

std::expected<std::string, Error> sha256_file(const std::filesystem::path& file) {
    initSodium();
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::unexpected(
            Error{Error::Code::io,
                  fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno))});
    }
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<unsigned char> block(kBlockSize);
    while (true) {
        ssize_t n = ::read(fd, block.data(), block.size());
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
                      fmt::format("{}: read error: {}", file.string(), std::strerror(err))});
        }
        crypto_hash_sha256_update(&state, block.data(), static_cast<unsigned long long>(n));
    }
    ::close(fd);
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_final(&state, digest.data());
    return toHex(digest);
}

bool is_content_hash(std::string_view text) {
    if (text.size() != 2 * crypto_hash_sha256_BYTES) {
        return false;
    }
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace loa::media
