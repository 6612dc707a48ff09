// Imported media: probed, stored by content hash, described in the database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/error.hpp"
#include "loa/media/content_store.hpp"

namespace loa::controller {

struct MediaRecord {
    std::string media_hash;
    std::string title;
    std::string original_name;
    std::string container;
    std::string codec;
    int sample_rate = 0;
    int channels = 0;
    std::int64_t duration_us = 0;
    std::uint64_t size_bytes = 0;
};

struct ImportResult {
    MediaRecord media;
    bool already_present = false;  ///< the same content was imported before
};

/// Probes `file` (decoding all of it), then stores it by content hash and records it. A file
/// that is not decodable audio is refused and neither the database nor the store changes.
Result<ImportResult> import_media(SQLite::Database& db, media::ContentStore& store,
                                  const std::filesystem::path& file, std::string title,
                                  std::int64_t now);

Result<MediaRecord> find_media(SQLite::Database& db, const std::string& media_hash);

Result<std::vector<MediaRecord>> list_media(SQLite::Database& db);

}  // namespace loa::controller
