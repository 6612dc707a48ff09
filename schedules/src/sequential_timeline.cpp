// First-fit placement of campaign items into their windows, per node.
#include "loa/schedules/sequential_timeline.hpp"

#include <algorithm>

#include "loa/schedules/area_path.hpp"

namespace loa::schedules::sequential {

namespace {

bool targets(const Campaign& campaign, const Node& node) {
    return std::any_of(
        campaign.target_areas.begin(), campaign.target_areas.end(),
        [&](const std::string& area) { return area_contains(area, node.area_path); });
}

/// Earliest start >= `earliest` such that [start, start + length) keeps `gap` clear of every
/// busy interval; `busy` is sorted by start.
std::int64_t first_fit(const std::vector<PlannedSlot>& busy, std::int64_t earliest,
                       std::int64_t length, std::int64_t gap) {
    std::int64_t start = earliest;
    for (const auto& slot : busy) {
        if (start + length + gap <= slot.start_us) {
            break;
        }
        start = std::max(start, slot.end_us() + gap);
    }
    return start;
}

}  // namespace

NodeTimeline sequential_timeline(const Node& node, const std::vector<Campaign>& campaigns,
                                 std::int64_t gap_us, const std::vector<PlannedSlot>& booked) {
    std::vector<PlannedSlot> busy = booked;
    std::sort(busy.begin(), busy.end(),
              [](const PlannedSlot& a, const PlannedSlot& b) { return a.start_us < b.start_us; });
    NodeTimeline timeline;
    for (const auto& campaign : campaigns) {
        if (!targets(campaign, node)) {
            continue;
        }
        std::int64_t cursor = campaign.window.start_us;
        for (std::size_t position = 0; position < campaign.items.size(); ++position) {
            const Item& item = campaign.items[position];
            std::int64_t start = first_fit(busy, cursor, item.duration_us, gap_us);
            if (item.duration_us <= 0 || start + item.duration_us > campaign.window.end_us) {
                timeline.unplaced.push_back({campaign.campaign_id, item.item_id,
                                             item.duration_us <= 0
                                                 ? "item has no duration"
                                                 : "no room left in the campaign's window"});
                continue;
            }
            PlannedSlot slot{campaign.campaign_id + "/" + std::to_string(position + 1) + "@" +
                                 std::to_string(start),
                             campaign.campaign_id, item, start};
            auto at = std::upper_bound(
                busy.begin(), busy.end(), start,
                [](std::int64_t s, const PlannedSlot& other) { return s < other.start_us; });
            busy.insert(at, slot);
            timeline.slots.push_back(std::move(slot));
            cursor = start + item.duration_us + gap_us;
        }
    }
    std::sort(timeline.slots.begin(), timeline.slots.end(),
              [](const PlannedSlot& a, const PlannedSlot& b) { return a.start_us < b.start_us; });
    return timeline;
}

}  // namespace loa::schedules::sequential
