// The node's durable state in SQLite (WAL): timeline, play states and the confirmation outbox.
#include "loa/node/node_store.hpp"

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

constexpr const char* kSlotColumns =
    "slot_id, campaign_id, item_id, media_hash, media_size, start_us, duration_us, title";

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
    return s;
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
        db_->exec(kSchema);
    } catch (const std::exception& e) {
        throw std::runtime_error("node store " + file.string() + ": " + e.what());
    }
}

std::string NodeStore::timeline_hash() {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_, "SELECT value FROM meta WHERE key = 'timeline_hash'");
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

void NodeStore::replace_timeline(const wire::ScheduleUpdate& update) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    std::set<std::string> keep;
    SQLite::Statement upsert(
        *db_, std::string("INSERT INTO slots (") + kSlotColumns +
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot_id) DO UPDATE SET "
                  "campaign_id = excluded.campaign_id, item_id = excluded.item_id, "
                  "media_hash = excluded.media_hash, media_size = excluded.media_size, "
                  "start_us = excluded.start_us, duration_us = excluded.duration_us, "
                  "title = excluded.title WHERE state = 'pending'");
    for (const auto& s : update.slots()) {
        upsert.bind(1, s.slot_id());
        upsert.bind(2, s.campaign_id());
        upsert.bind(3, s.item_id());
        upsert.bind(4, s.media_hash());
        upsert.bind(5, static_cast<int64_t>(s.media_size()));
        upsert.bind(6, static_cast<int64_t>(s.start_us()));
        upsert.bind(7, static_cast<int64_t>(s.duration_us()));
        upsert.bind(8, s.title());
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
    SQLite::Statement hash(*db_,
                           "INSERT INTO meta VALUES ('timeline_hash', ?) ON CONFLICT (key) DO "
                           "UPDATE SET value = excluded.value");
    hash.bind(1, update.timeline_hash());
    hash.exec();
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

void NodeStore::confirm(const wire::Slot& slot, wire::Outcome outcome, const std::string& reason,
                        std::int64_t start_us, std::int64_t end_us) {
    std::lock_guard lock(mutex_);
    SQLite::Transaction tx(*db_);
    SQLite::Statement done(*db_, "UPDATE slots SET state = 'done' WHERE slot_id = ?");
    done.bind(1, slot.slot_id());
    done.exec();
    // OR IGNORE on the slot: a play is confirmed once, whatever happens around a crash.
    SQLite::Statement q(*db_,
                        "INSERT OR IGNORE INTO outbox (slot_id, campaign_id, item_id, media_hash, "
                        "planned_start_us, actual_start_us, actual_end_us, outcome, reason) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, slot.slot_id());
    q.bind(2, slot.campaign_id());
    q.bind(3, slot.item_id());
    q.bind(4, slot.media_hash());
    q.bind(5, static_cast<int64_t>(slot.start_us()));
    q.bind(6, static_cast<int64_t>(start_us));
    q.bind(7, static_cast<int64_t>(end_us));
    q.bind(8, static_cast<int>(outcome));
    q.bind(9, reason);
    q.exec();
    tx.commit();
}

int NodeStore::recover_interrupted() {
    std::vector<std::pair<wire::Slot, std::int64_t>> interrupted;
    {
        std::lock_guard lock(mutex_);
        SQLite::Statement q(*db_, std::string("SELECT ") + kSlotColumns +
                                      ", coalesce(started_us, 0) FROM slots WHERE state = "
                                      "'started'");
        while (q.executeStep()) {
            interrupted.emplace_back(read_slot(q), q.getColumn(8).getInt64());
        }
    }
    for (const auto& [slot, started] : interrupted) {
        confirm(slot, wire::FAILED, "agent-restarted", started, 0);
    }
    return static_cast<int>(interrupted.size());
}

std::vector<wire::Confirmation> NodeStore::outbox(int limit) {
    std::lock_guard lock(mutex_);
    SQLite::Statement q(*db_,
                        "SELECT seq, slot_id, campaign_id, item_id, media_hash, planned_start_us, "
                        "actual_start_us, actual_end_us, outcome, reason FROM outbox "
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

}  // namespace loa::node
