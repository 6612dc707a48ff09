// Approval of media for air ("thẩm định, phê duyệt"), record by record: each area's record of media
// (media_library.hpp, MediaArea) is approved or rejected on its own, and media may be booked,
// applied in a plan or sent as an emergency only where an approved record covers; every decision
// is kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

enum class Decision { approved, rejected };

struct ApprovalDecision {
    std::int64_t decision_id = 0;
    std::string media_hash;
    std::string area_path;  ///< the record decided on
    std::int64_t decided_us = 0;
    std::string decided_by;
    Decision decision = Decision::approved;
    std::string note;
};

struct DecisionResult {
    ApprovalDecision decision;
    std::string previous;  ///< the record's approval before: pending, approved, rejected
    std::size_t plays_taken_back = 0;  ///< rejected: plays not yet started it no longer covers
};

/// Records `decided_by`'s decision on the record of `media_hash` in `area` and sets that record's
/// approval, in one transaction; no other record changes. Rejecting a record takes back the
/// booked plays of the media that have not started by `now` on nodes inside the record's area
/// that no other approved record covers, so that withdrawn content does not air there. Refused:
/// unknown media or no record of it in `area` (not_found), or a decision equal to the record's
/// current state (conflict).
Result<DecisionResult> decide_media(WriteTx& tx, const std::string& media_hash,
                                    const std::string& area, Decision decision,
                                    const std::string& decided_by, const std::string& note,
                                    std::int64_t now);

/// Every decision on any record of `media_hash`, oldest first.
Result<std::vector<ApprovalDecision>> approval_history(SQLite::Database& db,
                                                       const std::string& media_hash);

/// "approved", "rejected".
std::string_view decision_name(Decision decision);

}  // namespace loa::controller
