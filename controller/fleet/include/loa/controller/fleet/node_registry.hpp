// The nodes (loudspeaker clusters and LED boards) the controller serves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

struct NodeRecord {
    std::string node_id;    ///< e.g. "ta-van-01"
    std::string kind;       ///< "speaker" or "panel"
    std::string area_path;  ///< e.g. "vn/lao-cai/sa-pa/ta-van"
    std::string time_zone = "Asia/Ho_Chi_Minh";
    std::optional<std::int64_t> last_seen_us;
    std::string agent_version;
    bool revoked = false;  ///< loactl node revoke: refused until it enrolls again
};

/// A node checked and its plays computed, ready to be registered (commit_node).
struct NodeAddition {
    NodeRecord node;
    std::int64_t now = 0;
    detail::BookingPlan plays;
};

/// Checks a new node's id, kind, area and zone, and computes the plays still ahead of the
/// campaigns booked before it (reads only, through a snapshot: the engine may take long).
Result<NodeAddition> plan_node(SQLite::Database& db, NodeRecord node, std::int64_t now);

/// Registers a planned node and books its plays (refused if the id was taken meanwhile).
Result<NodeRecord> commit_node(WriteTx& tx, const NodeAddition& addition);

/// plan_node and commit_node in one change (tests, tools).
Result<NodeRecord> add_node(WriteTx& tx, NodeRecord node, std::int64_t now);

Result<NodeRecord> find_node(SQLite::Database& db, std::string_view node_id);

Result<std::vector<NodeRecord>> list_nodes(SQLite::Database& db);

/// Records that a node was heard from.
void touch_node(WriteTx& tx, std::string_view node_id, std::int64_t now,
                std::string_view agent_version = {});

}  // namespace loa::controller
