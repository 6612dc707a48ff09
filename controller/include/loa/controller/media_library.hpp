// Imported media: probed, stored by content hash, described in the database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/error.hpp"
#include "loa/media/content_store.hpp"
#include "loa/media/opus_transcode.hpp"

namespace loa::controller {

struct MediaRecord {
    std::string media_hash;     ///< the canonical file nodes play: mono 48 kHz Ogg/Opus
    std::string original_hash;  ///< the file the operator imported, kept in the store too
    std::string title;
    std::string original_name;
    std::string container;
    std::string codec;
    int sample_rate = 0;
    int channels = 0;
    std::int64_t duration_us = 0;
    std::uint64_t size_bytes = 0;
    double loudness_before_lufs = 0;  ///< EBU R128 integrated loudness of the original
    double loudness_after_lufs = 0;   ///< … and of the canonical file
    double true_peak_after_dbtp = 0;
};

struct ImportResult {
    MediaRecord media;
    bool already_present = false;  ///< the same content was imported before
};

/// Probes `file` (decoding all of it), normalises its loudness and transcodes it to the
/// canonical format (`settings`), then stores both by content hash and records them. A file that
/// is not decodable audio, or is silent, is refused and the database does not change. Importing
/// the same original again finds the first import.
Result<ImportResult> import_media(SQLite::Database& db, media::ContentStore& store,
                                  const std::filesystem::path& file, std::string title,
                                  std::int64_t now, const media::OpusSettings& settings = {});

Result<MediaRecord> find_media(SQLite::Database& db, const std::string& media_hash);

Result<std::vector<MediaRecord>> list_media(SQLite::Database& db);

}  // namespace loa::controller
