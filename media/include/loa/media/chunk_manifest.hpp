// How a media file is cut into chunks for transfer, with each chunk's SHA-256, so a receiver can
// verify every chunk as it arrives and resume after the chunks it already holds.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "loa/media/content_hash.hpp"
#include "loa/media/error.hpp"

namespace loa::media {

struct ChunkManifest {
    std::string media_hash;  ///< SHA-256 of the whole file
    std::uint64_t total_size = 0;
    std::uint32_t chunk_size = 0;
    std::vector<Digest> digests;  ///< one per chunk, in order; the last chunk may be short

    std::uint32_t chunk_count() const { return static_cast<std::uint32_t>(digests.size()); }
    std::uint64_t offset_of(std::uint32_t index) const {
        return static_cast<std::uint64_t>(index) * chunk_size;
    }
    /// Bytes in chunk `index` (chunk_size, except for the last chunk).
    std::uint32_t length_of(std::uint32_t index) const;
    /// True when `data` is exactly chunk `index`.
    bool matches(std::uint32_t index, std::string_view data) const;

    /// The digests packed back to back (32 bytes each), as they travel on the wire.
    std::string packed_digests() const;

    /// Reads a manifest received from elsewhere; refuses one whose shape does not add up
    /// (chunk count against size, digest bytes not a multiple of 32, chunk size 0).
    static std::expected<ChunkManifest, Error> from_packed(std::string media_hash,
                                                           std::uint64_t total_size,
                                                           std::uint32_t chunk_size,
                                                           std::string_view packed);

    /// Cuts `file` into `chunk_size` chunks and hashes each, and the whole file too.
    static std::expected<ChunkManifest, Error> of_file(const std::filesystem::path& file,
                                                       std::uint32_t chunk_size);
};

}  // namespace loa::media
