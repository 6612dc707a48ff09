// The node's durable state in SQLite (WAL): timeline, play states and the confirmation outbox.
#include "loa/node/node_store.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <stdexcept>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

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

}  // namespace

NodeStore::NodeStore(const std::filesystem::path& file) {
    try {
        if (file.has_parent_path()) {
            std::filesystem::create_directories(file.parent_path());
        }
        db_ = std::make_unique<SQLite::Database>(file.string(),
                                                 SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db_->setBusyTimeout(10000);
        db_->exec("PRAGMA journal_mode=WAL");
        // FULL, not NORMAL: with NORMAL a power cut can roll back the last commits, and a
        // confirmation lost that way is airtime the audit never sees. A node commits a handful
        // of times per play, so the extra fsync costs nothing that matters.
        db_->exec("PRAGMA synchronous=FULL");
        migrate(*db_);
    } catch (const std::exception& e) {
        throw std::runtime_error("node store " + file.string() + ": " + e.what());
    }
}

std::string NodeStore::timeline_hash() {
    std::lock_guard lock(mutex_);
    return get_meta(*db_, "timeline_hash").value_or("");
}

void NodeStore::replace_timeline(const wire::ScheduleUpdate& update) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    std::set<std::string> keep;
    SQLite::Statement upsert(
        *db_, std::string("INSERT INTO slots (") + kSlotColumns +
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot_id) DO UPDATE SET "
                  "campaign_id = excluded.campaign_id, item_id = excluded.item_id, "
                  "media_hash = excluded.media_hash, media_size = excluded.media_size, "
                  "start_us = excluded.start_us, duration_us = excluded.duration_us, "
                  "title = excluded.title, kind = excluded.kind, display_us = excluded.display_us "
                  "WHERE state = 'pending'");
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
}

std::optional<wire::Slot> NodeStore::next_pending() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                  " FROM slots WHERE state = 'pending' ORDER BY start_us, slot_id "
                                  "LIMIT 1");
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return read_slot(q);
}

std::vector<MediaNeed> NodeStore::needed_media(std::int64_t until_us) {
    std::lock_guard lock(mutex_);
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
}

void NodeStore::mark_started(const std::string& slot_id, std::int64_t at_us) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "UPDATE slots SET state = 'started', started_us = ? WHERE slot_id = ?");
    q.bind(1, static_cast<int64_t>(at_us));
    q.bind(2, slot_id);
    q.exec();
}

void NodeStore::mark_pending(const std::string& slot_id) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "UPDATE slots SET state = 'pending', started_us = NULL WHERE slot_id = ? "
                        "AND state = 'started'");
    q.bind(1, slot_id);
    q.exec();
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
    SQLite::Transaction tx(*db_);
    SQLite::Statement done(*db_, "UPDATE slots SET state = 'done' WHERE slot_id = ?");
    done.bind(1, slot.slot_id());
    done.exec();
    insert_confirmation(slot, what);
    tx.commit();
}

void NodeStore::insert_confirmation(const wire::Slot& slot, const wire::Confirmation& what) {
    wire::Confirmation evidence;
    if (what.has_levels()) {
        *evidence.mutable_levels() = what.levels();
    }
    evidence.set_frames_rendered(what.frames_rendered());
    evidence.set_offset_us(what.offset_us());
    evidence.set_emergency_id(what.emergency_id());
    // OR IGNORE on the slot: a play is confirmed once, whatever happens around a crash.
    SQLite::Statement q(*db_,
                        "INSERT OR IGNORE INTO outbox (slot_id, campaign_id, item_id, media_hash, "
                        "planned_start_us, actual_start_us, actual_end_us, outcome, reason, "
                        "evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, slot.slot_id());
    q.bind(2, slot.campaign_id());
    q.bind(3, slot.item_id());
    q.bind(4, slot.media_hash());
    q.bind(5, static_cast<int64_t>(slot.start_us()));
    q.bind(6, static_cast<int64_t>(what.actual_start_us()));
    q.bind(7, static_cast<int64_t>(what.actual_end_us()));
    q.bind(8, static_cast<int>(what.outcome()));
    q.bind(9, what.reason());
    const std::string blob = serialize(evidence);
    q.bind(10, blob.data(), static_cast<int>(blob.size()));
    q.exec();
    ++outbox_generation_;
}

int NodeStore::recover_interrupted(const std::string& reason) {
    std::vector<std::pair<wire::Slot, std::int64_t>> interrupted;
    {
        std::lock_guard lock(mutex_);
        SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                      ", coalesce(started_us, 0) FROM slots WHERE state = "
                                      "'started'");
        while (q.executeStep()) {
            interrupted.emplace_back(read_slot(q), q.getColumn(kSlotColumnCount).getInt64());
        }
    }
    for (const auto& [slot, started] : interrupted) {
        confirm(slot, wire::FAILED, reason, started, 0);
    }
    return static_cast<int>(interrupted.size());
}

std::vector<wire::Confirmation> NodeStore::outbox(int limit) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "SELECT seq, slot_id, campaign_id, item_id, media_hash, planned_start_us, "
                        "actual_start_us, actual_end_us, outcome, reason, evidence FROM outbox "
                        "ORDER BY seq LIMIT ?");
    q.bind(1, limit);
    std::vector<wire::Confirmation> out;
    while (q.executeStep()) {
        wire::Confirmation c;
        c.set_seq(static_cast<std::uint64_t>(q.getColumn(0).getInt64()));
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
    return out;
}

int NodeStore::outbox_size() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "SELECT count(*) FROM outbox");
    q.executeStep();
    return q.getColumn(0).getInt();
}

void NodeStore::acknowledge(const std::vector<std::uint64_t>& seqs) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_, "DELETE FROM outbox WHERE seq = ?");
    for (auto seq : seqs) {
        q.bind(1, static_cast<int64_t>(seq));
        q.exec();
        q.reset();
    }
    tx.commit();
}

std::uint64_t NodeStore::last_seq() {
    std::lock_guard lock(mutex_);
    return read_sequence(*db_);
}

WelcomeNumbering NodeStore::on_welcome(std::uint64_t controller_highest, std::int64_t now_us) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    WelcomeNumbering result;
    result.first_welcome = !get_meta(*db_, "welcomed").has_value();
    result.before = read_sequence(*db_);
    // A controller holds numbers below 2^63 (SQLite's integers); one near that is not a number a
    // node ever assigned, and moving above it would leave no room for more.
    result.out_of_range = controller_highest >= kMaxWelcomeSeq;
    const auto highest =
        result.out_of_range ? std::int64_t{0} : static_cast<std::int64_t>(controller_highest);
    if (result.first_welcome && highest > 0) {
        // Nothing of this store was ever sent: every confirmation it queued is moved above the
        // controller's numbers, in order. Negated first, so no number collides on the way.
        db_->exec("UPDATE outbox SET seq = -seq");
        SQLite::Statement shift(*db_, "UPDATE outbox SET seq = ? - seq");
        shift.bind(1, static_cast<int64_t>(highest));
        result.renumbered = static_cast<std::uint64_t>(shift.exec());
        write_sequence(*db_, highest + static_cast<std::int64_t>(result.before));
    } else if (!result.first_welcome && highest > static_cast<std::int64_t>(result.before)) {
        // Numbers already sent keep theirs: only new confirmations start above the controller's.
        write_sequence(*db_, highest);
    }
    if (result.first_welcome) {
        set_meta(*db_, "welcomed", std::to_string(now_us));
    }
    result.after = read_sequence(*db_);
    tx.commit();
    if (result.renumbered > 0) {
        ++outbox_generation_;
    }
    return result;
}

bool NodeStore::welcomed_before() {
    std::lock_guard lock(mutex_);
    return get_meta(*db_, "welcomed").has_value();
}

std::int64_t NodeStore::horizon_end_us() {
    std::lock_guard lock(mutex_);
    auto value = get_meta(*db_, "horizon_end_us");
    return value ? std::stoll(*value) : 0;
}

std::optional<std::string> NodeStore::setting(const std::string& key) {
    std::lock_guard lock(mutex_);
    return get_meta(*db_, ("setting." + key).c_str());
}

void NodeStore::set_setting(const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex_);
    set_meta(*db_, ("setting." + key).c_str(), value);
}

std::optional<wire::CommandResult> NodeStore::command_result(std::uint64_t command_id) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "SELECT result FROM commands WHERE command_id = ?");
    q.bind(1, static_cast<int64_t>(command_id));
    if (!q.executeStep()) {
        return std::nullopt;
    }
    wire::CommandResult result;
    const auto blob = q.getColumn(0);
    result.ParseFromArray(blob.getBlob(), blob.getBytes());
    return result;
}

void NodeStore::record_command(const wire::CommandResult& result, std::int64_t received_us,
                               const wire::Emergency* emergency) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "INSERT OR IGNORE INTO commands (command_id, received_us, result) VALUES "
                        "(?, ?, ?)");
    q.bind(1, static_cast<int64_t>(result.command_id()));
    q.bind(2, static_cast<int64_t>(received_us));
    const std::string blob = serialize(result);
    q.bind(3, blob.data(), static_cast<int>(blob.size()));
    q.exec();
    if (emergency) {
        SQLite::Statement e(*db_,
                            "INSERT OR IGNORE INTO emergencies (emergency_id, body, received_us, "
                            "plays_done) VALUES (?, ?, ?, ?)");
        e.bind(1, emergency->emergency_id());
        const std::string body = serialize(*emergency);
        e.bind(2, body.data(), static_cast<int>(body.size()));
        e.bind(3, static_cast<int64_t>(received_us));
        // Plays the controller holds from an earlier store of this node: numbered on from there.
        e.bind(4, static_cast<int64_t>(emergency->plays_confirmed()));
        e.exec();
    }
    tx.commit();
    ++command_results_generation_;
}

std::vector<wire::CommandResult> NodeStore::unacked_command_results() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "SELECT result FROM commands WHERE acked = 0 ORDER BY command_id");
    std::vector<wire::CommandResult> out;
    while (q.executeStep()) {
        wire::CommandResult result;
        const auto blob = q.getColumn(0);
        if (result.ParseFromArray(blob.getBlob(), blob.getBytes())) {
            out.push_back(std::move(result));
        }
    }
    return out;
}

void NodeStore::acknowledge_command(std::uint64_t command_id) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "UPDATE commands SET acked = 1 WHERE command_id = ?");
    q.bind(1, static_cast<int64_t>(command_id));
    q.exec();
}

std::optional<ActiveEmergency> NodeStore::active_emergency() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "SELECT body, plays_done FROM emergencies WHERE state = 'active' "
                        "ORDER BY received_us, emergency_id LIMIT 1");
    if (!q.executeStep()) {
        return std::nullopt;
    }
    ActiveEmergency active;
    const auto blob = q.getColumn(0);
    active.emergency.ParseFromArray(blob.getBlob(), blob.getBytes());
    active.plays_done = static_cast<std::uint32_t>(q.getColumn(1).getInt());
    return active;
}

bool NodeStore::end_emergency(const std::string& emergency_id, const std::string& state) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "UPDATE emergencies SET state = ? WHERE emergency_id = ? AND state = "
                        "'active'");
    q.bind(1, state);
    q.bind(2, emergency_id);
    return q.exec() > 0;
}

bool NodeStore::cancel_emergency(const std::string& emergency_id, std::int64_t received_us) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    SQLite::Statement end(*db_,
                          "UPDATE emergencies SET state = 'cancelled' WHERE emergency_id = ? AND "
                          "state = 'active'");
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
}

std::optional<std::string> NodeStore::emergency_state(const std::string& emergency_id) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "SELECT state FROM emergencies WHERE emergency_id = ?");
    q.bind(1, emergency_id);
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return q.getColumn(0).getString();
}

void NodeStore::confirm_emergency_play(const wire::Slot& play, const wire::Confirmation& what,
                                       bool last) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    insert_confirmation(play, what);
    SQLite::Statement q(*db_,
                        "UPDATE emergencies SET plays_done = plays_done + 1, state = CASE WHEN ? "
                        "THEN 'done' ELSE state END WHERE emergency_id = ?");
    q.bind(1, last ? 1 : 0);
    q.bind(2, what.emergency_id());
    q.exec();
    tx.commit();
}

std::vector<wire::Slot> NodeStore::slots_between(std::int64_t from_us, std::int64_t to_us) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                  " FROM slots WHERE start_us BETWEEN ? AND ? ORDER BY start_us, "
                                  "slot_id");
    q.bind(1, static_cast<int64_t>(from_us));
    q.bind(2, static_cast<int64_t>(to_us));
    std::vector<wire::Slot> out;
    while (q.executeStep()) {
        out.push_back(read_slot(q));
    }
    return out;
}

std::vector<wire::Slot> NodeStore::pending_slots() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                  " FROM slots WHERE state = 'pending' ORDER BY start_us, slot_id");
    std::vector<wire::Slot> out;
    while (q.executeStep()) {
        out.push_back(read_slot(q));
    }
    return out;
}

int NodeStore::prune(std::int64_t before_us) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    // Done plays are only the memory that they happened; their confirmations live in the
    // outbox until acked, whatever is pruned here.
    SQLite::Statement slots(*db_, "DELETE FROM slots WHERE state = 'done' AND start_us < ?");
    slots.bind(1, static_cast<int64_t>(before_us));
    int removed = slots.exec();
    SQLite::Statement commands(*db_, "DELETE FROM commands WHERE acked = 1 AND received_us < ?");
    commands.bind(1, static_cast<int64_t>(before_us));
    removed += commands.exec();
    SQLite::Statement emergencies(
        *db_, "DELETE FROM emergencies WHERE state != 'active' AND received_us < ?");
    emergencies.bind(1, static_cast<int64_t>(before_us));
    removed += emergencies.exec();
    tx.commit();
    return removed;
}

}  // namespace loa::node
