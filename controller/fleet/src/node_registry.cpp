// Registering and finding nodes.
#include "loa/controller/fleet/node_registry.hpp"

#include <filesystem>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/identifiers.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::controller {

namespace {

NodeRecord read_node(SQLite::Statement& q) {
    NodeRecord n;
    n.node_id = q.getColumn(0).getString();
    n.kind = q.getColumn(1).getString();
    n.area_path = q.getColumn(2).getString();
    n.time_zone = q.getColumn(3).getString();
    if (!q.getColumn(4).isNull()) {
        n.last_seen_us = q.getColumn(4).getInt64();
    }
    n.agent_version = q.getColumn(5).getString();
    n.revoked = !q.getColumn(6).isNull();
    return n;
}

constexpr const char* kSelectNode =
    "SELECT node_id, kind, area_path, time_zone, last_seen_us, coalesce(agent_version, ''), "
    "revoked_us FROM nodes";

/// Refused (conflict) when a node of that id is registered already.
Result<void> node_taken(SQLite::Database& db, const std::string& node_id) {
    SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
    exists.bind(1, node_id);
    if (exists.executeStep()) {
        return fail(Error::Code::conflict, fmt::format("node '{}' is already registered", node_id));
    }
    return {};
}

}  // namespace

Result<NodeAddition> plan_node(SQLite::Database& db, NodeRecord node, std::int64_t now) {
    if (auto why = detail::identifier_problem(node.node_id); !why.empty()) {
        return fail(Error::Code::invalid_input, fmt::format("node '{}': {}", node.node_id, why));
    }
    if (node.kind != "speaker" && node.kind != "panel") {
        return fail(Error::Code::invalid_input,
                    fmt::format("node '{}': kind '{}' is neither 'speaker' nor 'panel'",
                                node.node_id, node.kind));
    }
    if (auto why = schedules::area_path_problem(node.area_path); !why.empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("node '{}': area '{}': {}", node.node_id, node.area_path, why));
    }
    if (node.time_zone.empty() || node.time_zone.find("..") != std::string::npos ||
        !std::filesystem::exists("/usr/share/zoneinfo/" + node.time_zone)) {
        return fail(Error::Code::invalid_input,
                    fmt::format("node '{}': '{}' is not a time zone of the tz database "
                                "(e.g. Asia/Ho_Chi_Minh)",
                                node.node_id, node.time_zone));
    }
    return guard_storage([&]() -> Result<NodeAddition> {
        if (auto taken = node_taken(db, node.node_id); !taken) {
            return std::unexpected(taken.error());
        }
        detail::BookingInput input;
        input.new_nodes = {{node.node_id, node.area_path, node.kind}};
        NodeAddition addition{node, now, detail::compute_booking(db, input, now, BookingRules{})};
        return addition;
    });
}

Result<NodeRecord> commit_node(WriteTx& tx, const NodeAddition& addition) {
    SQLite::Database& db = tx.db();
    const NodeRecord& node = addition.node;
    return in_savepoint(tx, [&]() -> Result<NodeRecord> {
        if (auto taken = node_taken(db, node.node_id); !taken) {
            return std::unexpected(taken.error());
        }
        SQLite::Statement insert(db,
                                 "INSERT INTO nodes (node_id, kind, area_path, time_zone, "
                                 "created_us) VALUES (?, ?, ?, ?, ?)");
        insert.bind(1, node.node_id);
        insert.bind(2, node.kind);
        insert.bind(3, node.area_path);
        insert.bind(4, node.time_zone);
        insert.bind(5, static_cast<int64_t>(addition.now));
        insert.exec();
        detail::write_booking(tx, addition.plays);
        return node;
    });
}

Result<NodeRecord> add_node(WriteTx& tx, NodeRecord node, std::int64_t now) {
    auto planned = plan_node(tx.db(), std::move(node), now);
    if (!planned) {
        return std::unexpected(planned.error());
    }
    return commit_node(tx, *planned);
}

Result<NodeRecord> find_node(SQLite::Database& db, std::string_view node_id) {
    return guard_storage([&]() -> Result<NodeRecord> {
        SQLite::Statement q(db, std::string(kSelectNode) + " WHERE node_id = ?");
        q.bind(1, std::string(node_id));
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        return read_node(q);
    });
}

Result<std::vector<NodeRecord>> list_nodes(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::vector<NodeRecord>> {
        SQLite::Statement q(db, std::string(kSelectNode) + " ORDER BY area_path, node_id");
        std::vector<NodeRecord> nodes;
        while (q.executeStep()) {
            nodes.push_back(read_node(q));
        }
        return nodes;
    });
}

void touch_node(WriteTx& tx, std::string_view node_id, std::int64_t now,
                std::string_view agent_version) {
    SQLite::Database& db = tx.db();
    SQLite::Statement q(
        db,
        "UPDATE nodes SET last_seen_us = max(coalesce(last_seen_us, 0), ?), agent_version = "
        "coalesce(nullif(?, ''), agent_version) WHERE node_id = ?");
    q.bind(1, static_cast<int64_t>(now));
    q.bind(2, std::string(agent_version));
    q.bind(3, std::string(node_id));
    q.exec();
}

}  // namespace loa::controller
