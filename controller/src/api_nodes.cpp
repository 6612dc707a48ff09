// API nodes: register and list nodes, and each node's status as its heartbeats tell it.
#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/node_status.hpp"

namespace loa::controller::api {

namespace {

Result<Reply> list(Request& request) {
    auto nodes = list_nodes(request.db());
    if (!nodes) {
        return std::unexpected(nodes.error());
    }
    const std::string area = request.query("area");
    if (!area.empty()) {
        if (auto ok = may_read(request, area, "node.list"); !ok) {
            return std::unexpected(ok.error());
        }
    }
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& n : *nodes) {
        if (!may_see(request.who(), n.area_path) ||
            (!area.empty() && !in_scope(area, n.area_path))) {
            continue;
        }
        std::string seen = n.last_seen_us ? format_local(*n.last_seen_us) : "-";
        out.push_back({{"node", n.node_id},
                       {"kind", n.kind},
                       {"area", n.area_path},
                       {"last_seen", seen},
                       {"agent_version", n.agent_version}});
        text += fmt::format("{:<16} {:<8} {:<32} {}\n", n.node_id, n.kind, n.area_path, seen);
    }
    return listing(request, out, [&] { return text; });
}

Result<Reply> add(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto id = field(*body, "node");
    auto kind = field(*body, "kind");
    auto area = field(*body, "area");
    auto tz = optional_field(*body, "time_zone");
    for (const auto* f : {&id, &kind, &area, &tz}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    NodeRecord node;
    node.node_id = *id;
    node.kind = *kind;
    node.area_path = *area;
    if (!tz->empty()) {
        node.time_zone = *tz;
    }
    Change change(request, "node.add", node.node_id, node.area_path);
    if (auto ok = change.allowed(Permission::manage_nodes); !ok) {
        return std::unexpected(ok.error());
    }
    auto added = add_node(request.db(), node, request.now());
    if (!added) {
        return change.refused(added.error(), {{"kind", node.kind}});
    }
    change.done({{"kind", added->kind}, {"time_zone", added->time_zone}});
    Reply reply = listing(request, {{"node", added->node_id}, {"area", added->area_path}}, [&] {
        return fmt::format("node {} ({}) added in {}\n", added->node_id, added->kind,
                           added->area_path);
    });
    reply.status = 201;
    return reply;
}

Result<Reply> status(Request& request) {
    auto statuses = node_statuses(request.db(), request.path("node_id"));
    if (!statuses) {
        return std::unexpected(statuses.error());
    }
    if (auto ok = may_read(request, statuses->front().area_path, "node.status"); !ok) {
        return std::unexpected(ok.error());
    }
    return listing(request, node_status_json(*statuses, request.now(), kClockOffsetWarnUs).at(0),
                   [&] {
                       return render_node_status(*statuses, request.now(), kClockOffsetWarnUs,
                                                 request.language());
                   });
}

}  // namespace

std::vector<Route> node_routes() {
    return {
        {"GET", "/api/v1/nodes", false, "Nodes in your scope (area=… narrows)", list},
        {"POST", "/api/v1/nodes", false, "Register a node", add},
        {"GET", "/api/v1/nodes/{node_id}", false, "A node's status from its last heartbeat",
         status},
    };
}

}  // namespace loa::controller::api
