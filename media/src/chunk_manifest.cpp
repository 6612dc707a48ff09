// Chunk manifests: per-chunk SHA-256 of a media file, computed in one pass with the file's hash.
#include "loa/media/chunk_manifest.hpp"

#include <cstring>

#include <fmt/core.h>

#include "file_blocks.hpp"

namespace loa::media {

namespace {

std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

}  // namespace

std::uint32_t ChunkManifest::length_of(std::uint32_t index) const {
    std::uint64_t start = offset_of(index);
    if (start >= total_size) {
        return 0;
    }
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk_size, total_size - start));
}

bool ChunkManifest::matches(std::uint32_t index, std::string_view data) const {
    return index < digests.size() && data.size() == length_of(index) &&
           sha256(data) == digests[index];
}

std::string ChunkManifest::packed_digests() const {
    std::string packed;
    packed.reserve(digests.size() * sizeof(Digest));
    for (const auto& d : digests) {
        packed.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
    return packed;
}

std::expected<ChunkManifest, Error> ChunkManifest::from_packed(std::string media_hash,
                                                               std::uint64_t total_size,
                                                               std::uint32_t chunk_size,
                                                               std::string_view packed) {
    if (chunk_size == 0) {
        return fail(Error::Code::corrupt,
                    fmt::format("bảng khối của {0}: cỡ khối 0 / manifest of {0}: chunk size 0",
                                media_hash));
    }
    if (packed.size() % sizeof(Digest) != 0) {
        return fail(Error::Code::corrupt,
                    fmt::format("bảng khối của {0}: {1} byte mã băm không chia hết thành các mã "
                                "băm 32 byte / manifest of {0}: {1} digest bytes is not a whole "
                                "number of 32-byte digests",
                                media_hash, packed.size()));
    }
    // Not (total + chunk - 1) / chunk: a size near 2^64 would wrap to a handful of chunks.
    std::uint64_t expected = total_size / chunk_size + (total_size % chunk_size != 0 ? 1 : 0);
    if (packed.size() / sizeof(Digest) != expected) {
        return fail(Error::Code::corrupt,
                    fmt::format("bảng khối của {0}: {1} mã băm cho {2} byte chia thành khối {3} "
                                "byte (phải là {4}) / manifest of {0}: {1} digests for {2} bytes "
                                "in {3}-byte chunks (expected {4})",
                                media_hash, packed.size() / sizeof(Digest), total_size, chunk_size,
                                expected));
    }
    ChunkManifest m{std::move(media_hash), total_size, chunk_size, {}};
    m.digests.resize(expected);
    for (std::size_t i = 0; i < m.digests.size(); ++i) {
        std::memcpy(m.digests[i].data(), packed.data() + i * sizeof(Digest), sizeof(Digest));
    }
    return m;
}

std::expected<ChunkManifest, Error> ChunkManifest::of_file(const std::filesystem::path& file,
                                                           std::uint32_t chunk_size) {
    if (chunk_size == 0) {
        return fail(Error::Code::io, fmt::format("{0}: cỡ khối 0 / chunk size 0", file.string()));
    }
    ChunkManifest m;
    m.chunk_size = chunk_size;
    Sha256 whole;
    auto read = detail::for_each_block(file, chunk_size, [&](std::string_view chunk) {
        whole.update(chunk);
        m.digests.push_back(sha256(chunk));
        m.total_size += chunk.size();
    });
    if (!read) {
        return std::unexpected(read.error());
    }
    m.media_hash = to_hex(whole.finish());
    return m;
}

}  // namespace loa::media
