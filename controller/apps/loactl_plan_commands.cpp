// loactl plan check/compile (local files), plan apply (through the API) and calendar conversions.
#include "loactl_plan_commands.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/plans/plan_compilation.hpp"
#include "loa/schedules/lunar_calendar.hpp"
#include "loactl_api.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;
namespace sch = loa::schedules;

namespace {

constexpr int kExitInvalid = 2;
constexpr int kExitUnmet = 3;

int invalid(const std::string& why) {
    std::cerr << "loactl: " << why << "\n";
    return kExitInvalid;
}

std::string lunar_text(const sch::LunarDate& d) {
    return fmt::format("{}/{}/{}{}", d.day, d.month, d.year, d.leap ? " (leap)" : "");
}

}  // namespace

PlanCommands::PlanCommands(CLI::App& app, const std::string& data) : data_(data) {
    plan_ = app.add_subcommand("plan", "broadcast plans: check quotas, compile timelines");
    plan_->require_subcommand(1);
    check_ = plan_->add_subcommand("check", "say whether every quota of a plan can be met");
    compile_ = plan_->add_subcommand("compile", "write a plan's timelines as JSON files");
    for (CLI::App* cmd : {check_, compile_}) {
        cmd->add_option("plan", plan_file_, "plan file (TOML, docs/plan-format.md)")->required();
        cmd->add_option("--from", from_, "first local date, YYYY-MM-DD")->required();
        cmd->add_option("--days", days_, "days in the horizon (default 7)")
            ->check(CLI::Range(1, 366));
    }
    apply_ = plan_->add_subcommand(
        "apply", "book a plan's timelines on the controller's nodes (replacing the last plan's)");
    apply_->add_option("plan", plan_file_, "plan file (TOML, docs/plan-format.md)")->required();
    apply_->add_option("--from", from_, "first local date, YYYY-MM-DD (default: today)");
    apply_->add_option("--days", days_, "days in the horizon (default 7)")
        ->check(CLI::Range(1, 366));
    apply_->add_flag("--accept-shortfall", accept_shortfall_,
                     "apply even when some quota cannot be met");
    for (CLI::App* cmd : {check_, apply_}) {
        cmd->add_option("--lang", lang_, "vi or en")->check(CLI::IsMember({"vi", "en"}));
    }
    compile_->add_option("--out", out_, "directory for the timeline files")->required();

    calendar_ = app.add_subcommand("calendar", "the Vietnamese lunar calendar (UTC+7)");
    calendar_->require_subcommand(1);
    to_solar_ = calendar_->add_subcommand("lunar-to-solar", "solar date of a lunar date");
    to_solar_->add_option("year", year_, "lunar year")->required();
    to_solar_->add_option("month", month_, "lunar month 1-12")->required();
    to_solar_->add_option("day", day_, "lunar day 1-30")->required();
    to_solar_->add_flag("--leap", leap_, "the leap (nhuận) month");
    to_lunar_ = calendar_->add_subcommand("solar-to-lunar", "lunar date of a solar date");
    to_lunar_->add_option("date", solar_, "YYYY-MM-DD")->required();
    events_ = calendar_->add_subcommand("events", "a plan's events and their solar dates");
    events_->add_option("--year", year_, "solar year")->required();
    events_->add_option("--plan", plan_file_, "plan file")->required();
}

bool PlanCommands::parsed() const {
    return plan_->parsed() || calendar_->parsed();
}

int PlanCommands::run(bool json) const {
    if (apply_->parsed()) {
        return apply(json);
    }
    if (check_->parsed() || compile_->parsed()) {
        return check_or_compile(json);
    }
    if (to_solar_->parsed()) {
        return lunar_to_solar(json);
    }
    if (to_lunar_->parsed()) {
        return solar_to_lunar(json);
    }
    return list_events(json);
}

int PlanCommands::check_or_compile(bool json) const {
    auto from = lc::parse_date(from_);
    if (!from) {
        return invalid("--from: " + from.error());
    }
    auto compiled = lc::compile_plan_file(plan_file_, *from, days_);
    if (!compiled) {
        for (const auto& problem : compiled.error()) {
            std::cerr << problem.text() << "\n";
        }
        return kExitInvalid;
    }
    if (compile_->parsed()) {
        if (auto written = lc::write_compiled_plan(*compiled, *from, days_, out_); !written) {
            std::cerr << "loactl: " << written.error() << "\n";
            return 1;
        }
    }
    if (json) {
        std::cout << lc::quota_report_json(*compiled).dump(2) << "\n";
    } else if (check_->parsed()) {
        std::cout << lc::render_quota_report(*compiled,
                                             lang_ == "en" ? lc::Language::en : lc::Language::vi);
    } else {
        fmt::print("{} timelines for {} nodes written to {} ({})\n", compiled->timelines.size(),
                   compiled->node_timeline.size(), out_,
                   compiled->feasible ? "every quota met" : "some quotas cannot be met");
    }
    return compiled->feasible ? 0 : kExitUnmet;
}

int PlanCommands::apply(bool json) const {
    std::ifstream in(plan_file_, std::ios::binary);
    if (!in) {
        return invalid(plan_file_ + ": không đọc được tệp / cannot read the file");
    }
    ApiCall call;
    call.method = "POST";
    call.path = "/api/v1/plans";
    call.body.assign(std::istreambuf_iterator<char>(in), {});
    call.content_type = "application/toml";
    call.query = {{"name", plan_file_}, {"days", std::to_string(days_)}};
    if (!from_.empty()) {
        call.query.emplace("from", from_);
    }
    if (accept_shortfall_) {
        call.query.emplace("accept_shortfall", "true");
    }
    if (!json) {
        call.query.emplace("format", "table");
        call.query.emplace("lang", lang_);
    }
    auto answer = send(call);
    if (!answer) {
        return 1;
    }
    // 409: not applied, some quota cannot be met; the body is the quota report.
    if (!answer->ok() && answer->status != 409) {
        std::cerr << answer->error_message() << "\n";
        return answer->status == 400 ? kExitInvalid : refusal_status(*answer);
    }
    std::cout << answer->body;
    return answer->status == 409 || answer->headers["X-Loa-Feasible"] != "true" ? kExitUnmet : 0;
}

int PlanCommands::lunar_to_solar(bool json) const {
    auto solar = sch::lunar_to_solar({year_, month_, day_, leap_});
    if (!solar) {
        return invalid(solar.error());
    }
    if (json) {
        std::cout << nlohmann::json{{"solar", lc::date_text(*solar)}} << "\n";
    } else {
        std::cout << lc::date_text(*solar) << "\n";
    }
    return 0;
}

int PlanCommands::solar_to_lunar(bool json) const {
    auto date = lc::parse_date(solar_);
    if (!date) {
        return invalid(date.error());
    }
    auto lunar = sch::solar_to_lunar(*date);
    if (!lunar) {
        return invalid(lunar.error());
    }
    if (json) {
        std::cout << nlohmann::json{{"year", lunar->year},
                                    {"month", lunar->month},
                                    {"day", lunar->day},
                                    {"leap", lunar->leap}}
                  << "\n";
    } else {
        std::cout << lunar_text(*lunar) << "\n";
    }
    return 0;
}

int PlanCommands::list_events(bool json) const {
    auto plan = lc::read_plan_file(plan_file_);
    if (!plan) {
        for (const auto& problem : plan.error()) {
            std::cerr << problem.text() << "\n";
        }
        return kExitInvalid;
    }
    if (year_ < sch::kFirstLunarYear || year_ >= sch::kLastLunarYear) {
        return invalid(fmt::format("--year {} is outside {}..{}", year_, sch::kFirstLunarYear,
                                   sch::kLastLunarYear - 1));
    }
    struct Row {
        sch::Date date;
        const sch::Event* event;
    };
    std::vector<Row> rows;
    const sch::Date first{std::chrono::year{year_}, std::chrono::January, std::chrono::day{1}};
    const sch::Date last{std::chrono::year{year_}, std::chrono::December, std::chrono::day{31}};
    for (const auto& event : plan->events) {
        for (sch::Date d : sch::event_dates(event, first, last)) {
            rows.push_back({d, &event});
        }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.date < b.date; });
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [date, event] : rows) {
        const std::string rule = event->lunar
                                     ? fmt::format("{}/{}{} âm lịch", event->day, event->month,
                                                   event->leap_month ? " nhuận" : "")
                                     : fmt::format("{}/{} dương lịch", event->day, event->month);
        if (json) {
            out.push_back({{"date", lc::date_text(date)},
                           {"event", event->id},
                           {"name", event->name},
                           {"lunar", event->lunar},
                           {"rule", rule}});
        } else {
            fmt::print("{}  {}  {} ({})\n", lc::date_text(date), event->id, event->name, rule);
        }
    }
    if (json) {
        std::cout << out.dump(2) << "\n";
    }
    return 0;
}

}  // namespace loa::loactl
