// loactl campaign add/list/show/pause/resume and report airtime, as requests to the API.
#include "loactl_campaign_commands.hpp"

#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loactl_api.hpp"
#include "loactl_common.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

CampaignCommands::CampaignCommands(CLI::App& app, const std::string& /*data*/) {
    auto* campaign = app.add_subcommand("campaign", "information campaigns");
    campaign->require_subcommand(1);
    add_ = campaign->add_subcommand("add", "define a campaign and book its plays");
    add_->add_option("id", spec_.campaign_id, "campaign id, e.g. lao-dong-gioi-2025")->required();
    add_->add_option("--name", spec_.name, "name, e.g. \"Lao động giỏi\"")->required();
    add_->add_option("--owner", spec_.owner, "owner agency");
    add_->add_option("--item", spec_.media_hashes, "approved media hash, in play order")
        ->required();
    add_->add_option("--area", spec_.areas, "target area path")->required();
    add_->add_option("--start", start_text_, "window start (ISO 8601, date, now+20s)")->required();
    add_->add_option("--end", end_text_, "window end")->required();
    list_ = campaign->add_subcommand("list", "campaigns that play in your area scope");
    show_ = campaign->add_subcommand("show", "one campaign: window, areas, items, paused or not");
    pause_ = campaign->add_subcommand(
        "pause", "pause a campaign: its plays not yet started are taken back from the nodes");
    resume_ = campaign->add_subcommand("resume", "resume a paused campaign: its plays come back");
    for (CLI::App* cmd : {show_, pause_, resume_}) {
        cmd->add_option("id", spec_.campaign_id, "campaign id")->required();
    }
    for (CLI::App* cmd : {add_, list_, show_, pause_, resume_}) {
        add_lang(cmd, lang_);
    }

    auto* report = app.add_subcommand("report", "reports");
    report->require_subcommand(1);
    airtime_ = report->add_subcommand("airtime", "planned and confirmed airtime");
    airtime_->add_option("--campaign", query_.campaign_id, "campaign id")->required();
    airtime_->add_option("--area", query_.area, "only nodes in this area (default: your scope)");
    airtime_->add_option("--from", from_text_, "period start (date: its local midnight)")
        ->required();
    airtime_->add_option("--to", to_text_, "period end (date: the whole day included)")->required();
    airtime_->add_option("--by", by_text_, "rows: node, area (area-level), day, week or month")
        ->capture_default_str();
    airtime_->add_option("--level", level_text_,
                         "by area: the depth areas are cut at (vn is 1) or a level name of the "
                         "plans' areas (commune); default: one below --area");
    airtime_->add_option("--format", format_, "table, json, csv (UTF-8, BOM) or html (A4)")
        ->check(CLI::IsMember({"table", "json", "csv", "html"}))
        ->capture_default_str();
    add_lang(airtime_, lang_);
}

bool CampaignCommands::parsed() const {
    for (CLI::App* cmd : {add_, list_, show_, pause_, resume_, airtime_}) {
        if (cmd->parsed()) {
            return true;
        }
    }
    return false;
}

int CampaignCommands::run(bool json) const {
    if (add_->parsed()) {
        return add(json);
    }
    if (airtime_->parsed()) {
        return airtime(json);
    }
    ApiCall call;
    call.path = "/api/v1/campaigns";
    if (!list_->parsed()) {
        call.path += "/" + path_segment(spec_.campaign_id);
    }
    if (pause_->parsed() || resume_->parsed()) {
        call.method = "POST";
        call.path += pause_->parsed() ? "/pause" : "/resume";
    }
    return loactl::run(call, json, lang_);
}

int CampaignCommands::add(bool json) const {
    // A mistyped window is the command line's: said here, as the option it is. The controller
    // reads the texts itself, against its own clock.
    const std::int64_t now = lc::now_us();
    for (const auto& [option, text] : {std::pair{"--start", &start_text_}, {"--end", &end_text_}}) {
        if (auto at = lc::parse_instant(*text, now); !at) {
            std::cerr << "loactl: campaign add: " << option << ": " << at.error().message << "\n";
            return 1;
        }
    }
    ApiCall call{.method = "POST", .path = "/api/v1/campaigns"};
    return loactl::run(with_json(call, {{"campaign", spec_.campaign_id},
                                        {"name", spec_.name},
                                        {"owner", spec_.owner},
                                        {"items", spec_.media_hashes},
                                        {"areas", spec_.areas},
                                        {"start", start_text_},
                                        {"end", end_text_}}),
                       json, lang_);
}

int CampaignCommands::airtime(bool json) const {
    ApiCall call{.path = "/api/v1/reports/airtime"};
    call.query = {{"campaign", query_.campaign_id},
                  {"from", from_text_},
                  {"to", to_text_},
                  {"by", by_text_},
                  {"lang", lang_},
                  // --json: a synonym of --format json
                  {"format", json ? "json" : format_}};
    if (!query_.area.empty()) {
        call.query.emplace("area", query_.area);
    }
    if (!level_text_.empty()) {
        call.query.emplace("level", level_text_);
    }
    return print_answer(send(call));
}

}  // namespace loa::loactl
