// API areas: the area tree as the nodes' paths draw it, with how many nodes each area holds
// and how many are online.
#include <map>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_registry.hpp"

namespace loa::controller::api {

namespace {

struct AreaCount {
    int nodes = 0;
    int online = 0;
    int speakers = 0;
    int panels = 0;
};

Result<Reply> areas(Request& request) {
    auto nodes = list_nodes(request.db());
    if (!nodes) {
        return std::unexpected(nodes.error());
    }
    std::map<std::string, AreaCount> tree;
    for (const auto& n : *nodes) {
        if (!may_see(request.who(), n.area_path)) {
            continue;
        }
        const bool online = node_online(n.last_seen_us, n.revoked, request.now(),
                                        request.services().heartbeat_interval_ms);
        for (auto end = n.area_path.find('/');; end = n.area_path.find('/', end + 1)) {
            auto& count = tree[n.area_path.substr(0, end)];
            ++count.nodes;
            count.online += online;
            count.speakers += n.kind == "speaker";
            count.panels += n.kind == "panel";
            if (end == std::string::npos) {
                break;
            }
        }
    }
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    const bool vi = request.language() == Language::vi;
    text += vi ? "Khu vực                                  Nút  Trực tuyến  Loa  Bảng\n"
               : "Area                                     Nodes  Online  Speakers  Panels\n";
    for (const auto& [area, count] : tree) {
        const auto depth = static_cast<int>(std::count(area.begin(), area.end(), '/')) + 1;
        out.push_back({{"area", area},
                       {"level", depth},
                       {"nodes", count.nodes},
                       {"online", count.online},
                       {"speakers", count.speakers},
                       {"panels", count.panels}});
        text += fmt::format("{:<40} {:>5} {:>7} {:>9} {:>7}\n", area, count.nodes, count.online,
                            count.speakers, count.panels);
    }
    return listing(request, out, [&] { return text; });
}

}  // namespace

std::vector<Route> area_routes() {
    return {
        {"GET", "/api/v1/areas", false,
         "Areas in your scope, every level, with their nodes and how many are online", areas},
    };
}

}  // namespace loa::controller::api
