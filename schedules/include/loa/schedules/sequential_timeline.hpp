// The walking skeleton's scheduler: each campaign's items once, in order, inside its window.
// The quota engine of issue 3 replaces it behind the same inputs and outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loa::schedules::sequential {

/// A playable item as the scheduler sees it.
struct Item {
    std::string item_id;
    std::string media_hash;
    std::uint64_t media_size = 0;
    std::int64_t duration_us = 0;
    std::string title;
};

/// A campaign's broadcast window, UTC microseconds, end exclusive.
struct Window {
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
};

struct Campaign {
    std::string campaign_id;
    Window window;
    std::vector<Item> items;                ///< in play order
    std::vector<std::string> target_areas;  ///< area paths; a node below any of them is targeted
};

struct Node {
    std::string node_id;
    std::string area_path;
};

/// One planned play. `slot_id` is stable: the same inputs always give the same id.
struct PlannedSlot {
    std::string slot_id;
    std::string campaign_id;
    Item item;
    std::int64_t start_us = 0;
    std::int64_t end_us() const { return start_us + item.duration_us; }
};

/// An item that targets the node but does not fit in what is left of its window.
struct Unplaced {
    std::string campaign_id;
    std::string item_id;
    std::string reason;
};

struct NodeTimeline {
    std::vector<PlannedSlot> slots;  ///< the newly placed plays, sorted by start
    std::vector<Unplaced> unplaced;
};

/// Places the items of every campaign that targets `node`, campaigns in the given (booking)
/// order, each item at the earliest moment inside its campaign's window that leaves `gap_us`
/// to the plays around it. `booked` are plays already on the node's timeline: new plays fit
/// around them, and they are not returned again.
NodeTimeline sequential_timeline(const Node& node, const std::vector<Campaign>& campaigns,
                                 std::int64_t gap_us, const std::vector<PlannedSlot>& booked = {});

}  // namespace loa::schedules::sequential
