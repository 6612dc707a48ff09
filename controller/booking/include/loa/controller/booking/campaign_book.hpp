// Campaigns: their items, target areas and window, and the plays they book on each node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"

namespace loa::controller {

struct CampaignSpec {
    std::string campaign_id;  ///< e.g. "lao-dong-gioi-2025"
    std::string name;         ///< e.g. "Lao động giỏi, lao động sáng tạo"
    std::string owner;        ///< e.g. "Sở Thông tin và Truyền thông"
    std::int64_t window_start_us = 0;
    std::int64_t window_end_us = 0;
    std::vector<std::string> media_hashes;  ///< items, in play order
    std::vector<std::string> areas;         ///< target area paths
};

/// How plays are laid out.
struct BookingRules {
    std::int64_t gap_us = 2'000'000;   ///< silence between two plays on a node
    std::int64_t lead_us = 5'000'000;  ///< nothing is booked sooner than this from now
};

struct BookingResult {
    std::size_t slots_booked = 0;
    std::size_t nodes_targeted = 0;
    std::vector<std::string> unplaced;  ///< "node: item — reason" for items that did not fit
};

/// Checks and stores a campaign and books its plays on every node in its areas, in one
/// transaction: invalid input changes nothing.
Result<BookingResult> add_campaign(SQLite::Database& db, const CampaignSpec& spec, std::int64_t now,
                                   const BookingRules& rules = {});

/// Books on `node_id` the plays still ahead of every active campaign that targets it.
Result<BookingResult> book_node(SQLite::Database& db, const std::string& node_id, std::int64_t now,
                                const BookingRules& rules = {});

Result<CampaignSpec> find_campaign(SQLite::Database& db, const std::string& campaign_id);

/// Every campaign (booked with add_campaign or stored by a plan), by window start then id.
Result<std::vector<CampaignSpec>> list_campaigns(SQLite::Database& db);

}  // namespace loa::controller
