// SHA-256 content hashes, the names media go by everywhere in loa (OpenSSL's libcrypto, which
// uses the CPU's SHA instructions where it has them).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "loa/media/error.hpp"

namespace loa::media {

/// A binary SHA-256 digest.
using Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256 over data given piece by piece.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;

    void update(std::string_view bytes);
    /// The digest of everything given since construction (or the last finish); starts over.
    Digest finish();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// SHA-256 of `bytes` in one go.
Digest sha256(std::string_view bytes);

/// Lowercase hex of a digest.
std::string to_hex(const Digest& digest);

/// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Lowercase hex SHA-256 of a file's contents, read in blocks.
std::expected<std::string, Error> sha256_file(const std::filesystem::path& file);

/// True when `text` looks like a lowercase hex SHA-256 (64 characters of [0-9a-f]).
bool is_content_hash(std::string_view text);

}  // namespace loa::media
