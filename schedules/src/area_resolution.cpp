// Areas inherit time zone, languages, windows and caps from their ancestors.
#include <algorithm>
#include <stdexcept>

#include <date/tz.h>

#include "engine.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::schedules::detail {

namespace {

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

std::size_t depth_of(const std::string& path) {
    return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

const date::time_zone* find_zone(const std::string& name) {
    try {
        return date::locate_zone(name);
    } catch (const std::runtime_error&) {
        return nullptr;
    }
}

}  // namespace

std::map<std::string, ResolvedArea> resolve_areas(const Plan& plan,
                                                  std::vector<PlanProblem>& problems) {
    // Parents before children: sort by depth, keep declaration order within a depth.
    std::vector<const Area*> order;
    for (const auto& area : plan.areas) {
        order.push_back(&area);
    }
    std::stable_sort(order.begin(), order.end(), [](const Area* a, const Area* b) {
        return depth_of(a->path) < depth_of(b->path);
    });

    std::map<std::string, ResolvedArea> resolved;
    for (const Area* area : order) {
        auto where = [&](const std::string& why) {
            problems.push_back({area->origin.line, "area '" + area->path + "': " + why});
        };
        if (auto why = area_path_problem(area->path); !why.empty()) {
            where(why);
            continue;
        }
        if (resolved.contains(area->path)) {
            where("declared twice");
            continue;
        }
        ResolvedArea r;
        r.area = area;
        r.time_zone = kDefaultTimeZone;
        r.languages = {kDefaultLanguage};
        const std::string parent = parent_of(area->path);
        if (!parent.empty()) {
            auto up = resolved.find(parent);
            if (up == resolved.end()) {
                where("its parent area '" + parent + "' is not declared");
                continue;
            }
            r = up->second;
            r.area = area;
        }
        if (!area->time_zone.empty()) {
            r.time_zone = area->time_zone;
        }
        r.zone = find_zone(r.time_zone);
        if (r.zone == nullptr) {
            where("unknown time zone '" + r.time_zone + "' (an IANA name such as " +
                  kDefaultTimeZone + ")");
            continue;
        }
        if (!area->languages.empty()) {
            r.languages = area->languages;
        }
        if (area->windows) {
            r.windows = *area->windows;
        }
        if (area->sessions_per_day) {
            r.caps.sessions_per_day = *area->sessions_per_day;
        }
        if (area->minutes_per_session) {
            r.caps.minutes_per_session = *area->minutes_per_session;
        }
        if (area->days_per_week) {
            r.caps.days_per_week = *area->days_per_week;
        }
        resolved.emplace(area->path, std::move(r));
    }
    return resolved;
}

}  // namespace loa::schedules::detail
