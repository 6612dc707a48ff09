// loactl node list/status/runway/gaps and the commands to nodes.
#include "loactl_node_commands.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/area_scope.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/fleet_view.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/node_status.hpp"
#include "loa/controller/scope_queries.hpp"
#include "loa/controller/sequence_gaps.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

lc::Error invalid(std::string why) {
    return {lc::Error::Code::invalid_input, std::move(why)};
}

/// Keeps the nodes whose area lies in `who`'s scope.
void in_scope_only(std::vector<lc::NodeStatus>& statuses, const lc::Principal& who) {
    std::erase_if(statuses,
                  [&](const lc::NodeStatus& s) { return !lc::may_see(who, s.area_path); });
}

}  // namespace

bool NodeCommands::allowed_on_node(SQLite::Database& db, Change& change) const {
    auto node = lc::find_node(db, node_);
    if (!node) {
        change.refused(node.error());
        return false;
    }
    change.set_area(node->area_path);
    return change.allowed(lc::Permission::command_nodes);
}

NodeCommands::NodeCommands(CLI::App* node, const std::string& data) : data_(data) {
    list_ = node->add_subcommand("list",
                                 "the nodes: online or not, last seen, agent, clock offset, "
                                 "runway, media missing for the next 24 h, last error");
    list_->add_flag("--offline", offline_only_,
                    "only nodes not heard for 3 heartbeat intervals (or never, or revoked)");
    list_->add_option("--runway-below", runway_below_,
                      "only nodes that could run alone for less than this (24h, 90m, 2d or a "
                      "number of hours), or never said");
    list_->add_option("--area", area_, "only nodes at or below this area");
    list_
        ->add_option("--heartbeat-ms", heartbeat_ms_,
                     "the controller's heartbeat interval (loa-controller --heartbeat-ms)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
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
    const bool vi = lang_ == "vi";
    lc::FleetFilter filter;
    filter.offline_only = offline_only_;
    filter.area = area_;
    std::vector<std::string> told;  // what the filters keep, for the line above the table
    if (offline_only_) {
        told.push_back(
            fmt::format(fmt::runtime(vi ? "mất liên lạc (không nghe thấy trong {:g} s)"
                                        : "offline (not heard for {:g} s)"),
                        static_cast<double>(lc::kOfflineAfterHeartbeats * heartbeat_ms_) / 1000.0));
    }
    if (!runway_below_.empty()) {
        auto hours = lc::parse_runway_hours(runway_below_);
        if (!hours) {
            return refused(invalid("--runway-below: " + hours.error().message));
        }
        filter.runway_below_hours = *hours;
        told.push_back(fmt::format(fmt::runtime(vi ? "tự chủ dưới {:g} giờ hoặc chưa báo cáo"
                                                   : "with less than {:g} hours of runway or "
                                                     "none reported"),
                                   *hours));
    }
    if (!area_.empty()) {
        if (auto why = lc::scope_problem(area_); !why.empty()) {
            return refused(invalid(fmt::format("--area '{}': {}", area_, why)));
        }
        told.push_back(fmt::format(fmt::runtime(vi ? "ở {}" : "in {}"), area_));
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.list");
    if (!who || (!area_.empty() && !may_read(*db, *who, area_, "node.list"))) {
        return 1;
    }
    const std::int64_t now = lc::now_us();
    auto fleet = lc::fleet_view(*db, now, heartbeat_ms_, filter);
    if (!fleet) {
        return refused(fleet.error());
    }
    std::erase_if(*fleet, [&](const lc::FleetNode& n) { return !lc::may_see(*who, n.area_path); });
    std::string heading;
    for (const auto& part : told) {
        heading += (heading.empty() ? "" : ", ") + part;
    }
    std::string empty =
        vi ? "Chưa có nút nào (loactl node add)." : "No nodes yet (loactl node add).";
    if (!told.empty()) {
        empty = fmt::format(fmt::runtime(vi ? "Không có nút nào {}." : "No node {}."), heading);
        heading = fmt::format(fmt::runtime(vi ? "Nút {}:\n\n" : "Nodes {}:\n\n"), heading);
    }
    return print_listing(json, lc::fleet_json(*fleet), fleet->empty(), empty,
                         [&] { return heading + lc::render_fleet(*fleet, now, language(lang_)); });
}

int NodeCommands::status(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.status");
    if (!who || (!node_.empty() && !may_read_node(*db, *who, node_, "node.status"))) {
        return 1;
    }
    auto statuses = lc::node_statuses(*db, node_);
    if (!statuses) {
        return refused(statuses.error());
    }
    in_scope_only(*statuses, *who);
    const std::int64_t now = lc::now_us();
    const auto warn_us = std::llround(offset_warn_ms_ * 1000);
    return print_listing(
        json, lc::node_status_json(*statuses, now, warn_us), statuses->empty(),
        lang_ == "vi" ? "Chưa có nút nào (loactl node add)." : "No nodes yet (loactl node add).",
        [&] { return lc::render_node_status(*statuses, now, warn_us, language(lang_)); });
}

int NodeCommands::runway(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.runway");
    if (!who) {
        return 1;
    }
    const std::int64_t now = lc::now_us();
    auto short_ones = lc::short_runway(*db, below_hours_, now);
    if (!short_ones) {
        return refused(short_ones.error());
    }
    in_scope_only(*short_ones, *who);
    if (json) {
        std::cout << lc::node_status_json(*short_ones, now, lc::kClockOffsetWarnUs).dump(2) << "\n";
        return 0;
    }
    const bool vi = lang_ == "vi";
    if (short_ones->empty()) {
        fmt::print(fmt::runtime(vi ? "Mọi nút tự chủ được ít nhất {} giờ với lịch và nội dung "
                                     "đã có.\n"
                                   : "Every node can run at least {} hours on the schedule and "
                                     "media it holds.\n"),
                   below_hours_);
        return 0;
    }
    fmt::print(fmt::runtime(vi ? "Nút tự chủ dưới {} giờ (hoặc chưa báo cáo), ngắn nhất trước:\n\n"
                               : "Nodes with less than {} hours of runway (or none reported), "
                                 "shortest first:\n\n"),
               below_hours_);
    std::cout << lc::render_runway(*short_ones, now, language(lang_));
    return 0;
}

int NodeCommands::gaps(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.gaps");
    if (!who || (!node_.empty() && !may_read_node(*db, *who, node_, "node.gaps"))) {
        return 1;
    }
    auto visible = lc::node_ids_in_scope(*db, who->area);
    if (!visible) {
        return refused(visible.error());
    }
    auto gaps = lc::sequence_gaps(*db, node_);
    if (!gaps) {
        return refused(gaps.error());
    }
    std::erase_if(*gaps, [&](const lc::SequenceGaps& g) { return !visible->contains(g.node_id); });
    if (json) {
        std::cout << lc::sequence_gaps_json(*gaps).dump(2) << "\n";
        return 0;
    }
    const bool vi = lang_ == "vi";
    if (gaps->empty()) {
        fmt::print("{}\n",
                   vi ? "Chưa có nút nào (loactl node add)." : "No nodes yet (loactl node add).");
        return 0;
    }
    fmt::print("{}\n\n",
               vi ? "Số thứ tự xác nhận phát theo nút. «Thiếu trong hồ sơ»: số dưới số cao nhất "
                    "đã nhận mà máy chủ chưa từng nhận (không cho biết lượt đó có phát hay "
                    "không). «Chưa báo cáo»: nút đã đánh số nhưng chưa gửi."
                  : "Confirmation sequence numbers per node. \"Missing from the record\": numbers "
                    "below the highest received that never arrived (this alone does not tell "
                    "whether those plays happened). \"Not yet reported\": numbered by the node, "
                    "not sent yet.");
    std::cout << lc::render_sequence_gaps(*gaps, language(lang_));
    return 0;
}

void NodeCommands::print_queued(const lc::CommandRecord& command, bool json) const {
    if (json) {
        std::cout << lc::commands_json({command})[0].dump(2) << "\n";
        return;
    }
    const bool vi = lang_ == "vi";
    fmt::print(fmt::runtime(vi ? "Lệnh {} cho nút {}: {}. Máy chủ gửi lệnh khi nút kết nối và "
                                 "nhắc lại đến khi nút trả lời.\n"
                               : "Command {} for node {}: {}. The controller sends it while the "
                                 "node is connected, again until the node answers.\n"),
               command.command_id, command.node_id,
               lc::command_summary(command.command, language(lang_)));
}

int NodeCommands::queue(bool json) const {
    wire::Command action;
    if (volume_->parsed()) {
        if (percent_ < 0 || percent_ > 100) {
            return refused(invalid(fmt::format(
                "command for node '{}': volume {} % is not within 0..100", node_, percent_)));
        }
        action.mutable_set_volume()->set_percent(static_cast<std::uint32_t>(percent_));
    } else if (amplifier_->parsed()) {
        action.mutable_set_amplifier()->set_on(on_off_ == "on");
    } else {
        action.mutable_restart();
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.command");
    if (!who) {
        return 1;
    }
    const std::string summary = lc::command_summary(action, lc::Language::en);
    Change change(*db, *who, "node.command", node_, who->area);
    if (!allowed_on_node(*db, change)) {
        return 1;
    }
    auto queued = lc::queue_command(*db, node_, std::move(action), lc::now_us());
    if (!queued) {
        return change.refused(queued.error(), {{"command", summary}});
    }
    change.done({{"command", summary}, {"command_id", queued->command_id}});
    print_queued(*queued, json);
    if (!json) {
        fmt::print(fmt::runtime(lang_ == "vi" ? "Xem kết quả: loactl node commands --node {}\n"
                                              : "Its answer: loactl node commands --node {}\n"),
                   node_);
    }
    return 0;
}

int NodeCommands::log(bool json) const {
    const bool vi = lang_ == "vi";
    if (command_id_ == 0 && (log_bytes_ <= 0 || log_bytes_ > lc::kMaxLogBytes)) {
        return refused(
            invalid(fmt::format("command for node '{}': a log of {} bytes: ask for 1 "
                                "to {} (1 MiB)",
                                node_, log_bytes_, lc::kMaxLogBytes)));
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.command");
    if (!who) {
        return 1;
    }
    std::uint64_t id = command_id_;
    if (id != 0 && !may_read_node(*db, *who, node_, "node.log")) {
        return 1;
    }
    if (id != 0) {
        auto earlier = lc::find_command(*db, id);
        if (!earlier) {
            return refused(earlier.error());
        }
        if (earlier->node_id != node_ || earlier->kind != "send-log") {
            return refused(
                invalid(fmt::format("command {} is not a log request to node '{}' "
                                    "(see loactl node commands --node {})",
                                    id, node_, node_)));
        }
    } else {
        wire::Command action;
        action.mutable_send_log()->set_max_bytes(static_cast<std::uint32_t>(log_bytes_));
        const std::string summary = lc::command_summary(action, lc::Language::en);
        Change change(*db, *who, "node.command", node_, who->area);
        if (!allowed_on_node(*db, change)) {
            return 1;
        }
        auto queued = lc::queue_command(*db, node_, std::move(action), lc::now_us());
        if (!queued) {
            return change.refused(queued.error(), {{"command", summary}});
        }
        change.done({{"command", summary}, {"command_id", queued->command_id}});
        id = queued->command_id;
        if (!json) {
            print_queued(*queued, false);
        }
    }
    // The daemon stores the node's answer in the database; look until it is there.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::llround(wait_s_ * 1e3));
    auto command = lc::find_command(*db, id);
    while (command && command->state == "pending" && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        command = lc::find_command(*db, id);
    }
    if (!command) {
        return refused(command.error());
    }
    if (json) {
        std::cout << lc::commands_json({*command})[0].dump(2) << "\n";
        return command->ok.value_or(true) ? 0 : 1;
    }
    if (!command->ok) {
        const std::string later =
            fmt::format("loactl node log {} --command {} [--wait 60]", node_, id);
        if (command->state == "pending") {
            fmt::print(fmt::runtime(vi ? "Nút {} chưa trả lời. Xem sau: {}\n"
                                       : "Node {} has not answered yet. Later: {}\n"),
                       node_, later);
        } else {
            fmt::print(fmt::runtime(vi ? "Lệnh {} không còn hiệu lực ({}): {}\n"
                                       : "Command {} is no longer in force ({}): {}\n"),
                       id, command->state, command->message);
        }
        return 0;
    }
    if (!*command->ok) {
        return refused(
            invalid(fmt::format("node '{}' could not send its log: {}", node_, command->message)));
    }
    std::cout << command->log_tail;
    if (!command->log_tail.empty() && command->log_tail.back() != '\n') {
        std::cout << "\n";
    }
    return 0;
}

int NodeCommands::commands(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "node.commands");
    if (!who || (!node_.empty() && !may_read_node(*db, *who, node_, "node.commands"))) {
        return 1;
    }
    auto visible = lc::node_ids_in_scope(*db, who->area);
    if (!visible) {
        return refused(visible.error());
    }
    auto all = lc::list_commands(*db, node_, pending_only_);
    if (!all) {
        return refused(all.error());
    }
    std::erase_if(*all, [&](const lc::CommandRecord& c) { return !visible->contains(c.node_id); });
    return print_listing(json, lc::commands_json(*all), all->empty(),
                         lang_ == "vi" ? "Không có lệnh nào." : "No commands.",
                         [&] { return lc::render_commands(*all, language(lang_)); });
}

}  // namespace loa::loactl
