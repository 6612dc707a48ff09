// Applying a plan file to the controller: its nodes registered, its campaigns stored, and the
// compiled timelines booked as the nodes' plays (replacing the plays of the plan applied before).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/common/error.hpp"
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

/// Checks and compiles the plan over `days` local days from `from` (plays no sooner than the
/// lead time from `now`), then in one transaction: registers its nodes (a node registered in
/// another area or kind is a conflict), stores its campaigns (an id used by a campaign not from a
/// plan is a conflict), takes back the previous plan's plays not yet due, and books the new ones
/// around every other play already booked. Every media an item names must be imported; the media's
/// probed duration is what is scheduled, and must be approved for air (else Code::forbidden, every
/// unapproved item named with its line). `may_touch`, when given, is asked about every area the
/// plan's nodes and campaigns lie in and every area of the previous plan's campaigns it replaces.
/// A plan whose quotas cannot all be met is not applied
/// (`applied` false, the report in `compiled`) unless `accept_shortfall`. Invalid plans are
/// refused (Code::invalid_input) with every problem as a "FILE:LINE: what" line. Nothing changes
/// unless the plan is applied.
Result<PlanApplication> apply_plan(SQLite::Database& db, const std::filesystem::path& file,
                                   schedules::Date from, int days, std::int64_t now,
                                   bool accept_shortfall, const BookingRules& rules = {},
                                   const AreaCheck& may_touch = {});

}  // namespace loa::controller
