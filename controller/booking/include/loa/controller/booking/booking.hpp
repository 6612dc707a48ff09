// Private: booking plays on nodes, for use inside a caller's transaction.
#pragma once

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include <SQLiteCpp/Statement.h>

#include "loa/controller/store/airtime_rollup.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::controller::detail {

/// How long a still image stays on a panel board when a campaign or an emergency shows it.
inline constexpr std::int64_t kSlideUs = 10'000'000;

/// Writes planned plays into the `slots` table; a play already there (or confirmed already) is
/// left as it is. Each play counts as planned in the airtime rollup, in the node's local day.
class SlotWriter {
  public:
    explicit SlotWriter(SQLite::Database& db);
    /// 1 when the play was booked, 0 when the node already had it.
    std::size_t book(const std::string& node_id, const schedules::Play& play,
                     const std::string& title);

  private:
    SQLite::Statement insert_;
    RollupDays days_;
};

/// Books the plays of `campaign_ids` (all active campaigns if empty) on `node_ids`, around the
/// plays already booked. Must run inside a transaction; throws SQLite::Exception.
BookingResult book(SQLite::Database& db, const std::vector<std::string>& node_ids,
                   const std::vector<std::string>& campaign_ids, std::int64_t now,
                   const BookingRules& rules);

}  // namespace loa::controller::detail
