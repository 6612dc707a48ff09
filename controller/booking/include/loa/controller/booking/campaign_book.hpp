// Campaigns: their items, target areas and window, and the plays they book on each node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

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

/// A campaign checked and its plays computed, ready to be stored (commit_campaign; the type is in
/// booking.hpp).
struct CampaignBooking;

/// Checks a campaign (its id, window, items imported and approved for air, areas) and computes
/// its plays on every node in its areas. Reads only, through `db` (a snapshot): the engine may
/// take long, so this runs outside the writer.
Result<CampaignBooking> plan_campaign(SQLite::Database& db, const CampaignSpec& spec,
                                      std::int64_t now, const BookingRules& rules = {});

/// Stores a planned campaign and its plays, checking again what the writer's transaction holds
/// (the id still free, the media still approved). Invalid input changes nothing.
Result<BookingResult> commit_campaign(WriteTx& tx, const CampaignBooking& booking);

/// plan_campaign and commit_campaign in one change (the engine runs inside the writer: for tests,
/// tools, and compute_then_commit's last attempt).
Result<BookingResult> add_campaign(WriteTx& tx, const CampaignSpec& spec, std::int64_t now,
                                   const BookingRules& rules = {});

/// Books on `node_id` the plays still ahead of every active campaign that targets it.
Result<BookingResult> book_node(WriteTx& tx, const std::string& node_id, std::int64_t now,
                                const BookingRules& rules = {});

Result<CampaignSpec> find_campaign(SQLite::Database& db, const std::string& campaign_id);

/// Every campaign (booked with add_campaign or stored by a plan), by window start then id.
Result<std::vector<CampaignSpec>> list_campaigns(SQLite::Database& db);

}  // namespace loa::controller
