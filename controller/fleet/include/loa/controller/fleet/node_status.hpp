// What each node last said of itself in its heartbeat, and the views operators read of it: the
// fleet's status and the nodes whose cached schedule runs out soon.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// A node clock further than this from the controller's is marked in the status (50 ms).
inline constexpr std::int64_t kClockOffsetWarnUs = 50'000;

/// A heartbeat as it is stored: each field out of range (protocol/README.md, "Heartbeat") is
/// unknown, with a note of why; a title too long is cut. The rest of the heartbeat stands.
struct CheckedHeartbeat {
    wire::Heartbeat heartbeat;
    std::set<std::string> unknown;      ///< fields stored as unknown
    std::vector<std::string> problems;  ///< "field: why"
};
CheckedHeartbeat check_heartbeat(const wire::Heartbeat& heartbeat);

/// What is wrong with the clock a heartbeat says the node plays by (its `clock_state`: an
/// offset over 1 h not applied, or one measured over 24 h ago), in Vietnamese then English;
/// empty when nothing is. record_heartbeat() keeps it as the node's last error.
std::string clock_state_problem(const wire::Heartbeat& heartbeat);

/// Replaces the node's last heartbeat with `heartbeat` (checked field by field), received at
/// `received_us`, and records that the node was heard (`nodes.last_seen_us`, agent version).
Result<void> record_heartbeat(WriteTx& tx, const std::string& node_id,
                              const wire::Heartbeat& heartbeat, std::int64_t received_us);

/// The last heartbeat of a node, as stored.
struct LastHeartbeat {
    std::int64_t received_us = 0;
    std::int64_t node_time_us = 0;
    std::string state;  ///< "idle", "playing", "emergency"; "" from agents that do not say
    std::string current_slot_id;
    std::string current_title;
    std::uint32_t outbox_pending = 0;
    std::uint32_t media_missing = 0;
    std::optional<std::uint32_t> volume_percent;      ///< empty: unknown (out of range)
    std::optional<std::uint64_t> storage_free_bytes;  ///< empty: unknown (out of range)
    std::optional<std::int32_t> cpu_temp_millicelsius;
    std::string link_interface;
    std::string link_type;
    std::optional<std::int32_t> link_signal_dbm;
    std::optional<std::int64_t> clock_offset_us;  ///< controller clock − node clock
    std::int64_t clock_round_trip_us = 0;
    std::string agent_version;
    std::int64_t schedule_horizon_end_us = 0;
    std::int64_t runway_end_us = 0;         ///< 0: the node has not worked it out
    std::optional<std::uint64_t> last_seq;  ///< empty: unknown (out of range)
    bool amplifier_on = false;
    std::string problems;  ///< fields the node sent out of range: "field: why; …"
    /// The node's store could not write for lack of space (it plays on, holding confirmations).
    bool store_full = false;
    std::uint32_t confirmations_held = 0;  ///< held in the node's memory, not yet on its disk
    std::int64_t store_rebuilt_us = 0;     ///< its store last started afresh from a damaged one
};

struct NodeStatus {
    std::string node_id;
    std::string kind;
    std::string area_path;
    std::optional<std::int64_t> last_seen_us;  ///< any message, not only heartbeats
    std::optional<LastHeartbeat> heartbeat;    ///< none before the first heartbeat
};

/// Every node (or only `node_id`: not_found if there is no such node), by area then id.
Result<std::vector<NodeStatus>> node_statuses(SQLite::Database& db,
                                              const std::string& node_id = {});

/// Hours of runway a node had left at `now`; empty when it never reported one.
std::optional<double> runway_hours(const NodeStatus& status, std::int64_t now);

/// Nodes whose runway ends within `below_hours` of `now`, or that never reported one (first),
/// shortest runway first.
Result<std::vector<NodeStatus>> short_runway(SQLite::Database& db, double below_hours,
                                             std::int64_t now);

/// One row per node: last heard, state, what plays, volume and amplifier, free storage,
/// temperature, link, clock offset (marked "!" beyond `offset_warn_us`), agent, horizon end,
/// runway, outbox, store (full disk, confirmations held, rebuilt). Notes under the table explain
/// the marks.
std::string render_node_status(const std::vector<NodeStatus>& statuses, std::int64_t now,
                               std::int64_t offset_warn_us, Language language);

/// The same as JSON objects; times as ISO 8601 (UTC+7), "" when unknown.
nlohmann::json node_status_json(const std::vector<NodeStatus>& statuses, std::int64_t now,
                                std::int64_t offset_warn_us);

/// One row per node: runway in hours, its end, the horizon end, last heard, media missing.
std::string render_runway(const std::vector<NodeStatus>& statuses, std::int64_t now,
                          Language language);

}  // namespace loa::controller
