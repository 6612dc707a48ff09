// loactl plan check/compile and calendar conversions.
#include "loactl_plan_commands.hpp"

#include <algorithm>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/database.hpp"
#include "loa/controller/plan_booking.hpp"
#include "loa/controller/plan_compilation.hpp"
#include "loa/controller/scope_queries.hpp"
#include "loa/controller/time_text.hpp"
#include "loa/schedules/lunar_calendar.hpp"
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
    const std::int64_t now = lc::now_us();
    sch::Date from = lc::vietnam_date(now);
    if (!from_.empty()) {
        auto given = lc::parse_date(from_);
        if (!given) {
            return invalid("--from: " + given.error());
        }
        from = *given;
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "plan.apply");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "plan.apply", plan_file_, who->area);
    if (!change.allowed(lc::Permission::schedule)) {
        return 1;
    }
    // Every area the plan changes must lie in the person's scope; the log files it there.
    std::vector<std::string> touched;
    auto may_touch = [&](std::string_view area) -> lc::Result<void> {
        touched.emplace_back(area);
        return lc::authorize(*who, lc::Permission::schedule, area);
    };
    auto applied =
        lc::apply_plan(*db, plan_file_, from, days_, now, accept_shortfall_, {}, may_touch);
    change.set_area(lc::scope_of(touched));
    const nlohmann::json what = {{"from", lc::date_text(from)}, {"days", days_}};
    if (!applied) {
        change.log_refusal(applied.error().message, what);
        std::cerr << applied.error().message << "\n";
        return applied.error().code == lc::Error::Code::invalid_input ? kExitInvalid : 1;
    }
    if (!applied->applied) {
        change.log_refusal("some quotas cannot be met (--accept-shortfall not given)", what);
    } else {
        nlohmann::json detail = what;
        detail["plan_id"] = applied->plan_id;
        detail["slots_booked"] = applied->slots_booked;
        detail["slots_replaced"] = applied->slots_replaced;
        detail["feasible"] = applied->compiled.feasible;
        change.done(detail);
    }
    const auto language = lang_ == "en" ? lc::Language::en : lc::Language::vi;
    if (json) {
        auto out = lc::quota_report_json(applied->compiled);
        out["applied"] = applied->applied;
        out["plan_id"] = applied->plan_id;
        out["slots_booked"] = applied->slots_booked;
        out["slots_replaced"] = applied->slots_replaced;
        out["nodes_registered"] = applied->nodes_registered;
        out["notes"] = applied->notes;
        std::cout << out.dump(2) << "\n";
    } else {
        std::cout << lc::render_quota_report(applied->compiled, language) << "\n";
        const bool vi = language == lc::Language::vi;
        if (applied->applied) {
            fmt::print(
                fmt::runtime(vi ? "Đã áp dụng kế hoạch #{}: {} lượt phát được xếp, {} lượt của "
                                  "kế hoạch trước được thu hồi, {} nút mới đăng ký.\n"
                                : "Plan #{} applied: {} plays booked, {} plays of the "
                                  "previous plan taken back, {} new nodes registered.\n"),
                applied->plan_id, applied->slots_booked, applied->slots_replaced,
                applied->nodes_registered);
        } else {
            std::cout << (vi ? "Kế hoạch KHÔNG được áp dụng: có chỉ tiêu không đáp ứng được "
                               "(dùng --accept-shortfall để vẫn áp dụng).\n"
                             : "The plan was NOT applied: some quotas cannot be met "
                               "(--accept-shortfall applies it anyway).\n");
        }
        for (const auto& note : applied->notes) {
            std::cout << note << "\n";
        }
    }
    if (!applied->applied) {
        return kExitUnmet;
    }
    return applied->compiled.feasible ? 0 : kExitUnmet;
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
