// Checking a plan before it is scheduled: every problem with where it was declared and why.
#include <algorithm>
#include <cmath>
#include <set>

#include "engine.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::schedules {

bool can_play(NodeKind node, ItemKind item) {
    switch (node) {
        case NodeKind::speaker:
            return item == ItemKind::audio || item == ItemKind::relay;
        case NodeKind::panel:
            return item == ItemKind::slide || item == ItemKind::video;
    }
    return false;
}

namespace {

const char* kind_name(NodeKind kind) {
    return kind == NodeKind::speaker ? "speaker" : "panel";
}

const char* kind_name(ItemKind kind) {
    switch (kind) {
        case ItemKind::audio:
            return "audio";
        case ItemKind::slide:
            return "slide";
        case ItemKind::video:
            return "video";
        case ItemKind::relay:
            return "relay";
    }
    return "?";
}

class PlanChecker {
  public:
    explicit PlanChecker(const Plan& plan) : plan_(plan) {}

    std::vector<PlanProblem> run() {
        areas_ = detail::resolve_areas(plan_, problems_);
        for (const auto& area : plan_.areas) {
            check_windows(area);
        }
        check_nodes();
        check_items();
        check_events();
        check_campaigns();
        std::stable_sort(
            problems_.begin(), problems_.end(),
            [](const PlanProblem& a, const PlanProblem& b) { return a.line < b.line; });
        return std::move(problems_);
    }

  private:
    const Plan& plan_;
    std::vector<PlanProblem> problems_;
    std::map<std::string, detail::ResolvedArea> areas_;
    std::map<std::string, const Item*> items_;
    std::set<std::string> events_;

    void problem(const Origin& origin, std::string what) {
        problems_.push_back({origin.line, std::move(what)});
    }

    void check_windows(const Area& area) {
        if (!area.windows) {
            return;
        }
        const std::string who = "area '" + area.path + "' window '";
        std::set<std::string> names;
        for (const auto& w : *area.windows) {
            const std::string me = who + w.name + "': ";
            if (w.name.empty()) {
                problem(w.origin, "area '" + area.path + "': a window needs a name");
            } else if (!names.insert(w.name).second) {
                problem(w.origin, me + "two windows have this name");
            }
            if (w.start_minute < 0 || w.start_minute >= 24 * 60 || w.end_minute > 24 * 60) {
                problem(w.origin, me + "times must be between 00:00 and 24:00");
            } else if (w.end_minute <= w.start_minute) {
                problem(w.origin, me + "it ends before it starts (windows cannot cross midnight)");
            }
            if ((w.weekdays & 0x7f) == 0) {
                problem(w.origin, me + "it has no weekday");
            }
            if (w.first_date && w.last_date && *w.last_date < *w.first_date) {
                problem(w.origin, me + "its last date is before its first date");
            }
        }
        for (std::size_t i = 0; i < area.windows->size(); ++i) {
            for (std::size_t j = i + 1; j < area.windows->size(); ++j) {
                const Window& a = (*area.windows)[i];
                const Window& b = (*area.windows)[j];
                if ((a.weekdays & b.weekdays) != 0 && a.start_minute < b.end_minute &&
                    b.start_minute < a.end_minute && a.kinds == b.kinds) {
                    problem(b.origin, who + b.name + "': it overlaps window '" + a.name +
                                          "' on a common weekday");
                }
            }
        }
        for (const auto& [value, what] :
             {std::pair{area.sessions_per_day, "sessions_per_day"},
              std::pair{area.minutes_per_session, "minutes_per_session"},
              std::pair{area.days_per_week, "days_per_week"}}) {
            if (value && *value < 0) {
                problem(area.origin, "area '" + area.path + "': " + what + " cannot be negative");
            }
        }
        if (area.days_per_week && *area.days_per_week > 7) {
            problem(area.origin, "area '" + area.path + "': days_per_week is at most 7");
        }
    }

    void check_nodes() {
        std::set<std::string> ids;
        for (const auto& node : plan_.nodes) {
            const std::string me = "node '" + node.id + "': ";
            if (node.id.empty()) {
                problem(node.origin, "a node needs an id");
            } else if (!ids.insert(node.id).second) {
                problem(node.origin, me + "declared twice");
            }
            if (!areas_.contains(node.area)) {
                problem(node.origin, me + "unknown area '" + node.area + "'");
            }
        }
    }

    void check_items() {
        for (const auto& item : plan_.items) {
            const std::string me = "item '" + item.id + "': ";
            if (item.id.empty()) {
                problem(item.origin, "an item needs an id");
            } else if (!items_.emplace(item.id, &item).second) {
                problem(item.origin, me + "declared twice");
            }
            if (item.variants.empty()) {
                problem(item.origin, me + "it has no media (a duration and a language at least)");
            }
            std::set<std::string> languages;
            for (const auto& v : item.variants) {
                if (v.duration_us <= 0) {
                    problem(item.origin,
                            me + "the '" + v.language + "' version needs a duration above zero");
                }
                if (v.language.empty()) {
                    problem(item.origin, me + "every version needs a language");
                } else if (!languages.insert(v.language).second) {
                    problem(item.origin, me + "two versions in language '" + v.language + "'");
                }
            }
            if (item.kind == ItemKind::relay) {
                if (item.relay_url.empty()) {
                    problem(item.origin, me + "a relay needs the url of its upstream stream");
                }
                if (item.relay_start_minute < 0 || item.relay_start_minute >= 24 * 60) {
                    problem(item.origin, me + "a relay starts between 00:00 and 23:59");
                }
            }
        }
    }

    void check_events() {
        for (const auto& event : plan_.events) {
            const std::string me = "event '" + event.id + "': ";
            if (!events_.insert(event.id).second) {
                problem(event.origin, me + "declared twice");
            }
            if (event.lunar) {
                if (event.month < 1 || event.month > 12) {
                    problem(event.origin, me + "lunar month " + std::to_string(event.month) +
                                              " does not exist (1 to 12)");
                }
                if (event.day < 1 || event.day > 30) {
                    problem(event.origin, me + "lunar day " + std::to_string(event.day) +
                                              " does not exist: lunar months have 29 or 30 days");
                }
            } else {
                const std::chrono::month_day md{std::chrono::month(event.month),
                                                std::chrono::day(event.day)};
                if (event.month < 1 || event.month > 12 || event.day < 1 || !md.ok()) {
                    problem(event.origin, me + "solar date " + std::to_string(event.day) + "/" +
                                              std::to_string(event.month) + " does not exist");
                }
                if (event.leap_month) {
                    problem(event.origin, me + "only a lunar date can be in a leap month");
                }
            }
        }
    }

    bool window_named(const std::string& area, const std::string& name) const {
        // A campaign window may be declared on the target, above it or anywhere below it.
        for (const auto& [path, r] : areas_) {
            if (!area_contains(area, path) && !area_contains(path, area)) {
                continue;
            }
            for (const auto& w : r.windows) {
                if (w.name == name) {
                    return true;
                }
            }
        }
        return false;
    }

    void check_campaigns() {
        std::set<std::string> ids;
        for (const auto& c : plan_.campaigns) {
            const std::string me = "campaign '" + c.id + "': ";
            auto bad = [&](const std::string& why) { problem(c.origin, me + why); };
            if (c.id.empty()) {
                problem(c.origin, "a campaign needs an id");
            } else if (!ids.insert(c.id).second) {
                bad("declared twice");
            }
            if (c.areas.empty()) {
                bad("it targets no area");
            }
            for (const auto& area : c.areas) {
                if (!areas_.contains(area)) {
                    bad("unknown area '" + area + "'");
                }
            }
            check_period(c, bad);
            std::vector<const Item*> items;
            for (const auto& id : c.items) {
                auto it = items_.find(id);
                if (it == items_.end()) {
                    bad("unknown item '" + id + "'");
                } else {
                    items.push_back(it->second);
                }
            }
            if (c.items.empty()) {
                bad("it has no item");
            }
            const bool relays = std::any_of(items.begin(), items.end(), [](const Item* i) {
                return i->kind == ItemKind::relay;
            });
            if (relays && !std::all_of(items.begin(), items.end(),
                                       [](const Item* i) { return i->kind == ItemKind::relay; })) {
                bad("relays play at fixed times: put them in a campaign of their own");
            }
            for (NodeKind kind : c.node_kinds) {
                if (!std::any_of(items.begin(), items.end(),
                                 [&](const Item* i) { return can_play(kind, i->kind); })) {
                    std::string kinds;
                    for (const Item* i : items) {
                        kinds += std::string(kinds.empty() ? "" : ", ") + kind_name(i->kind);
                    }
                    bad(std::string("its quotas ask ") + kind_name(kind) +
                        " nodes for plays, but a " + kind_name(kind) +
                        " cannot play any of its items (" + kinds + ")");
                }
            }
            for (const auto& name : c.windows) {
                if (std::none_of(c.areas.begin(), c.areas.end(),
                                 [&](const std::string& a) { return window_named(a, name); })) {
                    bad("no targeted area has a window named '" + name + "'");
                }
            }
            check_quotas(c, bad);
        }
    }

    template <typename Bad>
    void check_period(const Campaign& c, Bad& bad) {
        const Period& p = c.period;
        const bool fixed = p.first || p.last;
        if (fixed && !p.event.empty()) {
            bad("a period is either fixed dates or an event, not both");
        } else if (fixed) {
            if (!p.first || !p.last) {
                bad("a fixed period needs both its first and its last date");
            } else if (*p.last < *p.first) {
                bad("its period ends before it starts");
            }
        } else if (p.event.empty()) {
            bad("it needs a period: first and last dates, or an event");
        } else if (!events_.contains(p.event)) {
            bad("unknown event '" + p.event + "'");
        }
        if (p.days_before < 0 || p.days_after < 0 || p.days_before > 366 || p.days_after > 366) {
            bad("days before and after an event are between 0 and 366");
        }
    }

    template <typename Bad>
    void check_quotas(const Campaign& c, Bad& bad) {
        const Quotas& q = c.quotas;
        if (q.plays_per_day < 0) {
            bad("plays_per_day cannot be negative");
        }
        if (q.airtime_us < 0) {
            bad("airtime cannot be negative");
        }
        if (!(q.coverage > 0.0 && q.coverage <= 1.0)) {
            bad("coverage is a share of nodes above 0 and at most 1 (e.g. 0.8 for 80%)");
        }
        if (!(q.share_max > 0.0 && q.share_max <= 1.0)) {
            bad("share_max is a share of session time above 0 and at most 1");
        }
        if (q.separation_minutes < 0) {
            bad("separation cannot be negative");
        }
    }
};

}  // namespace

std::vector<PlanProblem> check_plan(const Plan& plan) {
    return PlanChecker(plan).run();
}

}  // namespace loa::schedules
