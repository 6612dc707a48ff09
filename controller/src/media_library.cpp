// Importing media: probe first, store by hash, then record; a refused file leaves no trace.
#include "loa/controller/media_library.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/database.hpp"
#include "loa/media/audio_probe.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/media/opus_transcode.hpp"

namespace loa::controller {

namespace {

constexpr const char* kSelectMedia =
    "SELECT media_hash, title, original_name, container, codec, sample_rate, channels, "
    "duration_us, size_bytes, coalesce(original_hash, media_hash), "
    "coalesce(loudness_before_lufs, 0), coalesce(loudness_after_lufs, 0), "
    "coalesce(true_peak_after_dbtp, 0) FROM media";

MediaRecord read_media(SQLite::Statement& q) {
    MediaRecord m;
    m.media_hash = q.getColumn(0).getString();
    m.title = q.getColumn(1).getString();
    m.original_name = q.getColumn(2).getString();
    m.container = q.getColumn(3).getString();
    m.codec = q.getColumn(4).getString();
    m.sample_rate = q.getColumn(5).getInt();
    m.channels = q.getColumn(6).getInt();
    m.duration_us = q.getColumn(7).getInt64();
    m.size_bytes = static_cast<std::uint64_t>(q.getColumn(8).getInt64());
    m.original_hash = q.getColumn(9).getString();
    m.loudness_before_lufs = q.getColumn(10).getDouble();
    m.loudness_after_lufs = q.getColumn(11).getDouble();
    m.true_peak_after_dbtp = q.getColumn(12).getDouble();
    return m;
}

Result<MediaRecord> find_original(SQLite::Database& db, const std::string& original_hash) {
    return guard_storage([&]() -> Result<MediaRecord> {
        SQLite::Statement q(db, std::string(kSelectMedia) + " WHERE original_hash = ?");
        q.bind(1, original_hash);
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no original '{}'", original_hash));
        }
        return read_media(q);
    });
}

}  // namespace

Result<ImportResult> import_media(SQLite::Database& db, media::ContentStore& store,
                                  const std::filesystem::path& file, std::string title,
                                  std::int64_t now, const media::OpusSettings& settings) {
    auto info = media::probe_audio(file);
    if (!info) {
        return fail(Error::Code::media, info.error().message);
    }
    auto original = media::sha256_file(file);
    if (!original) {
        return fail(Error::Code::media, original.error().message);
    }
    if (auto existing = find_original(db, *original)) {
        return ImportResult{*existing, true};
    }
    // The canonical file is made beside the store (same file system), then stored by its hash.
    const auto canonical_file = store.root() / fmt::format(".import-{}.opus", *original);
    auto transcoded = media::normalise_to_opus(file, canonical_file, settings);
    if (!transcoded) {
        return fail(Error::Code::media, transcoded.error().message);
    }
    auto canonical = media::probe_audio(canonical_file);
    auto stored_canonical =
        canonical ? store.put_file(canonical_file)
                  : std::expected<std::string, media::Error>(std::unexpected(canonical.error()));
    std::error_code ignored;
    std::filesystem::remove(canonical_file, ignored);
    if (!stored_canonical) {
        return fail(Error::Code::media, stored_canonical.error().message);
    }
    // Files are stored before the row that names them, so a row never points at nothing; a crash
    // in between leaves unreferenced files that the next import of them reuses.
    auto stored_original = store.put_file(file);
    if (!stored_original) {
        return fail(Error::Code::media, stored_original.error().message);
    }
    if (*stored_original != *original) {
        return fail(Error::Code::media,
                    fmt::format("{}: the file changed while it was imported", file.string()));
    }
    if (title.empty()) {
        title = file.stem().string();
    }
    MediaRecord record{*stored_canonical,
                       *original,
                       title,
                       file.filename().string(),
                       canonical->container,
                       canonical->codec,
                       canonical->sample_rate,
                       canonical->channels,
                       canonical->duration_us,
                       canonical->size_bytes,
                       transcoded->before.integrated_lufs,
                       transcoded->after.integrated_lufs,
                       transcoded->after.true_peak_dbtp};
    return in_transaction(db, [&]() -> Result<ImportResult> {
        SQLite::Statement insert(
            db,
            "INSERT INTO media (media_hash, title, original_name, container, codec, sample_rate, "
            "channels, duration_us, size_bytes, imported_us, original_hash, loudness_before_lufs, "
            "loudness_after_lufs, true_peak_after_dbtp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        insert.bind(1, record.media_hash);
        insert.bind(2, record.title);
        insert.bind(3, record.original_name);
        insert.bind(4, record.container);
        insert.bind(5, record.codec);
        insert.bind(6, record.sample_rate);
        insert.bind(7, record.channels);
        insert.bind(8, static_cast<int64_t>(record.duration_us));
        insert.bind(9, static_cast<int64_t>(record.size_bytes));
        insert.bind(10, static_cast<int64_t>(now));
        insert.bind(11, record.original_hash);
        insert.bind(12, record.loudness_before_lufs);
        insert.bind(13, record.loudness_after_lufs);
        insert.bind(14, record.true_peak_after_dbtp);
        insert.exec();
        return ImportResult{record, false};
    });
}

Result<MediaRecord> find_media(SQLite::Database& db, const std::string& media_hash) {
    return guard_storage([&]() -> Result<MediaRecord> {
        SQLite::Statement q(db, std::string(kSelectMedia) + " WHERE media_hash = ?");
        q.bind(1, media_hash);
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no media '{}'", media_hash));
        }
        return read_media(q);
    });
}

Result<std::vector<MediaRecord>> list_media(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::vector<MediaRecord>> {
        SQLite::Statement q(db, std::string(kSelectMedia) + " ORDER BY imported_us, media_hash");
        std::vector<MediaRecord> all;
        while (q.executeStep()) {
            all.push_back(read_media(q));
        }
        return all;
    });
}

}  // namespace loa::controller
