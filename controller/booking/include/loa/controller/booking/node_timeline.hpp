// The timeline the controller sends a node: its booked plays from a day ago to the horizon.
#pragma once

#include <cstdint>
#include <string>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// How far ahead a node is told its plays (7 days).
inline constexpr std::int64_t kTimelineHorizonUs = 7LL * 86400 * 1'000'000;

/// The end of the timeline a node is sent at `now`: the horizon, rounded down to the hour.
std::int64_t timeline_horizon_end(std::int64_t now);

/// The node's ScheduleUpdate at `now`: its plays from a day ago to timeline_horizon_end(now),
/// each with what the node does with it (audio, video, or an image shown for display_us), and
/// horizon_end_us. `timeline_hash` is the SHA-256 of the horizon and the slots in a canonical
/// text form (so the same plays up to the same horizon always hash the same).
Result<wire::ScheduleUpdate> node_timeline(SQLite::Database& db, const std::string& node_id,
                                           std::int64_t now);

}  // namespace loa::controller
