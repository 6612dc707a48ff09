// The airtime report's figures: read from the rollup by day, days cut by the period read from the
// plays themselves, unconfirmed plays told apart, then grouped, with coverage per quota.
#include "loa/controller/audit/airtime_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <date/date.h>
#include <date/iso_week.h>
#include <fmt/core.h>
#include <sqlite3.h>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/plans/plan_file.hpp"
#include "loa/controller/store/airtime_rollup.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::controller {

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::size_t kConfirmedBuckets = 6;  // played … failed: the rollup's columns

/// One node's figures for one local day, or the part of it inside the period.
struct DayCell {
    std::string node_id;
    std::string area_path;
    std::string local_day;  ///< YYYY-MM-DD
    AirtimeRow figures;
};

void add(AirtimeRow& into, const AirtimeRow& from) {
    into.planned_plays += from.planned_plays;
    into.planned_us += from.planned_us;
    into.confirmed_plays += from.confirmed_plays;
    into.confirmed_us += from.confirmed_us;
    for (std::size_t b = 0; b < kBucketCount; ++b) {
        into.buckets[b].plays += from.buckets[b].plays;
        into.buckets[b].planned_us += from.buckets[b].planned_us;
    }
    into.unplanned_plays += from.unplanned_plays;
    into.unplanned_us += from.unplanned_us;
    into.silent += from.silent;
    into.off_time += from.off_time;
}

int depth_of(std::string_view path) {
    return path.empty() ? 0 : static_cast<int>(std::count(path.begin(), path.end(), '/')) + 1;
}

/// The first `level` parts of `path` (all of it when it has fewer).
std::string cut(const std::string& path, int level) {
    std::size_t at = 0;
    for (int i = 0; i < level; ++i) {
        at = path.find('/', i == 0 ? 0 : at + 1);
        if (at == std::string::npos) {
            return path;
        }
    }
    return path.substr(0, at);
}

date::year_month_day parse_day(const std::string& text) {
    int y = 1970;
    unsigned m = 1, d = 1;
    std::sscanf(text.c_str(), "%d-%u-%u", &y, &m, &d);
    return date::year{y} / date::month{m} / date::day{d};
}

std::string week_of(const std::string& day) {
    const iso_week::year_weeknum_weekday w{date::sys_days{parse_day(day)}};
    return fmt::format("{}-W{:02}", static_cast<int>(w.year()), static_cast<unsigned>(w.weeknum()));
}

std::string month_of(const std::string& day) {
    return day.substr(0, 7);
}

/// What the report knows of a node's confirmations to tell unconfirmed plays apart.
struct NodeMarks {
    /// Every number up to the highest received is in, and the node's heartbeat has numbered
    /// nothing beyond it.
    bool complete = true;
    std::int64_t reported_through_us = 0;
};

class Reader {
  public:
    Reader(SQLite::Database& db, const ReportQuery& query) : db_(db), q_(query) {}

    Result<AirtimeReport> run();

  private:
    Bucket classify(const NodeMarks& marks, std::int64_t start_us, std::int64_t end_us) const;
    const NodeMarks& marks(const std::string& node_id);
    void read_rollup();
    void read_partial_days();
    void place_unconfirmed(DayCell& cell, std::int64_t day_start, std::int64_t day_end,
                           std::int64_t planned_end);
    Result<void> resolve_level(AirtimeReport& report);
    std::string area_key(const std::string& area_path) const;
    void read_quotas(AirtimeReport& report);
    void coverage(const AirtimeReport& report, const std::vector<const DayCell*>& cells,
                  AirtimeRow& row) const;
    std::map<std::string, std::set<std::string>> planned_days_around();
    void read_silent_plays(AirtimeReport& report);

    bool in_area(const std::string& path) const {
        return q_.area.empty() || schedules::area_contains(q_.area, path);
    }

    SQLite::Database& db_;
    ReportQuery q_;
    /// A deque: 100,000s of cells are read one by one, and never move once read.
    std::deque<DayCell> cells_;
    std::string campaign_name_;
    std::int64_t name_day_ = std::numeric_limits<std::int64_t>::min();
    /// Days the period cuts: node → [from, to) inside it, with the row's area and date.
    struct Partial {
        std::string node_id;
        std::string area_path;
        std::string local_day;
        std::int64_t from_us = 0;
        std::int64_t to_us = 0;
    };
    std::vector<Partial> partial_;
    std::map<std::string, NodeMarks> marks_;
    std::map<std::string, std::string> levels_;  ///< area path → level name, from the plans
    int level_ = 0;
    std::vector<QuotaCheck> quotas_;
    /// node → local days it had plays booked on, around the period (airtime quotas' shares)
    std::map<std::string, std::set<std::string>> planned_days_;
};

const NodeMarks& Reader::marks(const std::string& node_id) {
    auto it = marks_.find(node_id);
    if (it != marks_.end()) {
        return it->second;
    }
    NodeMarks m;
    std::int64_t highest = 0;
    SQLite::Statement q(db_,
                        "SELECT received, highest_seq, reported_through_us FROM "
                        "confirmation_marks WHERE node_id = ?");
    q.bind(1, node_id);
    if (q.executeStep()) {
        highest = q.getColumn(1).getInt64();
        m.complete = q.getColumn(0).getInt64() == highest;
        m.reported_through_us = q.getColumn(2).getInt64();
    }
    SQLite::Statement hb(db_, "SELECT last_seq FROM node_status WHERE node_id = ?");
    hb.bind(1, node_id);
    if (hb.executeStep() && hb.getColumn(0).getInt64() > highest) {
        m.complete = false;  // numbered, still in the node's outbox
    }
    return marks_.emplace(node_id, m).first->second;
}

Bucket Reader::classify(const NodeMarks& m, std::int64_t start_us, std::int64_t end_us) const {
    if (end_us > q_.now_us) {
        return Bucket::upcoming;
    }
    if (m.complete && start_us < m.reported_through_us) {
        return Bucket::missing;
    }
    return Bucket::not_yet_reported;
}

void Reader::place_unconfirmed(DayCell& cell, std::int64_t day_start, std::int64_t day_end,
                               std::int64_t planned_end) {
    AirtimeRow& f = cell.figures;
    std::int64_t plays = f.planned_plays;
    std::int64_t us = f.planned_us;
    for (std::size_t b = 0; b < kConfirmedBuckets; ++b) {
        plays -= f.buckets[b].plays;
        us -= f.buckets[b].planned_us;
    }
    if (plays <= 0) {
        return;
    }
    const NodeMarks& m = marks(cell.node_id);
    // Whole days first: a day before the node's latest report, or one it has been silent since.
    std::optional<Bucket> all;
    if (planned_end <= q_.now_us) {
        if (m.complete && m.reported_through_us >= day_end) {
            all = Bucket::missing;
        } else if (!m.complete || m.reported_through_us <= day_start) {
            all = Bucket::not_yet_reported;
        }
    }
    if (all) {
        f.bucket(*all).plays += plays;
        f.bucket(*all).planned_us += us;
        return;
    }
    // The day the node's reports stop in, or the day now is in: play by play.
    SQLite::Statement q(db_,
                        "SELECT s.start_us, s.duration_us FROM slots s WHERE s.node_id = ? AND "
                        "s.start_us >= ? AND s.start_us < ? AND s.campaign_id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM confirmations c WHERE c.node_id = s.node_id AND "
                        "c.slot_id = s.slot_id)");
    q.bind(1, cell.node_id);
    q.bind(2, static_cast<int64_t>(day_start));
    q.bind(3, static_cast<int64_t>(day_end));
    q.bind(4, q_.campaign_id);
    while (q.executeStep() && plays > 0) {
        const std::int64_t start = q.getColumn(0).getInt64();
        const std::int64_t duration = q.getColumn(1).getInt64();
        PlayCount& p = f.bucket(classify(m, start, start + duration));
        p.plays += 1;
        p.planned_us += duration;
        plays -= 1;
        us -= duration;
    }
    if (plays > 0) {  // the rollup and the plays disagree: say so rather than lose a play
        f.bucket(Bucket::not_yet_reported).plays += plays;
        f.bucket(Bucket::not_yet_reported).planned_us += us;
    }
}

void Reader::read_rollup() {
    std::string sql =
        "SELECT node_id, area_path, day_start_us, day_end_us, local_day, campaign_name, "
        "planned_plays, planned_us, planned_end_us, played, played_us, interrupted, "
        "interrupted_us, late, late_us, media_missing, media_missing_us, node_offline, "
        "node_offline_us, failed, failed_us, aired_us, unplanned_plays, unplanned_us, silent, "
        "off_time FROM airtime_rollup WHERE campaign_id = ?1 AND day_start_us < ?3 AND "
        "day_end_us > ?2";
    if (!q_.area.empty()) {
        sql += " AND area_path >= ?4 AND area_path < ?4 || '0'";  // the subtree, and a little
    }
    SQLite::Statement q(db_, sql);
    q.bind(1, q_.campaign_id);
    q.bind(2, static_cast<int64_t>(q_.from_us));
    q.bind(3, static_cast<int64_t>(q_.to_us));
    if (!q_.area.empty()) {
        q.bind(4, q_.area);
    }
    while (q.executeStep()) {
        std::string area = q.getColumn(1).getString();
        if (!in_area(area)) {
            continue;
        }
        const std::int64_t day_start = q.getColumn(2).getInt64();
        const std::int64_t day_end = q.getColumn(3).getInt64();
        if (day_start > name_day_) {
            name_day_ = day_start;
            campaign_name_ = q.getColumn(5).getString();
        }
        if (day_start < q_.from_us || day_end > q_.to_us) {
            partial_.push_back({q.getColumn(0).getString(), area, q.getColumn(4).getString(),
                                std::max(day_start, q_.from_us), std::min(day_end, q_.to_us)});
            continue;
        }
        DayCell& cell = cells_.emplace_back(
            DayCell{q.getColumn(0).getString(), std::move(area), q.getColumn(4).getString(), {}});
        AirtimeRow& f = cell.figures;
        f.planned_plays = q.getColumn(6).getInt64();
        f.planned_us = q.getColumn(7).getInt64();
        for (std::size_t b = 0; b < kConfirmedBuckets; ++b) {
            f.buckets[b].plays = q.getColumn(static_cast<int>(9 + 2 * b)).getInt64();
            f.buckets[b].planned_us = q.getColumn(static_cast<int>(10 + 2 * b)).getInt64();
        }
        f.confirmed_plays = f.bucket(Bucket::played).plays;
        f.confirmed_us = q.getColumn(21).getInt64();
        f.unplanned_plays = q.getColumn(22).getInt64();
        f.unplanned_us = q.getColumn(23).getInt64();
        f.silent = q.getColumn(24).getInt64();
        f.off_time = q.getColumn(25).getInt64();
        if (f.planned_plays == 0 && f.unplanned_plays == 0) {
            cells_.pop_back();  // everything booked that day was taken back
            continue;
        }
        place_unconfirmed(cell, day_start, day_end, q.getColumn(8).getInt64());
    }
}

void Reader::read_partial_days() {
    // Per range the period cuts (one per time zone and end of the period), every play of the
    // campaign in it; only the nodes whose day that range is take them.
    std::map<std::pair<std::int64_t, std::int64_t>, std::map<std::string, DayCell>> ranges;
    for (const auto& p : partial_) {
        ranges[{p.from_us, p.to_us}][p.node_id] = DayCell{p.node_id, p.area_path, p.local_day, {}};
    }
    SQLite::Statement booked(
        db_,
        "SELECT s.node_id, s.start_us, s.duration_us, c.outcome, c.reason, c.actual_start_us, "
        "c.actual_end_us, c.peak_dbfs, c.off_time FROM slots s LEFT JOIN confirmations c ON "
        "c.node_id = s.node_id AND c.slot_id = s.slot_id WHERE s.campaign_id = ? AND "
        "s.start_us >= ? AND s.start_us < ?");
    SQLite::Statement unplanned(
        db_,
        "SELECT c.node_id, c.actual_end_us - c.actual_start_us, c.peak_dbfs FROM confirmations "
        "c WHERE c.campaign_id = ? AND c.planned_start_us >= ? AND c.planned_start_us < ? AND "
        "c.outcome IN ('played', 'interrupted') AND (emergency_id <> '' OR unbooked = 1)");
    auto silent = [](const SQLite::Column& peak) {
        return !peak.isNull() && peak.getDouble() < kSilenceThresholdDbfs;
    };
    for (auto& [range, nodes] : ranges) {
        std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> open;
        for (auto* q : {&booked, &unplanned}) {
            q->bind(1, q_.campaign_id);
            q->bind(2, static_cast<int64_t>(range.first));
            q->bind(3, static_cast<int64_t>(range.second));
        }
        while (booked.executeStep()) {
            auto it = nodes.find(booked.getColumn(0).getString());
            if (it == nodes.end()) {
                continue;
            }
            AirtimeRow& f = it->second.figures;
            const std::int64_t start = booked.getColumn(1).getInt64();
            const std::int64_t duration = booked.getColumn(2).getInt64();
            f.planned_plays += 1;
            f.planned_us += duration;
            if (booked.getColumn(3).isNull()) {
                open[it->first].emplace_back(start, duration);
                continue;
            }
            const std::string outcome = booked.getColumn(3).getString();
            const auto b = detail::bucket_of(outcome, booked.getColumn(4).getString());
            PlayCount& p = f.buckets[static_cast<std::size_t>(b)];
            p.plays += 1;
            p.planned_us += duration;
            if (outcome == "played" || outcome == "interrupted") {
                f.confirmed_us += booked.getColumn(6).getInt64() - booked.getColumn(5).getInt64();
                f.silent += silent(booked.getColumn(7)) ? 1 : 0;
                f.off_time += booked.getColumn(8).getInt64();
            }
        }
        booked.reset();
        while (unplanned.executeStep()) {
            auto it = nodes.find(unplanned.getColumn(0).getString());
            if (it == nodes.end()) {
                continue;
            }
            AirtimeRow& f = it->second.figures;
            f.unplanned_plays += 1;
            f.unplanned_us += unplanned.getColumn(1).getInt64();
            f.silent += silent(unplanned.getColumn(2)) ? 1 : 0;
        }
        unplanned.reset();
        for (auto& [node_id, cell] : nodes) {
            AirtimeRow& f = cell.figures;
            f.confirmed_plays = f.bucket(Bucket::played).plays;
            const NodeMarks& m = marks(node_id);
            for (const auto& [start, duration] : open[node_id]) {
                PlayCount& p = f.bucket(classify(m, start, start + duration));
                p.plays += 1;
                p.planned_us += duration;
            }
            if (f.planned_plays > 0 || f.unplanned_plays > 0) {
                cells_.push_back(std::move(cell));
            }
        }
    }
}

Result<void> Reader::resolve_level(AirtimeReport& report) {
    if (!q_.level_name.empty()) {
        // Levels are named in plan files; the newest plan that names an area wins.
        SQLite::Statement plans(db_,
                                "SELECT source, text FROM plans WHERE instr(text, 'level') > 0 "
                                "ORDER BY plan_id DESC LIMIT 20");
        while (plans.executeStep()) {
            auto plan = parse_plan(plans.getColumn(1).getString(), plans.getColumn(0).getString());
            if (!plan) {
                continue;
            }
            for (const auto& a : plan->areas) {
                levels_.emplace(a.path, a.level);
            }
        }
        std::map<int, int> depths;
        std::set<std::string> names;
        for (const auto& [path, level] : levels_) {
            if (!level.empty()) {
                names.insert(level);
            }
            if (level == q_.level_name) {
                ++depths[depth_of(path)];
            }
        }
        if (depths.empty()) {
            std::string known;
            for (const auto& n : names) {
                known += (known.empty() ? "" : ", ") + n;
            }
            return fail(Error::Code::invalid_input,
                        fmt::format("no area of the applied plans has level '{}' (levels: {}); "
                                    "give a depth instead, e.g. --level 4",
                                    q_.level_name, known.empty() ? "none" : known));
        }
        // Areas of this level elsewhere in the tree: cut where the level usually is.
        level_ = std::max_element(depths.begin(), depths.end(), [](const auto& a, const auto& b) {
                     return a.second < b.second;
                 })->first;
    } else if (q_.level > 0) {
        level_ = q_.level;
    } else if (!q_.area.empty()) {
        level_ = depth_of(q_.area) + 1;
    } else {
        // One below what every row shares.
        std::string common;
        bool first = true;
        for (const auto& c : cells_) {
            if (first) {
                common = c.area_path;
                first = false;
                continue;
            }
            while (!common.empty() && !schedules::area_contains(common, c.area_path)) {
                const auto slash = common.rfind('/');
                common = slash == std::string::npos ? "" : common.substr(0, slash);
            }
        }
        level_ = depth_of(common) + 1;
    }
    report.query.level = level_;
    return {};
}

std::string Reader::area_key(const std::string& area_path) const {
    if (!q_.level_name.empty()) {
        for (std::string path = area_path; !path.empty();) {
            if (auto it = levels_.find(path); it != levels_.end() && it->second == q_.level_name) {
                return path;
            }
            const auto slash = path.rfind('/');
            path = slash == std::string::npos ? "" : path.substr(0, slash);
        }
    }
    return cut(area_path, level_);
}

void Reader::read_quotas(AirtimeReport& report) {
    // The plan in force when the period's plays were booked: the newest applied before its
    // end that holds the campaign. Plans applied later book only later plays.
    // A campaign booked with `campaign add` has none; only plans naming it are read.
    SQLite::Statement plans(db_,
                            "SELECT source, text FROM plans WHERE applied_us < ?1 AND "
                            "instr(text, ?2) > 0 AND NOT EXISTS (SELECT 1 FROM campaigns WHERE "
                            "campaign_id = ?3 AND plan_id IS NULL) ORDER BY plan_id DESC");
    plans.bind(1, static_cast<int64_t>(q_.to_us));
    plans.bind(2, "\"" + q_.campaign_id + "\"");
    plans.bind(3, q_.campaign_id);
    std::optional<schedules::Quotas> quotas;
    while (!quotas && plans.executeStep()) {
        auto plan = parse_plan(plans.getColumn(1).getString(), plans.getColumn(0).getString());
        if (!plan) {
            continue;
        }
        for (const auto& c : plan->campaigns) {
            if (c.id == q_.campaign_id) {
                quotas = c.quotas;
                report.quota_source = plans.getColumn(0).getString();
                break;
            }
        }
    }
    const double coverage = quotas ? quotas->coverage : 1.0;
    if (quotas && quotas->plays_per_day > 0) {
        quotas_.push_back({"plays_per_day", quotas->plays_per_day, coverage});
    }
    if (quotas && quotas->airtime_us > 0) {
        const char* per = quotas->airtime_per == schedules::AirtimePer::day ? "airtime_per_day"
                          : quotas->airtime_per == schedules::AirtimePer::week
                              ? "airtime_per_week"
                              : "airtime_per_month";
        quotas_.push_back({per, quotas->airtime_us, coverage});
    }
    if (quotas_.empty()) {
        quotas_.push_back({"as_planned", 0, coverage});
    }
    report.quotas = quotas_;
}

std::map<std::string, std::set<std::string>> Reader::planned_days_around() {
    std::map<std::string, std::set<std::string>> days;
    // A month or an ISO week the period cuts asks its share by the node's broadcast days.
    constexpr std::int64_t kMargin = 32LL * 86400 * kSecondUs;
    std::string sql =
        "SELECT node_id, area_path, local_day FROM airtime_rollup WHERE campaign_id = ?1 AND "
        "day_start_us < ?3 AND day_end_us > ?2 AND planned_plays > 0";
    if (!q_.area.empty()) {
        sql += " AND area_path >= ?4 AND area_path < ?4 || '0'";
    }
    SQLite::Statement q(db_, sql);
    q.bind(1, q_.campaign_id);
    q.bind(2, static_cast<int64_t>(q_.from_us - kMargin));
    q.bind(3, static_cast<int64_t>(q_.to_us + kMargin));
    if (!q_.area.empty()) {
        q.bind(4, q_.area);
    }
    while (q.executeStep()) {
        if (in_area(q.getColumn(1).getString())) {
            days[q.getColumn(0).getString()].insert(q.getColumn(2).getString());
        }
    }
    return days;
}

void Reader::coverage(const AirtimeReport& report, const std::vector<const DayCell*>& cells,
                      AirtimeRow& row) const {
    std::map<std::string, std::vector<const DayCell*>> by_node;
    for (const auto* c : cells) {
        by_node[c->node_id].push_back(c);
    }
    row.quota_nodes_met.assign(report.quotas.size(), 0);
    for (const auto& [node_id, days] : by_node) {
        std::int64_t planned = 0;
        std::int64_t played = 0;
        for (const auto* c : days) {
            planned += c->figures.planned_plays;
            played += c->figures.confirmed_plays;
        }
        if (planned == 0) {
            continue;  // not targeted here: only emergencies aired
        }
        ++row.nodes_targeted;
        bool all = true;
        for (std::size_t i = 0; i < report.quotas.size(); ++i) {
            const QuotaCheck& quota = report.quotas[i];
            bool met = true;
            if (quota.quota == "as_planned") {
                met = played >= planned;
            } else if (quota.quota == "plays_per_day") {
                for (const auto* c : days) {
                    if (c->figures.planned_plays > 0 &&
                        c->figures.confirmed_plays < quota.required) {
                        met = false;
                    }
                }
            } else {
                // Airtime per day, ISO week or month of the node's local time; a bucket the
                // period (or the row) cuts asks its share by the days plays were booked on.
                auto bucket_of_day = [&](const std::string& day) {
                    return quota.quota == "airtime_per_day"    ? day
                           : quota.quota == "airtime_per_week" ? week_of(day)
                                                               : month_of(day);
                };
                std::map<std::string, std::pair<std::int64_t, std::int64_t>> buckets;  // days, us
                for (const auto* c : days) {
                    auto& b = buckets[bucket_of_day(c->local_day)];
                    b.first += c->figures.planned_plays > 0 ? 1 : 0;
                    b.second += c->figures.airtime_us();
                }
                std::map<std::string, std::int64_t> whole;
                if (auto it = planned_days_.find(node_id); it != planned_days_.end()) {
                    for (const auto& day : it->second) {
                        ++whole[bucket_of_day(day)];
                    }
                }
                for (const auto& [key, b] : buckets) {
                    if (b.first == 0) {
                        continue;
                    }
                    const std::int64_t of = std::max(b.first, whole[key]);
                    const std::int64_t required =
                        (quota.required * b.first / of + kSecondUs - 1) / kSecondUs * kSecondUs;
                    if (b.second < required) {
                        met = false;
                    }
                }
            }
            row.quota_nodes_met[i] += met ? 1 : 0;
            all = all && met;
        }
        row.nodes_met += all ? 1 : 0;
    }
}

void Reader::read_silent_plays(AirtimeReport& report) {
    // The partial index confirmations_silent holds exactly these plays.
    SQLite::Statement q(db_,
                        "SELECT node_id, area_path, slot_id, planned_start_us, "
                        "actual_end_us - actual_start_us, peak_dbfs, coalesce(rms_dbfs, 0) FROM "
                        "confirmations WHERE campaign_id = ? AND planned_start_us >= ? AND "
                        "planned_start_us < ? AND peak_dbfs < -50.0 AND outcome IN ('played', "
                        "'interrupted') ORDER BY planned_start_us, node_id");
    q.bind(1, q_.campaign_id);
    q.bind(2, static_cast<int64_t>(q_.from_us));
    q.bind(3, static_cast<int64_t>(q_.to_us));
    while (q.executeStep() && report.silent_plays.size() < kSilentPlaysListed) {
        if (!in_area(q.getColumn(1).getString())) {
            continue;
        }
        report.silent_plays.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                                       q.getColumn(2).getString(), q.getColumn(3).getInt64(),
                                       q.getColumn(4).getInt64(), q.getColumn(5).getDouble(),
                                       q.getColumn(6).getDouble()});
    }
}

Result<AirtimeReport> Reader::run() {
    static_assert(kSilenceThresholdDbfs == -50.0, "the silent index and queries say -50.0");
    AirtimeReport report;
    if (q_.now_us == 0) {
        q_.now_us = now_us();
    }
    read_rollup();
    if (cells_.empty() && partial_.empty()) {
        // No row in the period: the campaign must at least exist, now or in the record.
        SQLite::Statement known(db_,
                                "SELECT name FROM campaigns WHERE campaign_id = ?1 UNION ALL "
                                "SELECT campaign_name FROM airtime_rollup WHERE campaign_id = ?1 "
                                "LIMIT 1");
        known.bind(1, q_.campaign_id);
        if (!known.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no campaign '{}'", q_.campaign_id));
        }
        campaign_name_ = known.getColumn(0).getString();
    }
    read_partial_days();
    report.query = q_;
    report.campaign_name = campaign_name_;
    if (auto resolved = resolve_level(report); !resolved) {
        return std::unexpected(resolved.error());
    }
    read_quotas(report);
    if (std::any_of(quotas_.begin(), quotas_.end(), [](const QuotaCheck& c) {
            return c.quota == "airtime_per_week" || c.quota == "airtime_per_month";
        })) {
        planned_days_ = planned_days_around();
    }

    // Keys of days (weeks, months) and areas are few: each is made once. Cells come in the
    // rollup's order (area, day, node), so a cell's group is mostly the one before's.
    std::unordered_map<std::string, std::string> week_keys;
    std::unordered_map<std::string, std::string> area_keys;
    auto memo = [](std::unordered_map<std::string, std::string>& cache, const std::string& in,
                   auto make) -> const std::string& {
        auto it = cache.find(in);
        if (it == cache.end()) {
            it = cache.emplace(in, make(in)).first;
        }
        return it->second;
    };
    auto week_key = [&](const DayCell& c) -> const std::string& {
        return memo(week_keys, c.local_day, [](const std::string& d) { return week_of(d); });
    };
    auto area_group = [&](const DayCell& c) -> const std::string& {
        return memo(area_keys, c.area_path, [&](const std::string& a) { return area_key(a); });
    };
    auto group = [&](auto key_of) {
        std::map<std::string, std::vector<const DayCell*>> groups;
        std::vector<const DayCell*>* last = nullptr;
        std::string last_key;
        for (const auto& c : cells_) {
            const std::string& key = key_of(c);
            if (last == nullptr || key != last_key) {
                last = &groups[key];
                last_key = key;
            }
            last->push_back(&c);
        }
        std::vector<AirtimeRow> rows;
        for (const auto& [key, cells] : groups) {
            AirtimeRow row;
            row.key = key;
            for (const auto* c : cells) {
                add(row, c->figures);
            }
            coverage(report, cells, row);
            rows.push_back(std::move(row));
        }
        return rows;
    };
    switch (q_.by) {
        case Grouping::node:
            // By area, then node; a node moved during the period has a row per area.
            report.rows = group([](const DayCell& c) { return c.area_path + '\n' + c.node_id; });
            for (auto& r : report.rows) {
                const auto nl = r.key.find('\n');
                r.area_path = r.key.substr(0, nl);
                r.node_id = r.key.substr(nl + 1);
                r.key = r.node_id;
            }
            break;
        case Grouping::area:
            report.rows = group(area_group);
            for (auto& r : report.rows) {
                r.area_path = r.key;
            }
            break;
        case Grouping::day:
            report.rows = group([](const DayCell& c) -> const std::string& { return c.local_day; });
            break;
        case Grouping::week:
            report.rows = group(week_key);
            break;
        case Grouping::month:
            report.rows = group([](const DayCell& c) { return month_of(c.local_day); });
            break;
    }
    const std::string all = "*";
    auto totals = group([&](const DayCell&) -> const std::string& { return all; });
    report.total = totals.empty() ? AirtimeRow{.key = "*"} : std::move(totals.front());
    report.total.area_path = q_.area;
    if (report.total.quota_nodes_met.empty()) {
        report.total.quota_nodes_met.assign(report.quotas.size(), 0);
    }
    report.by_area = group(area_group);
    for (auto& r : report.by_area) {
        r.area_path = r.key;
    }
    report.by_week = group(week_key);
    read_silent_plays(report);
    return report;
}

}  // namespace

std::string_view grouping_name(Grouping grouping) {
    switch (grouping) {
        case Grouping::node:
            return "node";
        case Grouping::area:
            return "area";
        case Grouping::day:
            return "day";
        case Grouping::week:
            return "week";
        case Grouping::month:
            break;
    }
    return "month";
}

Result<Grouping> parse_grouping(std::string_view text) {
    for (auto g :
         {Grouping::node, Grouping::area, Grouping::day, Grouping::week, Grouping::month}) {
        if (text == grouping_name(g)) {
            return g;
        }
    }
    if (text == "area-level") {
        return Grouping::area;
    }
    return fail(
        Error::Code::invalid_input,
        fmt::format("'{}' is not a grouping: node, area (area-level), day, week or month", text));
}

std::string_view bucket_name(Bucket bucket) {
    static constexpr std::string_view kNames[kBucketCount] = {
        "played",  "interrupted",      "late",    "media_missing", "node_offline", "failed",
        "missing", "not_yet_reported", "upcoming"};
    return kNames[static_cast<std::size_t>(bucket)];
}

std::int64_t AirtimeRow::unconfirmed() const {
    return bucket(Bucket::missing).plays + bucket(Bucket::not_yet_reported).plays +
           bucket(Bucket::upcoming).plays;
}

std::int64_t AirtimeRow::accounted_plays() const {
    std::int64_t n = 0;
    for (const auto& b : buckets) {
        n += b.plays;
    }
    return n;
}

Result<AirtimeReport> airtime_report(SQLite::Database& db, const ReportQuery& query) {
    if (query.to_us <= query.from_us) {
        return fail(Error::Code::invalid_input, "the report period ends before it starts");
    }
    if (!query.area.empty()) {
        if (auto why = schedules::area_path_problem(query.area); !why.empty()) {
            return fail(Error::Code::invalid_input, fmt::format("area '{}': {}", query.area, why));
        }
    }
    if (query.level < 0) {
        return fail(
            Error::Code::invalid_input,
            fmt::format("level {}: areas are cut at a depth from 1 (vn) down", query.level));
    }
    return guard_storage([&]() -> Result<AirtimeReport> {
        // One read transaction (unless the caller holds one): the rollup and the plays it is
        // checked against agree.
        ReadTransaction snapshot(db);
        return Reader(db, query).run();
    });
}

}  // namespace loa::controller
