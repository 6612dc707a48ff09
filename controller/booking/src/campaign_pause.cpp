// Pausing and resuming campaigns: plays taken back and booked again in one transaction each.
#include "loa/controller/booking/campaign_pause.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/store/database.hpp"

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

Result<PauseResult> pause_campaign(SQLite::Database& db, const std::string& campaign_id,
                                   const std::string& who, std::int64_t now) {
    return in_transaction(db, [&]() -> Result<PauseResult> {
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

Result<ResumeResult> resume_campaign(SQLite::Database& db, const std::string& campaign_id,
                                     std::int64_t now, const BookingRules& rules) {
    return in_transaction(db, [&]() -> Result<ResumeResult> {
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
        SQLite::Statement clear(db,
                                "UPDATE campaigns SET paused_us = NULL, paused_by = NULL "
                                "WHERE campaign_id = ?");
        clear.bind(1, campaign_id);
        clear.exec();
        ResumeResult out{campaign_id, 0, state->from_plan};
        if (!state->from_plan && state->window_end_us > now) {
            std::vector<std::string> nodes;
            SQLite::Statement all(db, "SELECT node_id FROM nodes ORDER BY node_id");
            while (all.executeStep()) {
                nodes.push_back(all.getColumn(0).getString());
            }
            out.plays_booked = detail::book(db, nodes, {campaign_id}, now, rules).slots_booked;
        }
        return out;
    });
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
