// SHA-256 content hashes with OpenSSL's EVP interface, as lowercase hex.
#include "loa/media/content_hash.hpp"

#include <stdexcept>

#include <fmt/core.h>
#include <openssl/evp.h>

#include "file_blocks.hpp"

namespace loa::media {

namespace {

constexpr std::size_t kBlockSize = 256 * 1024;

}  // namespace

struct Sha256::State {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    State() {
        if (context == nullptr || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1) {
            EVP_MD_CTX_free(context);
            throw std::runtime_error("OpenSSL cannot start a SHA-256 digest");
        }
    }
    ~State() { EVP_MD_CTX_free(context); }
    State(const State&) = delete;
    State& operator=(const State&) = delete;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view bytes) {
    EVP_DigestUpdate(state_->context, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
    Digest digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(state_->context, digest.data(), &length);
    EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
    return digest;
}

Digest sha256(std::string_view bytes) {
    Digest digest{};
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

std::string to_hex(const Digest& digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(digest.size() * 2);
    for (std::uint8_t byte : digest) {
        hex.push_back(kDigits[byte >> 4]);
        hex.push_back(kDigits[byte & 0x0f]);
    }
    return hex;
}

std::string sha256_hex(std::string_view bytes) {
    return to_hex(sha256(bytes));
}

std::expected<std::string, Error> sha256_file(const std::filesystem::path& file) {
    Sha256 hasher;
    auto read = detail::for_each_block(file, kBlockSize,
                                       [&](std::string_view block) { hasher.update(block); });
    if (!read) {
        return std::unexpected(read.error());
    }
    return to_hex(hasher.finish());
}

bool is_content_hash(std::string_view text) {
    if (text.size() != 2 * std::tuple_size_v<Digest>) {
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
