// loactl: the operators' command line; works on the controller's data directory.
#include <cstdlib>
#include <iostream>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "loa/controller/airtime_report.hpp"
#include "loa/controller/campaign_book.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_emergency_commands.hpp"
#include "loactl_media_commands.hpp"
#include "loactl_node_commands.hpp"
#include "loactl_plan_commands.hpp"
#include "loactl_text_media_commands.hpp"

namespace lc = loa::controller;

namespace {

/// Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad command line.
int report_error(const lc::Error& error) {
    std::cerr << "loactl: " << error.message << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"loactl — điều hành hệ thống loa / operate a loa controller"};
    app.require_subcommand(1);
    app.fallthrough();  // --json and --data may follow the command too
    std::string data = std::getenv("LOA_DATA") ? std::getenv("LOA_DATA") : "loa-data";
    bool json = false;
    app.add_option("--data", data, "controller data directory; env LOA_DATA");
    app.add_flag("--json", json, "machine-readable output");

    auto* node_cmd = app.add_subcommand("node", "nodes: loudspeaker clusters and LED boards");
    node_cmd->require_subcommand(1);
    auto* node_add = node_cmd->add_subcommand("add", "register a node");
    lc::NodeRecord new_node;
    node_add->add_option("id", new_node.node_id, "node id, e.g. ta-van-01")->required();
    node_add->add_option("--kind", new_node.kind, "speaker or panel")->required();
    node_add->add_option("--area", new_node.area_path, "area path, e.g. vn/lao-cai/sa-pa/ta-van")
        ->required();
    node_add->add_option("--tz", new_node.time_zone, "IANA time zone");
    auto* node_list = node_cmd->add_subcommand("list", "list nodes");

    auto* campaign_cmd = app.add_subcommand("campaign", "information campaigns");
    campaign_cmd->require_subcommand(1);
    auto* campaign_add =
        campaign_cmd->add_subcommand("add", "define a campaign and book its plays");
    lc::CampaignSpec spec;
    std::string start_text, end_text;
    campaign_add->add_option("id", spec.campaign_id, "campaign id, e.g. lao-dong-gioi-2025")
        ->required();
    campaign_add->add_option("--name", spec.name, "name, e.g. \"Lao động giỏi\"")->required();
    campaign_add->add_option("--owner", spec.owner, "owner agency");
    campaign_add->add_option("--item", spec.media_hashes, "media hash, in play order")->required();
    campaign_add->add_option("--area", spec.areas, "target area path")->required();
    campaign_add->add_option("--start", start_text, "window start (ISO 8601, date, now+20s)")
        ->required();
    campaign_add->add_option("--end", end_text, "window end")->required();

    auto* report_cmd = app.add_subcommand("report", "reports");
    report_cmd->require_subcommand(1);
    auto* airtime = report_cmd->add_subcommand("airtime", "planned and confirmed airtime");
    lc::ReportQuery query;
    std::string from_text, to_text, lang = "vi";
    airtime->add_option("--campaign", query.campaign_id, "campaign id")->required();
    airtime->add_option("--area", query.area, "only nodes in this area");
    airtime->add_option("--from", from_text, "period start (date: its local midnight)")->required();
    airtime->add_option("--to", to_text, "period end (date: the whole day included)")->required();
    airtime->add_option("--lang", lang, "vi or en")->check(CLI::IsMember({"vi", "en"}));

    loa::loactl::PlanCommands plan_commands(app, data);
    loa::loactl::MediaCommands media_commands(app, data);
    loa::loactl::TextMediaCommands text_media_commands(media_commands.media(), data);
    loa::loactl::NodeCommands node_commands(node_cmd, data);
    loa::loactl::EmergencyCommands emergency_commands(app, data);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help exits 0; anything else is a bad command line: 2, as documented.
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (node_commands.parsed()) {
        return node_commands.run(json);
    }
    if (emergency_commands.parsed()) {
        return emergency_commands.run(json);
    }
    if (plan_commands.parsed()) {
        return plan_commands.run(json);
    }
    if (media_commands.parsed()) {
        return media_commands.run(json);
    }
    if (text_media_commands.parsed()) {
        return text_media_commands.run(json);
    }

    auto db = lc::open_database(std::filesystem::path(data) / "controller.db");
    if (!db) {
        return report_error(db.error());
    }
    const std::int64_t now = lc::now_us();

    if (node_add->parsed()) {
        auto added = lc::add_node(**db, new_node, now);
        if (!added) {
            return report_error(added.error());
        }
        if (json) {
            std::cout << nlohmann::json{{"node", added->node_id}, {"area", added->area_path}}
                      << "\n";
        } else {
            fmt::print("node {} ({}) added in {}\n", added->node_id, added->kind, added->area_path);
        }
    } else if (node_list->parsed()) {
        auto nodes = lc::list_nodes(**db);
        if (!nodes) {
            return report_error(nodes.error());
        }
        nlohmann::json out = nlohmann::json::array();
        for (const auto& n : *nodes) {
            std::string seen = n.last_seen_us ? lc::format_local(*n.last_seen_us) : "-";
            out.push_back({{"node", n.node_id},
                           {"kind", n.kind},
                           {"area", n.area_path},
                           {"last_seen", seen},
                           {"agent_version", n.agent_version}});
            if (!json) {
                fmt::print("{:<16} {:<8} {:<32} {}\n", n.node_id, n.kind, n.area_path, seen);
            }
        }
        if (json) {
            std::cout << out.dump(2) << "\n";
        }
    } else if (campaign_add->parsed()) {
        auto start = lc::parse_instant(start_text, now);
        auto end = lc::parse_instant(end_text, now, true);
        if (!start || !end) {
            return report_error(!start ? start.error() : end.error());
        }
        spec.window_start_us = *start;
        spec.window_end_us = *end;
        auto booked = lc::add_campaign(**db, spec, now);
        if (!booked) {
            return report_error(booked.error());
        }
        if (json) {
            std::cout << nlohmann::json{{"campaign", spec.campaign_id},
                                        {"slots_booked", booked->slots_booked},
                                        {"nodes_targeted", booked->nodes_targeted},
                                        {"unplaced", booked->unplaced}}
                      << "\n";
        } else {
            fmt::print("campaign {}: {} plays booked on {} nodes\n", spec.campaign_id,
                       booked->slots_booked, booked->nodes_targeted);
            for (const auto& u : booked->unplaced) {
                fmt::print("  not placed / không xếp được: {}\n", u);
            }
        }
    } else if (airtime->parsed()) {
        auto from = lc::parse_instant(from_text, now);
        auto to = lc::parse_instant(to_text, now, true);
        if (!from || !to) {
            return report_error(!from ? from.error() : to.error());
        }
        query.from_us = *from;
        query.to_us = *to;
        auto report = lc::airtime_report(**db, query);
        if (!report) {
            return report_error(report.error());
        }
        if (json) {
            std::cout << lc::to_json(*report).dump(2) << "\n";
        } else {
            std::cout << lc::render_table(*report,
                                          lang == "en" ? lc::Language::en : lc::Language::vi);
        }
    }
    return 0;
}
