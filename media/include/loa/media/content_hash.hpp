// SHA-256 content hashes (libsodium), the names media go by everywhere in loa.
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "loa/media/error.hpp"

namespace loa::media {

/// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Lowercase hex SHA-256 of a file's contents, read in blocks.
std::expected<std::string, Error> sha256_file(const std::filesystem::path& file);

/// True when `text` looks like a lowercase hex SHA-256 (64 characters of [0-9a-f]).
bool is_content_hash(std::string_view text);

}  // namespace loa::media
