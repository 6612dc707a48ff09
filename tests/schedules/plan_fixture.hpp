// Small plans built in code for the engine's tests: areas, windows, items and campaigns in a line.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "loa/schedules/plan.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::schedules::testing {

using namespace std::chrono_literals;

inline constexpr std::int64_t kSec = 1'000'000;

inline Date day(int y, unsigned m, unsigned d) {
    return Date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

/// UTC microseconds of a UTC date and time.
inline std::int64_t utc(Date d, int hour, int minute = 0, int second = 0) {
    const auto t = std::chrono::sys_days{d} + std::chrono::hours{hour} +
                   std::chrono::minutes{minute} + std::chrono::seconds{second};
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline Window window(std::string name, int start_h, int start_m, int end_h, int end_m) {
    Window w;
    w.name = std::move(name);
    w.start_minute = start_h * 60 + start_m;
    w.end_minute = end_h * 60 + end_m;
    return w;
}

inline Area area(std::string path, std::vector<Window> windows = {}) {
    Area a;
    a.path = std::move(path);
    a.name = a.path;
    if (!windows.empty()) {
        a.windows = std::move(windows);
    }
    return a;
}

inline Node speaker(std::string id, std::string area_path) {
    return Node{std::move(id), std::move(area_path), NodeKind::speaker, {}};
}

inline Item audio(std::string id, std::int64_t seconds, std::string language = "vi") {
    Item i;
    i.id = std::move(id);
    i.title = i.id;
    i.kind = ItemKind::audio;
    i.variants.push_back({std::move(language), "media-" + i.id, seconds * kSec});
    return i;
}

/// A campaign over [first, last] on `areas` with `items` and plays-per-day `plays`.
inline Campaign campaign(std::string id, std::vector<std::string> areas,
                         std::vector<std::string> items, Date first, Date last, int plays = 0) {
    Campaign c;
    c.id = std::move(id);
    c.title = c.id;
    c.areas = std::move(areas);
    c.items = std::move(items);
    c.period.first = first;
    c.period.last = last;
    c.quotas.plays_per_day = plays;
    return c;
}

/// Compiles or fails the test with the plan's problems.
inline CompiledPlan compile(const Plan& plan, Date from, int days) {
    PlanCompiler compiler;
    auto out = compiler.compile(plan, {from, days}, 1);
    if (!out) {
        std::string all;
        for (const auto& p : out.error()) {
            all += std::to_string(p.line) + ": " + p.what + "\n";
        }
        FAIL("plan problems:\n" << all);
    }
    return *out;
}

inline const Timeline& timeline_of(const CompiledPlan& out, const std::string& node) {
    return *out.timelines.at(out.node_timeline.at(node));
}

/// Plays of one campaign (first language version only unless `all_versions`).
inline std::vector<Play> plays_of(const Timeline& t, const std::string& campaign_id) {
    std::vector<Play> plays;
    for (const auto& p : t.plays) {
        if (p.campaign == campaign_id) {
            plays.push_back(p);
        }
    }
    return plays;
}

inline const QuotaOutcome* summary(const CompiledPlan& out, const std::string& campaign_id,
                                   const std::string& quota) {
    for (const auto& q : out.quotas) {
        if (q.campaign == campaign_id && q.quota == quota && q.scope == "all targeted nodes") {
            return &q;
        }
    }
    return nullptr;
}

inline std::vector<QuotaOutcome> details(const CompiledPlan& out, const std::string& campaign_id) {
    std::vector<QuotaOutcome> rows;
    for (const auto& q : out.quotas) {
        if (q.campaign == campaign_id && q.scope != "all targeted nodes") {
            rows.push_back(q);
        }
    }
    return rows;
}

/// No two plays of a timeline overlap.
inline bool no_overlap(const Timeline& t) {
    for (std::size_t i = 1; i < t.plays.size(); ++i) {
        if (t.plays[i].start_us < t.plays[i - 1].end_us) {
            return false;
        }
    }
    return true;
}

}  // namespace loa::schedules::testing
