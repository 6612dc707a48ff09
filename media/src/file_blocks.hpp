// Private: reading a file in whole blocks, for hashing it.
#pragma once

#include <cstddef>
#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "loa/media/error.hpp"

namespace loa::media::detail {

/// Hands `file` to `block` in pieces of exactly `block_size` bytes, the last one shorter (none
/// for an empty file). Errors name the file and say why, in Vietnamese then English.
std::expected<void, Error> for_each_block(const std::filesystem::path& file, std::size_t block_size,
                                          const std::function<void(std::string_view)>& block);

/// Why a file could not be opened or read (`err`, an errno), in Vietnamese then English: no such
/// file, a folder, no permission, or the system's words.
std::string unreadable_because(int err);

}  // namespace loa::media::detail
