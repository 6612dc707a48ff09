// Which confirmation sequence numbers the controller has not received from a node: gaps below the
// highest received (missing from the record), and those the node assigned but has not sent yet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"

namespace loa::controller {

/// Sequence numbers `first` to `last`, both included.
struct SeqRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t count() const { return last - first + 1; }
};

struct SequenceGaps {
    std::string node_id;
    std::uint64_t received = 0;          ///< sequence numbers received (stored or refused)
    std::uint64_t highest_received = 0;  ///< 0 when none
    /// Ranges below highest_received that never arrived: missing from the record. Whether
    /// those plays happened cannot be told from this alone.
    std::vector<SeqRange> missing;
    std::uint64_t missing_count = 0;
    /// The node's last_seq from its latest heartbeat; empty before the first one.
    std::optional<std::uint64_t> last_seq;
    /// (highest_received, last_seq]: assigned by the node, not reported yet (its outbox).
    std::optional<SeqRange> not_yet_reported;
    /// Numbers received twice with different contents: the node numbered two confirmations the
    /// same, so its numbering started again (a wiped or re-imaged store that was not told where
    /// to continue). Each later one is kept apart (`refused_confirmations`), never dropped.
    std::vector<SeqRange> reused;
    std::uint64_t reused_count = 0;
    /// A number the node's latest heartbeat says it has not reached (above its last_seq) though
    /// the controller had received it before that heartbeat arrived; empty when none. A
    /// heartbeat sent before a report arrives before it, so only a heartbeat heard after the
    /// number proves that the node's counter went back. An older heartbeat below the highest
    /// number is no sign of anything: the node numbered more since.
    std::optional<std::uint64_t> behind_received;
    /// What proves the node's store was wiped or replaced: a reused number, or a counter
    /// behind what it had sent.
    bool store_wiped() const { return reused_count > 0 || behind_received.has_value(); }
};

/// Per node (only `node_id` if given: not_found if there is no such node), by node id. A
/// confirmation kept apart as refused still counts as received: it consumed its number.
Result<std::vector<SequenceGaps>> sequence_gaps(SQLite::Database& db,
                                                const std::string& node_id = {});

/// One row per node: received, highest, missing from the record (the first ranges, then how many
/// more), not yet reported, numbers reused; marked when the node's store was wiped.
std::string render_sequence_gaps(const std::vector<SequenceGaps>& gaps, Language language);

nlohmann::json sequence_gaps_json(const std::vector<SequenceGaps>& gaps);

}  // namespace loa::controller
