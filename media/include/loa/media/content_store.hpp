// A directory of media files named by their SHA-256: the controller's library and a node's cache.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/error.hpp"

namespace loa::media {

/// Files live at `root/<hash>`; partial downloads at `root/<hash>.part` and are never returned
/// by `path_for`/`contains`. Every write goes through a temporary file, fsync and rename, so a
/// power cut leaves either the whole verified file or none.
class ContentStore {
  public:
    explicit ContentStore(std::filesystem::path root);  ///< creates `root` if needed

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path path_for(const std::string& hash) const;
    bool contains(const std::string& hash) const;
    std::expected<std::uint64_t, Error> size_of(const std::string& hash) const;

    /// Copies `source` into the store and returns its hash. Storing the same content twice keeps
    /// one file.
    std::expected<std::string, Error> put_file(const std::filesystem::path& source);

    /// Reads up to `length` bytes at `offset` of stored content (fewer at the end of the file).
    std::expected<std::string, Error> read_chunk(const std::string& hash, std::uint64_t offset,
                                                 std::uint32_t length) const;

    /// Writes `data` at `offset` of the partial download of `hash`.
    std::expected<void, Error> write_partial(const std::string& hash, std::uint64_t offset,
                                             std::string_view data);

    /// Bytes of `hash` downloaded so far (size of the .part file, 0 if none).
    std::uint64_t partial_size(const std::string& hash) const;

    /// Which chunks of `manifest` the partial download already holds intact (each re-hashed):
    /// what a restarted download keeps. All false when there is no partial file.
    std::vector<bool> partial_chunks(const ChunkManifest& manifest) const;

    /// Verifies the partial download against `hash`; on success it becomes the stored file, on
    /// mismatch the partial file is deleted and Error::Code::mismatch returned.
    std::expected<void, Error> complete_partial(const std::string& hash);

    /// The same, for a caller that hashed every byte as it wrote it: `written` is the SHA-256 of
    /// those bytes, checked against `hash` instead of reading the file back.
    std::expected<void, Error> complete_partial(const std::string& hash, const Digest& written);

    /// Reads up to `length` bytes at `offset` of the partial download of `hash`.
    std::expected<std::string, Error> read_partial(const std::string& hash, std::uint64_t offset,
                                                   std::uint32_t length) const;

    /// Re-hashes stored content; a file that no longer matches is deleted (returns mismatch).
    std::expected<void, Error> verify(const std::string& hash);

    void remove(const std::string& hash);

    /// A whole file in the store.
    struct StoredFile {
        std::string hash;
        std::uint64_t size = 0;
        std::filesystem::file_time_type modified;
    };
    /// Every whole file (not partial downloads), in no particular order.
    std::vector<StoredFile> list() const;

  private:
    std::expected<std::string, Error> read_range(const std::filesystem::path& path,
                                                 const std::string& hash, std::uint64_t offset,
                                                 std::uint32_t length) const;
    std::expected<void, Error> complete(const std::string& hash, const Digest* written);

    std::filesystem::path root_;
};

}  // namespace loa::media
