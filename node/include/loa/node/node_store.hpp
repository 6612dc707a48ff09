// The node agent's SQLite file: its timeline, the state of each play, and the outbox.
#pragma once

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

    /// Records the outcome of a play and queues its confirmation, in one transaction.
    void confirm(const wire::Slot& slot, wire::Outcome outcome, const std::string& reason,
                 std::int64_t start_us, std::int64_t end_us);

    /// Plays that were started but never finished (the agent died): confirms them as failed
    /// with reason "agent-restarted". Returns how many.
    int recover_interrupted();

    /// Up to `limit` unacked confirmations, oldest first.
    std::vector<wire::Confirmation> outbox(int limit);
    int outbox_size();

    /// Forgets confirmations the controller has committed.
    void acknowledge(const std::vector<std::uint64_t>& seqs);

  private:
    std::mutex mutex_;
    std::unique_ptr<SQLite::Database> db_;
};

}  // namespace loa::node
