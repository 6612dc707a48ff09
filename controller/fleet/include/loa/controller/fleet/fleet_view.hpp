// The fleet at a glance: which nodes are online, how long each could go on alone, what media it
// lacks for the next day and the last thing that went wrong; and the online share per area.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/fleet/node_status.hpp"

namespace loa::controller {

/// The controller's heartbeat interval when nobody says otherwise (loa-controller --heartbeat-ms).
inline constexpr std::int64_t kDefaultHeartbeatMs = 30'000;

/// A node not heard for more than this many heartbeat intervals is offline.
inline constexpr std::int64_t kOfflineAfterHeartbeats = 3;

/// How far ahead the fleet view looks for media a node lacks (24 h).
inline constexpr std::int64_t kFleetMediaLookaheadUs = 24LL * 3600 * 1'000'000;

/// True when a node last heard at `last_seen_us` (any message: hello, heartbeat) counts as online
/// at `now`: heard within kOfflineAfterHeartbeats intervals of `heartbeat_interval_ms`, and not
/// revoked.
bool node_online(std::optional<std::int64_t> last_seen_us, bool revoked, std::int64_t now,
                 std::int64_t heartbeat_interval_ms);

/// The latest failure the controller knows of for a node.
struct NodeError {
    /// Where it was found:
    /// - "confirmation": a play the node confirmed as failed (its reason);
    /// - "command": a command the node answered it could not carry out (its message);
    /// - "refused-confirmation": a confirmation the controller kept apart (why);
    /// - "refused-message": a message the controller refused and logged (the action log's
    ///   reason, e.g. a hello from a revoked node).
    std::string source;
    std::int64_t at_us = 0;  ///< when the controller received it (its clock)
    /// What failed: the play ("Bản tin sáng, c1/3@1"), the command ("12 set-volume"), the
    /// confirmation ("seq 41") or the message ("node.hello").
    std::string subject;
    std::string reason;
};

/// One node as the fleet view shows it.
struct FleetNode {
    std::string node_id;
    std::string kind;  ///< "speaker" or "panel"
    std::string area_path;
    bool revoked = false;
    bool online = false;  ///< node_online at the view's `now`
    std::optional<std::int64_t> last_seen_us;
    std::string agent_version;  ///< as the node last said (hello or heartbeat); "" if never
    /// What the last heartbeat said the node was doing ("idle", "playing", "emergency"); "" when
    /// it sent none or did not say. Stale when the node is offline.
    std::string state;
    std::optional<std::int64_t> heartbeat_us;     ///< when that heartbeat arrived
    std::optional<std::int64_t> clock_offset_us;  ///< controller clock − node clock
    std::optional<std::int64_t> runway_end_us;    ///< empty when the node never worked it out
    /// Hours from `now` to runway_end_us, 0 once it has passed; empty when never reported.
    std::optional<double> runway_hours;
    /// Media of the plays booked on the node within kFleetMediaLookaheadUs of `now` that the node
    /// has not reported ready (as missing_media gives them), soonest first.
    std::vector<MissingMedia> media_missing;
    std::optional<NodeError> last_error;

    /// "online", "offline" (heard before, not lately), "never" (never heard) or "revoked".
    std::string_view connection() const;
};

/// Which nodes the fleet view keeps; every field narrows, and none keeps every node.
struct FleetFilter {
    bool offline_only = false;
    /// Nodes whose runway is shorter than this many hours, or never reported.
    std::optional<double> runway_below_hours;
    /// Nodes at or below this area path; "" or kEveryArea: everywhere.
    std::string area;
    std::string node_id;  ///< only this node ("": every node)
};

/// Every node passing `filter`, by area then id, as seen at `now` by a controller whose heartbeat
/// interval is `heartbeat_interval_ms`. A malformed area or a heartbeat interval below 1 ms is
/// refused (invalid_input); an unknown `filter.node_id` is not_found.
Result<std::vector<FleetNode>> fleet_view(SQLite::Database& db, std::int64_t now,
                                          std::int64_t heartbeat_interval_ms,
                                          const FleetFilter& filter = {});

/// Parses a runway threshold in hours: "24h", "90m", "2d", "45s" or a plain number of hours
/// ("24", "1.5"). Negative or malformed values are refused (invalid_input).
Result<double> parse_runway_hours(std::string_view text);

/// One row per node: node, kind, area, last seen (UTC+7 and how long ago), connection, state,
/// agent, clock offset ("!" beyond `offset_warn_us`), runway in hours, media missing for the
/// next 24 h (how many, and the first title), last error (what, why, how long ago). Diacritics
/// line up; a note under the table explains the marks.
std::string render_fleet(const std::vector<FleetNode>& fleet, std::int64_t now, Language language,
                         std::int64_t offset_warn_us = kClockOffsetWarnUs);

/// The same as JSON objects: {node, kind, area, last_seen (ISO 8601 UTC+7, "-" never),
/// agent_version, online, connection, revoked, state, heartbeat, clock_offset_us,
/// clock_offset_flagged, runway_hours, runway_end, media_missing_24h: {count, media: [{media_hash,
/// title, state, first_play, plays}]}, last_error: null | {source, at, subject, reason}}; unknown
/// readings as null.
nlohmann::json fleet_json(const std::vector<FleetNode>& fleet,
                          std::int64_t offset_warn_us = kClockOffsetWarnUs);

/// Online nodes among the nodes of one area, for a gauge.
struct AreaOnline {
    std::string area_path;  ///< the first `depth` segments of the nodes' areas
    std::size_t nodes = 0;
    std::size_t online = 0;
    /// online / nodes; 0 for an area without nodes.
    double share() const;
};

/// The area prefix of `area_path` at `depth` segments ("vn/lao-cai/sa-pa" at 2: "vn/lao-cai");
/// the whole path when it is shorter, kEveryArea at depth 0.
std::string area_at_depth(std::string_view area_path, std::size_t depth);

/// Nodes and online nodes per area at `depth`, by area path. Revoked nodes are left out: they are
/// cut off on purpose and would hold the share down for good.
std::vector<AreaOnline> online_by_area(const std::vector<FleetNode>& fleet, std::size_t depth);

/// The same from the node registry alone (cheap enough for every metrics scrape), for the nodes
/// in `scope` (an area path or kEveryArea).
Result<std::vector<AreaOnline>> online_by_area(SQLite::Database& db, std::int64_t now,
                                               std::int64_t heartbeat_interval_ms,
                                               std::size_t depth,
                                               std::string_view scope = kEveryArea);

}  // namespace loa::controller
