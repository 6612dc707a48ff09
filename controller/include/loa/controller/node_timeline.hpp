// The timeline the controller sends a node: its booked plays from a day ago to the horizon.
#pragma once

#include <cstdint>
#include <string>

#include <SQLiteCpp/Database.h>

#include "loa/controller/error.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// How far ahead a node is told its plays (7 days).
inline constexpr std::int64_t kTimelineHorizonUs = 7LL * 86400 * 1'000'000;

/// The node's ScheduleUpdate at `now`, with `timeline_hash` set to the SHA-256 of its slots in a
/// canonical text form (so the same plays always hash the same).
Result<wire::ScheduleUpdate> node_timeline(SQLite::Database& db, const std::string& node_id,
                                           std::int64_t now);

}  // namespace loa::controller
