// Imported media: probed, stored by content hash, described in the database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/media/content_store.hpp"
#include "loa/media/opus_transcode.hpp"

namespace loa::controller {

/// Media's content: the file nodes play and what probing it found. Who may use it, and where it
/// may air, is its records' to say (MediaArea).
struct MediaRecord {
    /// The file nodes play: for audio the canonical mono 48 kHz Ogg/Opus; images and video are
    /// kept as imported, so for them it equals original_hash.
    std::string media_hash;
    std::string original_hash;  ///< the file the operator imported, kept in the store too
    std::string title;          ///< the first import's title (each record has its own)
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
    std::string kind = "audio";  ///< "audio" (loudspeakers), "image" or "video" (panel boards)
    int width = 0;               ///< pixels, for images and video; 0 for audio
    int height = 0;
    /// What the import found that an approver should know although the file was taken
    /// (bilingual, one line each): junk ignored at its end, mostly noise, a big lift …
    std::vector<std::string> warnings;
};

/// One area's record of media: the area imported it, or had it shared with it explicitly. Each
/// record has its own title and its own approval (approval.hpp): media airs in an area only under
/// an approved record whose area holds that area, so nobody's decision stands for another area,
/// and nobody loses control of their own file.
struct MediaArea {
    std::string media_hash;
    std::string area_path = "/";  ///< the area it belongs to ("/" : every area)
    std::string title;
    std::string via = "import";  ///< "import" or "share"
    std::string added_by;        ///< who imported or shared it ("" when not known)
    std::int64_t added_us = 0;
    std::string approval = "pending";  ///< "pending", "approved" or "rejected"
};

struct ImportResult {
    MediaRecord media;
    MediaArea record;              ///< the importing area's record of it
    bool already_present = false;  ///< that area had imported the same content before
    /// Imported again into the same area with another title given: the record keeps its title,
    /// and this is the one that was not applied ("" otherwise).
    std::string title_not_applied;
};

/// What a file is imported for: loudspeakers play audio, panel boards show images and video.
enum class MediaUse { speaker, panel };

/// Told how far an import has got: `fraction` of the whole import (never decreasing) and the name
/// of the stage under way: "hash", "probe", "normalise" (audio only), "store".
using ImportProgress = std::function<void(double fraction, std::string_view stage)>;

/// Larger files are refused before they are read: an hour of the largest panel video loa takes
/// is well under it, and the transfer manifest of a file this size still fits one message.
inline constexpr std::uint64_t kMaxMediaFileBytes = 2ULL * 1024 * 1024 * 1024;

/// How import_media checks and converts a file. The defaults are loactl's.
struct ImportOptions {
    MediaUse use = MediaUse::speaker;
    /// Larger files are refused before anything reads them.
    std::uint64_t max_file_bytes = kMaxMediaFileBytes;
    /// Longer audio or video is refused: one hour.
    std::int64_t max_duration_us = 3600LL * 1'000'000;
    /// Speaker audio: loudness target (-23 LUFS), true-peak limit (-1 dBTP), Opus bitrate
    /// (24 kbit/s) and the silence floor under which audio is refused (-60 LUFS).
    media::OpusSettings opus;
    ImportProgress progress;  ///< optional; called on the importing thread
    /// The importer's area scope ("/" : every area): the record made belongs to it. The same
    /// content imported from another area gets a record of its own there; nobody's widens.
    std::string area = "/";
    std::string by;  ///< who imports (the record's added_by)
};

/// The slow half of an import, done outside the writer: `file` checked in every part, and
/// stored. For loudspeakers (MediaUse::speaker) the file must be audio that decodes whole, with no
/// video stream (cover art is fine), no longer than the limit and not quieter than the silence
/// floor. Its loudness is normalised and it is transcoded to the canonical format; the original
/// and the canonical file are both stored by content hash. For panel boards (MediaUse::panel) it
/// must be a PNG or JPEG image or a video that decodes whole, no longer than the limit; it is
/// stored as imported. The same original imported before (read through `db`) is not decoded
/// again. A refused file leaves the store as it was; the error names the file and says why.
/// Options out of range are refused with Error::Code::invalid_input.
struct PreparedImport {
    MediaRecord record;
    bool already_present = false;  ///< the original was found imported already (by any area)
    bool for_panel = false;
    std::string area = "/";    ///< the importer's scope
    std::string title;         ///< the importer's title for it
    bool title_given = false;  ///< … given by the importer, not taken from the file name
    std::string by;
};
Result<PreparedImport> prepare_import(SQLite::Database& db, media::ContentStore& store,
                                      const std::filesystem::path& file, std::string title,
                                      const ImportOptions& options = {});

/// The short half, in the writer: records the prepared media and the importing area's record of
/// it (pending). Content recorded already gets only a record for the importing area, pending,
/// with the importer's title; an area that has one already finds it (already_present). Never
/// changes another area's record.
Result<ImportResult> record_import(WriteTx& tx, const PreparedImport& prepared, std::int64_t now);

/// prepare_import and record_import in one change (the slow half inside the writer: for tests and
/// tools).
Result<ImportResult> import_media(WriteTx& tx, media::ContentStore& store,
                                  const std::filesystem::path& file, std::string title,
                                  std::int64_t now, const ImportOptions& options = {});

/// A title for media made from text (speech, slides): its first 60 characters, cut at a space,
/// with "…" when cut; line breaks and tabs read as spaces.
std::string title_from_text(std::string_view text);

Result<MediaRecord> find_media(SQLite::Database& db, const std::string& media_hash);

/// Every media's content, by import time.
Result<std::vector<MediaRecord>> list_media(SQLite::Database& db);

/// The records of `media_hash`, by area; empty for unknown media.
Result<std::vector<MediaArea>> media_areas(SQLite::Database& db, const std::string& media_hash);

/// Every record of every media, by when it was added.
Result<std::vector<MediaArea>> list_media_areas(SQLite::Database& db);

/// Shares media with `area` explicitly: a pending record of its own there, titled `title`, for
/// the area's approver to decide on. Refused: unknown media (not_found), an invalid area
/// (invalid_input), an area that has a record already (conflict).
Result<MediaArea> share_media(WriteTx& tx, const std::string& media_hash, const std::string& area,
                              const std::string& title, const std::string& by, std::int64_t now);

}  // namespace loa::controller
