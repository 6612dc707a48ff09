// loactl emergency send/cancel/list.
#include "loactl_emergency_commands.hpp"

#include <cstdlib>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/database.hpp"
#include "loa/controller/emergencies.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

/// "a, b, c" with at most `shown` names, then how many more.
std::string names(const std::vector<std::string>& ids, std::size_t shown = 8) {
    std::string out;
    for (std::size_t i = 0; i < ids.size() && i < shown; ++i) {
        out += (i ? ", " : "") + ids[i];
    }
    if (ids.size() > shown) {
        out += fmt::format(", … (+{})", ids.size() - shown);
    }
    return out;
}

}  // namespace

EmergencyCommands::EmergencyCommands(CLI::App& app, const std::string& data) : data_(data) {
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
    send_->add_option("--by", by_, "who sends it (default: $USER)");
    cancel_ =
        emergency_->add_subcommand("cancel", "stop an emergency on every node it was sent to");
    cancel_->add_option("id", emergency_id_, "emergency id, e.g. kc-20261124-053000")->required();
    list_ = emergency_->add_subcommand("list", "emergencies and how their nodes answered");
    for (CLI::App* cmd : {send_, cancel_, list_}) {
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
    return cancel_->parsed() ? cancel(json) : list(json);
}

int EmergencyCommands::send(bool json) const {
    const std::int64_t now = lc::now_us();
    if (repeat_ < 0) {
        return refused(
            {lc::Error::Code::invalid_input,
             fmt::format("emergency: repeat {}: an emergency plays at least once", repeat_)});
    }
    auto expires = lc::parse_instant(expires_, now);
    if (!expires) {
        return refused(
            {lc::Error::Code::invalid_input, "emergency: --expires: " + expires.error().message});
    }
    lc::EmergencySpec spec;
    spec.media_hash = media_;
    spec.node_ids = nodes_;
    spec.area = area_;
    spec.all = all_;
    spec.repeat = static_cast<std::uint32_t>(repeat_);
    spec.until_expiry = until_expiry_;
    spec.expires_us = *expires / 1'000'000 * 1'000'000;  // "now+1h" to the second, as shown
    spec.title = title_;
    spec.campaign_id = campaign_;
    spec.created_by = by_.empty() && std::getenv("USER") ? std::getenv("USER") : by_;
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto sent = lc::send_emergency(*db, spec, now);
    if (!sent) {
        return refused(sent.error());
    }
    if (json) {
        std::cout << nlohmann::json{{"emergency_id", sent->emergency_id},
                                    {"nodes", sent->node_ids},
                                    {"command_ids", sent->command_ids},
                                    {"left_out", sent->left_out},
                                    {"expires", lc::format_local(spec.expires_us)}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    const bool vi = lang_ == "vi";
    const std::string plays =
        until_expiry_
            ? (vi ? "phát lặp lại đến khi hết hạn" : "played again and again until it expires")
            : fmt::format(fmt::runtime(vi ? "phát {} lần" : "{} play(s)"), repeat_);
    fmt::print(fmt::runtime(vi ? "Khẩn cấp {} gửi tới {} nút ({}): {}, hết hạn {}.\n"
                                 "Máy chủ gửi ngay tới các nút đang kết nối; huỷ: loactl "
                                 "emergency cancel {}\n"
                               : "Emergency {} queued for {} node(s) ({}): {}, expires {}.\n"
                                 "The controller sends it at once to connected nodes; to cancel: "
                                 "loactl emergency cancel {}\n"),
               sent->emergency_id, sent->node_ids.size(), names(sent->node_ids), plays,
               lc::format_local(spec.expires_us), sent->emergency_id);
    if (!sent->left_out.empty()) {
        fmt::print(fmt::runtime(vi ? "Không gửi tới {} nút loại khác, không phát được nội dung "
                                     "này: {}\n"
                                   : "Not sent to {} node(s) of the other kind, which cannot "
                                     "play this media: {}\n"),
                   sent->left_out.size(), names(sent->left_out));
    }
    return 0;
}

int EmergencyCommands::cancel(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto cancelled = lc::cancel_emergency(*db, emergency_id_, lc::now_us());
    if (!cancelled) {
        return refused(cancelled.error());
    }
    if (json) {
        std::cout << nlohmann::json{{"emergency_id", cancelled->emergency_id},
                                    {"nodes", cancelled->node_ids},
                                    {"command_ids", cancelled->command_ids},
                                    {"withdrawn", cancelled->withdrawn}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    fmt::print(
        fmt::runtime(lang_ == "vi" ? "Huỷ khẩn cấp {}: lệnh huỷ gửi tới {} nút ({}); {} lệnh khẩn "
                                     "cấp chưa được trả lời đã rút lại.\n"
                                   : "Emergency {} cancelled: a cancel goes to {} node(s) ({}); {} "
                                     "unanswered emergency command(s) withdrawn.\n"),
        cancelled->emergency_id, cancelled->node_ids.size(), names(cancelled->node_ids),
        cancelled->withdrawn);
    return 0;
}

int EmergencyCommands::list(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto all = lc::list_emergencies(*db);
    if (!all) {
        return refused(all.error());
    }
    return print_listing(json, lc::emergencies_json(*all), all->empty(),
                         lang_ == "vi" ? "Chưa có lệnh khẩn cấp nào." : "No emergencies yet.", [&] {
                             return lc::render_emergencies(*all, lc::now_us(), language(lang_));
                         });
}

}  // namespace loa::loactl
