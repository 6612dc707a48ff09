// loactl emergency send/cancel/list.
#include "loactl_emergency_commands.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/campaign_book.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/emergencies.hpp"
#include "loa/controller/media_library.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/scope_queries.hpp"
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

bool EmergencyCommands::allowed_targets(SQLite::Database& db, const lc::Principal& who,
                                        Change& change) const {
    // The media and the campaign must be the person's to use, as in campaign add.
    if (auto media = lc::find_media(db, media_); media && !lc::media_in_scope(*media, who.area)) {
        change.refused({lc::Error::Code::forbidden,
                        fmt::format("emergency: nội dung {} thuộc vùng {}, ngoài phạm vi của '{}' "
                                    "/ media {} belongs to {}, outside the scope of '{}'",
                                    media_.substr(0, 12), media->area_path, who.name,
                                    media_.substr(0, 12), media->area_path, who.name)});
        return false;
    }
    if (!campaign_.empty()) {
        auto campaign = lc::find_campaign(db, campaign_);
        if (campaign && !lc::campaign_in_scope(*campaign, who.area)) {
            change.refused({lc::Error::Code::forbidden,
                            fmt::format("emergency: chiến dịch '{}' ngoài phạm vi của '{}' / "
                                        "campaign '{}' is outside the scope of '{}'",
                                        campaign_, who.name, campaign_, who.name)});
            return false;
        }
    }
    if (all_) {
        change.set_area(std::string(lc::kEveryArea));
        return change.allowed(lc::Permission::emergency);
    }
    if (!area_.empty()) {
        change.set_area(area_);
        return change.allowed(lc::Permission::emergency);
    }
    std::vector<std::string> areas;
    for (const auto& id : nodes_) {
        auto node = lc::find_node(db, id);
        if (!node) {
            continue;  // send_emergency names unknown nodes
        }
        if (!change.allowed(lc::Permission::emergency, node->area_path)) {
            return false;
        }
        areas.push_back(node->area_path);
    }
    change.set_area(lc::scope_of(areas));
    return true;
}

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
    send_->add_option("--by", by_,
                      "on whose order, for the record (who sends it is the signed-in person)");
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
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "emergency.send");
    if (!who) {
        return 1;
    }
    spec.created_by = who->name;
    Change change(*db, *who, "emergency.send", media_, who->area);
    if (!allowed_targets(*db, *who, change)) {
        return 1;
    }
    nlohmann::json detail = {{"media", media_},
                             {"nodes", nodes_},
                             {"area", area_},
                             {"all", all_},
                             {"expires", lc::format_local(spec.expires_us)}};
    if (!by_.empty()) {
        detail["ordered_by"] = by_;
    }
    auto sent = lc::send_emergency(*db, spec, now);
    if (!sent) {
        return change.refused(sent.error(), detail);
    }
    change.set_target(sent->emergency_id);
    detail["nodes"] = sent->node_ids;
    detail["command_ids"] = sent->command_ids;
    change.done(detail);
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
    auto who = signed_in(*db, "emergency.cancel");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "emergency.cancel", emergency_id_, who->area);
    auto areas = lc::emergency_areas(*db, emergency_id_);
    if (!areas) {
        return change.refused(areas.error());
    }
    change.set_area(lc::scope_of(*areas));
    for (const auto& area : *areas) {
        if (!change.allowed(lc::Permission::emergency, area)) {
            return 1;
        }
    }
    auto cancelled = lc::cancel_emergency(*db, emergency_id_, lc::now_us());
    if (!cancelled) {
        return change.refused(cancelled.error());
    }
    change.done({{"nodes", cancelled->node_ids}, {"withdrawn", cancelled->withdrawn}});
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
    auto who = signed_in(*db, "emergency.list");
    if (!who) {
        return 1;
    }
    auto all = lc::list_emergencies(*db);
    if (!all) {
        return refused(all.error());
    }
    // Those that went to at least one node in the person's scope.
    std::vector<lc::EmergencyRecord> shown;
    for (auto& e : *all) {
        auto areas = lc::emergency_areas(*db, e.emergency_id);
        if (!areas) {
            return refused(areas.error());
        }
        if (std::any_of(areas->begin(), areas->end(),
                        [&](const std::string& a) { return lc::may_see(*who, a); })) {
            shown.push_back(std::move(e));
        }
    }
    *all = std::move(shown);
    return print_listing(json, lc::emergencies_json(*all), all->empty(),
                         lang_ == "vi" ? "Chưa có lệnh khẩn cấp nào." : "No emergencies yet.", [&] {
                             return lc::render_emergencies(*all, lc::now_us(), language(lang_));
                         });
}

}  // namespace loa::loactl
