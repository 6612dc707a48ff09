// The compiler: groups nodes into classes with identical inputs, solves each class once (in
// parallel, reusing unchanged classes from the last compile) and sums up the quota report.
#include "loa/schedules/plan_compiler.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <sodium.h>

#include "engine.hpp"
#include "integer_program.hpp"
#include "loa/schedules/area_path.hpp"
#include "loa/schedules/lunar_calendar.hpp"

namespace loa::schedules {

namespace detail {

std::string sha256_hex(const std::string& text) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

}  // namespace detail

using namespace detail;

std::vector<Date> event_dates(const Event& event, Date first, Date last) {
    std::vector<Date> dates;
    const int y0 = static_cast<int>(first.year()) - 1;
    const int y1 = static_cast<int>(last.year()) + 1;
    for (int y = y0; y <= y1; ++y) {
        Date d{};
        if (event.lunar) {
            const bool leap = event.leap_month && leap_month(y) == event.month;
            const int length = lunar_month_length(y, event.month, leap);
            if (length == 0) {
                continue;
            }
            auto solar = lunar_to_solar({y, event.month, std::min(event.day, length), leap});
            if (!solar) {
                continue;
            }
            d = *solar;
        } else {
            d = Date{std::chrono::year{y}, std::chrono::month(static_cast<unsigned>(event.month)),
                     std::chrono::day(static_cast<unsigned>(event.day))};
            if (!d.ok()) {
                continue;  // 29 February in a common year
            }
        }
        if (d >= first && d <= last) {
            dates.push_back(d);
        }
    }
    std::sort(dates.begin(), dates.end());
    return dates;
}

namespace {

/// The campaign's days (local dates) inside [first, last].
std::vector<int> campaign_days(const Campaign& c, const std::map<std::string, const Event*>& events,
                               int first, int last) {
    std::set<int> days;
    auto add = [&](int a, int b) {
        for (int d = std::max(a, first); d <= std::min(b, last); ++d) {
            days.insert(d);
        }
    };
    if (c.period.first && c.period.last) {
        add(day_number(*c.period.first), day_number(*c.period.last));
    } else if (auto it = events.find(c.period.event); it != events.end()) {
        const int before = c.period.days_before;
        const int after = c.period.days_after;
        for (Date e : event_dates(*it->second, date_of(first - after), date_of(last + before))) {
            add(day_number(e) - before, day_number(e) + after);
        }
    }
    return {days.begin(), days.end()};
}

std::string window_text(const Window& w) {
    std::string t = w.name + '@' + std::to_string(w.start_minute) + '-' +
                    std::to_string(w.end_minute) + '/' + std::to_string(w.weekdays);
    t += w.first_date ? date_text(day_number(*w.first_date)) : "-";
    t += w.last_date ? date_text(day_number(*w.last_date)) : "-";
    for (NodeKind k : w.kinds) {
        t += static_cast<char>('0' + static_cast<int>(k));
    }
    return t;
}

std::string area_text(const ResolvedArea& a) {
    std::string t = a.time_zone + '|';
    for (const auto& l : a.languages) {
        t += l + ',';
    }
    t += '|';
    for (const auto& w : a.windows) {
        t += window_text(w) + ';';
    }
    t += '|' + std::to_string(a.caps.sessions_per_day) + ',' +
         std::to_string(a.caps.minutes_per_session) + ',' + std::to_string(a.caps.days_per_week);
    return t;
}

std::string campaign_text(const ClassCampaign& c) {
    const Campaign& k = *c.campaign;
    const Quotas& q = k.quotas;
    std::string t = k.id + '|' + std::to_string(static_cast<int>(k.priority)) + '|' +
                    std::to_string(q.plays_per_day) + ',' + std::to_string(q.airtime_us) + ',' +
                    std::to_string(static_cast<int>(q.airtime_per)) + ',' +
                    std::to_string(q.share_max) + ',' + std::to_string(q.separation_minutes) + '|';
    for (const auto& w : k.windows) {
        t += w + ',';
    }
    if (k.between) {
        t += '@' + std::to_string(k.between->start_us) + '-' + std::to_string(k.between->end_us);
    }
    t += '|';
    // Days as runs: "first+count".
    for (std::size_t i = 0; i < c.days.size();) {
        std::size_t j = i;
        while (j + 1 < c.days.size() && c.days[j + 1] == c.days[j] + 1) {
            ++j;
        }
        t += std::to_string(c.days[i]) + '+' + std::to_string(j - i + 1) + ',';
        i = j + 1;
    }
    t += '|';
    for (const Item* item : c.items) {
        t += item->id + ':' + std::to_string(static_cast<int>(item->kind)) + ':' + item->relay_url +
             ':' + std::to_string(item->relay_start_minute);
        for (const auto& v : item->variants) {
            t += ':' + v.language + '=' + v.media + '/' + std::to_string(v.duration_us);
        }
        t += ';';
    }
    return t;
}

const char* kind_name(NodeKind kind) {
    return kind == NodeKind::speaker ? "speaker" : "panel";
}

/// A node class as the quota report names it: "<area path> (<kind>)".
std::string class_name(const ClassInput& input) {
    return input.area->area->path + " (" + kind_name(input.kind) + ")";
}

/// Nodes of one area and kind: they always share a class.
struct NodeGroup {
    std::string area;
    NodeKind kind = NodeKind::speaker;
    std::vector<Interval> busy;
    std::vector<std::string> nodes;
    std::string fingerprint;
    std::vector<std::size_t> campaigns;  ///< plan indexes, service order
};

}  // namespace

std::string detail::class_fingerprint(const ClassInput& input, int from_day, int days) {
    std::string t = std::to_string(from_day) + '+' + std::to_string(days) + '|' +
                    kind_name(input.kind) + '|' + area_text(*input.area) + '|';
    if (input.not_before_us != std::numeric_limits<Micros>::min()) {
        t += std::to_string(input.not_before_us);
    }
    for (const auto& b : input.busy) {
        t += ',' + std::to_string(b.start_us) + '-' + std::to_string(b.end_us);
    }
    for (const auto& c : input.campaigns) {
        t += '\n' + campaign_text(c);
    }
    return sha256_hex(t);
}

struct PlanCompiler::Cache {
    std::unordered_map<std::string, ClassResult> classes;  ///< by fingerprint
};

PlanCompiler::PlanCompiler() : cache_(std::make_unique<Cache>()) {
    if (sodium_init() < 0) {
        std::abort();  // libsodium cannot work on this machine at all
    }
}

PlanCompiler::~PlanCompiler() = default;

namespace {

class Compilation {
  public:
    Compilation(const Plan& plan, const Horizon& horizon)
        : plan_(plan),
          from_day_(day_number(horizon.from)),
          days_(horizon.days),
          last_day_(from_day_ + horizon.days - 1),
          not_before_us_(horizon.not_before_us) {}

    std::vector<PlanProblem> prepare() {
        std::vector<PlanProblem> problems = check_plan(plan_);
        if (days_ < 1 || days_ > 366) {
            problems.insert(problems.begin(),
                            {0, "the horizon is 1 to 366 days, not " + std::to_string(days_)});
        }
        if (!problems.empty()) {
            return problems;
        }
        std::vector<PlanProblem> ignored;
        areas_ = resolve_areas(plan_, ignored);
        for (const auto& item : plan_.items) {
            items_[item.id] = &item;
        }
        for (const auto& event : plan_.events) {
            events_[event.id] = &event;
        }
        const auto [ext_first, ext_last] = extended_range(from_day_, last_day_);
        for (const auto& c : plan_.campaigns) {
            days_of_.push_back(campaign_days(c, events_, ext_first, ext_last));
        }
        group_nodes();
        return {};
    }

    /// Classes by fingerprint, each with the input to solve it.
    std::map<std::string, ClassInput> class_inputs() const {
        std::map<std::string, ClassInput> inputs;
        for (const auto& g : groups_) {
            if (!inputs.contains(g.fingerprint)) {
                inputs.emplace(g.fingerprint, input_of(g));
            }
        }
        return inputs;
    }

    int from_day() const { return from_day_; }
    int days() const { return days_; }

    CompiledPlan report(const std::unordered_map<std::string, ClassResult>& results) const;

  private:
    const Plan& plan_;
    int from_day_;
    int days_;
    int last_day_;
    Micros not_before_us_;
    std::map<std::string, ResolvedArea> areas_;
    std::map<std::string, const Item*> items_;
    std::map<std::string, const Event*> events_;
    std::vector<std::vector<int>> days_of_;  ///< per campaign
    std::vector<NodeGroup> groups_;

    bool targets(const Campaign& c, const std::string& area, NodeKind kind) const {
        if (!c.node_kinds.empty() &&
            std::find(c.node_kinds.begin(), c.node_kinds.end(), kind) == c.node_kinds.end()) {
            return false;
        }
        const bool playable = std::any_of(c.items.begin(), c.items.end(), [&](auto& id) {
            return can_play(kind, items_.at(id)->kind);
        });
        return playable && std::any_of(c.areas.begin(), c.areas.end(),
                                       [&](auto& a) { return area_contains(a, area); });
    }

    ClassCampaign class_campaign(std::size_t ci, NodeKind kind) const {
        const Campaign& c = plan_.campaigns[ci];
        ClassCampaign cc;
        cc.campaign = &c;
        for (const auto& id : c.items) {
            const Item* item = items_.at(id);
            if (can_play(kind, item->kind)) {
                cc.items.push_back(item);
                cc.relay = item->kind == ItemKind::relay;
            }
        }
        cc.days = days_of_[ci];
        return cc;
    }

    ClassInput input_of(const NodeGroup& g) const {
        ClassInput input;
        input.kind = g.kind;
        input.area = &areas_.at(g.area);
        input.busy = g.busy;
        input.not_before_us = not_before_us_;
        for (std::size_t ci : g.campaigns) {
            input.campaigns.push_back(class_campaign(ci, g.kind));
        }
        return input;
    }

    void group_nodes() {
        std::map<std::tuple<std::string, NodeKind, std::string>, std::size_t> index;
        for (const auto& node : plan_.nodes) {
            auto busy = node.busy;
            std::sort(busy.begin(), busy.end(), [](const Interval& a, const Interval& b) {
                return std::tie(a.start_us, a.end_us) < std::tie(b.start_us, b.end_us);
            });
            std::string busy_key;
            for (const auto& b : busy) {
                busy_key += std::to_string(b.start_us) + '-' + std::to_string(b.end_us) + ',';
            }
            auto [it, fresh] = index.try_emplace({node.area, node.kind, busy_key}, groups_.size());
            if (fresh) {
                groups_.push_back({node.area, node.kind, std::move(busy), {}, {}, {}});
            }
            groups_[it->second].nodes.push_back(node.id);
        }
        // Service order: priority campaigns first, then normal ones, each in booking order.
        std::vector<std::size_t> order(plan_.campaigns.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return plan_.campaigns[a].priority == Priority::priority &&
                   plan_.campaigns[b].priority != Priority::priority;
        });
        for (auto& g : groups_) {
            for (std::size_t ci : order) {
                if (targets(plan_.campaigns[ci], g.area, g.kind)) {
                    g.campaigns.push_back(ci);
                }
            }
            g.fingerprint = class_fingerprint(input_of(g), from_day_, days_);
        }
    }
};

struct Tally {
    std::int64_t required = 0;
    std::int64_t scheduled = 0;
    std::int64_t nodes_short = 0;  ///< targeted nodes on which this quota falls short
    std::string unit;
};

CompiledPlan Compilation::report(
    const std::unordered_map<std::string, ClassResult>& results) const {
    CompiledPlan out;
    // Timelines: one per distinct content, sorted by hash.
    std::map<std::string, std::shared_ptr<const Timeline>> by_hash;
    for (const auto& g : groups_) {
        const auto& t = results.at(g.fingerprint).timeline;
        by_hash.emplace(t->hash, t);
    }
    std::map<std::string, std::size_t> position;
    for (const auto& [hash, t] : by_hash) {
        position[hash] = out.timelines.size();
        out.timelines.push_back(t);
    }
    for (const auto& g : groups_) {
        const std::size_t at = position.at(results.at(g.fingerprint).timeline->hash);
        for (const auto& node : g.nodes) {
            out.node_timeline[node] = at;
        }
    }

    const std::string horizon = date_text(from_day_) + ".." + date_text(last_day_);
    std::vector<QuotaOutcome> details;
    for (std::size_t ci = 0; ci < plan_.campaigns.size(); ++ci) {
        const Campaign& c = plan_.campaigns[ci];
        std::map<std::string, Tally> tallies;  // by quota
        std::int64_t targeted = 0;
        std::int64_t missing = 0;  // targeted nodes with some unmet bucket
        for (const auto& g : groups_) {
            if (std::find(g.campaigns.begin(), g.campaigns.end(), ci) == g.campaigns.end()) {
                continue;
            }
            const auto n = static_cast<std::int64_t>(g.nodes.size());
            targeted += n;
            const auto& outcomes = results.at(g.fingerprint).outcomes;
            auto it = outcomes.find(c.id);
            if (it == outcomes.end()) {
                continue;
            }
            bool short_here = false;
            std::set<std::string> short_quotas;
            for (const BucketOutcome& b : it->second) {
                Tally& t = tallies[b.quota];
                t.unit = b.unit;
                t.required += n * b.required;
                t.scheduled += n * std::min(b.scheduled, b.required);
                if (b.scheduled < b.required) {
                    short_here = true;
                    if (short_quotas.insert(b.quota).second) {
                        t.nodes_short += n;
                    }
                    details.push_back({c.id, b.quota, g.area + " (" + kind_name(g.kind) + ")",
                                       b.period, b.unit, b.required, b.scheduled,
                                       b.required - b.scheduled, n, false, b.reason});
                }
            }
            missing += short_here ? n : 0;
        }
        const auto needed = static_cast<std::int64_t>(
            std::ceil(c.quotas.coverage * static_cast<double>(targeted) - 1e-9));
        const bool covered = targeted - missing >= needed;
        for (const auto& [quota, t] : tallies) {
            // A quota is met when enough targeted nodes meet it (relays: every one).
            const bool met =
                quota == "relay" ? t.scheduled == t.required : targeted - t.nodes_short >= needed;
            out.quotas.push_back({c.id,
                                  quota,
                                  "all targeted nodes",
                                  horizon,
                                  t.unit,
                                  t.required,
                                  t.scheduled,
                                  t.required - t.scheduled,
                                  targeted,
                                  met,
                                  {}});
            out.feasible = out.feasible && met;
        }
        if (tallies.empty() && targeted > 0) {
            continue;  // nothing asked of this campaign inside the horizon
        }
        QuotaOutcome coverage{c.id,
                              "coverage",
                              "all targeted nodes",
                              horizon,
                              "nodes",
                              needed,
                              targeted - missing,
                              std::max<std::int64_t>(0, needed - (targeted - missing)),
                              targeted,
                              covered,
                              {}};
        if (targeted == 0) {
            coverage.reason = "no node of a kind that can play its items in its areas";
        }
        out.quotas.push_back(std::move(coverage));
        out.feasible = out.feasible && covered;
    }
    out.quotas.insert(out.quotas.end(), details.begin(), details.end());
    return out;
}

}  // namespace

std::expected<CompiledPlan, std::vector<PlanProblem>> PlanCompiler::compile(const Plan& plan,
                                                                            const Horizon& horizon,
                                                                            unsigned threads) {
    Compilation compilation(plan, horizon);
    if (auto problems = compilation.prepare(); !problems.empty()) {
        return std::unexpected(std::move(problems));
    }
    auto inputs = compilation.class_inputs();

    std::unordered_map<std::string, ClassResult> results;
    std::vector<std::pair<const std::string*, const ClassInput*>> unsolved;
    for (const auto& [fingerprint, input] : inputs) {
        if (auto hit = cache_->classes.find(fingerprint); hit != cache_->classes.end()) {
            results.emplace(fingerprint, hit->second);
        } else {
            unsolved.emplace_back(&fingerprint, &input);
        }
    }
    const std::size_t reused = results.size();

    // Classes are independent: solve them on a small pool; the order never shows in the output.
    // A worker never lets an exception out (it would end the process): a class whose solve
    // threw is reported as a plan problem, the others are still solved.
    std::vector<ClassResult> solved(unsolved.size());
    std::vector<std::string> thrown(unsolved.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < unsolved.size(); i = next++) {
            try {
                solved[i] =
                    solve_class(*unsolved[i].second, compilation.from_day(), compilation.days());
            } catch (const std::exception& e) {
                thrown[i] = e.what();
            } catch (...) {
                thrown[i] = "an exception that is not a std::exception";
            }
        }
        // GLPK keeps an environment per thread; the calling thread may live on for a long time.
        release_solver_environment();
    };
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    {
        std::vector<std::jthread> pool;
        for (unsigned t = 1; t < threads && t < unsolved.size(); ++t) {
            try {
                pool.emplace_back(work);
            } catch (const std::system_error&) {
                break;  // no more threads to be had: the ones running and this one do the rest
            }
        }
        work();
    }
    std::vector<PlanProblem> failures;
    for (std::size_t i = 0; i < unsolved.size(); ++i) {
        if (!thrown[i].empty()) {
            failures.push_back(
                {0, class_name(*unsolved[i].second) +
                        ": không xếp được lịch, không có gì thay đổi / could not be scheduled, "
                        "nothing was changed: " +
                        thrown[i]});
        }
    }
    if (!failures.empty()) {
        return std::unexpected(std::move(failures));  // the cache keeps the last good compile
    }
    std::size_t searched = 0;
    std::vector<std::string> solver_errors;
    std::vector<std::string> failed_fingerprints;
    for (std::size_t i = 0; i < unsolved.size(); ++i) {
        searched += solved[i].searched ? 1 : 0;
        if (!solved[i].solver_error.empty()) {
            solver_errors.push_back(class_name(*unsolved[i].second) + ": " +
                                    solved[i].solver_error);
            failed_fingerprints.push_back(*unsolved[i].first);
        }
        results.emplace(*unsolved[i].first, std::move(solved[i]));
    }

    CompiledPlan out = compilation.report(results);
    out.classes_computed = unsolved.size();
    out.classes_reused = reused;
    out.classes_searched = searched;
    out.solver_errors = std::move(solver_errors);
    // A class the solver failed on is solved again next time, not served from the cache.
    for (const auto& fingerprint : failed_fingerprints) {
        results.erase(fingerprint);
    }
    cache_->classes = std::move(results);
    return out;
}

}  // namespace loa::schedules
