// The airtime report: queries, a table for people (Vietnamese or English) and JSON for scripts.
#include "loa/controller/airtime_report.hpp"

#include <algorithm>
#include <map>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/campaign_book.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/time_text.hpp"
#include "loa/schedules/area_path.hpp"
#include "text_table.hpp"

namespace loa::controller {

namespace {

void add(NodeAirtime& into, const NodeAirtime& row) {
    into.planned_plays += row.planned_plays;
    into.planned_us += row.planned_us;
    into.confirmed_plays += row.confirmed_plays;
    into.confirmed_us += row.confirmed_us;
    into.interrupted += row.interrupted;
    into.failed += row.failed;
    into.skipped += row.skipped;
    into.unconfirmed += row.unconfirmed;
}

std::string seconds(std::int64_t us) {
    return fmt::format("{:.2f}", static_cast<double>(us) / 1e6);
}

}  // namespace

Result<AirtimeReport> airtime_report(SQLite::Database& db, const ReportQuery& query) {
    if (query.to_us <= query.from_us) {
        return fail(Error::Code::invalid_input, "the report period ends before it starts");
    }
    if (!query.area.empty()) {
        if (auto why = schedules::area_path_problem(query.area); !why.empty()) {
            return fail(Error::Code::invalid_input, fmt::format("area '{}': {}", query.area, why));
        }
    }
    auto campaign = find_campaign(db, query.campaign_id);
    if (!campaign) {
        return std::unexpected(campaign.error());
    }
    return guard_storage([&]() -> Result<AirtimeReport> {
        std::map<std::string, NodeAirtime> rows;
        auto row = [&](const std::string& node_id, const std::string& area) -> NodeAirtime* {
            if (!query.area.empty() && !schedules::area_contains(query.area, area)) {
                return nullptr;
            }
            auto& r = rows[node_id];
            r.node_id = node_id;
            r.area_path = area;
            return &r;
        };
        auto bind_period = [&](SQLite::Statement& q) {
            q.bind(1, query.campaign_id);
            q.bind(2, static_cast<int64_t>(query.from_us));
            q.bind(3, static_cast<int64_t>(query.to_us));
        };
        SQLite::Statement planned(
            db,
            "SELECT s.node_id, n.area_path, count(*), sum(s.duration_us), "
            "sum(c.slot_id IS NULL) FROM slots s JOIN nodes n USING (node_id) "
            "LEFT JOIN confirmations c ON c.node_id = s.node_id AND c.slot_id = s.slot_id "
            "WHERE s.campaign_id = ? AND s.start_us >= ? AND s.start_us < ? GROUP BY s.node_id");
        bind_period(planned);
        while (planned.executeStep()) {
            if (auto* r = row(planned.getColumn(0).getString(), planned.getColumn(1).getString())) {
                r->planned_plays = planned.getColumn(2).getInt64();
                r->planned_us = planned.getColumn(3).getInt64();
                r->unconfirmed = planned.getColumn(4).getInt64();
            }
        }
        // Confirmations carry the area the node had when it reported, so moving or removing a
        // node later does not rewrite history.
        SQLite::Statement confirmed(
            db,
            "SELECT node_id, area_path, outcome, count(*), sum(actual_end_us - actual_start_us) "
            "FROM confirmations WHERE campaign_id = ? AND planned_start_us >= ? "
            "AND planned_start_us < ? GROUP BY node_id, area_path, outcome");
        bind_period(confirmed);
        while (confirmed.executeStep()) {
            auto* r = row(confirmed.getColumn(0).getString(), confirmed.getColumn(1).getString());
            if (!r) {
                continue;
            }
            std::string outcome = confirmed.getColumn(2).getString();
            std::int64_t count = confirmed.getColumn(3).getInt64();
            if (outcome == "played") {
                r->confirmed_plays += count;
                r->confirmed_us += confirmed.getColumn(4).getInt64();
            } else if (outcome == "interrupted") {
                r->interrupted += count;
                r->confirmed_us += confirmed.getColumn(4).getInt64();
            } else if (outcome == "failed") {
                r->failed += count;
            } else {
                r->skipped += count;
            }
        }
        AirtimeReport report;
        report.query = query;
        report.campaign_name = campaign->name;
        report.total.node_id = "*";
        report.total.area_path = query.area.empty() ? "*" : query.area;
        for (auto& [id, r] : rows) {
            add(report.total, r);
            report.nodes.push_back(r);
        }
        std::stable_sort(report.nodes.begin(), report.nodes.end(),
                         [](const auto& a, const auto& b) { return a.area_path < b.area_path; });
        return report;
    });
}

std::string render_table(const AirtimeReport& report, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút",          "Khu vực",      "Lượt KH", "Giây KH",
                                      "Lượt đã phát", "Giây đã phát", "Bị ngắt", "Lỗi",
                                      "Bỏ qua",       "Chưa báo cáo"}
           : std::vector<std::string>{"Node",    "Area",       "Planned",     "Planned s",
                                      "Played",  "Played s",   "Interrupted", "Failed",
                                      "Skipped", "Unconfirmed"};
    std::vector<std::vector<std::string>> cells;
    auto cells_of = [](const NodeAirtime& r) {
        return std::vector<std::string>{r.node_id,
                                        r.area_path,
                                        std::to_string(r.planned_plays),
                                        seconds(r.planned_us),
                                        std::to_string(r.confirmed_plays),
                                        seconds(r.confirmed_us),
                                        std::to_string(r.interrupted),
                                        std::to_string(r.failed),
                                        std::to_string(r.skipped),
                                        std::to_string(r.unconfirmed)};
    };
    for (const auto& r : report.nodes) {
        cells.push_back(cells_of(r));
    }
    auto total = cells_of(report.total);
    total[0] = vi ? "Tổng" : "Total";
    std::string out = fmt::format(
        fmt::runtime(vi ? "Báo cáo thời lượng phát — chiến dịch {} ({})\nTừ {} đến {}{}\n\n"
                        : "Airtime report — campaign {} ({})\nFrom {} to {}{}\n\n"),
        report.query.campaign_id, report.campaign_name, format_local(report.query.from_us),
        format_local(report.query.to_us),
        report.query.area.empty() ? "" : (vi ? ", khu vực " : ", area ") + report.query.area);
    return out + detail::render_text_table(header, cells, 2, total);
}

nlohmann::json to_json(const AirtimeReport& report) {
    auto row = [](const NodeAirtime& r) {
        return nlohmann::json{{"node", r.node_id},
                              {"area", r.area_path},
                              {"planned_plays", r.planned_plays},
                              {"planned_seconds", static_cast<double>(r.planned_us) / 1e6},
                              {"confirmed_plays", r.confirmed_plays},
                              {"confirmed_seconds", static_cast<double>(r.confirmed_us) / 1e6},
                              {"interrupted", r.interrupted},
                              {"failed", r.failed},
                              {"skipped", r.skipped},
                              {"unconfirmed", r.unconfirmed}};
    };
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& r : report.nodes) {
        nodes.push_back(row(r));
    }
    return {{"campaign", report.query.campaign_id},
            {"campaign_name", report.campaign_name},
            {"area", report.query.area},
            {"from", format_local(report.query.from_us)},
            {"to", format_local(report.query.to_us)},
            {"nodes", nodes},
            {"total", row(report.total)}};
}

}  // namespace loa::controller
