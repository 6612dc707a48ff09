// Solving one node class: sessions after caps, relays fixed, quota buckets, plays allocated
// (fast path, then the exact one when needed), laid out and measured.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "allocation.hpp"
#include "engine.hpp"

namespace loa::schedules::detail {

namespace {

/// The media one play of an item is made of on a node speaking `languages`: the variant of each
/// language the item has, in the area's order; the item's own variant when it has none of them.
std::vector<const Variant*> variants_for(const Item& item,
                                         const std::vector<std::string>& languages) {
    std::vector<const Variant*> chosen;
    for (const auto& language : languages) {
        for (const auto& v : item.variants) {
            if (v.language == language) {
                chosen.push_back(&v);
                break;
            }
        }
    }
    if (chosen.empty() && !item.variants.empty()) {
        chosen.push_back(&item.variants.front());
    }
    return chosen;
}

Micros play_length(const std::vector<const Variant*>& variants) {
    Micros total = 0;
    for (const Variant* v : variants) {
        total += v->duration_us;
    }
    return total;
}

/// Laid-out plays, each with the session part it sits in (-1 for a relay) and whether it
/// opens a play (the first of an item's language variants).
struct Layout {
    std::vector<Play> plays;
    std::vector<std::pair<int, bool>> tags;
};

std::string week_label(int day) {
    // ISO week: the week (Monday first) belongs to the year of its Thursday.
    const int thursday = day - weekday_index(day) + 3;
    const Date t = date_of(thursday);
    const int jan1 = day_number(Date{t.year(), std::chrono::January, std::chrono::day{1}});
    const int week = (thursday - jan1) / 7 + 1;
    char text[32];
    std::snprintf(text, sizeof text, "%04d-W%02d", static_cast<int>(t.year()), week);
    return text;
}

std::string month_label(int day) {
    return date_text(day).substr(0, 7);
}

/// The calendar bucket a day falls in for an airtime quota.
std::string bucket_label(AirtimePer per, int day) {
    switch (per) {
        case AirtimePer::day:
            return date_text(day);
        case AirtimePer::week:
            return week_label(day);
        case AirtimePer::month:
            return month_label(day);
    }
    return {};
}

class ClassSolver {
  public:
    ClassSolver(const ClassInput& input, int from_day, int days)
        : input_(input), from_day_(from_day), last_day_(from_day + days - 1) {}

    ClassResult solve() {
        find_sessions();
        place_relays();
        cut_parts();
        find_candidates();
        add_quota_buckets();
        allocate();
        return finish();
    }

  private:
    const ClassInput& input_;
    int from_day_;
    int last_day_;
    std::vector<Session> all_sessions_;  // whole weeks and months around the horizon
    std::vector<Play> fixed_;            // relays
    std::map<std::string, std::vector<BucketOutcome>> outcomes_;
    AllocationModel model_;
    Allocation allocation_;
    std::string note_;
    std::string solver_error_;
    bool searched_ = false;

    const ClassCampaign& campaign(std::size_t c) const { return input_.campaigns[c]; }

    bool in_period(const ClassCampaign& c, int day) const {
        return std::binary_search(c.days.begin(), c.days.end(), day);
    }

    bool eligible(const ClassCampaign& c, const Session& s) const {
        const auto& allowed = c.campaign->windows;
        return in_period(c, s.day) && (allowed.empty() || std::find(allowed.begin(), allowed.end(),
                                                                    s.window) != allowed.end());
    }

    void find_sessions() {
        // Airtime quotas per week or month are shared out over the bucket's broadcast days, so
        // the sessions of whole weeks and months around the horizon are needed to count them.
        const auto [ext_first, ext_last] = extended_range(from_day_, last_day_);
        all_sessions_ = broadcast_sessions(*input_.area, input_.kind, ext_first, ext_last);
        for (Session s : all_sessions_) {
            // Time already gone (or too close for nodes to learn of it) is not offered.
            s.start_us = std::max(s.start_us, input_.not_before_us);
            if (s.day >= from_day_ && s.day <= last_day_ && s.start_us < s.end_us) {
                model_.sessions.push_back(s);
            }
        }
    }

    void place_relays() {
        for (std::size_t ci = 0; ci < input_.campaigns.size(); ++ci) {
            const ClassCampaign& c = campaign(ci);
            if (!c.relay) {
                continue;
            }
            for (int day = from_day_; day <= last_day_; ++day) {
                if (!in_period(c, day)) {
                    continue;
                }
                for (const Item* item : c.items) {
                    place_relay(c, *item, day);
                }
            }
        }
        std::sort(fixed_.begin(), fixed_.end(),
                  [](const Play& a, const Play& b) { return a.start_us < b.start_us; });
    }

    void place_relay(const ClassCampaign& c, const Item& item, int day) {
        BucketOutcome outcome{"relay", date_text(day), "plays", 1, 0, {}};
        const Variant& v = item.variants.front();
        const Micros start = local_to_utc(*input_.area->zone, day, item.relay_start_minute);
        const Micros end = start + v.duration_us;
        const auto& sessions = model_.sessions;
        const bool in_session = std::any_of(sessions.begin(), sessions.end(), [&](auto& s) {
            return eligible(c, s) && s.start_us <= start && end <= s.end_us;
        });
        const bool clashes = std::any_of(fixed_.begin(), fixed_.end(), [&](const Play& p) {
            return p.start_us < end && start < p.end_us;
        });
        if (!in_session) {
            outcome.reason = "relay " + item.id + " at its time is outside every allowed session";
        } else if (clashes) {
            outcome.reason = "relay " + item.id + " overlaps a relay served first";
        } else {
            outcome.scheduled = 1;
            Play p;
            p.campaign = c.campaign->id;
            p.item = item.id;
            p.language = v.language;
            p.relay_url = item.relay_url;
            p.kind = ItemKind::relay;
            p.priority = c.campaign->priority;
            p.start_us = start;
            p.end_us = end;
            fixed_.push_back(std::move(p));
        }
        outcomes_[c.campaign->id].push_back(std::move(outcome));
    }

    /// Session time free for allocated plays: around relays and plays already booked (with a
    /// gap), and cut where a one-off campaign's interval begins or ends.
    void cut_parts() {
        std::vector<Interval> blocked;
        for (const Play& relay : fixed_) {
            blocked.push_back({relay.start_us, relay.end_us + kGapBetweenPlays});
        }
        for (const Interval& b : input_.busy) {
            blocked.push_back({b.start_us - kGapBetweenPlays, b.end_us + kGapBetweenPlays});
        }
        std::sort(blocked.begin(), blocked.end(),
                  [](const Interval& a, const Interval& b) { return a.start_us < b.start_us; });
        std::vector<Micros> cuts;
        for (const auto& c : input_.campaigns) {
            if (c.campaign->between) {
                cuts.push_back(c.campaign->between->start_us);
                cuts.push_back(c.campaign->between->end_us);
            }
        }
        std::sort(cuts.begin(), cuts.end());
        for (std::size_t si = 0; si < model_.sessions.size(); ++si) {
            const Session& s = model_.sessions[si];
            Micros cursor = s.start_us;
            auto add = [&](Micros start, Micros end) {
                for (Micros cut : cuts) {
                    if (cut > start && cut < end) {
                        model_.parts.push_back({si, start, cut});
                        start = cut;
                    }
                }
                if (start < end) {
                    model_.parts.push_back({si, start, end});
                }
            };
            for (const Interval& b : blocked) {
                if (b.end_us <= cursor || b.start_us >= s.end_us) {
                    continue;
                }
                if (b.start_us > cursor) {
                    add(cursor, b.start_us);
                }
                cursor = std::max(cursor, b.end_us);
            }
            if (cursor < s.end_us) {
                add(cursor, s.end_us);
            }
        }
    }

    void find_candidates() {
        for (std::size_t ci = 0; ci < input_.campaigns.size(); ++ci) {
            const ClassCampaign& c = campaign(ci);
            const Quotas& q = c.campaign->quotas;
            model_.campaigns.push_back(
                {q.separation_minutes, q.share_max, std::max(1, q.plays_per_day)});
            if (c.relay) {
                continue;
            }
            for (std::size_t ii = 0; ii < c.items.size(); ++ii) {
                Candidate cand{ci, ii, variants_for(*c.items[ii], input_.area->languages), 0, {}};
                cand.length_us = play_length(cand.variants);
                for (std::size_t pi = 0; pi < model_.parts.size(); ++pi) {
                    const Part& part = model_.parts[pi];
                    const bool inside =
                        !c.campaign->between || (c.campaign->between->start_us <= part.start_us &&
                                                 part.end_us <= c.campaign->between->end_us);
                    if (inside && eligible(c, model_.sessions[part.session]) &&
                        cand.length_us <= part.end_us - part.start_us) {
                        cand.parts.push_back(pi);
                    }
                }
                if (cand.length_us > 0) {
                    model_.candidates.push_back(std::move(cand));
                }
            }
        }
    }

    /// Days of the campaign's period in [first, last] on which one of its sessions falls.
    std::set<int> broadcast_days(const ClassCampaign& c, int first, int last) const {
        std::set<int> days;
        for (const auto& s : all_sessions_) {
            if (s.day >= first && s.day <= last && eligible(c, s)) {
                days.insert(s.day);
            }
        }
        return days;
    }

    void add_bucket(std::size_t ci, Bucket bucket, const std::set<int>& days) {
        for (std::size_t pi = 0; pi < model_.parts.size(); ++pi) {
            if (days.contains(model_.sessions[model_.parts[pi].session].day)) {
                bucket.parts.push_back(pi);
            }
        }
        bucket.campaign = ci;
        model_.buckets.push_back(std::move(bucket));
    }

    void add_unservable(const ClassCampaign& c, const std::string& quota, const std::string& unit,
                        std::int64_t required, int first, int last) {
        outcomes_[c.campaign->id].push_back(
            {quota, date_text(first) + ".." + date_text(last), unit, required, 0,
             "no broadcast session for this campaign in the period"});
    }

    void add_quota_buckets() {
        for (std::size_t ci = 0; ci < input_.campaigns.size(); ++ci) {
            const ClassCampaign& c = campaign(ci);
            if (c.relay) {
                continue;
            }
            std::vector<int> horizon_days;
            for (int d = from_day_; d <= last_day_; ++d) {
                if (in_period(c, d)) {
                    horizon_days.push_back(d);
                }
            }
            if (horizon_days.empty()) {
                continue;
            }
            const Quotas& q = c.campaign->quotas;
            const auto served = broadcast_days(c, from_day_, last_day_);
            if (q.plays_per_day > 0) {
                if (served.empty()) {
                    add_unservable(c, "plays_per_day", "plays",
                                   q.plays_per_day * static_cast<std::int64_t>(horizon_days.size()),
                                   horizon_days.front(), horizon_days.back());
                }
                for (int day : served) {
                    Bucket b;
                    b.outcome = {"plays_per_day", date_text(day), "plays", q.plays_per_day, 0, {}};
                    b.required_units = q.plays_per_day;
                    add_bucket(ci, std::move(b), {day});
                }
            }
            if (q.airtime_us > 0) {
                if (served.empty()) {
                    add_unservable(c, "airtime", "seconds", (q.airtime_us + kSecond - 1) / kSecond,
                                   horizon_days.front(), horizon_days.back());
                }
                add_airtime_buckets(ci, horizon_days);
            }
        }
    }

    void add_airtime_buckets(std::size_t ci, const std::vector<int>& horizon_days) {
        const ClassCampaign& c = campaign(ci);
        const Quotas& q = c.campaign->quotas;
        std::map<std::string, std::vector<int>> by_bucket;  // label → horizon days of period
        for (int d : horizon_days) {
            by_bucket[bucket_label(q.airtime_per, d)].push_back(d);
        }
        for (const auto& [label, days] : by_bucket) {
            // The bucket's broadcast days over the whole calendar unit, inside the period.
            std::set<int> whole;
            for (const auto& s : all_sessions_) {
                if (bucket_label(q.airtime_per, s.day) == label && eligible(c, s)) {
                    whole.insert(s.day);
                }
            }
            std::set<int> here;
            for (int d : days) {
                if (whole.contains(d)) {
                    here.insert(d);
                }
            }
            const std::int64_t quota_s = (q.airtime_us + kSecond - 1) / kSecond;
            if (here.empty()) {
                continue;  // no broadcast day of the bucket in the horizon: nothing asked here
            }
            // Shared out by broadcast days: a horizon holding 3 of a week's 5 asks for 3/5.
            const auto n_here = static_cast<std::int64_t>(here.size());
            const auto n_whole = static_cast<std::int64_t>(whole.size());
            const std::int64_t required_s = (quota_s * n_here + n_whole - 1) / n_whole;
            Bucket b;
            b.airtime = true;
            b.outcome = {"airtime", label, "seconds", required_s, 0, {}};
            b.required_units = required_s * 1000;
            add_bucket(ci, std::move(b), here);
            auto& daily = model_.campaigns[ci].daily_share;
            daily = std::max(daily, plays_a_day(ci, required_s, here.size()));
        }
    }

    /// Plays a day that deliver `seconds` over `days` days with the campaign's average play.
    int plays_a_day(std::size_t ci, std::int64_t seconds, std::size_t days) const {
        Micros total = 0;
        int count = 0;
        for (const auto& cand : model_.candidates) {
            if (cand.campaign == ci) {
                total += cand.length_us;
                ++count;
            }
        }
        if (count == 0 || days == 0) {
            return 1;
        }
        const double average_s = static_cast<double>(total) / count / kSecond;
        return static_cast<int>(
            std::ceil(static_cast<double>(seconds) / average_s / static_cast<double>(days)));
    }

    /// The fast path first; when it falls short, the exact search decides whether every quota
    /// can be met. If none can, the fast path's allocation stands: campaigns served in order,
    /// each as far as it goes after those before it.
    void allocate() {
        if (!greedy_allocation(model_, allocation_)) {
            return;
        }
        searched_ = true;
        auto exact = exact_allocation(model_);
        note_ = exact.note;
        solver_error_ = exact.solver_error;
        if (exact.allocation) {
            allocation_ = std::move(*exact.allocation);
        } else if (!solver_error_.empty()) {
            // Not a proven shortfall: the operator must not read it as one.
            note_ =
                "bộ giải chính xác (GLPK) gặp lỗi nên giữ cách xếp nhanh; chỉ tiêu có thể vẫn vừa "
                "/ the exact solver (GLPK) failed, so the fast path's allocation stands; the quota "
                "may fit all the same: " +
                solver_error_;
        }
    }

    Layout lay_out() const {
        Layout layout;
        // Allocation is keyed (candidate, part); lay out part by part, candidates in service
        // order (priority campaigns first, then booking order), a campaign's items in rotation.
        std::map<std::size_t, std::vector<std::pair<std::size_t, int>>> by_part;
        for (const auto& [key, plays] : allocation_) {
            by_part[key.second].emplace_back(key.first, plays);
        }
        for (auto& [pi, entries] : by_part) {
            std::sort(entries.begin(), entries.end());
            Micros t = model_.parts[pi].start_us;
            for (const auto& [k, count] : entries) {
                const Candidate& cand = model_.candidates[k];
                const ClassCampaign& c = campaign(cand.campaign);
                for (int n = 0; n < count; ++n) {
                    bool first = true;
                    for (const Variant* v : cand.variants) {
                        Play p;
                        p.campaign = c.campaign->id;
                        p.item = c.items[cand.item]->id;
                        p.language = v->language;
                        p.media = v->media;
                        p.kind = c.items[cand.item]->kind;
                        p.priority = c.campaign->priority;
                        p.start_us = t;
                        p.end_us = t + v->duration_us;
                        t = p.end_us;
                        layout.plays.push_back(std::move(p));
                        layout.tags.emplace_back(static_cast<int>(pi), first);
                        first = false;
                    }
                    t += kGapBetweenPlays;
                }
            }
        }
        for (const Play& relay : fixed_) {
            layout.plays.push_back(relay);
            layout.tags.emplace_back(-1, true);
        }
        return layout;
    }

    ClassResult finish() {
        Layout layout = lay_out();
        // Outcomes are measured on the laid-out plays, not taken from the allocators.
        for (const Bucket& b : model_.buckets) {
            const std::set<std::size_t> parts(b.parts.begin(), b.parts.end());
            const std::string& id = campaign(b.campaign).campaign->id;
            Micros airtime = 0;
            std::int64_t plays = 0;
            for (std::size_t n = 0; n < layout.plays.size(); ++n) {
                const Play& p = layout.plays[n];
                const int part = layout.tags[n].first;
                if (p.campaign != id || part < 0 ||
                    !parts.contains(static_cast<std::size_t>(part))) {
                    continue;
                }
                airtime += p.end_us - p.start_us;
                plays += layout.tags[n].second ? 1 : 0;
            }
            BucketOutcome outcome = b.outcome;
            outcome.scheduled = b.airtime ? airtime / kSecond : plays;
            if (outcome.scheduled < outcome.required && !note_.empty()) {
                outcome.reason = note_;
            }
            outcomes_[id].push_back(std::move(outcome));
        }
        std::sort(layout.plays.begin(), layout.plays.end(),
                  [](const Play& a, const Play& b) { return a.start_us < b.start_us; });
        ClassResult result;
        auto timeline = std::make_shared<Timeline>();
        timeline->plays = std::move(layout.plays);
        std::string canonical;
        for (auto& p : timeline->plays) {
            p.slot_id =
                p.campaign + "/" + p.item + "/" + p.language + "@" + std::to_string(p.start_us);
            canonical += p.slot_id + ' ' + std::to_string(p.end_us) + ' ' + p.media + ' ' +
                         p.relay_url + '\n';
        }
        timeline->hash = sha256_hex(canonical);
        result.timeline = std::move(timeline);
        result.outcomes = std::move(outcomes_);
        result.searched = searched_;
        result.solver_error = solver_error_;
        return result;
    }
};

}  // namespace

ClassResult solve_class(const ClassInput& input, int from_day, int days) {
    return ClassSolver(input, from_day, days).solve();
}

}  // namespace loa::schedules::detail
