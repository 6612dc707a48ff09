// Pausing and resuming campaigns: plays taken back and booked again in one transaction each.
#include "loa/controller/booking/campaign_pause.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

namespace {

struct CampaignState {
    std::int64_t window_end_us = 0;
    std::optional<std::int64_t> paused_us;
    bool from_plan = false;
};

Result<CampaignState> state_of(SQLite::Database& db, const std::string& campaign_id) {
    SQLite::Statement q(db,
                        "SELECT window_end_us, paused_us, plan_id IS NOT NULL FROM campaigns "
                        "WHERE campaign_id = ?");
    q.bind(1, campaign_id);
    if (!q.executeStep()) {
        return fail(
            Error::Code::not_found,
            fmt::format("không có chiến dịch '{}' / no campaign '{}'", campaign_id, campaign_id));
    }
    CampaignState s;
    s.window_end_us = q.getColumn(0).getInt64();
    if (!q.getColumn(1).isNull()) {
        s.paused_us = q.getColumn(1).getInt64();
    }
    s.from_plan = q.getColumn(2).getInt() != 0;
    return s;
}

}  // namespace

Result<PauseResult> pause_campaign(WriteTx& tx, const std::string& campaign_id,
                                   const std::string& who, std::int64_t now) {
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<PauseResult> {
        auto state = state_of(db, campaign_id);
        if (!state) {
            return std::unexpected(state.error());
        }
        if (state->paused_us) {
            return fail(Error::Code::conflict,
                        fmt::format("chiến dịch '{}' đã tạm dừng / campaign '{}' is already "
                                    "paused",
                                    campaign_id, campaign_id));
        }
        if (state->window_end_us <= now) {
            return fail(Error::Code::invalid_input,
                        fmt::format("chiến dịch '{}' đã kết thúc / campaign '{}' is over",
                                    campaign_id, campaign_id));
        }
        // Plays under way finish; the rollup's triggers take the rest out of the plan.
        SQLite::Statement take_back(db, "DELETE FROM slots WHERE campaign_id = ? AND start_us > ?");
        take_back.bind(1, campaign_id);
        take_back.bind(2, static_cast<int64_t>(now));
        const int taken = take_back.exec();
        SQLite::Statement mark(db,
                               "UPDATE campaigns SET paused_us = ?, paused_by = ? "
                               "WHERE campaign_id = ?");
        mark.bind(1, static_cast<int64_t>(now));
        mark.bind(2, who);
        mark.bind(3, campaign_id);
        mark.exec();
        return PauseResult{campaign_id, static_cast<std::size_t>(taken)};
    });
}

Result<ResumePlan> plan_resume(SQLite::Database& db, const std::string& campaign_id,
                               std::int64_t now, const BookingRules& rules) {
    return guard_storage([&]() -> Result<ResumePlan> {
        auto state = state_of(db, campaign_id);
        if (!state) {
            return std::unexpected(state.error());
        }
        if (!state->paused_us) {
            return fail(Error::Code::conflict,
                        fmt::format("chiến dịch '{}' không tạm dừng / campaign '{}' is not "
                                    "paused",
                                    campaign_id, campaign_id));
        }
        ResumePlan plan{campaign_id, state->from_plan, {}};
        if (!state->from_plan && state->window_end_us > now) {
            detail::BookingInput input;
            SQLite::Statement all(db, "SELECT node_id FROM nodes ORDER BY node_id");
            while (all.executeStep()) {
                input.node_ids.push_back(all.getColumn(0).getString());
            }
            input.campaign_ids = {campaign_id};
            input.include_paused = true;
            plan.plays = detail::compute_booking(db, input, now, rules);
        }
        return plan;
    });
}

Result<ResumeResult> commit_resume(WriteTx& tx, const ResumePlan& plan) {
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<ResumeResult> {
        auto state = state_of(db, plan.campaign_id);
        if (!state) {
            return std::unexpected(state.error());
        }
        if (!state->paused_us) {
            return fail(Error::Code::conflict,
                        fmt::format("chiến dịch '{}' không tạm dừng / campaign '{}' is not "
                                    "paused",
                                    plan.campaign_id, plan.campaign_id));
        }
        SQLite::Statement clear(db,
                                "UPDATE campaigns SET paused_us = NULL, paused_by = NULL "
                                "WHERE campaign_id = ?");
        clear.bind(1, plan.campaign_id);
        clear.exec();
        ResumeResult out{plan.campaign_id, 0, plan.from_plan};
        out.plays_booked = detail::write_booking(tx, plan.plays).slots_booked;
        return out;
    });
}

Result<ResumeResult> resume_campaign(WriteTx& tx, const std::string& campaign_id, std::int64_t now,
                                     const BookingRules& rules) {
    auto plan = plan_resume(tx.db(), campaign_id, now, rules);
    if (!plan) {
        return std::unexpected(plan.error());
    }
    return commit_resume(tx, *plan);
}

Result<std::optional<std::int64_t>> campaign_paused_since(SQLite::Database& db,
                                                          const std::string& campaign_id) {
    return guard_storage([&]() -> Result<std::optional<std::int64_t>> {
        auto state = state_of(db, campaign_id);
        if (!state) {
            return std::unexpected(state.error());
        }
        return state->paused_us;
    });
}

}  // namespace loa::controller
