// The node's durable state in SQLite (WAL): timeline, play states and the confirmation outbox.
#include "loa/node/node_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

namespace loa::node {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    slot_id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    media_hash TEXT NOT NULL,
    media_size INTEGER NOT NULL,
    start_us INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    started_us INTEGER
);
CREATE INDEX IF NOT EXISTS slots_pending ON slots (state, start_us);
-- AUTOINCREMENT: a sequence number is never reused, even after acked rows are deleted.
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_id TEXT NOT NULL UNIQUE,
    campaign_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    media_hash TEXT NOT NULL,
    planned_start_us INTEGER NOT NULL,
    actual_start_us INTEGER NOT NULL,
    actual_end_us INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    reason TEXT NOT NULL
);
)sql";

// Later steps of the schema, by PRAGMA user_version: step N brings version N-1 to N. A store
// written by an older agent is brought forward in place; never edit a released step.
constexpr const char* kMigrations[] = {
    // 1: the schema above, as the first agents wrote it.
    "",
    // 2: what panels need to know of a slot; the evidence of a play; commands and emergencies.
    R"sql(
ALTER TABLE slots ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slots ADD COLUMN display_us INTEGER NOT NULL DEFAULT 0;
-- A wire::Confirmation holding only what was measured: levels, frames, offset, emergency.
ALTER TABLE outbox ADD COLUMN evidence BLOB;
-- Each command is carried out once; its result is kept until the controller acks it.
CREATE TABLE commands (
    command_id INTEGER PRIMARY KEY,
    received_us INTEGER NOT NULL,
    result BLOB NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE emergencies (
    emergency_id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    received_us INTEGER NOT NULL,
    plays_done INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'active'
);
)sql",
    // 3: whether this store has been welcomed (protocol/README.md, "Sequence numbers"). A store
    // that holds a timeline, a command or has numbered a confirmation was in a session before;
    // a store created now was not, and numbers above what WELCOME says the controller holds.
    R"sql(
INSERT OR IGNORE INTO meta (key, value)
SELECT 'welcomed', 'before schema 3'
WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'timeline_hash')
   OR EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox' AND seq > 0)
   OR EXISTS (SELECT 1 FROM commands);
)sql",
};

constexpr const char* kSlotColumns =
    "slot_id, campaign_id, item_id, media_hash, media_size, start_us, duration_us, title, kind, "
    "display_us";
constexpr int kSlotColumnCount = 10;

wire::Slot read_slot(SQLite::Statement& q) {
    wire::Slot s;
    s.set_slot_id(q.getColumn(0).getString());
    s.set_campaign_id(q.getColumn(1).getString());
    s.set_item_id(q.getColumn(2).getString());
    s.set_media_hash(q.getColumn(3).getString());
    s.set_media_size(static_cast<std::uint64_t>(q.getColumn(4).getInt64()));
    s.set_start_us(q.getColumn(5).getInt64());
    s.set_duration_us(q.getColumn(6).getInt64());
    s.set_title(q.getColumn(7).getString());
    s.set_kind(static_cast<wire::SlotKind>(q.getColumn(8).getInt()));
    s.set_display_us(q.getColumn(9).getInt64());
    return s;
}

void migrate(SQLite::Database& db) {
    db.exec(kSchema);
    int version = db.execAndGet("PRAGMA user_version").getInt();
    const int latest = static_cast<int>(std::size(kMigrations));
    if (version > latest) {
        throw std::runtime_error("written by a newer agent (schema version " +
                                 std::to_string(version) + ", this agent knows up to " +
                                 std::to_string(latest) + ")");
    }
    for (; version < latest; ++version) {
        SQLite::Transaction tx(db);
        db.exec(kMigrations[version]);
        db.exec("PRAGMA user_version = " + std::to_string(version + 1));
        tx.commit();
    }
}

void set_meta(SQLite::Database& db, const char* key, const std::string& value) {
    SQLite::Statement q(db,
                        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                        "excluded.value");
    q.bind(1, key);
    q.bind(2, value);
    q.exec();
}

std::optional<std::string> get_meta(SQLite::Database& db, const char* key) {
    SQLite::Statement q(db, "SELECT value FROM meta WHERE key = ?");
    q.bind(1, key);
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return q.getColumn(0).getString();
}

constexpr std::uint64_t kMaxWelcomeSeq = std::uint64_t{1} << 62;

/// The highest sequence number AUTOINCREMENT has handed out (0 if none).
std::uint64_t read_sequence(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
    return q.executeStep() ? static_cast<std::uint64_t>(q.getColumn(0).getInt64()) : 0;
}

/// Sets where AUTOINCREMENT continues: the next confirmation gets `seq` + 1.
void write_sequence(SQLite::Database& db, std::int64_t seq) {
    SQLite::Statement update(db, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'");
    update.bind(1, static_cast<int64_t>(seq));
    if (update.exec() == 0) {
        SQLite::Statement insert(db,
                                 "INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)");
        insert.bind(1, static_cast<int64_t>(seq));
        insert.exec();
    }
}

std::string serialize(const google::protobuf::MessageLite& message) {
    std::string bytes;
    message.SerializeToString(&bytes);
    return bytes;
}

namespace fs = std::filesystem;

/// The file itself is damaged: what SQLite says of a page that is not what it should be.
bool is_damage(const SQLite::Exception& e) {
    const int code = e.getErrorCode();
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

/// A quick_check that found damage at open (SQLite answered, but not "ok").
struct DamagedFile : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// One value of a row read back from a damaged file, bound again as it was.
struct Cell {
    int type = SQLITE_NULL;
    std::int64_t integer = 0;
    double real = 0;
    std::string bytes;
};
using Row = std::vector<Cell>;

Cell read_cell(const SQLite::Column& column) {
    Cell c;
    c.type = column.getType();
    switch (c.type) {
        case SQLITE_INTEGER:
            c.integer = column.getInt64();
            break;
        case SQLITE_FLOAT:
            c.real = column.getDouble();
            break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
            c.bytes.assign(static_cast<const char*>(column.getBlob()),
                           static_cast<std::size_t>(column.getBytes()));
            break;
        default:
            break;
    }
    return c;
}

void bind_cell(SQLite::Statement& q, int index, const Cell& c) {
    switch (c.type) {
        case SQLITE_INTEGER:
            q.bind(index, static_cast<int64_t>(c.integer));
            break;
        case SQLITE_FLOAT:
            q.bind(index, c.real);
            break;
        case SQLITE_TEXT:
            q.bind(index, c.bytes);
            break;
        case SQLITE_BLOB:
            q.bind(index, c.bytes.data(), static_cast<int>(c.bytes.size()));
            break;
        default:
            q.bind(index);
    }
}

/// Every row of `table` that can still be read, by rowid, with `columns`: a row whose page is
/// damaged is skipped, never the rest. Rows are looked up one at a time ("the next rowid above
/// this one"), from the low end and from the high end, so a damaged page in the middle of the
/// table hides only its own rows. A lookup that fails jumps further each time (1, 2, 4 …
/// rowids), and each direction gives up after 80 failed lookups: bounded, whatever the damage.
std::map<std::int64_t, Row> salvage_rows(SQLite::Database& db, const std::string& table,
                                         const std::string& columns, int column_count,
                                         int& unreadable) {
    // 2^63 is passed in 63 doublings: a damaged last page does not hide the rows below it.
    constexpr int kMaxFailures = 80;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::map<std::int64_t, Row> rows;
    // The row after (or before) `bound`, if any; whether it was new.
    auto probe = [&](bool forward,
                     std::int64_t bound) -> std::optional<std::pair<std::int64_t, bool>> {
        SQLite::Statement q(
            db, fmt::format("SELECT rowid, {} FROM {} WHERE rowid {} ? ORDER BY "
                            "rowid {} LIMIT 1",
                            columns, table, forward ? ">" : "<", forward ? "ASC" : "DESC"));
        q.bind(1, static_cast<int64_t>(bound));
        if (!q.executeStep()) {
            return std::nullopt;
        }
        Row row;
        for (int i = 1; i <= column_count; ++i) {
            row.push_back(read_cell(q.getColumn(i)));
        }
        const std::int64_t rowid = q.getColumn(0).getInt64();
        const bool fresh = rows.emplace(rowid, std::move(row)).second;
        return std::pair{rowid, fresh};
    };
    // Every table here numbers its rows from 1 (AUTOINCREMENT, or SQLite's own rowids).
    for (const bool forward : {true, false}) {
        std::int64_t cursor = forward ? 0 : kMax;
        std::int64_t step = 1;
        int failures = 0;
        while (failures < kMaxFailures) {
            try {
                auto found = probe(forward, cursor);
                if (!found || (!forward && !found->second)) {
                    break;  // the end, or (backwards) where the forward pass got to
                }
                // A damaged page can answer "the row after N" with a row at or before N: taken
                // as a failure, so the walk goes on past it instead of round the same rows.
                if (forward ? found->first <= cursor : found->first >= cursor) {
                    throw std::runtime_error("a row out of order");
                }
                cursor = found->first;
                step = 1;
            } catch (const std::exception&) {
                ++unreadable;
                ++failures;
                // Past the damaged page: further each time, without overflowing.
                cursor = forward ? (cursor > kMax - step ? kMax : cursor + step)
                                 : (cursor < step ? 0 : cursor - step);
                step = step > kMax / 2 ? step : step * 2;
            }
        }
    }
    return rows;
}

/// What could be read back from a damaged store.
struct Salvaged {
    std::map<std::int64_t, Row> outbox;
    std::map<std::int64_t, Row> commands;
    std::map<std::int64_t, Row> emergencies;
    std::vector<std::pair<std::string, std::string>> settings;
    std::optional<bool> welcomed;  ///< nullopt: its meta could not be read
    std::uint64_t sequence = 0;    ///< its counter, 0 if unreadable
    std::uint64_t keep_through = 0;
    int unreadable = 0;
};

constexpr const char* kOutboxColumns =
    "seq, slot_id, campaign_id, item_id, media_hash, planned_start_us, actual_start_us, "
    "actual_end_us, outcome, reason, evidence";
constexpr int kOutboxColumnCount = 11;
constexpr const char* kCommandColumns = "command_id, received_us, result, acked";
constexpr const char* kEmergencyColumns = "emergency_id, body, received_us, plays_done, state";

/// Reads what it can from the damaged file `file` (and its WAL), never throwing, never writing
/// to it.
Salvaged salvage(const fs::path& file) {
    Salvaged out;
    try {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        // Left as it was found: no checkpoint of its WAL into it when it is closed.
        sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        // Its WAL index in memory: no new -shm file is needed (the disk may be full).
        db.exec("PRAGMA locking_mode = EXCLUSIVE");
        db.exec("PRAGMA query_only = 1");
        // A file cut short says it has more pages than it holds, which SQLite refuses whole
        // ("malformed") unless the schema may be written: then it reads the pages there are.
        // Nothing is written (query_only).
        db.exec("PRAGMA writable_schema = ON");
        auto table = [&](const char* name, const char* columns, int count) {
            try {
                return salvage_rows(db, name, columns, count, out.unreadable);
            } catch (const std::exception&) {
                ++out.unreadable;  // not even its schema can be read
                return std::map<std::int64_t, Row>{};
            }
        };
        out.outbox = table("outbox", kOutboxColumns, kOutboxColumnCount);
        out.commands = table("commands", kCommandColumns, 4);
        out.emergencies = table("emergencies", kEmergencyColumns, 5);
        bool meta_read = false;
        bool welcomed = false;
        for (const auto& [rowid, row] : table("meta", "key, value", 2)) {
            meta_read = true;
            const std::string& key = row[0].bytes;
            if (key == "welcomed") {
                welcomed = true;
            } else if (key == "keep_numbers_through" && row[1].type == SQLITE_TEXT) {
                out.keep_through = std::max<std::uint64_t>(
                    out.keep_through, std::strtoull(row[1].bytes.c_str(), nullptr, 10));
            } else if (key.starts_with("setting.")) {
                out.settings.emplace_back(key, row[1].bytes);
            }
        }
        if (meta_read) {
            out.welcomed = welcomed;
        }
        try {
            SQLite::Statement q(db, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
            if (q.executeStep()) {
                out.sequence = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
            }
        } catch (const std::exception&) {
            ++out.unreadable;
        }
    } catch (const std::exception& e) {
        spdlog::error("the damaged store {} cannot be opened to salvage it: {}", file.string(),
                      e.what());
    }
    return out;
}

std::string utc_stamp(std::int64_t us) {
    const std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/// Renames `file` and its WAL aside as `<file>.damaged-<UTC time>[-wal]` (its shared-memory
/// index is rebuilt from them) and deletes the oldest damaged copies beyond `keep`.
fs::path quarantine(const fs::path& file, int keep) {
    const std::string base = file.filename().string() + ".damaged-";
    const std::string stamp = utc_stamp(wall_us());
    fs::path target = file.parent_path() / (base + stamp);
    for (int n = 2; fs::exists(target) || fs::exists(target.string() + "-wal"); ++n) {
        target = file.parent_path() / fmt::format("{}{}-{}", base, stamp, n);
    }
    std::error_code ec;
    fs::remove(file.string() + "-shm", ec);
    if (fs::exists(file.string() + "-wal")) {
        fs::rename(file.string() + "-wal", target.string() + "-wal");
    }
    fs::rename(file, target);
    std::vector<fs::path> damaged;
    for (const auto& entry : fs::directory_iterator(
             file.parent_path().empty() ? fs::path(".") : file.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(base) && !name.ends_with("-wal") && !name.ends_with("-shm")) {
            damaged.push_back(entry.path());
        }
    }
    std::sort(damaged.begin(), damaged.end());  // by time: the stamp sorts as text
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < damaged.size(); ++i) {
        fs::remove(damaged[i], ec);
        fs::remove(damaged[i].string() + "-wal", ec);
        fs::remove(damaged[i].string() + "-shm", ec);
    }
    return target;
}

}  // namespace

NodeStore::NodeStore(const std::filesystem::path& file) : file_(file) {
    try {
        if (file.has_parent_path()) {
            std::filesystem::create_directories(file.parent_path());
        }
        try {
            open_locked();
        } catch (const DamagedFile& e) {
            rebuild_locked(e.what());
        } catch (const SQLite::Exception& e) {
            const int code = e.getErrorCode();
            if (is_damage(e)) {
                rebuild_locked(e.what());
            } else if (code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_CANTOPEN) {
                // A full disk with no WAL index left (an agent that stopped before it kept
                // one): SQLite keeps the index in memory when it holds the file alone, so the
                // agent opens its store and plays on.
                spdlog::warn("node store {}: {}; opened for this process alone", file.string(),
                             e.what());
                exclusive_ = true;
                open_locked();
            } else {
                throw;
            }
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("node store " + file.string() + ": " + e.what());
    }
}

void NodeStore::open_locked() {
    db_.reset();
    db_ = std::make_unique<SQLite::Database>(file_.string(),
                                             SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->setBusyTimeout(10000);
    if (exclusive_) {
        db_->exec("PRAGMA locking_mode=EXCLUSIVE");
    }
    db_->exec("PRAGMA journal_mode=WAL");
    // FULL, not NORMAL: with NORMAL a power cut can roll back the last commits, and a
    // confirmation lost that way is airtime the audit never sees. A node commits a handful
    // of times per play, so the extra fsync costs nothing that matters.
    db_->exec("PRAGMA synchronous=FULL");
    // The WAL must not be what fills a small card. SQLite's default checkpoints every 1,000
    // pages and never shrinks the file after a big transaction (a whole timeline), so on an
    // 8 MiB card the WAL alone could take the space the confirmations need. 100 pages (400 KiB)
    // between checkpoints, and the file cut back to 512 KiB after each, bound it; a node writes
    // a few rows per play, so the extra checkpoints cost nothing that matters.
    db_->exec("PRAGMA wal_autocheckpoint=100");
    db_->exec("PRAGMA journal_size_limit=524288");
    // The WAL and its index stay when the agent stops: an agent started again on a full disk
    // finds them instead of failing to create them (it then plays on, holding what it cannot
    // write).
    int persist = 1;
    sqlite3_file_control(db_->getHandle(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    // Sorts and temporary indexes in memory, not in files on the same small card.
    db_->exec("PRAGMA temp_store=MEMORY");
    // A damaged page found now is recovered from at once, before the agent relies on the file
    // (a node's store is a few hundred KiB: this takes milliseconds).
    if (file_ != ":memory:") {
        const std::string check = db_->execAndGet("PRAGMA quick_check(1)").getString();
        if (check != "ok") {
            throw DamagedFile("quick_check: " + check);
        }
    }
    migrate(*db_);
    load_state_locked();
}

void NodeStore::load_state_locked() {
    welcomed_ = get_meta(*db_, "welcomed").has_value();
    keep_through_ =
        std::strtoull(get_meta(*db_, "keep_numbers_through").value_or("0").c_str(), nullptr, 10);
    rebuilt_us_ = std::strtoll(get_meta(*db_, "rebuilt_us").value_or("0").c_str(), nullptr, 10);
    assigned_seq_ = std::max(assigned_seq_, read_sequence(*db_));
}

template <class Work>
auto NodeStore::with_db(Work&& work) -> decltype(work()) {
    try {
        return work();
    } catch (const SQLite::Exception& e) {
        if (!is_damage(e) || file_ == ":memory:") {
            throw;
        }
        rebuild_locked(e.what());
    }
    return work();
}

template <class Work>
bool NodeStore::try_write(const char* what, Work&& work) {
    const bool had_held = holding_locked();
    int changes_before = 0;
    try {
        changes_before = db_ ? db_->getTotalChanges() : 0;
        with_db([&] {
            SQLite::Transaction tx(*db_);
            write_held_locked();
            work();
            tx.commit();
            // Only now: a number taken by a transaction that failed to commit is free again.
            assigned_seq_ = std::max(assigned_seq_, read_sequence(*db_));
        });
    } catch (const std::exception& e) {
        const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e);
        const bool full = sqlite && sqlite->getErrorCode() == SQLITE_FULL;
        if (full != full_ || last_write_error_ != e.what()) {
            spdlog::error("node store: {} not written ({}){}", what, e.what(),
                          full ? ": đĩa đầy, vẫn phát, xác nhận giữ trong bộ nhớ tới khi có chỗ "
                                 "/ the disk is full; plays go on, confirmations are held in "
                                 "memory until it has room"
                               : "");
        }
        full_ = full;
        last_write_error_ = e.what();
        return false;
    }
    // A transaction that changed nothing proves nothing about the disk.
    if (had_held || db_->getTotalChanges() != changes_before) {
        held_written_locked();
    }
    return true;
}

bool NodeStore::holding_locked() const {
    return !held_.empty() || !slot_states_.empty() || !emergency_plays_.empty() ||
           !emergency_states_.empty() || !acked_unwritten_.empty() || sequence_behind_;
}

void NodeStore::write_held_locked() {
    if (!holding_locked()) {
        return;
    }
    for (const auto& [slot_id, s] : slot_states_) {
        SQLite::Statement q(*db_,
                            "UPDATE slots SET state = ?, started_us = CASE ? WHEN 'started' "
                            "THEN ? WHEN 'pending' THEN NULL ELSE started_us END WHERE slot_id = "
                            "? AND state != 'done'");
        q.bind(1, s.state);
        q.bind(2, s.state);
        q.bind(3, static_cast<int64_t>(s.at_us));
        q.bind(4, slot_id);
        q.exec();
    }
    for (const auto& [id, plays] : emergency_plays_) {
        SQLite::Statement q(*db_,
                            "UPDATE emergencies SET plays_done = plays_done + ? WHERE "
                            "emergency_id = ?");
        q.bind(1, static_cast<int64_t>(plays));
        q.bind(2, id);
        q.exec();
    }
    for (const auto& [id, state] : emergency_states_) {
        SQLite::Statement q(*db_,
                            "UPDATE emergencies SET state = ? WHERE emergency_id = ? AND state = "
                            "'active'");
        q.bind(1, state);
        q.bind(2, id);
        q.exec();
    }
    for (const auto& h : held_) {
        insert_confirmation(h.slot, h.what, h.seq);
    }
    for (const auto seq : acked_unwritten_) {
        SQLite::Statement q(*db_, "DELETE FROM outbox WHERE seq = ?");
        q.bind(1, static_cast<int64_t>(seq));
        q.exec();
    }
    // Numbers handed out from memory (some acked and gone) are never handed out again.
    if (assigned_seq_ > read_sequence(*db_)) {
        write_sequence(*db_, static_cast<std::int64_t>(assigned_seq_));
    }
}

void NodeStore::held_written_locked() {
    if (!holding_locked() && !full_) {
        return;
    }
    if (!held_.empty() || full_) {
        spdlog::info("node store writes again: {} confirmation(s) held in memory written",
                     held_.size());
    }
    held_.clear();
    slot_states_.clear();
    emergency_plays_.clear();
    emergency_states_.clear();
    acked_unwritten_.clear();
    sequence_behind_ = false;
    full_ = false;
    last_write_error_.clear();
}

void NodeStore::hold_locked(const wire::Slot& slot, const wire::Confirmation& what, bool emergency,
                            bool last) {
    const std::uint64_t seq = ++assigned_seq_;
    sequence_behind_ = true;
    if (emergency) {
        ++emergency_plays_[what.emergency_id()];
        if (last) {
            emergency_states_[what.emergency_id()] = "done";
        }
    } else {
        slot_states_[slot.slot_id()] = SlotState{"done", 0};
    }
    if (held_.size() >= kMaxHeld) {
        // The play stands (never played again), but its confirmation is not kept: the
        // controller sees the number missing (loactl node gaps) rather than a node that
        // stopped playing for want of memory.
        ++dropped_;
        spdlog::critical(
            "confirmation {} of {} dropped: {} are already held in memory and the "
            "store still cannot write",
            seq, slot.slot_id(), kMaxHeld);
        return;
    }
    Held h;
    h.seq = seq;
    h.slot = slot;
    h.what = what;
    held_.push_back(std::move(h));
    spdlog::warn("confirmation {} of {} held in memory ({} held): the store cannot write", seq,
                 slot.slot_id(), held_.size());
}

void NodeStore::rebuild_locked(const std::string& why) {
    if (file_ == ":memory:") {
        throw std::runtime_error(why);
    }
    spdlog::critical(
        "kho dữ liệu {} bị hỏng ({}): cách ly, cứu dữ liệu và tạo kho mới / node store {} is "
        "damaged ({}): quarantined, salvaged and started afresh",
        file_.string(), why, file_.string(), why);
    // What this process already numbered may have been sent: it keeps its numbers.
    const std::uint64_t numbered_here = welcomed_ ? assigned_seq_ : 0;
    db_.reset();
    StoreSalvage report;
    report.quarantined = quarantine(file_, kKeptDamaged);
    Salvaged old = salvage(report.quarantined);
    report.unreadable = old.unreadable;
    std::uint64_t highest_salvaged = 0;
    for (const auto& [seq, row] : old.outbox) {
        highest_salvaged = std::max(highest_salvaged, static_cast<std::uint64_t>(seq));
    }
    // A store that was welcomed (or whose meta is gone: presumed so) may have sent every number
    // it holds; one never welcomed sent none, and its numbers move at the first WELCOME.
    const bool sent = old.welcomed.value_or(true);
    report.keep_numbers_through =
        std::max({numbered_here, old.keep_through,
                  sent ? std::max(highest_salvaged, old.sequence) : std::uint64_t{0}});
    open_locked();  // the file is gone: a fresh store
    const std::int64_t now = wall_us();
    {
        SQLite::Transaction tx(*db_);
        auto copy = [&](const char* table, const char* columns, int count,
                        const std::map<std::int64_t, Row>& rows) {
            std::string marks = "?";
            for (int i = 1; i < count; ++i) {
                marks += ", ?";
            }
            SQLite::Statement q(*db_, fmt::format("INSERT OR IGNORE INTO {} ({}) VALUES ({})",
                                                  table, columns, marks));
            int copied = 0;
            for (const auto& [rowid, row] : rows) {
                for (int i = 0; i < count; ++i) {
                    bind_cell(q, i + 1, row[static_cast<std::size_t>(i)]);
                }
                try {
                    copied += q.exec();
                } catch (const SQLite::Exception& e) {
                    ++report.unreadable;  // a row read back that no longer makes sense
                    spdlog::warn("salvaging a row of {}: {}", table, e.what());
                }
                q.reset();
            }
            return copied;
        };
        report.confirmations = copy("outbox", kOutboxColumns, kOutboxColumnCount, old.outbox);
        report.commands = copy("commands", kCommandColumns, 4, old.commands) +
                          copy("emergencies", kEmergencyColumns, 5, old.emergencies);
        for (const auto& [key, value] : old.settings) {
            set_meta(*db_, key.c_str(), value);
            ++report.settings;
        }
        set_meta(*db_, "keep_numbers_through", std::to_string(report.keep_numbers_through));
        set_meta(*db_, "rebuilt_us", std::to_string(now));
        set_meta(*db_, "rebuilt_from", report.quarantined.filename().string());
        const std::uint64_t counter = std::max(
            {report.keep_numbers_through, highest_salvaged, assigned_seq_, read_sequence(*db_)});
        write_sequence(*db_, static_cast<std::int64_t>(counter));
        tx.commit();
    }
    welcomed_ = false;
    load_state_locked();
    salvage_ = report;
    ++rebuilds_;
    ++outbox_generation_;
    spdlog::critical(
        "đã tạo kho mới; tệp hỏng giữ tại {}; cứu được {} xác nhận chưa gửi xong / node store "
        "started afresh; the damaged file is {}; salvaged {} unacked confirmation(s), "
        "{} command result(s) and emergencies, {} setting(s); {} read(s) failed; numbers up to {} "
        "keep theirs; the timeline comes back from the controller",
        report.quarantined.string(), report.confirmations, report.quarantined.string(),
        report.confirmations, report.commands, report.settings, report.unreadable,
        report.keep_numbers_through);
}

std::optional<StoreSalvage> NodeStore::last_salvage() {
    std::lock_guard lock(mutex_);
    return salvage_;
}

bool NodeStore::flush() {
    std::lock_guard lock(mutex_);
    if (!holding_locked()) {
        return true;
    }
    try_write("what was held in memory", [] {});
    return !holding_locked();
}

bool NodeStore::holding() {
    std::lock_guard lock(mutex_);
    return holding_locked();
}

StoreHealth NodeStore::health() {
    std::lock_guard lock(mutex_);
    return StoreHealth{full_, static_cast<std::uint32_t>(held_.size()), dropped_, rebuilt_us_};
}

std::string NodeStore::timeline_hash() {
    std::lock_guard lock(mutex_);
    return with_db([&] { return get_meta(*db_, "timeline_hash").value_or(""); });
}

void NodeStore::replace_timeline(const wire::ScheduleUpdate& update) {
    std::lock_guard lock(mutex_);
    with_db([&] {
        SQLite::Transaction tx(*db_);
        write_held_locked();
        std::set<std::string> keep;
        // A play with a confirmation in the outbox is done, whatever the update says: after a
        // store was started afresh, the controller may not hold that confirmation yet.
        SQLite::Statement upsert(
            *db_, std::string("INSERT INTO slots (") + kSlotColumns +
                      ", state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN EXISTS (SELECT 1 "
                      "FROM outbox WHERE slot_id = ?1) THEN 'done' ELSE 'pending' END) ON "
                      "CONFLICT (slot_id) DO UPDATE SET "
                      "campaign_id = excluded.campaign_id, item_id = excluded.item_id, "
                      "media_hash = excluded.media_hash, media_size = excluded.media_size, "
                      "start_us = excluded.start_us, duration_us = excluded.duration_us, "
                      "title = excluded.title, kind = excluded.kind, display_us = "
                      "excluded.display_us WHERE state = 'pending'");
        std::int64_t last_end = 0;
        for (const auto& s : update.slots()) {
            upsert.bind(1, s.slot_id());
            upsert.bind(2, s.campaign_id());
            upsert.bind(3, s.item_id());
            upsert.bind(4, s.media_hash());
            upsert.bind(5, static_cast<int64_t>(s.media_size()));
            upsert.bind(6, static_cast<int64_t>(s.start_us()));
            upsert.bind(7, static_cast<int64_t>(s.duration_us()));
            upsert.bind(8, s.title());
            upsert.bind(9, static_cast<int>(s.kind()));
            upsert.bind(10, static_cast<int64_t>(s.display_us()));
            last_end = std::max(last_end, s.start_us() + s.duration_us());
            upsert.exec();
            upsert.reset();
            keep.insert(s.slot_id());
        }
        SQLite::Statement pending(*db_, "SELECT slot_id FROM slots WHERE state = 'pending'");
        std::vector<std::string> withdrawn;
        while (pending.executeStep()) {
            if (!keep.contains(pending.getColumn(0).getString())) {
                withdrawn.push_back(pending.getColumn(0).getString());
            }
        }
        SQLite::Statement drop(*db_, "DELETE FROM slots WHERE slot_id = ?");
        for (const auto& id : withdrawn) {
            drop.bind(1, id);
            drop.exec();
            drop.reset();
        }
        set_meta(*db_, "timeline_hash", update.timeline_hash());
        // An update that does not say where it ends is complete up to its last play.
        set_meta(*db_, "horizon_end_us",
                 std::to_string(update.horizon_end_us() > 0 ? update.horizon_end_us() : last_end));
        tx.commit();
    });
    held_written_locked();
}

std::optional<wire::Slot> NodeStore::next_pending() {
    std::lock_guard lock(mutex_);
    return with_db([&]() -> std::optional<wire::Slot> {
        // Plays started or done in memory only (the file could not take it) are not pending.
        SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                      " FROM slots WHERE state = 'pending' ORDER BY start_us, "
                                      "slot_id LIMIT ?");
        q.bind(1, static_cast<int64_t>(slot_states_.size() + 1));
        while (q.executeStep()) {
            auto slot = read_slot(q);
            auto held = slot_states_.find(slot.slot_id());
            if (held == slot_states_.end() || held->second.state == "pending") {
                return slot;
            }
        }
        return std::nullopt;
    });
}

std::vector<MediaNeed> NodeStore::needed_media(std::int64_t until_us) {
    std::lock_guard lock(mutex_);
    return with_db([&] {
        SQLite::Statement q(*db_,
                            "SELECT media_hash, min(start_us), max(media_size) FROM slots "
                            "WHERE state = 'pending' AND start_us < ? "
                            "GROUP BY media_hash ORDER BY min(start_us), media_hash");
        q.bind(1, static_cast<int64_t>(until_us));
        std::vector<MediaNeed> needs;
        while (q.executeStep()) {
            needs.push_back(MediaNeed{q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                                      static_cast<std::uint64_t>(q.getColumn(2).getInt64())});
        }
        return needs;
    });
}

void NodeStore::mark_started(const std::string& slot_id, std::int64_t at_us) {
    std::lock_guard lock(mutex_);
    const bool written = try_write("the start of a play", [&] {
        SQLite::Statement q(*db_,
                            "UPDATE slots SET state = 'started', started_us = ? WHERE slot_id = ?");
        q.bind(1, static_cast<int64_t>(at_us));
        q.bind(2, slot_id);
        q.exec();
    });
    if (!written) {
        // The play airs all the same; only a crash during it would now go unreported.
        slot_states_[slot_id] = SlotState{"started", at_us};
    }
}

void NodeStore::mark_pending(const std::string& slot_id) {
    std::lock_guard lock(mutex_);
    const bool written = try_write("a play taken back", [&] {
        SQLite::Statement q(*db_,
                            "UPDATE slots SET state = 'pending', started_us = NULL WHERE slot_id "
                            "= ? AND state = 'started'");
        q.bind(1, slot_id);
        q.exec();
    });
    if (!written) {
        slot_states_[slot_id] = SlotState{"pending", 0};
    }
}

void NodeStore::confirm(const wire::Slot& slot, wire::Outcome outcome, const std::string& reason,
                        std::int64_t start_us, std::int64_t end_us) {
    wire::Confirmation c;
    c.set_outcome(outcome);
    c.set_reason(reason);
    c.set_actual_start_us(start_us);
    c.set_actual_end_us(end_us);
    confirm(slot, c);
}

void NodeStore::confirm(const wire::Slot& slot, const wire::Confirmation& what) {
    std::lock_guard lock(mutex_);
    const bool written = try_write("a confirmation", [&] {
        SQLite::Statement done(*db_, "UPDATE slots SET state = 'done' WHERE slot_id = ?");
        done.bind(1, slot.slot_id());
        done.exec();
        insert_confirmation(slot, what);
    });
    if (!written) {
        hold_locked(slot, what, false, false);
    }
    ++outbox_generation_;
}

void NodeStore::insert_confirmation(const wire::Slot& slot, const wire::Confirmation& what,
                                    std::uint64_t seq) {
    wire::Confirmation evidence;
    if (what.has_levels()) {
        *evidence.mutable_levels() = what.levels();
    }
    evidence.set_frames_rendered(what.frames_rendered());
    evidence.set_offset_us(what.offset_us());
    evidence.set_emergency_id(what.emergency_id());
    // OR IGNORE on the slot: a play is confirmed once, whatever happens around a crash. A
    // confirmation held in memory keeps the number it was given (and may have been sent with).
    SQLite::Statement q(*db_,
                        "INSERT OR IGNORE INTO outbox (seq, slot_id, campaign_id, item_id, "
                        "media_hash, planned_start_us, actual_start_us, actual_end_us, outcome, "
                        "reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (seq > 0) {
        q.bind(1, static_cast<int64_t>(seq));
    }
    q.bind(2, slot.slot_id());
    q.bind(3, slot.campaign_id());
    q.bind(4, slot.item_id());
    q.bind(5, slot.media_hash());
    q.bind(6, static_cast<int64_t>(slot.start_us()));
    q.bind(7, static_cast<int64_t>(what.actual_start_us()));
    q.bind(8, static_cast<int64_t>(what.actual_end_us()));
    q.bind(9, static_cast<int>(what.outcome()));
    q.bind(10, what.reason());
    const std::string blob = serialize(evidence);
    q.bind(11, blob.data(), static_cast<int>(blob.size()));
    q.exec();
    ++outbox_generation_;
}

int NodeStore::recover_interrupted(const std::string& reason) {
    std::vector<std::pair<wire::Slot, std::int64_t>> interrupted;
    {
        std::lock_guard lock(mutex_);
        with_db([&] {
            interrupted.clear();
            SQLite::Statement started(*db_, std::string("SELECT ") + kSlotColumns +
                                                ", coalesce(started_us, 0) FROM slots WHERE "
                                                "state = 'started'");
            while (started.executeStep()) {
                auto slot = read_slot(started);
                auto held = slot_states_.find(slot.slot_id());
                if (held == slot_states_.end() || held->second.state == "started") {
                    interrupted.emplace_back(std::move(slot),
                                             started.getColumn(kSlotColumnCount).getInt64());
                }
            }
            // Started in memory only: the file still says pending.
            SQLite::Statement pending(*db_, std::string("SELECT ") + kSlotColumns +
                                                " FROM slots WHERE slot_id = ? AND state = "
                                                "'pending'");
            for (const auto& [slot_id, held] : slot_states_) {
                if (held.state != "started") {
                    continue;
                }
                pending.bind(1, slot_id);
                if (pending.executeStep()) {
                    interrupted.emplace_back(read_slot(pending), held.at_us);
                }
                pending.reset();
            }
        });
    }
    for (const auto& [slot, started] : interrupted) {
        confirm(slot, wire::FAILED, reason, started, 0);
    }
    return static_cast<int>(interrupted.size());
}

std::vector<wire::Confirmation> NodeStore::outbox(int limit) {
    std::lock_guard lock(mutex_);
    std::vector<wire::Confirmation> out;
    try {
        with_db([&] {
            out.clear();
            // A store started afresh reports, before its first WELCOME, only what kept its
            // number; the rest may still move (NodeStore::on_welcome).
            SQLite::Statement q(
                *db_,
                "SELECT seq, slot_id, campaign_id, item_id, media_hash, planned_start_us, "
                "actual_start_us, actual_end_us, outcome, reason, evidence FROM outbox WHERE ? OR "
                "seq <= ? ORDER BY seq LIMIT ?");
            q.bind(1, welcomed_ || rebuilt_us_ == 0 ? 1 : 0);
            q.bind(2, static_cast<int64_t>(keep_through_));
            q.bind(3, static_cast<int64_t>(limit) + static_cast<int64_t>(acked_unwritten_.size()));
            while (q.executeStep()) {
                wire::Confirmation c;
                c.set_seq(static_cast<std::uint64_t>(q.getColumn(0).getInt64()));
                if (acked_unwritten_.contains(c.seq())) {
                    continue;  // acked; its deletion waits for room on the disk
                }
                c.set_slot_id(q.getColumn(1).getString());
                c.set_campaign_id(q.getColumn(2).getString());
                c.set_item_id(q.getColumn(3).getString());
                c.set_media_hash(q.getColumn(4).getString());
                c.set_planned_start_us(q.getColumn(5).getInt64());
                c.set_actual_start_us(q.getColumn(6).getInt64());
                c.set_actual_end_us(q.getColumn(7).getInt64());
                c.set_outcome(static_cast<wire::Outcome>(q.getColumn(8).getInt()));
                c.set_reason(q.getColumn(9).getString());
                if (const auto evidence = q.getColumn(10); !evidence.isNull()) {
                    wire::Confirmation measured;
                    if (measured.ParseFromArray(evidence.getBlob(), evidence.getBytes())) {
                        c.MergeFrom(measured);
                    }
                }
                out.push_back(std::move(c));
            }
        });
    } catch (const std::exception& e) {
        // What is held in memory is sent all the same.
        spdlog::error("node store: the outbox cannot be read: {}", e.what());
        out.clear();
    }
    // Held in memory: numbered above everything in the file, so they follow it.
    for (const auto& h : held_) {
        if (!welcomed_ && rebuilt_us_ != 0 && h.seq > keep_through_) {
            continue;
        }
        wire::Confirmation c = h.what;
        c.set_seq(h.seq);
        c.set_slot_id(h.slot.slot_id());
        c.set_campaign_id(h.slot.campaign_id());
        c.set_item_id(h.slot.item_id());
        c.set_media_hash(h.slot.media_hash());
        c.set_planned_start_us(h.slot.start_us());
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.seq() < b.seq(); });
    if (out.size() > static_cast<std::size_t>(std::max(limit, 0))) {
        out.resize(static_cast<std::size_t>(std::max(limit, 0)));
    }
    return out;
}

int NodeStore::outbox_size() {
    std::lock_guard lock(mutex_);
    const int in_file = with_db([&] {
        SQLite::Statement q(*db_, "SELECT count(*) FROM outbox");
        q.executeStep();
        return q.getColumn(0).getInt();
    });
    return in_file - static_cast<int>(acked_unwritten_.size()) + static_cast<int>(held_.size());
}

void NodeStore::acknowledge(const std::vector<std::uint64_t>& seqs) {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> in_file;
    for (const auto seq : seqs) {
        // Acked from memory: never written now (its number stays taken: assigned_seq_).
        auto held =
            std::find_if(held_.begin(), held_.end(), [&](const Held& h) { return h.seq == seq; });
        if (held != held_.end()) {
            held_.erase(held);
        } else {
            in_file.push_back(seq);
        }
    }
    if (in_file.empty()) {
        return;
    }
    const bool written = try_write("acknowledged confirmations", [&] {
        SQLite::Statement q(*db_, "DELETE FROM outbox WHERE seq = ?");
        for (auto seq : in_file) {
            q.bind(1, static_cast<int64_t>(seq));
            q.exec();
            q.reset();
        }
    });
    if (!written) {
        // A DELETE needs room in the WAL too: not sent again meanwhile, deleted later.
        acked_unwritten_.insert(in_file.begin(), in_file.end());
    }
}

std::uint64_t NodeStore::last_seq() {
    std::lock_guard lock(mutex_);
    return with_db([&] { return std::max(assigned_seq_, read_sequence(*db_)); });
}

WelcomeNumbering NodeStore::on_welcome(std::uint64_t controller_highest, std::int64_t now_us) {
    std::lock_guard lock(mutex_);
    WelcomeNumbering result;
    // A controller holds numbers below 2^63 (SQLite's integers); one near that is not a number a
    // node ever assigned, and moving above it would leave no room for more.
    result.out_of_range = controller_highest >= kMaxWelcomeSeq;
    const std::uint64_t highest = result.out_of_range ? 0 : controller_highest;
    // Numbers up to keep_through_ (a store started afresh from a damaged one) may have been
    // sent and keep theirs; the others were never sent.
    const std::uint64_t keep = keep_through_;
    with_db([&] {
        result.first_welcome = !get_meta(*db_, "welcomed").has_value();
        result.before = std::max(assigned_seq_, read_sequence(*db_));
    });
    if (result.first_welcome) {
        // Written before anything is reported, or the WELCOME is not taken (the caller says
        // HELLO again): nothing above `keep` was ever sent, so those confirmations move above the
        // controller's numbers, in order; those held in memory alike.
        const std::uint64_t delta = highest > keep ? highest - keep : 0;
        with_db([&] {
            SQLite::Transaction tx(*db_);
            if (delta > 0) {
                // Negated first, so no number collides on the way.
                SQLite::Statement negate(*db_, "UPDATE outbox SET seq = -seq WHERE seq > ?");
                negate.bind(1, static_cast<int64_t>(keep));
                negate.exec();
                SQLite::Statement shift(*db_, "UPDATE outbox SET seq = ? - seq WHERE seq < 0");
                shift.bind(1, static_cast<int64_t>(delta));
                result.renumbered = static_cast<std::uint64_t>(shift.exec());
                write_sequence(*db_,
                               static_cast<std::int64_t>(std::max(result.before, keep) + delta));
            }
            set_meta(*db_, "welcomed", std::to_string(now_us));
            tx.commit();
        });
        for (auto& h : held_) {
            if (h.seq > keep && delta > 0) {
                h.seq += delta;
                ++result.renumbered;
            }
        }
        if (delta > 0) {
            assigned_seq_ = std::max(result.before, keep) + delta;
        }
    } else if (highest > result.before) {
        // Numbers already sent keep theirs: only new confirmations start above the controller's.
        // On a full disk the counter moves in memory and is written with what is held.
        assigned_seq_ = highest;
        try {
            with_db([&] { write_sequence(*db_, static_cast<std::int64_t>(highest)); });
        } catch (const std::exception& e) {
            sequence_behind_ = true;
            spdlog::warn("node store: the confirmation counter moves to {} in memory ({})", highest,
                         e.what());
        }
    }
    welcomed_ = true;
    result.after = with_db([&] { return std::max(assigned_seq_, read_sequence(*db_)); });
    assigned_seq_ = result.after;
    if (result.renumbered > 0) {
        ++outbox_generation_;
    }
    return result;
}

bool NodeStore::welcomed_before() {
    std::lock_guard lock(mutex_);
    return with_db([&] { return get_meta(*db_, "welcomed").has_value(); });
}

std::int64_t NodeStore::horizon_end_us() {
    std::lock_guard lock(mutex_);
    auto value = with_db([&] { return get_meta(*db_, "horizon_end_us"); });
    return value ? std::stoll(*value) : 0;
}

std::optional<std::string> NodeStore::setting(const std::string& key) {
    std::lock_guard lock(mutex_);
    return with_db([&] { return get_meta(*db_, ("setting." + key).c_str()); });
}

void NodeStore::set_setting(const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex_);
    with_db([&] { set_meta(*db_, ("setting." + key).c_str(), value); });
}

std::optional<wire::CommandResult> NodeStore::command_result(std::uint64_t command_id) {
    std::lock_guard lock(mutex_);
    return with_db([&]() -> std::optional<wire::CommandResult> {
        SQLite::Statement q(*db_, "SELECT result FROM commands WHERE command_id = ?");
        q.bind(1, static_cast<int64_t>(command_id));
        if (!q.executeStep()) {
            return std::nullopt;
        }
        wire::CommandResult result;
        const auto blob = q.getColumn(0);
        result.ParseFromArray(blob.getBlob(), blob.getBytes());
        return result;
    });
}

void NodeStore::record_command(const wire::CommandResult& result, std::int64_t received_us,
                               const wire::Emergency* emergency) {
    std::lock_guard lock(mutex_);
    with_db([&] {
        SQLite::Transaction tx(*db_);
        SQLite::Statement q(*db_,
                            "INSERT OR IGNORE INTO commands (command_id, received_us, result) "
                            "VALUES (?, ?, ?)");
        q.bind(1, static_cast<int64_t>(result.command_id()));
        q.bind(2, static_cast<int64_t>(received_us));
        const std::string blob = serialize(result);
        q.bind(3, blob.data(), static_cast<int>(blob.size()));
        q.exec();
        if (emergency) {
            SQLite::Statement e(*db_,
                                "INSERT OR IGNORE INTO emergencies (emergency_id, body, "
                                "received_us, plays_done) VALUES (?, ?, ?, ?)");
            e.bind(1, emergency->emergency_id());
            const std::string body = serialize(*emergency);
            e.bind(2, body.data(), static_cast<int>(body.size()));
            e.bind(3, static_cast<int64_t>(received_us));
            // Plays the controller holds from an earlier store of this node: numbered on from
            // there.
            e.bind(4, static_cast<int64_t>(emergency->plays_confirmed()));
            e.exec();
        }
        tx.commit();
    });
    ++command_results_generation_;
}

std::vector<wire::CommandResult> NodeStore::unacked_command_results() {
    std::lock_guard lock(mutex_);
    return with_db([&] {
        SQLite::Statement q(*db_,
                            "SELECT result FROM commands WHERE acked = 0 ORDER BY command_id");
        std::vector<wire::CommandResult> out;
        while (q.executeStep()) {
            wire::CommandResult result;
            const auto blob = q.getColumn(0);
            if (result.ParseFromArray(blob.getBlob(), blob.getBytes())) {
                out.push_back(std::move(result));
            }
        }
        return out;
    });
}

void NodeStore::acknowledge_command(std::uint64_t command_id) {
    std::lock_guard lock(mutex_);
    with_db([&] {
        SQLite::Statement q(*db_, "UPDATE commands SET acked = 1 WHERE command_id = ?");
        q.bind(1, static_cast<int64_t>(command_id));
        q.exec();
    });
}

std::optional<ActiveEmergency> NodeStore::active_emergency() {
    std::lock_guard lock(mutex_);
    return with_db([&]() -> std::optional<ActiveEmergency> {
        SQLite::Statement q(*db_,
                            "SELECT body, plays_done FROM emergencies WHERE state = 'active' "
                            "ORDER BY received_us, emergency_id LIMIT ?");
        q.bind(1, static_cast<int64_t>(emergency_states_.size() + 1));
        while (q.executeStep()) {
            ActiveEmergency active;
            const auto blob = q.getColumn(0);
            active.emergency.ParseFromArray(blob.getBlob(), blob.getBytes());
            if (emergency_states_.contains(active.emergency.emergency_id())) {
                continue;  // ended in memory; the file does not know yet
            }
            active.plays_done = static_cast<std::uint32_t>(q.getColumn(1).getInt());
            if (auto more = emergency_plays_.find(active.emergency.emergency_id());
                more != emergency_plays_.end()) {
                active.plays_done += more->second;
            }
            return active;
        }
        return std::nullopt;
    });
}

bool NodeStore::end_emergency(const std::string& emergency_id, const std::string& state) {
    std::lock_guard lock(mutex_);
    bool ended = false;
    const bool written = try_write("the end of an emergency", [&] {
        SQLite::Statement q(*db_,
                            "UPDATE emergencies SET state = ? WHERE emergency_id = ? AND state = "
                            "'active'");
        q.bind(1, state);
        q.bind(2, emergency_id);
        ended = q.exec() > 0;
    });
    if (!written && !emergency_states_.contains(emergency_id)) {
        // Ended in memory, so that it does not play again while the disk is full.
        emergency_states_[emergency_id] = state;
        ended = true;
    }
    return ended;
}

bool NodeStore::cancel_emergency(const std::string& emergency_id, std::int64_t received_us) {
    std::lock_guard lock(mutex_);
    return with_db([&] {
        SQLite::Transaction tx(*db_);
        SQLite::Statement end(*db_,
                              "UPDATE emergencies SET state = 'cancelled' WHERE emergency_id = ? "
                              "AND state = 'active'");
        end.bind(1, emergency_id);
        const bool was_active = end.exec() > 0;
        // An empty body is never read: only active emergencies are parsed.
        SQLite::Statement remember(*db_,
                                   "INSERT OR IGNORE INTO emergencies (emergency_id, body, "
                                   "received_us, state) VALUES (?, x'', ?, 'cancelled')");
        remember.bind(1, emergency_id);
        remember.bind(2, static_cast<int64_t>(received_us));
        remember.exec();
        tx.commit();
        return was_active;
    });
}

std::optional<std::string> NodeStore::emergency_state(const std::string& emergency_id) {
    std::lock_guard lock(mutex_);
    if (auto held = emergency_states_.find(emergency_id); held != emergency_states_.end()) {
        return held->second;
    }
    return with_db([&]() -> std::optional<std::string> {
        SQLite::Statement q(*db_, "SELECT state FROM emergencies WHERE emergency_id = ?");
        q.bind(1, emergency_id);
        if (!q.executeStep()) {
            return std::nullopt;
        }
        return q.getColumn(0).getString();
    });
}

void NodeStore::confirm_emergency_play(const wire::Slot& play, const wire::Confirmation& what,
                                       bool last) {
    std::lock_guard lock(mutex_);
    const bool written = try_write("the confirmation of an emergency play", [&] {
        insert_confirmation(play, what);
        SQLite::Statement q(*db_,
                            "UPDATE emergencies SET plays_done = plays_done + 1, state = CASE "
                            "WHEN ? THEN 'done' ELSE state END WHERE emergency_id = ?");
        q.bind(1, last ? 1 : 0);
        q.bind(2, what.emergency_id());
        q.exec();
    });
    if (!written) {
        hold_locked(play, what, true, last);
    }
    ++outbox_generation_;
}

std::vector<wire::Slot> NodeStore::slots_between(std::int64_t from_us, std::int64_t to_us) {
    std::lock_guard lock(mutex_);
    return with_db([&] {
        SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                      " FROM slots WHERE start_us BETWEEN ? AND ? ORDER BY "
                                      "start_us, slot_id");
        q.bind(1, static_cast<int64_t>(from_us));
        q.bind(2, static_cast<int64_t>(to_us));
        std::vector<wire::Slot> out;
        while (q.executeStep()) {
            out.push_back(read_slot(q));
        }
        return out;
    });
}

std::vector<wire::Slot> NodeStore::pending_slots() {
    std::lock_guard lock(mutex_);
    return with_db([&] {
        SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                      " FROM slots WHERE state = 'pending' ORDER BY start_us, "
                                      "slot_id");
        std::vector<wire::Slot> out;
        while (q.executeStep()) {
            auto slot = read_slot(q);
            auto held = slot_states_.find(slot.slot_id());
            if (held == slot_states_.end() || held->second.state == "pending") {
                out.push_back(std::move(slot));
            }
        }
        return out;
    });
}

int NodeStore::prune(std::int64_t before_us) {
    std::lock_guard lock(mutex_);
    int removed = 0;
    with_db([&] {
        SQLite::Transaction tx(*db_);
        write_held_locked();
        // Done plays are only the memory that they happened; their confirmations live in the
        // outbox until acked, whatever is pruned here.
        SQLite::Statement slots(*db_, "DELETE FROM slots WHERE state = 'done' AND start_us < ?");
        slots.bind(1, static_cast<int64_t>(before_us));
        removed = slots.exec();
        SQLite::Statement commands(*db_,
                                   "DELETE FROM commands WHERE acked = 1 AND received_us < ?");
        commands.bind(1, static_cast<int64_t>(before_us));
        removed += commands.exec();
        SQLite::Statement emergencies(
            *db_, "DELETE FROM emergencies WHERE state != 'active' AND received_us < ?");
        emergencies.bind(1, static_cast<int64_t>(before_us));
        removed += emergencies.exec();
        tx.commit();
    });
    held_written_locked();
    return removed;
}

}  // namespace loa::node
