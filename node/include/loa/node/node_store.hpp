// The node agent's SQLite file: its timeline, the state of each play, and the outbox.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/node/media_fetcher.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

/// A play as the node holds it.
struct StoredSlot {
    wire::Slot slot;
    std::string state;  ///< "pending", "started" or "done"
};

/// An emergency the node has accepted and not finished.
struct ActiveEmergency {
    wire::Emergency emergency;
    std::uint32_t plays_done = 0;
};

/// What a WELCOME did to the numbering of confirmations (NodeStore::on_welcome).
struct WelcomeNumbering {
    bool first_welcome = false;    ///< this store had never been welcomed
    std::uint64_t renumbered = 0;  ///< confirmations queued before it, moved above the controller's
    std::uint64_t before = 0;      ///< the highest number assigned, before and after
    std::uint64_t after = 0;
    bool out_of_range = false;  ///< the controller's number was 2^62 or more: not taken in
};

/// How the store stands, for heartbeats and logs.
struct StoreHealth {
    /// The last write failed for lack of space (SQLITE_FULL), and none has succeeded since.
    bool full = false;
    std::uint32_t held = 0;     ///< confirmations held in memory, not yet written to the file
    std::uint64_t dropped = 0;  ///< confirmations past the memory bound: numbered, not kept
    /// When this store was started afresh from a damaged one; 0: never.
    std::int64_t rebuilt_us = 0;
};

/// What was kept of a damaged store when it was started afresh.
struct StoreSalvage {
    std::filesystem::path quarantined;       ///< where the damaged file now lies
    int confirmations = 0;                   ///< unacked confirmations read back and kept
    int commands = 0;                        ///< command results and emergencies read back
    int settings = 0;                        ///< volume, amplifier
    int unreadable = 0;                      ///< row reads that failed (damaged pages skipped)
    std::uint64_t keep_numbers_through = 0;  ///< numbers at or below this may have been sent
};

/// Thread-safe (one connection behind a mutex): the player thread and the network thread share
/// it. Every method commits before it returns.
///
/// Faults of the file (protocol/README.md, "Store faults"; docs/node-agent.md, "Nothing lost"):
/// - A confirmation that cannot be written (a full disk, an I/O error) is numbered all the same
///   and held in memory, at most kMaxHeld of them; the outbox sends it like any other, and it is
///   written, with the play states and emergency counts that went with it, as soon as a write
///   succeeds (flush(), and before every write). A play whose state cannot be written is known
///   as started or done in memory, so it is never played twice while the agent lives.
/// - A damaged file (SQLITE_CORRUPT or SQLITE_NOTADB, at open or while running, or a failed
///   quick_check at open) is renamed aside as node.db.damaged-<UTC time> (the last
///   kKeptDamaged kept), every row of its outbox, commands, emergencies and settings that can
///   still be read is copied into a fresh store, and the agent goes on; the timeline comes back
///   from the controller. Numbers of the old store keep their value; new ones start above what
///   the next WELCOME says the controller holds.
class NodeStore {
  public:
    /// Confirmations held in memory at most while the file cannot be written (~1 KiB each).
    static constexpr std::size_t kMaxHeld = 4096;
    /// Damaged files kept for a post-mortem; older ones are deleted.
    static constexpr int kKeptDamaged = 3;

    /// Opens or creates the store; a damaged file is quarantined and salvaged (above). Throws
    /// std::runtime_error naming the file if it cannot.
    explicit NodeStore(const std::filesystem::path& file);

    std::string timeline_hash();

    /// Stores a new timeline: plays already started or done keep their state; pending plays
    /// missing from `update` are dropped (the controller withdrew them).
    void replace_timeline(const wire::ScheduleUpdate& update);

    /// The earliest pending play, if any.
    std::optional<wire::Slot> next_pending();

    /// Media the pending plays starting before `until_us` need, soonest first, each once.
    std::vector<MediaNeed> needed_media(std::int64_t until_us);

    /// Marks a play as started (so a crash during it is reported, not replayed).
    void mark_started(const std::string& slot_id, std::int64_t at_us);
    /// Takes back mark_started for a play stopped before it aired (pre-empted by an emergency).
    void mark_pending(const std::string& slot_id);

    /// Records the outcome of a play and queues its confirmation, in one transaction.
    void confirm(const wire::Slot& slot, wire::Outcome outcome, const std::string& reason,
                 std::int64_t start_us, std::int64_t end_us);
    /// The same with what was measured: `what` gives outcome, reason, actual times and the
    /// evidence (levels, frames, offset); the slot gives the rest.
    void confirm(const wire::Slot& slot, const wire::Confirmation& what);

    /// Every play (any state) starting within [from_us, to_us], in start order.
    std::vector<wire::Slot> slots_between(std::int64_t from_us, std::int64_t to_us);

    /// Pending plays, soonest first.
    std::vector<wire::Slot> pending_slots();

    /// Where the stored timeline ends (ScheduleUpdate.horizon_end_us), 0 if none.
    std::int64_t horizon_end_us();

    /// The highest confirmation sequence number ever assigned (0 if none).
    std::uint64_t last_seq();

    /// Takes in WELCOME's `highest_seq` (the highest number the controller holds for this node),
    /// in one transaction, before the session sends anything. A store never welcomed before (new,
    /// or on a re-imaged device) moves the confirmations it queued offline above that number,
    /// in order (none of them was ever sent), and numbers on from there. A store welcomed before
    /// renumbers nothing (it may have sent those numbers); if the controller holds a number at
    /// or above its next one, new confirmations start above it (after = highest).
    WelcomeNumbering on_welcome(std::uint64_t controller_highest, std::int64_t now_us);
    /// Whether a WELCOME was ever taken in by this store.
    bool welcomed_before();

    /// Settings that must survive a restart (volume, amplifier).
    std::optional<std::string> setting(const std::string& key);
    void set_setting(const std::string& key, const std::string& value);

    /// The stored result of a command already carried out, if any.
    std::optional<wire::CommandResult> command_result(std::uint64_t command_id);
    /// Records a command's result (and an accepted emergency) in one transaction.
    void record_command(const wire::CommandResult& result, std::int64_t received_us,
                        const wire::Emergency* emergency = nullptr);
    std::vector<wire::CommandResult> unacked_command_results();
    /// Changes whenever a command's result is recorded, from any thread (a hook's result comes
    /// from the hook worker): the session sends results when it moves.
    std::uint64_t command_results_generation() const { return command_results_generation_.load(); }
    void acknowledge_command(std::uint64_t command_id);

    /// The oldest accepted emergency still to play.
    std::optional<ActiveEmergency> active_emergency();
    /// Ends an active emergency: state "done", "expired" or "cancelled". False if it was not
    /// active.
    bool end_emergency(const std::string& emergency_id, const std::string& state);
    /// Cancels an emergency: true if it was active. One never received is remembered as
    /// cancelled, so that a copy of it still on its way never airs.
    bool cancel_emergency(const std::string& emergency_id, std::int64_t received_us);
    /// "active", "done", "expired" or "cancelled"; nullopt for an emergency never received.
    std::optional<std::string> emergency_state(const std::string& emergency_id);
    /// Queues the confirmation of one emergency play (`play` is its synthetic slot) and counts
    /// it; `last` ends the emergency. One transaction.
    void confirm_emergency_play(const wire::Slot& play, const wire::Confirmation& what, bool last);

    /// Forgets done plays, acked commands and ended emergencies older than `before_us`; never
    /// an unacked confirmation. Returns the rows removed.
    int prune(std::int64_t before_us);

    /// Plays that were started but never finished (the agent died, or the player thread failed
    /// during them): confirms them as failed with `reason`. Returns how many.
    int recover_interrupted(const std::string& reason = "agent-restarted");

    /// Up to `limit` unacked confirmations, oldest first.
    std::vector<wire::Confirmation> outbox(int limit);
    int outbox_size();
    /// Changes whenever a confirmation is queued (no SQL: cheap to poll).
    std::uint64_t outbox_generation() const { return outbox_generation_.load(); }

    /// Forgets confirmations the controller has committed.
    void acknowledge(const std::vector<std::uint64_t>& seqs);

    /// Writes what is held in memory; true when nothing is held any more.
    bool flush();
    /// Whether something waits in memory to be written.
    bool holding();
    StoreHealth health();
    /// Moves each time the store was started afresh from a damaged file (the session then says
    /// HELLO again: its timeline is gone).
    std::uint64_t rebuilds() const { return rebuilds_.load(); }
    /// What the last rebuild kept (nullopt: none since this object was made).
    std::optional<StoreSalvage> last_salvage();

  private:
    struct Held {
        std::uint64_t seq = 0;
        wire::Slot slot;
        wire::Confirmation what;
    };
    struct SlotState {
        std::string state;  ///< "started", "pending" or "done"
        std::int64_t at_us = 0;
    };

    void open_locked();
    void load_state_locked();
    /// Runs `work` on the file; a damaged file is rebuilt and `work` runs once more on the
    /// fresh one.
    template <class Work>
    auto with_db(Work&& work) -> decltype(work());
    /// Runs `work` in one transaction after writing what is held; false (and nothing written)
    /// if the file could not be written.
    template <class Work>
    bool try_write(const char* what, Work&& work);
    void write_held_locked();
    void held_written_locked();
    bool holding_locked() const;
    void hold_locked(const wire::Slot& slot, const wire::Confirmation& what, bool emergency,
                     bool last);
    void rebuild_locked(const std::string& why);
    void insert_confirmation(const wire::Slot& slot, const wire::Confirmation& what,
                             std::uint64_t seq = 0);

    std::filesystem::path file_;
    bool exclusive_ = false;  ///< opened with locking_mode=EXCLUSIVE (no WAL index file)
    std::mutex mutex_;
    std::atomic<std::uint64_t> outbox_generation_{0};
    std::atomic<std::uint64_t> rebuilds_{0};
    std::atomic<std::uint64_t> command_results_generation_{0};
    std::unique_ptr<SQLite::Database> db_;

    // What could not be written yet (mutex_).
    std::deque<Held> held_;
    std::map<std::string, SlotState> slot_states_;
    std::map<std::string, std::uint32_t> emergency_plays_;
    std::map<std::string, std::string> emergency_states_;
    std::set<std::uint64_t> acked_unwritten_;
    bool sequence_behind_ = false;    ///< assigned_seq_ is above the file's counter
    std::uint64_t assigned_seq_ = 0;  ///< the highest number handed out, file or memory
    bool full_ = false;
    std::string last_write_error_;
    std::uint64_t dropped_ = 0;
    bool welcomed_ = false;  ///< meta 'welcomed', cached
    /// A store rebuilt from a damaged one: numbers up to here may have been sent and keep their
    /// value at the first WELCOME; later ones are moved above the controller's.
    std::uint64_t keep_through_ = 0;
    std::int64_t rebuilt_us_ = 0;
    std::optional<StoreSalvage> salvage_;
};

}  // namespace loa::node
