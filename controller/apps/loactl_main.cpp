// loactl: the operators' command line, a client of the controller's HTTP API (or of the same
// API served in-process over the controller's data directory).
#include <sys/stat.h>

#include <cstdlib>
#include <iostream>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "loa/controller/fleet/node_registry.hpp"
#include "loactl_api.hpp"
#include "loactl_campaign_commands.hpp"
#include "loactl_common.hpp"
#include "loactl_emergency_commands.hpp"
#include "loactl_enrollment_commands.hpp"
#include "loactl_media_commands.hpp"
#include "loactl_node_commands.hpp"
#include "loactl_plan_commands.hpp"
#include "loactl_text_media_commands.hpp"
#include "loactl_user_commands.hpp"

namespace lc = loa::controller;

int main(int argc, char** argv) {
    // What loactl creates when it serves itself (--data) is its owner's alone, as the daemon's.
    ::umask(077);
    CLI::App app{"loactl — điều hành hệ thống loa / operate a loa controller"};
    app.require_subcommand(1);
    app.fallthrough();  // --json, --data and --token may follow the command too
    std::string data = std::getenv("LOA_DATA") ? std::getenv("LOA_DATA") : "loa-data";
    std::string token = std::getenv("LOA_TOKEN") ? std::getenv("LOA_TOKEN") : "";
    bool json = false;
    std::string controller_url = std::getenv("LOA_CONTROLLER") ? std::getenv("LOA_CONTROLLER") : "";
    std::string ca_file = std::getenv("LOA_CA_CERT") ? std::getenv("LOA_CA_CERT") : "";
    app.add_option("--controller", controller_url,
                   "the controller's API, e.g. http://127.0.0.1:5610; env LOA_CONTROLLER (without "
                   "it, the API is served in loactl over --data)");
    app.add_option("--ca-cert", ca_file, "CA certificate of an https controller; env LOA_CA_CERT");
    app.add_option("--data", data, "controller data directory; env LOA_DATA");
    app.add_option("--token", token,
                   "API token from loactl login; env LOA_TOKEN (better: arguments show in ps)");
    app.add_flag("--json", json, "machine-readable output");

    auto* node_cmd = app.add_subcommand("node", "nodes: loudspeaker clusters and LED boards");
    node_cmd->require_subcommand(1);
    auto* node_add = node_cmd->add_subcommand("add", "register a node");
    lc::NodeRecord new_node;
    std::string node_tz;
    node_add->add_option("id", new_node.node_id, "node id, e.g. ta-van-01")->required();
    node_add->add_option("--kind", new_node.kind, "speaker or panel")->required();
    node_add->add_option("--area", new_node.area_path, "area path, e.g. vn/lao-cai/sa-pa/ta-van")
        ->required();
    node_add->add_option("--tz", node_tz, "IANA time zone (default Asia/Ho_Chi_Minh)");

    loa::loactl::CampaignCommands campaign_commands(app, data);
    loa::loactl::UserCommands user_commands(app, data);
    loa::loactl::PlanCommands plan_commands(app, data);
    loa::loactl::MediaCommands media_commands(app, data);
    loa::loactl::TextMediaCommands text_media_commands(media_commands.media(), data);
    loa::loactl::NodeCommands node_commands(node_cmd, data);
    loa::loactl::EnrollmentCommands enrollment_commands(node_cmd, data);
    loa::loactl::EmergencyCommands emergency_commands(app, data);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help exits 0; anything else is a bad command line: 2, as documented.
        return app.exit(e) == 0 ? 0 : 2;
    }
    loa::loactl::use_api(controller_url, data, ca_file, token);
    if (user_commands.parsed()) {
        return user_commands.run(json);
    }
    if (campaign_commands.parsed()) {
        return campaign_commands.run(json);
    }
    if (enrollment_commands.parsed()) {
        return enrollment_commands.run(json);
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

    // node add
    nlohmann::json body = {
        {"node", new_node.node_id}, {"kind", new_node.kind}, {"area", new_node.area_path}};
    if (!node_tz.empty()) {
        body["time_zone"] = node_tz;
    }
    return loa::loactl::run(
        loa::loactl::with_json({.method = "POST", .path = "/api/v1/nodes"}, body), json, "vi");
}
