// Turning a plan into per-node timelines that meet its quotas, or saying which quotas cannot be
// met.
#pragma once

#include <cstdint>
#include <expected>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loa/schedules/plan.hpp"

namespace loa::schedules {

/// One planned play of one media file. Times are UTC microseconds since the epoch.
struct Play {
    std::string slot_id;  ///< stable: the same inputs always give the same id
    std::string campaign;
    std::string item;
    std::string language;
    std::string media;  ///< content hash; empty for a relay
    std::string relay_url;
    ItemKind kind = ItemKind::audio;
    Priority priority = Priority::normal;
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
};

/// A computed timeline, shared by every node with identical inputs.
struct Timeline {
    std::string hash;         ///< SHA-256 (hex) of the canonical play list
    std::vector<Play> plays;  ///< sorted by start; never overlapping
};

/// How one quota fares. Amounts are in `unit`: "plays", "seconds" or "nodes".
struct QuotaOutcome {
    std::string campaign;
    std::string quota;   ///< "plays_per_day", "airtime", "coverage" or "relay"
    std::string scope;   ///< "all targeted nodes", or "<area path> (<kind>)" for a detail row
    std::string period;  ///< "2026-11-24", "2026-W48", "2026-11" or "2026-11-24..2026-11-30"
    std::string unit;
    std::int64_t required = 0;   ///< per node in a detail row, summed over nodes in a summary
    std::int64_t scheduled = 0;  ///< counted up to `required` per bucket: excess does not mask gaps
    std::int64_t shortfall = 0;
    std::int64_t nodes = 0;  ///< the nodes the row speaks for
    bool met = true;
    std::string reason;  ///< why not met, when known ("no broadcast session in the period")
};

struct CompiledPlan {
    bool feasible = true;              ///< every campaign's quotas are met
    std::vector<QuotaOutcome> quotas;  ///< summary rows, then unmet detail rows
    std::vector<std::shared_ptr<const Timeline>> timelines;  ///< sorted by hash, distinct
    std::map<std::string, std::size_t> node_timeline;        ///< node id → index in timelines
    std::size_t classes_computed = 0;  ///< node classes solved in this call (not from cache)
    std::size_t classes_reused = 0;
    std::size_t classes_searched = 0;  ///< of those solved, how many needed the exact search
    /// Node classes on which the exact solver (GLPK) failed, each "<area> (<kind>): <error>":
    /// their timelines are the fast path's allocation, their unmet quotas say so in `reason`,
    /// and the next compile solves them again (they are not cached).
    std::vector<std::string> solver_errors;
};

/// A problem that makes a plan unusable: where it was declared and why it is wrong.
struct PlanProblem {
    int line = 0;  ///< 0 when unknown
    std::string what;
};

/// Every problem of the plan, in declaration order; empty when the plan is valid.
std::vector<PlanProblem> check_plan(const Plan& plan);

/// The horizon: local dates `from` .. `from + days - 1` in each area's own time zone.
struct Horizon {
    Date from;
    int days = 7;
    /// Nothing is placed before this instant (e.g. now plus the time nodes need to learn of it).
    std::int64_t not_before_us = std::numeric_limits<std::int64_t>::min();
};

/// Compiles plans. Keeps the timelines of node classes it has solved, so that compiling an edited
/// plan again only solves the classes whose inputs changed (one campaign edit touches only the
/// nodes that campaign targets). Thread use: one compile at a time per compiler.
class PlanCompiler {
  public:
    PlanCompiler();
    ~PlanCompiler();
    PlanCompiler(const PlanCompiler&) = delete;
    PlanCompiler& operator=(const PlanCompiler&) = delete;

    /// Solves the plan over the horizon with `threads` workers (0: hardware concurrency).
    /// Fails with the plan's problems when it is invalid, or when solving a node class threw
    /// (e.g. out of memory: that problem names the class; nothing of this compile is kept).
    /// Never throws from a worker thread; a GLPK failure is not a problem but `solver_errors`.
    std::expected<CompiledPlan, std::vector<PlanProblem>> compile(const Plan& plan,
                                                                  const Horizon& horizon,
                                                                  unsigned threads = 0);

  private:
    struct Cache;
    std::unique_ptr<Cache> cache_;
};

/// The solar dates of an event's occurrences between two dates (inclusive), for UTC+7 lunar
/// dates. A lunar day 30 in a 29-day month falls on the month's last day; a 29 February only
/// in leap years; a leap-month event on the ordinary month in years without that leap month.
std::vector<Date> event_dates(const Event& event, Date first, Date last);

}  // namespace loa::schedules
