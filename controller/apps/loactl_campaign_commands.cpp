// loactl campaign add/list and report airtime.
#include "loactl_campaign_commands.hpp"

#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/media_library.hpp"
#include "loa/controller/scope_queries.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : ", ") + p;
    }
    return out;
}

}  // namespace

CampaignCommands::CampaignCommands(CLI::App& app, const std::string& data) : data_(data) {
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
    add_lang(list_, lang_);

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
    return add_->parsed() || list_->parsed() || airtime_->parsed();
}

int CampaignCommands::run(bool json) const {
    if (add_->parsed()) {
        return add(json);
    }
    return list_->parsed() ? list(json) : airtime(json);
}

int CampaignCommands::add(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "campaign.book");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "campaign.book", spec_.campaign_id, lc::scope_of(spec_.areas));
    for (const auto& area : spec_.areas) {
        if (!change.allowed(lc::Permission::schedule, area)) {
            return 1;
        }
    }
    // Media imported in another area's subtree is not this person's to book.
    for (std::size_t i = 0; i < spec_.media_hashes.size(); ++i) {
        auto media = lc::find_media(*db, spec_.media_hashes[i]);
        if (media && !lc::media_in_scope(*media, who->area)) {
            return change.refused(
                {lc::Error::Code::forbidden,
                 fmt::format("campaign '{}': item {}: nội dung {} thuộc vùng {}, ngoài phạm vi "
                             "của '{}' / media {} belongs to {}, outside the scope of '{}'",
                             spec_.campaign_id, i + 1, media->media_hash.substr(0, 12),
                             media->area_path, who->name, media->media_hash.substr(0, 12),
                             media->area_path, who->name)});
        }
    }
    const std::int64_t now = lc::now_us();
    auto start = lc::parse_instant(start_text_, now);
    auto end = lc::parse_instant(end_text_, now, true);
    if (!start || !end) {
        return change.refused(!start ? start.error() : end.error());
    }
    lc::CampaignSpec spec = spec_;
    spec.window_start_us = *start;
    spec.window_end_us = *end;
    const nlohmann::json what = {{"areas", spec.areas},
                                 {"items", spec.media_hashes},
                                 {"start", lc::format_local(spec.window_start_us)},
                                 {"end", lc::format_local(spec.window_end_us)}};
    auto booked = lc::add_campaign(*db, spec, now);
    if (!booked) {
        return change.refused(booked.error(), what);
    }
    nlohmann::json detail = what;
    detail["slots_booked"] = booked->slots_booked;
    detail["nodes_targeted"] = booked->nodes_targeted;
    change.done(detail);
    if (json) {
        std::cout << nlohmann::json{{"campaign", spec.campaign_id},
                                    {"slots_booked", booked->slots_booked},
                                    {"nodes_targeted", booked->nodes_targeted},
                                    {"unplaced", booked->unplaced}}
                  << "\n";
        return 0;
    }
    fmt::print("campaign {}: {} plays booked on {} nodes\n", spec.campaign_id, booked->slots_booked,
               booked->nodes_targeted);
    for (const auto& u : booked->unplaced) {
        fmt::print("  not placed / không xếp được: {}\n", u);
    }
    return 0;
}

int CampaignCommands::list(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "campaign.list");
    if (!who) {
        return 1;
    }
    auto all = lc::list_campaigns(*db);
    if (!all) {
        return refused(all.error());
    }
    nlohmann::json out = nlohmann::json::array();
    std::vector<const lc::CampaignSpec*> shown;
    for (const auto& c : *all) {
        if (!lc::campaign_in_scope(c, who->area)) {
            continue;
        }
        shown.push_back(&c);
        out.push_back({{"campaign", c.campaign_id},
                       {"name", c.name},
                       {"owner", c.owner},
                       {"start", lc::format_local(c.window_start_us)},
                       {"end", lc::format_local(c.window_end_us)},
                       {"areas", c.areas},
                       {"items", c.media_hashes}});
    }
    const bool vi = lang_ == "vi";
    return print_listing(
        json, out, shown.empty(),
        vi ? "Không có chiến dịch nào trong phạm vi của bạn." : "No campaigns in your scope.", [&] {
            std::string text;
            for (const auto* c : shown) {
                text += fmt::format(fmt::runtime(vi ? "{}  {} → {}  {} nội dung  {}  «{}» ({})\n"
                                                    : "{}  {} → {}  {} items  {}  \"{}\" ({})\n"),
                                    c->campaign_id, lc::format_local(c->window_start_us),
                                    lc::format_local(c->window_end_us), c->media_hashes.size(),
                                    joined(c->areas), c->name, c->owner);
            }
            return text;
        });
}

int CampaignCommands::airtime(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "report.airtime");
    if (!who) {
        return 1;
    }
    lc::ReportQuery query = query_;
    if (!query.area.empty() && !may_read(*db, *who, query.area, "report.airtime")) {
        return 1;
    }
    if (query.area.empty() && who->area != lc::kEveryArea) {
        query.area = who->area;  // only the nodes this person may see
    }
    auto campaign = lc::find_campaign(*db, query.campaign_id);
    if (!campaign) {
        return refused(campaign.error());
    }
    if (!lc::campaign_in_scope(*campaign, who->area)) {
        may_read(*db, *who, lc::scope_of(campaign->areas), "report.airtime");
        return 1;
    }
    const std::int64_t now = lc::now_us();
    auto from = lc::parse_instant(from_text_, now);
    auto to = lc::parse_instant(to_text_, now, true);
    if (!from || !to) {
        return refused(!from ? from.error() : to.error());
    }
    query.from_us = *from;
    query.to_us = *to;
    query.now_us = now;
    auto by = lc::parse_grouping(by_text_);
    if (!by) {
        return refused(by.error());
    }
    query.by = *by;
    if (!level_text_.empty()) {
        if (level_text_.find_first_not_of("0123456789") == std::string::npos) {
            query.level = std::stoi(level_text_.substr(0, 4));
        } else {
            query.level_name = level_text_;
        }
    }
    auto report = lc::airtime_report(*db, query);
    if (!report) {
        return refused(report.error());
    }
    const auto lang = language(lang_);
    const std::string format = json ? "json" : format_;  // --json: a synonym of --format json
    if (format == "json") {
        std::cout << lc::to_json(*report, lang).dump(2) << "\n";
    } else if (format == "csv") {
        std::cout << lc::render_csv(*report, lang);
    } else if (format == "html") {
        std::cout << lc::render_html(*report, lang);
    } else {
        std::cout << lc::render_table(*report, lang);
    }
    return std::cout.good() ? 0 : 1;
}

}  // namespace loa::loactl
