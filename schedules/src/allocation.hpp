// Allocating plays to session parts: the model both allocators share, and the two allocators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine.hpp"

namespace loa::schedules::detail {

inline constexpr Micros kMillisecond = 1000;
inline std::int64_t ms_up(Micros us) {
    return (us + kMillisecond - 1) / kMillisecond;
}
inline std::int64_t ms_down(Micros us) {
    return us / kMillisecond;
}

/// A stretch of a session free for allocated plays (a relay splits its session in two).
struct Part {
    std::size_t session = 0;
    Micros start_us = 0;
    Micros end_us = 0;
    std::int64_t capacity_ms() const { return ms_down(end_us - start_us); }
};

/// One (campaign, item) that can play on the class: one play is `variants` back to back.
struct Candidate {
    std::size_t campaign = 0;  ///< index into ClassInput::campaigns
    std::size_t item = 0;      ///< index into ClassCampaign::items
    std::vector<const Variant*> variants;
    Micros length_us = 0;
    std::vector<std::size_t> parts;  ///< the parts it may play in (allowed window, period, fits)
};

/// A quota bucket: at least `required_units` (plays, or milliseconds of airtime) in its parts.
struct Bucket {
    std::size_t campaign = 0;
    BucketOutcome outcome;  ///< in the reported unit
    std::int64_t required_units = 0;
    bool airtime = false;
    std::vector<std::size_t> parts;
};

struct CampaignRules {
    int separation_minutes = 0;
    double share_max = 1.0;
    int daily_share = 1;  ///< plays a day its quotas need: more on one day is bunching
};

/// Everything an allocator needs; plays are counted per (candidate, part).
struct AllocationModel {
    std::vector<Session> sessions;  ///< inside the horizon, sorted by start
    std::vector<Part> parts;
    std::vector<Candidate> candidates;
    std::vector<CampaignRules> campaigns;
    std::vector<Bucket> buckets;  ///< in service order of their campaigns

    /// What a play of candidate k adds to a bucket: 1 play, or its airtime in milliseconds
    /// (rounded down, so counted airtime never exceeds what plays).
    std::int64_t units(const Bucket& b, std::size_t k) const {
        return b.airtime ? ms_down(candidates[k].length_us) : 1;
    }
    /// What a play of candidate k takes from a part: its length rounded up and the gap after it.
    std::int64_t footprint_ms(std::size_t k) const {
        return ms_up(candidates[k].length_us) + ms_up(kGapBetweenPlays);
    }
};

/// Plays per (candidate, part).
using Allocation = std::map<std::pair<std::size_t, std::size_t>, int>;

/// The fast path: places plays one by one, spreading each campaign over sessions and days,
/// buckets in service order, each as far as it goes. Returns the first campaign it could not
/// serve fully, nothing when every bucket is met. Falling short says nothing about feasibility.
std::optional<std::size_t> greedy_allocation(const AllocationModel& model, Allocation& allocation);

/// The exact path (an integer program): an allocation meeting every bucket, or nothing when
/// there is none. `note` is set when the search stopped at its limit without deciding;
/// `solver_error` when GLPK failed (with no allocation if it failed before finding one).
struct ExactAllocation {
    std::optional<Allocation> allocation;
    std::string note;
    std::string solver_error;
};
ExactAllocation exact_allocation(const AllocationModel& model);

}  // namespace loa::schedules::detail
