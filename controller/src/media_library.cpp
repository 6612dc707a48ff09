// Importing media: probe first, store by hash, then record; a refused file leaves no trace.
#include "loa/controller/media_library.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/database.hpp"
#include "loa/media/audio_probe.hpp"
#include "loa/media/content_hash.hpp"

namespace loa::controller {

namespace {

constexpr const char* kSelectMedia =
    "SELECT media_hash, title, original_name, container, codec, sample_rate, channels, "
    "duration_us, size_bytes FROM media";

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
    return m;
}

}  // namespace

Result<ImportResult> import_media(SQLite::Database& db, media::ContentStore& store,
                                  const std::filesystem::path& file, std::string title,
                                  std::int64_t now) {
    auto info = media::probe_audio(file);
    if (!info) {
        return fail(Error::Code::media, info.error().message);
    }
    auto hash = media::sha256_file(file);
    if (!hash) {
        return fail(Error::Code::media, hash.error().message);
    }
    if (auto existing = find_media(db, *hash)) {
        return ImportResult{*existing, true};
    }
    if (title.empty()) {
        title = file.stem().string();
    }
    MediaRecord record{*hash,
                       title,
                       file.filename().string(),
                       info->container,
                       info->codec,
                       info->sample_rate,
                       info->channels,
                       info->duration_us,
                       info->size_bytes};
    // The file is stored before the row that names it, so a row never points at nothing; a
    // crash in between leaves an unreferenced file that the next import of it reuses.
    auto stored = store.put_file(file);
    if (!stored) {
        return fail(Error::Code::media, stored.error().message);
    }
    if (*stored != *hash) {
        return fail(Error::Code::media,
                    fmt::format("{}: the file changed while it was imported", file.string()));
    }
    return in_transaction(db, [&]() -> Result<ImportResult> {
        SQLite::Statement insert(db,
                                 "INSERT INTO media (media_hash, title, original_name, container, "
                                 "codec, sample_rate, channels, duration_us, size_bytes, "
                                 "imported_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
