// Applying a plan file to the controller: its nodes registered, its campaigns stored, and the
// compiled timelines booked as the nodes' plays (replacing the plays of the plan applied before).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::controller {

struct PlanApplication {
    bool applied = false;  ///< false: refused because some quota cannot be met; nothing changed
    std::int64_t plan_id = 0;
    std::size_t nodes_registered = 0;  ///< plan nodes the controller did not know yet
    std::size_t slots_booked = 0;
    std::size_t slots_replaced = 0;  ///< plays of the previous plan not yet due, taken back
    schedules::CompiledPlan compiled;
    std::vector<std::string> notes;  ///< what was left out, and why
};

/// Whether applying a plan may touch `area` (a node's, or a campaign's it stores or replaces);
/// an error refuses the plan with that error. loactl checks the person's scope with it.
using AreaCheck = std::function<Result<void>(std::string_view area)>;

/// Whether the person applying a plan may put `media_hash` on the air (the media scope check every
/// booking path makes); an error refuses the plan with it.
using MediaCheck = std::function<Result<void>(const std::string& media_hash)>;

/// A plan checked and compiled against a snapshot of the store, ready to be applied.
struct PreparedPlan {
    std::string source;
    std::string text;
    schedules::Date from;
    int days = 0;
    std::int64_t now = 0;
    std::int64_t earliest = 0;  ///< now + the lead time: nothing is booked or taken back sooner
    bool accept_shortfall = false;
    schedules::Plan plan;
    std::vector<std::string> unknown_nodes;  ///< plan nodes to register
    std::set<std::string> previous;          ///< campaigns of plans applied before
    std::set<std::string> paused;            ///< campaigns paused now
    schedules::CompiledPlan compiled;
};

/// Checks and compiles the plan over `days` local days from `from` (plays no sooner than the
/// lead time from `now`), reading the store through `db` (a snapshot: compiling may take long).
/// Every media an item names must be imported; the media's probed duration is what is scheduled,
/// and must be approved for air (else Code::forbidden, every unapproved item named with its
/// line). `may_touch`, when given, is asked about every area the plan's nodes and campaigns lie
/// in and every area of the previous plan's campaigns it replaces; `may_use` about every media.
/// A node registered in another area or kind is a conflict, so is a campaign id used by a
/// campaign not from a plan. Invalid plans are refused (Code::invalid_input) with every problem
/// as a "FILE:LINE: what" line.
Result<PreparedPlan> prepare_plan(SQLite::Database& db, const std::filesystem::path& file,
                                  schedules::Date from, int days, std::int64_t now,
                                  bool accept_shortfall, const BookingRules& rules = {},
                                  const AreaCheck& may_touch = {}, const MediaCheck& may_use = {});

/// Applies a prepared plan in one change: registers its nodes, stores its campaigns, takes back
/// the previous plan's plays not yet due, and books the new ones around every other play already
/// booked. A plan whose quotas cannot all be met is not applied (`applied` false, the report in
/// `compiled`) unless it was prepared with `accept_shortfall`. Call it only on a plan prepared
/// from what the transaction holds (compute_then_commit checks nothing moved since).
Result<PlanApplication> commit_plan(WriteTx& tx, const PreparedPlan& prepared);

/// prepare_plan and commit_plan in one change (tests, tools).
Result<PlanApplication> apply_plan(WriteTx& tx, const std::filesystem::path& file,
                                   schedules::Date from, int days, std::int64_t now,
                                   bool accept_shortfall, const BookingRules& rules = {},
                                   const AreaCheck& may_touch = {}, const MediaCheck& may_use = {});

}  // namespace loa::controller
