// Private: booking plays on nodes, for use inside a caller's transaction.
#pragma once

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/campaign_book.hpp"

namespace loa::controller::detail {

/// Books the plays of `campaign_ids` (all active campaigns if empty) on `node_ids`, around the
/// plays already booked. Must run inside a transaction; throws SQLite::Exception.
BookingResult book(SQLite::Database& db, const std::vector<std::string>& node_ids,
                   const std::vector<std::string>& campaign_ids, std::int64_t now,
                   const BookingRules& rules);

}  // namespace loa::controller::detail
