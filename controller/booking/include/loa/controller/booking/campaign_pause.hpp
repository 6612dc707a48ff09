// Pausing a campaign: its plays not yet started are taken back and it books no more until it is
// resumed; what already aired, and the report of it, stay as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <SQLiteCpp/Database.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

struct PauseResult {
    std::string campaign_id;
    std::size_t plays_taken_back = 0;  ///< booked plays that had not started by `now`
};

/// Pauses the campaign: takes back its booked plays that start after `now` and marks it paused
/// (by `who`), in one transaction. Nodes get their shorter timeline at the next push. Refused:
/// an unknown campaign (not_found), one already paused (conflict), one whose window is over
/// (invalid_input).
Result<PauseResult> pause_campaign(WriteTx& tx, const std::string& campaign_id,
                                   const std::string& who, std::int64_t now);

struct ResumeResult {
    std::string campaign_id;
    std::size_t plays_booked = 0;  ///< booked again from `now` to the end of its window
    /// The campaign came from a plan: its plays come back when the plan is applied again.
    bool needs_plan = false;
};

/// Resumes a paused campaign. One booked with add_campaign is booked again on its nodes from
/// `now` (with BookingRules' lead time); one from a plan is booked at the plan's next
/// application. Refused: unknown (not_found), not paused (conflict). In two halves: plan_resume
/// computes the plays on a snapshot (the engine may take long), commit_resume clears the pause
/// and books them in the writer.
struct ResumePlan;
Result<ResumePlan> plan_resume(SQLite::Database& db, const std::string& campaign_id,
                               std::int64_t now, const BookingRules& rules = {});
Result<ResumeResult> commit_resume(WriteTx& tx, const ResumePlan& plan);
/// Both halves in one change (tests, tools).
Result<ResumeResult> resume_campaign(WriteTx& tx, const std::string& campaign_id, std::int64_t now,
                                     const BookingRules& rules = {});

/// When the campaign was paused; empty if it is not.
Result<std::optional<std::int64_t>> campaign_paused_since(SQLite::Database& db,
                                                          const std::string& campaign_id);

}  // namespace loa::controller
