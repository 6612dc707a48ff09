// Importing media: probe first, store by hash, then record; a refused file leaves no trace.
#include "loa/controller/content/media_library.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/media/audio_probe.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/media/opus_transcode.hpp"
#include "loa/media/visual_probe.hpp"

namespace loa::controller {

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecondUs = 1'000'000;
// Opus's own bitrate range.
constexpr int kMinBitrate = 6'000;
constexpr int kMaxBitrate = 510'000;
// The canonical file's sample rate (mono Ogg/Opus).
constexpr int kCanonicalRate = 48'000;
// BS.1770's absolute gate: nothing quieter has an integrated loudness.
constexpr double kQuietestLufs = -70.0;

constexpr const char* kSelectMedia =
    "SELECT media_hash, title, original_name, container, codec, sample_rate, channels, "
    "duration_us, size_bytes, coalesce(original_hash, media_hash), "
    "coalesce(loudness_before_lufs, 0), coalesce(loudness_after_lufs, 0), "
    "coalesce(true_peak_after_dbtp, 0), kind, coalesce(width, 0), coalesce(height, 0), "
    "warnings FROM media";

constexpr const char* kSelectArea =
    "SELECT media_hash, area_path, title, via, added_by, added_us, approval FROM media_areas";

// The warnings column: a JSON array of strings; anything else reads as none.
std::vector<std::string> warnings_from_json(const std::string& text) {
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    std::vector<std::string> warnings;
    if (parsed.is_array()) {
        for (const auto& w : parsed) {
            if (w.is_string()) {
                warnings.push_back(w.get<std::string>());
            }
        }
    }
    return warnings;
}

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
    m.kind = q.getColumn(13).getString();
    m.width = q.getColumn(14).getInt();
    m.height = q.getColumn(15).getInt();
    m.warnings = warnings_from_json(q.getColumn(16).getString());
    return m;
}

MediaArea read_area(SQLite::Statement& q) {
    return {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
            q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getInt64(),
            q.getColumn(6).getString()};
}

// The record of `media_hash` in exactly `area`, if there is one. Throws SQLite::Exception.
std::optional<MediaArea> find_area(SQLite::Database& db, const std::string& media_hash,
                                   const std::string& area) {
    SQLite::Statement q(db, std::string(kSelectArea) + " WHERE media_hash = ? AND area_path = ?");
    q.bind(1, media_hash);
    q.bind(2, area);
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return read_area(q);
}

// A new record, pending. Throws SQLite::Exception.
MediaArea insert_area(SQLite::Database& db, MediaArea record) {
    record.approval = "pending";
    SQLite::Statement insert(db,
                             "INSERT INTO media_areas (media_hash, area_path, title, via, "
                             "added_by, added_us) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, record.media_hash);
    insert.bind(2, record.area_path);
    insert.bind(3, record.title);
    insert.bind(4, record.via);
    insert.bind(5, record.added_by);
    insert.bind(6, static_cast<int64_t>(record.added_us));
    insert.exec();
    return record;
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

// New content, with the importing area's record of it. Throws SQLite::Exception.
void insert_media(SQLite::Database& db, const MediaRecord& record, const std::string& area,
                  std::int64_t now) {
    const bool audio = record.kind == "audio";
    {
        SQLite::Statement insert(
            db,
            "INSERT INTO media (media_hash, title, original_name, container, codec, sample_rate, "
            "channels, duration_us, size_bytes, imported_us, original_hash, loudness_before_lufs, "
            "loudness_after_lufs, true_peak_after_dbtp, kind, width, height, area_path, "
            "warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
        // Loudness belongs to audio, pixels to pictures; the rest stay NULL.
        if (audio) {
            insert.bind(12, record.loudness_before_lufs);
            insert.bind(13, record.loudness_after_lufs);
            insert.bind(14, record.true_peak_after_dbtp);
        }
        insert.bind(15, record.kind);
        if (!audio) {
            insert.bind(16, record.width);
            insert.bind(17, record.height);
        }
        // The area of its first import, kept as a fact; what it may do is its records'.
        insert.bind(18, area);
        insert.bind(19, nlohmann::json(record.warnings).dump());
        insert.exec();
    }
}

// Reports an import's progress stage by stage; each stage is a share of the whole.
class StageReporter {
  public:
    explicit StageReporter(const ImportProgress& report) : report_(report) {}

    // Announces `stage` and returns the Progress its work reports to: [from, to] of the whole.
    media::Progress stage(std::string_view name, double from, double to) {
        if (!report_) {
            return {};
        }
        report(from, name);
        return media::progress_span([this, name](double f) { report(f, name); }, from, to);
    }
    void done(std::string_view name) {
        if (report_) {
            report(1.0, name);
        }
    }

  private:
    void report(double fraction, std::string_view name) {
        reported_ = std::max(reported_, fraction);
        report_(reported_, name);
    }

    const ImportProgress& report_;
    double reported_ = 0.0;
};

// "1:02:03" for operators who think in broadcast minutes.
std::string clock_text(std::int64_t micros) {
    std::int64_t s = micros / kSecondUs;
    return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

Result<void> check_options(const ImportOptions& options) {
    if (auto why = scope_problem(options.area); !why.empty()) {
        return fail(
            Error::Code::invalid_input,
            fmt::format("vùng nhập '{0}': {1} / import area '{0}': {1}", options.area, why));
    }
    if (options.max_duration_us <= 0) {
        return fail(Error::Code::invalid_input,
                    fmt::format("độ dài tối đa phải hơn 0 s, không phải {0} s / the longest "
                                "duration allowed must be more than 0 s, not {0} s",
                                static_cast<double>(options.max_duration_us) / kSecondUs));
    }
    if (options.use == MediaUse::panel) {
        return {};
    }
    const media::OpusSettings& opus = options.opus;
    if (opus.bitrate_bps < kMinBitrate || opus.bitrate_bps > kMaxBitrate) {
        return fail(Error::Code::invalid_input,
                    fmt::format("tốc độ bit Opus {0} bit/s nằm ngoài khoảng {1}–{2} bit/s của "
                                "Opus / an Opus bitrate of {0} bit/s is outside Opus's {1}–{2} "
                                "bit/s",
                                opus.bitrate_bps, kMinBitrate, kMaxBitrate));
    }
    if (!(opus.target_lufs >= kQuietestLufs && opus.target_lufs < 0.0)) {
        return fail(Error::Code::invalid_input,
                    fmt::format("độ to mục tiêu {0} LUFS nằm ngoài {1}…0 LUFS / a loudness "
                                "target of {0} LUFS is outside {1}…0 LUFS",
                                opus.target_lufs, kQuietestLufs));
    }
    if (!(opus.max_true_peak_dbtp <= 0.0)) {
        return fail(Error::Code::invalid_input,
                    fmt::format("giới hạn đỉnh thật {0} dBTP vượt mức tối đa (0 dBTP) / a "
                                "true-peak limit of {0} dBTP is above full scale (0 dBTP)",
                                opus.max_true_peak_dbtp));
    }
    if (!(opus.silence_floor_lufs < opus.target_lufs)) {
        return fail(Error::Code::invalid_input,
                    fmt::format("ngưỡng im lặng ({0} LUFS) phải thấp hơn độ to mục tiêu ({1} "
                                "LUFS) / the silence floor ({0} LUFS) must be below the loudness "
                                "target ({1} LUFS)",
                                opus.silence_floor_lufs, opus.target_lufs));
    }
    return {};
}

// How to raise the length limit, in both languages.
constexpr const char* kRaiseLimitVi =
    "; muốn nhận tệp dài hơn, nâng giới hạn bằng --max-duration GIÂY (loactl) hay max_duration "
    "(API)";
constexpr const char* kRaiseLimitEn =
    "; to take longer files, raise the limit with --max-duration SECONDS (loactl) or "
    "max_duration (API)";

// A refusal of the media library as the operator reads it: too long says how to raise the limit.
std::string refusal_text(const media::Error& error) {
    std::string text = error.message;
    if (error.code != media::Error::Code::too_long) {
        return text;
    }
    const auto english = text.find(" / too long");
    if (english == std::string::npos) {
        return text;
    }
    text.insert(english, kRaiseLimitVi);
    return text + kRaiseLimitEn;
}

Result<void> check_length(const fs::path& file, std::int64_t duration_us,
                          const ImportOptions& options) {
    if (duration_us <= options.max_duration_us) {
        return {};
    }
    const double length_s = static_cast<double>(duration_us) / kSecondUs;
    const double limit_s = static_cast<double>(options.max_duration_us) / kSecondUs;
    return fail(
        Error::Code::media,
        fmt::format("{0}: quá dài: dài {1} ({2:.1f} s), quá giới hạn {3} ({4:.0f} s) cho "
                    "một mục{5} / too long: it lasts {1} ({2:.1f} s), more than the limit "
                    "of {3} ({4:.0f} s) for one item{6}",
                    file.string(), clock_text(duration_us), length_s,
                    clock_text(options.max_duration_us), limit_s, kRaiseLimitVi, kRaiseLimitEn));
}

// Stores `file`, which must still be the content hashed as `original`, and returns its hash.
Result<std::string> store_original(media::ContentStore& store, const fs::path& file,
                                   const std::string& original) {
    auto stored = store.put_file(file);
    if (!stored) {
        return fail(Error::Code::media, stored.error().message);
    }
    if (*stored != original) {
        return fail(Error::Code::media,
                    fmt::format("{}: tệp bị thay đổi trong khi đang nhập / the file changed while "
                                "it was imported",
                                file.string()));
    }
    return *stored;
}

// A record of `media_hash` with what every probe reports (AudioInfo, VisualInfo).
template <typename Info>
MediaRecord described(const std::string& media_hash, const Info& info) {
    MediaRecord record;
    record.media_hash = media_hash;
    record.container = info.container;
    record.codec = info.codec;
    record.duration_us = info.duration_us;
    record.size_bytes = info.size_bytes;
    return record;
}

// Loudspeaker audio: probed, normalised and transcoded in one pass over the input (and one more
// per loudness correction); original and canonical file stored.
Result<MediaRecord> import_audio(media::ContentStore& store, const fs::path& file,
                                 const std::string& original, const ImportOptions& options,
                                 StageReporter& progress) {
    // The canonical file is made beside the store (same file system), then stored by its hash.
    const auto canonical_file = store.root() / fmt::format(".import-{}.opus", original);
    media::OpusSettings opus = options.opus;
    opus.max_duration_us = options.max_duration_us;
    // The first decoding checks the file whole and measures it (the probe stage), the rest
    // normalises and encodes it.
    const media::Progress probing = progress.stage("probe", 0.02, 0.3);
    media::Progress normalising;
    const media::Progress both = [&](double f) {
        if (f < media::kAnalysisShare) {
            if (probing) {
                probing(f / media::kAnalysisShare);
            }
            return;
        }
        if (!normalising) {
            normalising = progress.stage("normalise", 0.3, 0.95);
        }
        if (normalising) {
            normalising((f - media::kAnalysisShare) / (1.0 - media::kAnalysisShare));
        }
    };
    auto transcoded = media::normalise_to_opus(file, canonical_file, opus, both);
    if (!transcoded) {
        return fail(Error::Code::media, refusal_text(transcoded.error()));
    }
    progress.stage("store", 0.95, 1.0);
    std::error_code size_error;
    const auto canonical_size = fs::file_size(canonical_file, size_error);
    auto stored_canonical = store.put_file(canonical_file);
    std::error_code ignored;
    fs::remove(canonical_file, ignored);
    if (!stored_canonical) {
        return fail(Error::Code::media, stored_canonical.error().message);
    }
    // Files are stored before the row that names them, so a row never points at nothing; a crash
    // in between leaves unreferenced files that the next import of them reuses.
    if (auto stored = store_original(store, file, original); !stored) {
        return std::unexpected(stored.error());
    }
    // What nodes play: the canonical file, whose figures the normalisation measured.
    MediaRecord record;
    record.media_hash = *stored_canonical;
    record.container = "ogg";
    record.codec = "opus";
    record.sample_rate = kCanonicalRate;
    record.channels = 1;
    record.duration_us = std::llround(transcoded->after.duration_s * kSecondUs);
    record.size_bytes = size_error ? 0 : canonical_size;
    record.loudness_before_lufs = transcoded->before.integrated_lufs;
    record.loudness_after_lufs = transcoded->after.integrated_lufs;
    record.true_peak_after_dbtp = transcoded->after.true_peak_dbtp;
    record.kind = "audio";
    record.warnings = transcoded->warnings;
    return record;
}

// Panel images and video: probed and stored as they are.
Result<MediaRecord> import_visual(media::ContentStore& store, const fs::path& file,
                                  const std::string& original, const ImportOptions& options,
                                  StageReporter& progress) {
    auto info = media::probe_visual(file, progress.stage("probe", 0.02, 0.9));
    if (!info) {
        return fail(Error::Code::media, info.error().message);
    }
    if (auto fits = check_length(file, info->duration_us, options); !fits) {
        return std::unexpected(fits.error());
    }
    progress.stage("store", 0.9, 1.0);
    auto stored = store_original(store, file, original);
    if (!stored) {
        return std::unexpected(stored.error());
    }
    auto record = described(*stored, *info);
    record.kind = std::string(media::to_string(info->kind));
    record.width = info->width;
    record.height = info->height;
    return record;
}

}  // namespace

Result<PreparedImport> prepare_import(SQLite::Database& db, media::ContentStore& store,
                                      const fs::path& file, std::string title,
                                      const ImportOptions& options) {
    if (auto valid = check_options(options); !valid) {
        return std::unexpected(valid.error());
    }
    // Said first: a missing file, a folder or one without permission is no media problem.
    if (auto why = media::unreadable_reason(file)) {
        return fail(Error::Code::media, fmt::format("{}: {}", file.string(), *why));
    }
    // Refused by its size before hashing or probing reads any of it.
    std::error_code size_error;
    if (const auto size = fs::file_size(file, size_error);
        !size_error && size > options.max_file_bytes) {
        return fail(Error::Code::media,
                    fmt::format("{0}: {1} byte, quá cỡ tệp lớn nhất được nhận ({2} byte) / {1} "
                                "bytes is over the largest media file taken, {2} bytes",
                                file.string(), size, options.max_file_bytes));
    }
    StageReporter progress(options.progress);
    progress.stage("hash", 0.0, 0.02);
    auto original = media::sha256_file(file);
    if (!original) {
        return fail(Error::Code::media, original.error().message);
    }
    PreparedImport prepared;
    prepared.area = options.area;
    prepared.by = options.by;
    prepared.title_given = !title.empty();
    prepared.title = title.empty() ? file.stem().string() : std::move(title);
    prepared.for_panel = options.use == MediaUse::panel;
    // The same content imported for the same use is found before any decoding.
    if (auto existing = find_original(db, *original);
        existing && (existing->kind != "audio") == prepared.for_panel) {
        prepared.record = std::move(*existing);
        prepared.already_present = true;
        progress.done("store");
        return prepared;
    }
    auto record = prepared.for_panel ? import_visual(store, file, *original, options, progress)
                                     : import_audio(store, file, *original, options, progress);
    if (!record) {
        return std::unexpected(record.error());
    }
    record->original_hash = *original;
    record->title = prepared.title;
    record->original_name = file.filename().string();
    prepared.record = std::move(*record);
    progress.done("store");
    return prepared;
}

Result<ImportResult> record_import(WriteTx& tx, const PreparedImport& prepared, std::int64_t now) {
    SQLite::Database& db = tx.db();
    const MediaArea wanted{prepared.record.media_hash,
                           prepared.area,
                           prepared.title,
                           "import",
                           prepared.by,
                           now,
                           "pending"};
    return in_savepoint(tx, [&]() -> Result<ImportResult> {
        // Found again in the writer: another import of the same file may have been recorded
        // while this one was being probed.
        auto existing = find_original(db, prepared.record.original_hash);
        if (existing && (existing->kind != "audio") == prepared.for_panel) {
            // Known content: the importing area's own record, found or made. Another area's
            // record, its area and its approval stay as they are.
            return guard_storage([&]() -> Result<ImportResult> {
                if (auto mine = find_area(db, existing->media_hash, prepared.area)) {
                    ImportResult again{*existing, *mine, true, {}};
                    if (prepared.title_given && prepared.title != mine->title) {
                        again.title_not_applied = prepared.title;
                    }
                    return again;
                }
                MediaArea record = wanted;
                record.media_hash = existing->media_hash;
                return ImportResult{*existing, insert_area(db, std::move(record)), false, {}};
            });
        }
        return guard_storage([&]() -> Result<ImportResult> {
            insert_media(db, prepared.record, prepared.area, now);
            return ImportResult{prepared.record, insert_area(db, wanted), false, {}};
        });
    });
}

Result<ImportResult> import_media(WriteTx& tx, media::ContentStore& store, const fs::path& file,
                                  std::string title, std::int64_t now,
                                  const ImportOptions& options) {
    auto prepared = prepare_import(tx.db(), store, file, std::move(title), options);
    if (!prepared) {
        return std::unexpected(prepared.error());
    }
    return record_import(tx, *prepared, now);
}

std::string title_from_text(std::string_view text) {
    constexpr std::size_t kTitleChars = 60;
    std::string flat;
    for (char c : text) {
        flat += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    flat.erase(0, flat.find_first_not_of(' '));
    std::size_t chars = 0;
    std::size_t i = 0;
    for (; i < flat.size() && chars < kTitleChars; ++i) {
        chars += (static_cast<unsigned char>(flat[i]) & 0xC0) != 0x80;
    }
    while (i < flat.size() && (static_cast<unsigned char>(flat[i]) & 0xC0) == 0x80) {
        ++i;  // finish the character
    }
    if (i >= flat.size()) {
        return flat;
    }
    std::size_t space = flat.rfind(' ', i);
    return flat.substr(0, space != std::string::npos && space > 0 ? space : i) + "…";
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

Result<std::vector<MediaArea>> media_areas(SQLite::Database& db, const std::string& media_hash) {
    return guard_storage([&]() -> Result<std::vector<MediaArea>> {
        SQLite::Statement q(db,
                            std::string(kSelectArea) + " WHERE media_hash = ? ORDER BY area_path");
        q.bind(1, media_hash);
        std::vector<MediaArea> records;
        while (q.executeStep()) {
            records.push_back(read_area(q));
        }
        return records;
    });
}

Result<std::vector<MediaArea>> list_media_areas(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::vector<MediaArea>> {
        SQLite::Statement q(db,
                            std::string(kSelectArea) + " ORDER BY added_us, media_hash, area_path");
        std::vector<MediaArea> records;
        while (q.executeStep()) {
            records.push_back(read_area(q));
        }
        return records;
    });
}

Result<MediaArea> share_media(WriteTx& tx, const std::string& media_hash, const std::string& area,
                              const std::string& title, const std::string& by, std::int64_t now) {
    if (auto why = scope_problem(area); !why.empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("vùng '{}': {} / area '{}': {}", area, why, area, why));
    }
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<MediaArea> {
        return guard_storage([&]() -> Result<MediaArea> {
            SQLite::Statement known(db, "SELECT 1 FROM media WHERE media_hash = ?");
            known.bind(1, media_hash);
            if (!known.executeStep()) {
                return fail(Error::Code::not_found,
                            fmt::format("không có nội dung '{}' / no media '{}' (loactl media "
                                        "list)",
                                        media_hash, media_hash));
            }
            if (auto held = find_area(db, media_hash, area)) {
                return fail(Error::Code::conflict,
                            fmt::format("vùng {} đã có nội dung {} ({}) / area {} has media {} "
                                        "already ({})",
                                        area, media_hash.substr(0, 12), held->approval, area,
                                        media_hash.substr(0, 12), held->approval));
            }
            return insert_area(db, {media_hash, area, title, "share", by, now, "pending"});
        });
    });
}

}  // namespace loa::controller
