// loactl emergency send/cancel/list/status, as requests to the API.
#include "loactl_emergency_commands.hpp"

#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loactl_api.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

EmergencyCommands::EmergencyCommands(CLI::App& app, const std::string& /*data*/) {
    emergency_ = app.add_subcommand(
        "emergency", "emergencies (khẩn cấp): play at once on chosen nodes, pre-empting");
    emergency_->require_subcommand(1);
    send_ = emergency_->add_subcommand("send", "play a bulletin at once on chosen nodes");
    send_->add_option("--media", media_, "media hash (loactl media list)")->required();
    auto* nodes = send_->add_option("--nodes", nodes_, "these nodes, e.g. ta-van-01,ta-van-02")
                      ->delimiter(',');
    auto* area = send_->add_option("--area", area_, "every node in this area that can play it");
    auto* all = send_->add_flag("--all", all_, "every node that can play it");
    nodes->excludes(area)->excludes(all);
    area->excludes(all);
    auto* repeat =
        send_->add_option("--repeat", repeat_, "plays (default 1)")->capture_default_str();
    send_->add_flag("--until-expiry", until_expiry_, "play again and again until it expires")
        ->excludes(repeat);
    send_->add_option("--expires", expires_, "no play starts after this (ISO 8601, now+30m)")
        ->capture_default_str();
    send_->add_option("--title", title_, "title shown to operators (default: the media's)");
    send_->add_option("--campaign", campaign_, "count its plays as this campaign's airtime");
    send_->add_option("--by", by_,
                      "on whose order, for the record (who sends it is the signed-in person)");
    cancel_ =
        emergency_->add_subcommand("cancel", "stop an emergency on every node it was sent to");
    list_ = emergency_->add_subcommand("list", "emergencies and how their nodes answered");
    status_ = emergency_->add_subcommand("status", "how each node answered one emergency");
    for (CLI::App* cmd : {cancel_, status_}) {
        cmd->add_option("id", emergency_id_, "emergency id, e.g. kc-20261124-053000")->required();
    }
    for (CLI::App* cmd : {send_, cancel_, list_, status_}) {
        cmd->add_option("--lang", lang_, "vi or en")
            ->check(CLI::IsMember({"vi", "en"}))
            ->capture_default_str();
    }
}

bool EmergencyCommands::parsed() const {
    return emergency_->parsed();
}

int EmergencyCommands::run(bool json) const {
    if (send_->parsed()) {
        return send(json);
    }
    ApiCall call;
    call.path = "/api/v1/emergencies";
    if (cancel_->parsed()) {
        call.method = "POST";
        call.path += "/" + path_segment(emergency_id_) + "/cancel";
    } else if (status_->parsed()) {
        call.path += "/" + path_segment(emergency_id_);
    }
    return loactl::run(call, json, lang_);
}

int EmergencyCommands::send(bool json) const {
    // A mistyped --expires is the command line's: said here, as the option it is. The controller
    // reads the text itself, against its own clock.
    if (auto expires = lc::parse_instant(expires_, lc::now_us()); !expires) {
        std::cerr << "loactl: emergency: --expires: " << expires.error().message << "\n";
        return 1;
    }
    nlohmann::json body = {{"media", media_},
                           {"repeat", repeat_},
                           {"until_expiry", until_expiry_},
                           {"expires", expires_}};
    if (!nodes_.empty()) {
        body["nodes"] = nodes_;
    }
    if (!area_.empty()) {
        body["area"] = area_;
    }
    if (all_) {
        body["all"] = true;
    }
    if (!title_.empty()) {
        body["title"] = title_;
    }
    if (!campaign_.empty()) {
        body["campaign"] = campaign_;
    }
    if (!by_.empty()) {
        body["ordered_by"] = by_;
    }
    ApiCall call;
    call.method = "POST";
    call.path = "/api/v1/emergencies";
    return loactl::run(with_json(call, body), json, lang_);
}

}  // namespace loa::loactl
