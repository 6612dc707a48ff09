// API schedules: the plays booked per node, per area and per day, with what became of each.
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/plans/plan_compilation.hpp"

namespace loa::controller::api {

namespace {

Result<Reply> schedules_of(Request& request) {
    const std::string node_id = request.query("node");
    std::string area = request.query("area");
    if (node_id.empty() == area.empty()) {
        return fail(Error::Code::invalid_input,
                    "cho đúng một trong node=… và area=… / give exactly one of node=… and area=…");
    }
    if (!node_id.empty()) {
        auto node = find_node(request.db(), node_id);
        if (!node) {
            return std::unexpected(node.error());
        }
        area = node->area_path;
    }
    if (auto ok = may_read(request, area, "schedule.list"); !ok) {
        return std::unexpected(ok.error());
    }
    schedules::Date day = vietnam_date(request.now());
    if (request.has_query("date")) {
        auto given = parse_date(request.query("date"));
        if (!given) {
            return fail(Error::Code::invalid_input, "date: " + given.error());
        }
        day = *given;
    }
    int days = 1;
    if (request.has_query("days")) {
        try {
            days = std::stoi(request.query("days"));
        } catch (const std::exception&) {
            days = 0;
        }
        if (days < 1 || days > 31) {
            return fail(Error::Code::invalid_input, "days: 1 đến 31 / days must be 1 to 31");
        }
    }
    const std::int64_t from = vietnam_midnight_us(day);
    const std::int64_t to = from + days * 86'400'000'000LL;
    SQLite::Statement q(
        request.db(),
        "SELECT s.node_id, n.area_path, s.slot_id, s.campaign_id, s.title, s.start_us, "
        "s.duration_us, coalesce(c.outcome, ''), coalesce(c.reason, '') FROM slots s "
        "JOIN nodes n USING (node_id) LEFT JOIN confirmations c "
        "ON c.node_id = s.node_id AND c.slot_id = s.slot_id "
        "WHERE s.start_us >= ? AND s.start_us < ? AND (s.node_id = ? OR ? = '') "
        "ORDER BY s.node_id, s.start_us");
    q.bind(1, static_cast<int64_t>(from));
    q.bind(2, static_cast<int64_t>(to));
    q.bind(3, node_id);
    q.bind(4, node_id);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> cells;
    while (q.executeStep()) {
        const std::string node_area = q.getColumn(1).getString();
        if (!in_scope(area, node_area)) {
            continue;
        }
        const std::int64_t start = q.getColumn(5).getInt64();
        const std::int64_t duration = q.getColumn(6).getInt64();
        std::string outcome = q.getColumn(7).getString();
        if (outcome.empty()) {
            outcome = start + duration <= request.now() ? "unconfirmed" : "booked";
        }
        out.push_back({{"node", q.getColumn(0).getString()},
                       {"area", node_area},
                       {"slot_id", q.getColumn(2).getString()},
                       {"campaign", q.getColumn(3).getString()},
                       {"title", q.getColumn(4).getString()},
                       {"start", format_local(start)},
                       {"end", format_local(start + duration)},
                       {"seconds", static_cast<double>(duration) / 1e6},
                       {"outcome", outcome},
                       {"reason", q.getColumn(8).getString()}});
        cells.push_back({q.getColumn(0).getString(), format_local(start),
                         fmt::format("{:.1f}", static_cast<double>(duration) / 1e6),
                         q.getColumn(3).getString(), q.getColumn(4).getString(), outcome});
    }
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        if (cells.empty()) {
            return std::string(vi ? "Không có lượt phát nào.\n" : "No plays.\n");
        }
        return detail::render_text_table(
            vi ? std::vector<std::string>{"Nút", "Bắt đầu", "Giây", "Chiến dịch", "Nội dung",
                                          "Kết quả"}
               : std::vector<std::string>{"Node", "Start", "Seconds", "Campaign", "Title",
                                          "Outcome"},
            cells, std::vector<bool>{false, false, true, false, false, false});
    });
}

}  // namespace

std::vector<Route> schedule_routes() {
    return {
        {"GET", "/api/v1/schedules", false,
         "Plays booked on a node (node=…) or in an area (area=…) over days from a date, with "
         "their outcome",
         schedules_of},
    };
}

}  // namespace loa::controller::api
