// The engine's internal model: areas with their inheritance resolved, sessions, node classes.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loa/schedules/plan.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace date {
class time_zone;
}

namespace loa::schedules::detail {

using Micros = std::int64_t;
inline constexpr Micros kSecond = 1'000'000;
inline constexpr Micros kMinute = 60 * kSecond;
/// Silence between two plays in a session (not between the language variants of one play).
inline constexpr Micros kGapBetweenPlays = 2 * kSecond;

/// Days since 1970-01-01 of a civil date: the engine's compact date.
int day_number(Date date);
Date date_of(int day_number);
/// Monday = 0 … Sunday = 6.
int weekday_index(int day_number);
std::string date_text(int day_number);

/// An area with everything it inherits filled in.
struct ResolvedArea {
    const Area* area = nullptr;
    std::string time_zone;
    const date::time_zone* zone = nullptr;
    std::vector<std::string> languages;
    std::vector<Window> windows;
    Caps caps;
};

/// Areas by path, each resolved through its ancestors. Problems (unknown parent or zone …) are
/// appended to `problems`.
std::map<std::string, ResolvedArea> resolve_areas(const Plan& plan,
                                                  std::vector<PlanProblem>& problems);

/// UTC microseconds of a local wall-clock time: day number + minutes after midnight. A time that
/// a daylight-saving jump skips maps to the jump; a repeated time to its first occurrence.
Micros local_to_utc(const date::time_zone& zone, int day, int minute);

/// One broadcast session of a node class: a window on a date, after caps.
struct Session {
    int day = 0;  ///< day number of its local date
    std::string window;
    Micros start_us = 0;
    Micros end_us = 0;
};

/// The sessions an area gives a node kind on local days [first_day, last_day], caps applied
/// (sessions per day: the earliest; days per week: the earliest days of each ISO week, judged on
/// whole weeks; minutes per session: cut from the end). Sorted by start.
std::vector<Session> broadcast_sessions(const ResolvedArea& area, NodeKind kind, int first_day,
                                        int last_day);

/// The days a horizon's quotas are judged over: whole ISO weeks and whole months around it.
std::pair<int, int> extended_range(int from_day, int last_day);

/// A campaign as one node class sees it.
struct ClassCampaign {
    const Campaign* campaign = nullptr;
    std::vector<const Item*> items;  ///< the campaign's items this node kind can play
    std::vector<int> days;           ///< day numbers of its period, sorted (extended range)
    bool relay = false;
};

/// Everything that decides a node class's timeline: nodes with equal inputs share the result.
struct ClassInput {
    NodeKind kind = NodeKind::speaker;
    const ResolvedArea* area = nullptr;
    std::vector<Interval> busy;  ///< plays already booked on its nodes, sorted
    Micros not_before_us = std::numeric_limits<Micros>::min();
    std::vector<ClassCampaign> campaigns;  ///< in service order: priority, then booking order
};

/// How a class fares on one quota bucket of one campaign (amounts per node).
struct BucketOutcome {
    std::string quota;
    std::string period;
    std::string unit;
    std::int64_t required = 0;
    std::int64_t scheduled = 0;
    std::string reason;
};

struct ClassResult {
    std::shared_ptr<const Timeline> timeline;
    bool searched = false;  ///< the fast path fell short and the exact search ran
    /// GLPK failed during the exact search (its message); such a result is never cached.
    std::string solver_error;
    std::map<std::string, std::vector<BucketOutcome>> outcomes;  ///< by campaign id
};

/// Solves one node class over local days [from_day, from_day + days).
ClassResult solve_class(const ClassInput& input, int from_day, int days);

/// The canonical text of a class's inputs: equal texts give equal timelines.
std::string class_fingerprint(const ClassInput& input, int from_day, int days);

/// Lowercase hex SHA-256.
std::string sha256_hex(const std::string& text);

}  // namespace loa::schedules::detail
