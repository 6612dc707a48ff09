// Approving and rejecting media records for air, and the gate booking code passes media through.
#include "loa/controller/content/approval.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/store/database.hpp"

namespace loa::controller {

namespace {

/// "đã phê duyệt" / "bị từ chối" / "chờ duyệt": a record's state as Vietnamese readers say it.
std::string_view state_vi(std::string_view state) {
    if (state == "approved") {
        return "đã phê duyệt";
    }
    return state == "rejected" ? "bị từ chối" : "chờ duyệt";
}

}  // namespace

std::string_view decision_name(Decision decision) {
    return decision == Decision::approved ? "approved" : "rejected";
}

Result<DecisionResult> decide_media(WriteTx& tx, const std::string& media_hash,
                                    const std::string& area, Decision decision,
                                    const std::string& decided_by, const std::string& note,
                                    std::int64_t now) {
    SQLite::Database& db = tx.db();
    const std::string state(decision_name(decision));
    const std::string shown = media_hash.substr(0, 12);
    return in_savepoint(tx, [&]() -> Result<DecisionResult> {
        SQLite::Statement current(db,
                                  "SELECT approval, title FROM media_areas "
                                  "WHERE media_hash = ? AND area_path = ?");
        current.bind(1, media_hash);
        current.bind(2, area);
        if (!current.executeStep()) {
            SQLite::Statement known(db, "SELECT 1 FROM media WHERE media_hash = ?");
            known.bind(1, media_hash);
            if (!known.executeStep()) {
                return fail(Error::Code::not_found,
                            fmt::format("không có nội dung '{}' / no media '{}' (loactl media "
                                        "list)",
                                        media_hash, media_hash));
            }
            return fail(Error::Code::not_found,
                        fmt::format("nội dung {} chưa có ở vùng {} (loactl media share {} --area "
                                    "{}) / media {} has no record in {} to decide on",
                                    shown, area, media_hash, area, shown, area));
        }
        DecisionResult result;
        result.previous = current.getColumn(0).getString();
        const std::string title = current.getColumn(1).getString();
        if (result.previous == state) {
            return fail(Error::Code::conflict,
                        fmt::format("nội dung {} ('{}') ở vùng {} đã ở trạng thái {} / media {} is "
                                    "already {} in {}",
                                    shown, title, area, state_vi(state), shown, state, area));
        }
        SQLite::Statement set(db,
                              "UPDATE media_areas SET approval = ? "
                              "WHERE media_hash = ? AND area_path = ?");
        set.bind(1, state);
        set.bind(2, media_hash);
        set.bind(3, area);
        set.exec();
        SQLite::Statement insert(db,
                                 "INSERT INTO approvals (media_hash, area_path, decided_us, "
                                 "decided_by, decision, note) VALUES (?, ?, ?, ?, ?, ?)");
        insert.bind(1, media_hash);
        insert.bind(2, area);
        insert.bind(3, static_cast<int64_t>(now));
        insert.bind(4, decided_by);
        insert.bind(5, state);
        insert.bind(6, note);
        insert.exec();
        result.decision = {
            db.getLastInsertRowid(), media_hash, area, now, decided_by, decision, note};
        if (decision == Decision::rejected) {
            // Withdrawn content must not air where this record let it: its plays not started yet
            // on nodes in the record's area go, unless another approved record covers the node
            // (the daemon pushes the nodes their new timelines); what already aired stays in the
            // record. Areas are matched by whole segments, as in_scope does.
            SQLite::Statement take_back(
                db,
                "DELETE FROM slots WHERE media_hash = ?1 AND start_us > ?2 AND node_id IN ("
                "SELECT n.node_id FROM nodes n WHERE (?3 = '/' OR n.area_path = ?3 OR "
                "substr(n.area_path, 1, length(?3) + 1) = ?3 || '/') AND NOT EXISTS ("
                "SELECT 1 FROM media_areas r WHERE r.media_hash = ?1 AND r.approval = 'approved' "
                "AND (r.area_path = '/' OR n.area_path = r.area_path OR "
                "substr(n.area_path, 1, length(r.area_path) + 1) = r.area_path || '/')))");
            take_back.bind(1, media_hash);
            take_back.bind(2, static_cast<int64_t>(now));
            take_back.bind(3, area);
            result.plays_taken_back = static_cast<std::size_t>(take_back.exec());
        }
        return result;
    });
}

Result<std::vector<ApprovalDecision>> approval_history(SQLite::Database& db,
                                                       const std::string& media_hash) {
    return guard_storage([&]() -> Result<std::vector<ApprovalDecision>> {
        SQLite::Statement q(db,
                            "SELECT decision_id, area_path, decided_us, decided_by, decision, note "
                            "FROM approvals WHERE media_hash = ? ORDER BY decision_id");
        q.bind(1, media_hash);
        std::vector<ApprovalDecision> out;
        while (q.executeStep()) {
            out.push_back(
                {q.getColumn(0).getInt64(), media_hash, q.getColumn(1).getString(),
                 q.getColumn(2).getInt64(), q.getColumn(3).getString(),
                 q.getColumn(4).getString() == "approved" ? Decision::approved : Decision::rejected,
                 q.getColumn(5).getString()});
        }
        return out;
    });
}

namespace detail {

std::vector<std::string> approved_areas(SQLite::Database& db, const std::string& media_hash) {
    SQLite::Statement q(db,
                        "SELECT area_path FROM media_areas "
                        "WHERE media_hash = ? AND approval = 'approved' ORDER BY area_path");
    q.bind(1, media_hash);
    std::vector<std::string> areas;
    while (q.executeStep()) {
        areas.push_back(q.getColumn(0).getString());
    }
    return areas;
}

bool covers(const std::vector<std::string>& approved, std::string_view area) {
    for (const auto& a : approved) {
        if (in_scope(a, area)) {
            return true;
        }
    }
    return false;
}

std::string covering_title(SQLite::Database& db, const std::string& media_hash,
                           std::string_view area) {
    SQLite::Statement q(db,
                        "SELECT title FROM media_areas WHERE media_hash = ?1 AND approval = "
                        "'approved' AND (area_path = '/' OR area_path = ?2 OR "
                        "substr(?2, 1, length(area_path) + 1) = area_path || '/') "
                        "ORDER BY length(area_path) DESC LIMIT 1");
    q.bind(1, media_hash);
    q.bind(2, std::string(area));
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

std::string approval_problem(SQLite::Database& db, const std::string& media_hash,
                             const std::vector<std::string>& areas, const std::string& what) {
    SQLite::Statement known(db, "SELECT 1 FROM media WHERE media_hash = ?");
    known.bind(1, media_hash);
    if (!known.executeStep()) {
        return {};
    }
    const auto approved = approved_areas(db, media_hash);
    const std::string shown = media_hash.substr(0, 12);
    for (const auto& area : areas) {
        if (covers(approved, area)) {
            continue;
        }
        // The record nearest the area (the deepest one holding it) says why; with none, the area
        // has nothing of it to approve, and only its title's owner could name it.
        SQLite::Statement nearest(db,
                                  "SELECT area_path, approval, title FROM media_areas "
                                  "WHERE media_hash = ?1 AND (area_path = '/' OR area_path = ?2 "
                                  "OR substr(?2, 1, length(area_path) + 1) = area_path || '/') "
                                  "ORDER BY length(area_path) DESC LIMIT 1");
        nearest.bind(1, media_hash);
        nearest.bind(2, area);
        if (!nearest.executeStep()) {
            return fmt::format(
                "{}: nội dung {} chưa được phê duyệt cho vùng {}: vùng này chưa có bản ghi của nó "
                "(loactl media share {} --area {}, rồi phê duyệt) / {}: media {} is not approved "
                "for air in {}: no record of it there (loactl media share {} --area {}, then "
                "approve it)",
                what, shown, area, media_hash, area, what, shown, area, media_hash, area);
        }
        const std::string record = nearest.getColumn(0).getString();
        const std::string title = nearest.getColumn(2).getString();
        if (nearest.getColumn(1).getString() == "rejected") {
            return fmt::format(
                "{}: nội dung {} ('{}') đã bị từ chối ở vùng {}, không được phát ở {} / {}: media "
                "{} ('{}') is rejected in {}, not allowed for air in {}",
                what, shown, title, record, area, what, shown, title, record, area);
        }
        return fmt::format(
            "{}: nội dung {} ('{}') chưa được phê duyệt ở vùng {} (loactl media approve {} --area "
            "{}) / {}: media {} ('{}') is not approved for air in {} (its record in {} is "
            "pending)",
            what, shown, title, record, media_hash, record, what, shown, title, area, record);
    }
    return {};
}

}  // namespace detail

}  // namespace loa::controller
