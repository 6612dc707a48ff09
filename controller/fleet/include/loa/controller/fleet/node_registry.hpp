// The nodes (loudspeaker clusters and LED boards) the controller serves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"

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

/// Registers a node after checking its id, kind and area; a node added after campaigns were
/// booked gets their plays that still lie ahead.
Result<NodeRecord> add_node(SQLite::Database& db, NodeRecord node, std::int64_t now);

Result<NodeRecord> find_node(SQLite::Database& db, std::string_view node_id);

Result<std::vector<NodeRecord>> list_nodes(SQLite::Database& db);

/// Records that a node was heard from.
void touch_node(SQLite::Database& db, std::string_view node_id, std::int64_t now,
                std::string_view agent_version = {});

}  // namespace loa::controller
