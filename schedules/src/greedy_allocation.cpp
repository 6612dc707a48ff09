// The fast allocation: plays placed one at a time where they spread a campaign best. Most classes
// of a real plan have room to spare, and this settles them without a search; when it cannot
// meet a quota the exact allocation decides.
#include <cmath>
#include <set>
#include <tuple>

#include "allocation.hpp"

namespace loa::schedules::detail {

namespace {

class GreedyAllocator {
  public:
    GreedyAllocator(const AllocationModel& model, Allocation& allocation)
        : model_(model),
          allocation_(allocation),
          part_used_ms_(model.parts.size(), 0),
          item_plays_(model.candidates.size(), 0) {}

    std::optional<std::size_t> run() {
        std::optional<std::size_t> first_short;
        for (const Bucket& b : model_.buckets) {
            std::int64_t have = achieved(b);
            while (have < b.required_units) {
                const auto choice = best_play(b);
                if (!choice) {
                    // Serve the rest as far as they go: if no exact allocation exists either,
                    // this is the schedule, campaigns served in order.
                    if (!first_short) {
                        first_short = b.campaign;
                    }
                    break;
                }
                place(choice->first, choice->second);
                have += model_.units(b, choice->first);
            }
        }
        return first_short;
    }

  private:
    const AllocationModel& model_;
    Allocation& allocation_;
    std::vector<std::int64_t> part_used_ms_;
    std::vector<int> item_plays_;
    std::map<std::pair<std::size_t, std::size_t>, int> item_in_session_;       // (k, s)
    std::map<std::pair<std::size_t, std::size_t>, int> campaign_in_session_;   // (c, s)
    std::map<std::pair<std::size_t, std::size_t>, std::int64_t> campaign_ms_;  // (c, s)
    std::map<std::pair<std::size_t, int>, int> campaign_on_day_;               // (c, day)

    std::int64_t achieved(const Bucket& b) const {
        const std::set<std::size_t> parts(b.parts.begin(), b.parts.end());
        std::int64_t units = 0;
        for (const auto& [key, plays] : allocation_) {
            if (model_.candidates[key.first].campaign == b.campaign && parts.contains(key.second)) {
                units += plays * model_.units(b, key.first);
            }
        }
        return units;
    }

    bool separated(std::size_t k, std::size_t s) const {
        const int minutes = model_.campaigns[model_.candidates[k].campaign].separation_minutes;
        if (minutes <= 0) {
            return true;
        }
        const auto& sessions = model_.sessions;
        for (std::size_t t = 0; t < sessions.size(); ++t) {
            if (!item_in_session_.contains({k, t})) {
                continue;
            }
            if (t == s) {
                return false;
            }
            const Micros gap = t > s ? sessions[t].start_us - sessions[s].end_us
                                     : sessions[s].start_us - sessions[t].end_us;
            if (gap < minutes * kMinute) {
                return false;
            }
        }
        return true;
    }

    bool fits(std::size_t k, std::size_t pi) const {
        const Part& part = model_.parts[pi];
        if (part_used_ms_[pi] + ms_up(model_.candidates[k].length_us) > part.capacity_ms()) {
            return false;
        }
        const std::size_t c = model_.candidates[k].campaign;
        if (const double share = model_.campaigns[c].share_max; share < 1.0) {
            const Session& s = model_.sessions[part.session];
            const auto limit = static_cast<std::int64_t>(
                std::floor(share * static_cast<double>(ms_down(s.end_us - s.start_us))));
            auto it = campaign_ms_.find({c, part.session});
            const std::int64_t used = it == campaign_ms_.end() ? 0 : it->second;
            if (used + ms_up(model_.candidates[k].length_us) > limit) {
                return false;
            }
        }
        return separated(k, part.session);
    }

    template <typename Map, typename Key>
    static auto count(const Map& map, const Key& key) {
        auto it = map.find(key);
        return it == map.end() ? typename Map::mapped_type{} : it->second;
    }

    /// The play that spreads the bucket's campaign best: a session it has least in, then a day
    /// under its daily share, then its least played item, then the emptiest part, then the
    /// earliest.
    std::optional<std::pair<std::size_t, std::size_t>> best_play(const Bucket& b) const {
        const std::set<std::size_t> parts(b.parts.begin(), b.parts.end());
        std::optional<std::pair<std::size_t, std::size_t>> best;
        std::tuple<int, int, int, int, std::int64_t, std::size_t> best_key{};
        const int daily = model_.campaigns[b.campaign].daily_share;
        for (std::size_t k = 0; k < model_.candidates.size(); ++k) {
            if (model_.candidates[k].campaign != b.campaign) {
                continue;
            }
            for (std::size_t pi : model_.candidates[k].parts) {
                if (!parts.contains(pi) || !fits(k, pi)) {
                    continue;
                }
                const std::size_t s = model_.parts[pi].session;
                const int on_day =
                    count(campaign_on_day_, std::make_pair(b.campaign, model_.sessions[s].day));
                const std::tuple key{count(campaign_in_session_, std::make_pair(b.campaign, s)),
                                     on_day >= daily ? 1 : 0,
                                     on_day,
                                     item_plays_[k],
                                     part_used_ms_[pi],
                                     pi};
                if (!best || key < best_key) {
                    best = std::make_pair(k, pi);
                    best_key = key;
                }
            }
        }
        return best;
    }

    void place(std::size_t k, std::size_t pi) {
        const std::size_t c = model_.candidates[k].campaign;
        const std::size_t s = model_.parts[pi].session;
        ++allocation_[{k, pi}];
        part_used_ms_[pi] += model_.footprint_ms(k);
        ++item_plays_[k];
        ++item_in_session_[{k, s}];
        ++campaign_in_session_[{c, s}];
        campaign_ms_[{c, s}] += ms_up(model_.candidates[k].length_us);
        ++campaign_on_day_[{c, model_.sessions[s].day}];
    }
};

}  // namespace

std::optional<std::size_t> greedy_allocation(const AllocationModel& model, Allocation& allocation) {
    return GreedyAllocator(model, allocation).run();
}

}  // namespace loa::schedules::detail
