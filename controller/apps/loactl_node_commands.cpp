// loactl node list/status/runway/gaps and the commands to nodes, as requests to the API.
#include "loactl_node_commands.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loactl_api.hpp"
#include "loactl_common.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

lc::Error invalid(std::string why) {
    return {lc::Error::Code::invalid_input, std::move(why)};
}

/// "/api/v1/nodes/{node}" and what follows it.
std::string node_path(const std::string& node, std::string_view rest = {}) {
    return "/api/v1/nodes/" + path_segment(node) + std::string(rest);
}

/// A number as a query parameter: "48", "1.5".
std::string number_text(double value) {
    return fmt::format("{}", value);
}

}  // namespace

NodeCommands::NodeCommands(CLI::App* node, const std::string& /*data*/) {
    list_ = node->add_subcommand("list",
                                 "the nodes: online or not, last seen, agent, clock offset, "
                                 "runway, media missing for the next 24 h, last error");
    list_->add_flag("--offline", offline_only_,
                    "only nodes not heard for 3 heartbeat intervals (or never, or revoked)");
    list_->add_option("--runway-below", runway_below_,
                      "only nodes that could run alone for less than this (24h, 90m, 2d or a "
                      "number of hours), or never said");
    list_->add_option("--area", area_, "only nodes at or below this area");
    heartbeat_option_ =
        list_
            ->add_option("--heartbeat-ms", heartbeat_ms_,
                         "the controller's heartbeat interval (loa-controller --heartbeat-ms; "
                         "default: the interval the controller was started with)")
            ->check(CLI::PositiveNumber);
    status_ = node->add_subcommand(
        "status", "what each node last said of itself: state, volume, storage, link, clock");
    status_->add_option("--node", node_, "only this node");
    status_
        ->add_option("--offset-warn-ms", offset_warn_ms_,
                     "mark clocks further than this from the controller's (ms)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    runway_ = node->add_subcommand(
        "runway", "nodes whose cached schedule and media run out within HOURS, or unknown");
    runway_->add_option("--below", below_hours_, "hours")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    gaps_ = node->add_subcommand(
        "gaps", "confirmation numbers missing from the record, and not yet reported, per node");
    gaps_->add_option("--node", node_, "only this node");

    volume_ = node->add_subcommand("volume", "set a node's volume (0..100 %)");
    volume_->add_option("node", node_, "node id")->required();
    volume_->add_option("percent", percent_, "0..100")->required();
    amplifier_ = node->add_subcommand("amplifier", "switch a node's amplifier on or off");
    amplifier_->add_option("node", node_, "node id")->required();
    amplifier_->add_option("state", on_off_, "on or off")
        ->required()
        ->check(CLI::IsMember({"on", "off"}));
    restart_ = node->add_subcommand("restart", "restart a node's agent");
    restart_->add_option("node", node_, "node id")->required();
    log_ = node->add_subcommand("log", "ask a node for the end of its log, and show it");
    log_->add_option("node", node_, "node id")->required();
    log_->add_option("--bytes", log_bytes_, "the newest N bytes (at most 1 MiB)")
        ->capture_default_str();
    log_->add_option("--wait", wait_s_, "wait this many seconds for the node's answer")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    log_->add_option("--command", command_id_,
                     "show the answer to an earlier log request instead of asking again");
    commands_ = node->add_subcommand("commands", "commands sent to nodes and their answers");
    commands_->add_option("--node", node_, "only this node");
    commands_->add_flag("--pending", pending_only_, "only those not answered yet");
    for (CLI::App* cmd :
         {list_, status_, runway_, gaps_, volume_, amplifier_, restart_, log_, commands_}) {
        add_lang(cmd, lang_);
    }
}

bool NodeCommands::parsed() const {
    for (CLI::App* cmd :
         {list_, status_, runway_, gaps_, volume_, amplifier_, restart_, log_, commands_}) {
        if (cmd->parsed()) {
            return true;
        }
    }
    return false;
}

int NodeCommands::run(bool json) const {
    if (list_->parsed()) {
        return list(json);
    }
    if (status_->parsed()) {
        return status(json);
    }
    if (runway_->parsed()) {
        return runway(json);
    }
    if (gaps_->parsed()) {
        return gaps(json);
    }
    if (log_->parsed()) {
        return log(json);
    }
    if (commands_->parsed()) {
        return commands(json);
    }
    return queue(json);
}

int NodeCommands::list(bool json) const {
    // Mistyped options are the command line's: said here, as the options they are. The
    // controller checks them again, and the person's scope.
    ApiCall call{"GET", "/api/v1/nodes"};
    if (offline_only_) {
        call.query.emplace("offline", "true");
    }
    if (!runway_below_.empty()) {
        if (auto hours = lc::parse_runway_hours(runway_below_); !hours) {
            return refused(invalid("--runway-below: " + hours.error().message));
        }
        call.query.emplace("runway_below", runway_below_);
    }
    if (!area_.empty()) {
        if (auto why = lc::scope_problem(area_); !why.empty()) {
            return refused(invalid(fmt::format("--area '{}': {}", area_, why)));
        }
        call.query.emplace("area", area_);
    }
    if (heartbeat_option_->count() > 0) {
        call.query.emplace("heartbeat_ms", std::to_string(heartbeat_ms_));
    }
    return loactl::run(call, json, lang_);
}

int NodeCommands::status(bool json) const {
    ApiCall call{"GET", "/api/v1/node-status"};
    if (!node_.empty()) {
        call.query.emplace("node", node_);
    }
    call.query.emplace("offset_warn_ms", number_text(offset_warn_ms_));
    return loactl::run(call, json, lang_);
}

int NodeCommands::runway(bool json) const {
    ApiCall call{"GET", "/api/v1/node-runway"};
    call.query.emplace("below_hours", number_text(below_hours_));
    return loactl::run(call, json, lang_);
}

int NodeCommands::gaps(bool json) const {
    ApiCall call{"GET", "/api/v1/node-gaps"};
    if (!node_.empty()) {
        call.query.emplace("node", node_);
    }
    return loactl::run(call, json, lang_);
}

int NodeCommands::queue(bool json) const {
    nlohmann::json action;
    if (volume_->parsed()) {
        action["volume"] = percent_;
    } else if (amplifier_->parsed()) {
        action["amplifier"] = on_off_;
    } else {
        action["restart"] = true;
    }
    return loactl::run(with_json({"POST", node_path(node_, "/commands")}, action), json, lang_);
}

int NodeCommands::log(bool json) const {
    const bool vi = lang_ == "vi";
    std::uint64_t id = command_id_;
    if (id != 0) {
        auto earlier = send({"GET", fmt::format("/api/v1/commands/{}", id)});
        if (!earlier) {
            return 1;
        }
        if (!earlier->ok()) {
            return print_refusal(*earlier);
        }
        const auto command = nlohmann::json::parse(earlier->body, nullptr, false);
        if (!command.is_object() || command.value("node", "") != node_ ||
            command.value("kind", "") != "send-log") {
            return refused(
                invalid(fmt::format("lệnh {} không phải yêu cầu nhật ký gửi nút '{}' (xem loactl "
                                    "node commands --node {}) / command {} is not a log request "
                                    "to node '{}' (see loactl node commands --node {})",
                                    id, node_, node_, id, node_, node_)));
        }
    } else {
        ApiCall call =
            with_json({"POST", node_path(node_, "/commands")}, {{"send_log", log_bytes_}});
        if (!json) {
            call.query.emplace("format", "table");
            call.query.emplace("lang", lang_);
        }
        auto queued = send(call);
        if (!queued) {
            return 1;
        }
        if (!queued->ok()) {
            return print_refusal(*queued);
        }
        // Where to follow the command: the Location of the 201.
        auto location = queued->headers.find("Location");
        const std::string prefix = "/api/v1/commands/";
        if (location != queued->headers.end() && location->second.starts_with(prefix)) {
            id = std::stoull(location->second.substr(prefix.size()));
        }
        if (id == 0) {
            return refused({lc::Error::Code::storage,
                            "bộ điều khiển không cho biết mã lệnh / the controller did not say "
                            "the command's id (no Location header)"});
        }
        if (!json) {
            std::cout << queued->body;
        }
    }
    // The daemon stores the node's answer in the database; look until it is there.
    const ApiCall look{"GET", fmt::format("/api/v1/commands/{}", id)};
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::llround(wait_s_ * 1e3));
    std::optional<ApiAnswer> answer = send(look);
    nlohmann::json command;
    while (true) {
        if (!answer) {
            return 1;
        }
        if (!answer->ok()) {
            return print_refusal(*answer);
        }
        command = nlohmann::json::parse(answer->body, nullptr, false);
        if (!command.is_object()) {
            return refused({lc::Error::Code::storage,
                            fmt::format("lệnh {}: câu trả lời không phải JSON / command {}: the "
                                        "answer is not JSON",
                                        id, id)});
        }
        if (command.value("state", "") != "pending" ||
            std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        answer = send(look);
    }
    const nlohmann::json ok = command.value("ok", nlohmann::json());
    if (json) {
        std::cout << answer->body;
        return ok == false ? 1 : 0;
    }
    if (ok.is_null()) {
        const std::string later =
            fmt::format("loactl node log {} --command {} [--wait 60]", node_, id);
        if (command.value("state", "") == "pending") {
            fmt::print(fmt::runtime(vi ? "Nút {} chưa trả lời. Xem sau: {}\n"
                                       : "Node {} has not answered yet. Later: {}\n"),
                       node_, later);
        } else {
            fmt::print(fmt::runtime(vi ? "Lệnh {} không còn hiệu lực ({}): {}\n"
                                       : "Command {} is no longer in force ({}): {}\n"),
                       id, command.value("state", ""), command.value("message", ""));
        }
        return 0;
    }
    if (ok == false) {
        return refused(invalid(
            fmt::format("nút '{}' không gửi được nhật ký: {} / node '{}' could "
                        "not send its log: {}",
                        node_, command.value("message", ""), node_, command.value("message", ""))));
    }
    const std::string tail = command.value("log_tail", "");
    std::cout << tail;
    if (!tail.empty() && tail.back() != '\n') {
        std::cout << "\n";
    }
    return 0;
}

int NodeCommands::commands(bool json) const {
    ApiCall call{"GET", "/api/v1/commands"};
    if (!node_.empty()) {
        call.query.emplace("node", node_);
    }
    if (pending_only_) {
        call.query.emplace("pending", "true");
    }
    return loactl::run(call, json, lang_);
}

}  // namespace loa::loactl
