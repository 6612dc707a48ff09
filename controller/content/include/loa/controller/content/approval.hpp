// Approval of media for air ("thẩm định, phê duyệt"): only approved media may be booked, applied
// in a plan or sent as an emergency; every decision is kept.
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
    std::int64_t decided_us = 0;
    std::string decided_by;
    Decision decision = Decision::approved;
    std::string note;
};

struct DecisionResult {
    ApprovalDecision decision;
    std::string previous;              ///< the media's approval before: pending, approved, rejected
    std::size_t plays_taken_back = 0;  ///< rejected: its booked plays not yet started, removed
};

/// Records `decided_by`'s decision on `media_hash` and sets the media's approval, in one
/// transaction. Rejecting media takes back its booked plays that have not started by `now`, so
/// that withdrawn content does not air. Refused: unknown media (not_found), or a decision equal
/// to the media's current state (conflict).
Result<DecisionResult> decide_media(WriteTx& tx, const std::string& media_hash, Decision decision,
                                    const std::string& decided_by, const std::string& note,
                                    std::int64_t now);

/// Every decision on `media_hash`, oldest first.
Result<std::vector<ApprovalDecision>> approval_history(SQLite::Database& db,
                                                       const std::string& media_hash);

/// "approved", "rejected".
std::string_view decision_name(Decision decision);

}  // namespace loa::controller
