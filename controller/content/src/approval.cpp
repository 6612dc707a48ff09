// Approving and rejecting media for air, and the gate booking code passes media through.
#include "loa/controller/content/approval.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/store/database.hpp"

namespace loa::controller {

std::string_view decision_name(Decision decision) {
    return decision == Decision::approved ? "approved" : "rejected";
}

Result<DecisionResult> decide_media(WriteTx& tx, const std::string& media_hash, Decision decision,
                                    const std::string& decided_by, const std::string& note,
                                    std::int64_t now) {
    SQLite::Database& db = tx.db();
    const std::string state(decision_name(decision));
    return in_savepoint(tx, [&]() -> Result<DecisionResult> {
        SQLite::Statement current(db, "SELECT approval, title FROM media WHERE media_hash = ?");
        current.bind(1, media_hash);
        if (!current.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("không có nội dung '{}' / no media '{}' (loactl media list)",
                                    media_hash, media_hash));
        }
        DecisionResult result;
        result.previous = current.getColumn(0).getString();
        if (result.previous == state) {
            return fail(Error::Code::conflict,
                        fmt::format("nội dung {} ('{}') đã ở trạng thái {} / media {} is already "
                                    "{}",
                                    media_hash.substr(0, 12), current.getColumn(1).getString(),
                                    decision == Decision::approved ? "đã phê duyệt" : "bị từ chối",
                                    media_hash.substr(0, 12), state));
        }
        SQLite::Statement set(db, "UPDATE media SET approval = ? WHERE media_hash = ?");
        set.bind(1, state);
        set.bind(2, media_hash);
        set.exec();
        SQLite::Statement insert(db,
                                 "INSERT INTO approvals (media_hash, decided_us, decided_by, "
                                 "decision, note) VALUES (?, ?, ?, ?, ?)");
        insert.bind(1, media_hash);
        insert.bind(2, static_cast<int64_t>(now));
        insert.bind(3, decided_by);
        insert.bind(4, state);
        insert.bind(5, note);
        insert.exec();
        if (decision == Decision::rejected) {
            // Withdrawn content must not air: its plays not started yet go (the daemon pushes the
            // nodes their new timelines); what already aired stays in the record.
            SQLite::Statement take_back(db,
                                        "DELETE FROM slots WHERE media_hash = ? AND start_us > ?");
            take_back.bind(1, media_hash);
            take_back.bind(2, static_cast<int64_t>(now));
            result.plays_taken_back = static_cast<std::size_t>(take_back.exec());
        }
        result.decision = {db.getLastInsertRowid(), media_hash, now, decided_by, decision, note};
        return result;
    });
}

Result<std::vector<ApprovalDecision>> approval_history(SQLite::Database& db,
                                                       const std::string& media_hash) {
    return guard_storage([&]() -> Result<std::vector<ApprovalDecision>> {
        SQLite::Statement q(db,
                            "SELECT decision_id, decided_us, decided_by, decision, note "
                            "FROM approvals WHERE media_hash = ? ORDER BY decision_id");
        q.bind(1, media_hash);
        std::vector<ApprovalDecision> out;
        while (q.executeStep()) {
            out.push_back(
                {q.getColumn(0).getInt64(), media_hash, q.getColumn(1).getInt64(),
                 q.getColumn(2).getString(),
                 q.getColumn(3).getString() == "approved" ? Decision::approved : Decision::rejected,
                 q.getColumn(4).getString()});
        }
        return out;
    });
}

namespace detail {

std::string approval_problem(SQLite::Database& db, const std::string& media_hash,
                             const std::string& what) {
    SQLite::Statement q(db, "SELECT approval, title FROM media WHERE media_hash = ?");
    q.bind(1, media_hash);
    if (!q.executeStep() || q.getColumn(0).getString() == "approved") {
        return {};
    }
    const std::string state = q.getColumn(0).getString();
    const std::string title = q.getColumn(1).getString();
    const bool rejected = state == "rejected";
    return fmt::format(
        "{}: nội dung {} ('{}') {} (loactl media approve {}) / {}: media {} ('{}') is {} for "
        "air",
        what, media_hash.substr(0, 12), title,
        rejected ? "đã bị từ chối, không được phát" : "chưa được phê duyệt", media_hash, what,
        media_hash.substr(0, 12), title, rejected ? "rejected, not allowed" : "not approved");
}

}  // namespace detail

}  // namespace loa::controller
