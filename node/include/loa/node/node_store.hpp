// The node agent's SQLite file: its timeline, the state of each play, and the outbox.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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

/// Thread-safe (one connection behind a mutex): the player thread and the network thread share
/// it. Every method commits before it returns.
class NodeStore {
  public:
    /// Opens or creates the store; throws std::runtime_error naming the file if it cannot.
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

  private:
    void insert_confirmation(const wire::Slot& slot, const wire::Confirmation& what);

    std::mutex mutex_;
    std::atomic<std::uint64_t> outbox_generation_{0};
    std::atomic<std::uint64_t> command_results_generation_{0};
    std::unique_ptr<SQLite::Database> db_;
};

}  // namespace loa::node
