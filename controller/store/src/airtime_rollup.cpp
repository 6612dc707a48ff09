// The airtime rollup: buckets of confirmed plays, nodes' local days, and the rows booking and
// ingest add to.
#include "loa/controller/store/airtime_rollup.hpp"

#include <chrono>
#include <mutex>
#include <stdexcept>

#include <date/tz.h>
#include <sqlite3.h>

#include "loa/controller/common/language.hpp"
#include "loa/schedules/plan.hpp"

namespace loa::controller::detail {

namespace {

constexpr std::int64_t kDayUs = 86'400'000'000LL;
constexpr std::int64_t kVietnamUs = 7LL * 3600 * 1'000'000;

/// IANA zones by name, looked up once each; null for an unknown name.
const date::time_zone* find_zone(std::string_view name) {
    static std::mutex mutex;
    static std::map<std::string, const date::time_zone*, std::less<>> zones;
    std::lock_guard lock(mutex);
    if (auto it = zones.find(name); it != zones.end()) {
        return it->second;
    }
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(std::string(name));
    } catch (const std::runtime_error&) {
        zone = nullptr;
    }
    zones.emplace(std::string(name), zone);
    return zone;
}

std::string date_of(date::local_days day) {
    const date::year_month_day ymd{day};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}

std::string_view text_arg(sqlite3_value* v) {
    const auto* p = sqlite3_value_text(v);
    return p ? std::string_view(reinterpret_cast<const char*>(p),
                                static_cast<std::size_t>(sqlite3_value_bytes(v)))
             : std::string_view{};
}

void sql_day_start(sqlite3_context* ctx, int, sqlite3_value** argv) {
    sqlite3_result_int64(ctx, local_day(sqlite3_value_int64(argv[0]), text_arg(argv[1])).start_us);
}

void sql_day_end(sqlite3_context* ctx, int, sqlite3_value** argv) {
    sqlite3_result_int64(ctx, local_day(sqlite3_value_int64(argv[0]), text_arg(argv[1])).end_us);
}

void sql_local_day(sqlite3_context* ctx, int, sqlite3_value** argv) {
    const auto day = local_day(sqlite3_value_int64(argv[0]), text_arg(argv[1]));
    sqlite3_result_text(ctx, day.date.c_str(), static_cast<int>(day.date.size()), SQLITE_TRANSIENT);
}

void sql_bucket(sqlite3_context* ctx, int, sqlite3_value** argv) {
    const char* name = bucket_column(bucket_of(text_arg(argv[0]), text_arg(argv[1])));
    sqlite3_result_text(ctx, name, -1, SQLITE_STATIC);
}

}  // namespace

ConfirmedBucket bucket_of(std::string_view outcome, std::string_view reason) {
    if (outcome == "played") {
        return ConfirmedBucket::played;
    }
    if (outcome == "interrupted") {
        return ConfirmedBucket::interrupted;
    }
    if (reason == "late") {
        return ConfirmedBucket::late;
    }
    if (reason == "media-missing") {
        return ConfirmedBucket::media_missing;
    }
    // The agent (or the device under it) went down while the play was due or on air.
    if (reason == "agent-stopped" || reason == "agent-restarted" || reason.starts_with("offline")) {
        return ConfirmedBucket::node_offline;
    }
    return ConfirmedBucket::failed;
}

const char* bucket_column(ConfirmedBucket bucket) {
    switch (bucket) {
        case ConfirmedBucket::played:
            return "played";
        case ConfirmedBucket::interrupted:
            return "interrupted";
        case ConfirmedBucket::late:
            return "late";
        case ConfirmedBucket::media_missing:
            return "media_missing";
        case ConfirmedBucket::node_offline:
            return "node_offline";
        case ConfirmedBucket::failed:
            break;
    }
    return "failed";
}

LocalDay local_day(std::int64_t utc_us, std::string_view zone_name) {
    const date::time_zone* zone = find_zone(zone_name);
    if (!zone) {
        zone = find_zone(schedules::kDefaultTimeZone);
    }
    if (!zone) {  // no time zone database at all: Vietnam has kept UTC+7 since 1975
        const std::int64_t start = (utc_us + kVietnamUs) / kDayUs * kDayUs - kVietnamUs;
        return {start, start + kDayUs,
                date_of(date::local_days{date::days{(start + kVietnamUs) / kDayUs}})};
    }
    using std::chrono::microseconds;
    const date::sys_time<microseconds> at{microseconds{utc_us}};
    const auto day = date::floor<date::days>(zone->to_local(at));
    auto instant = [&](date::local_days d) {
        return std::chrono::duration_cast<microseconds>(
                   zone->to_sys(d, date::choose::earliest).time_since_epoch())
            .count();
    };
    return {instant(day), instant(day + date::days{1}), date_of(day)};
}

void register_rollup_functions(SQLite::Database& db) {
    db.createFunction("loa_day_start", 2, true, nullptr, sql_day_start);
    db.createFunction("loa_day_end", 2, true, nullptr, sql_day_end);
    db.createFunction("loa_local_day", 2, true, nullptr, sql_local_day);
    db.createFunction("loa_bucket", 2, true, nullptr, sql_bucket);
}

// ---- booking ---------------------------------------------------------------------------------

RollupDays::RollupDays(SQLite::Database& db)
    : node_q_(db, "SELECT area_path, time_zone FROM nodes WHERE node_id = ?"),
      name_q_(db, "SELECT name FROM campaigns WHERE campaign_id = ?"),
      insert_(db,
              "INSERT OR IGNORE INTO airtime_rollup (campaign_id, area_path, day_start_us, "
              "node_id, day_end_us, local_day, campaign_name) VALUES (?, ?, ?, ?, ?, ?, ?)") {}

const RollupDays::NodeInfo& RollupDays::node(const std::string& node_id) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
        NodeInfo info{"", schedules::kDefaultTimeZone};
        node_q_.bind(1, node_id);
        if (node_q_.executeStep()) {
            info = {node_q_.getColumn(0).getString(), node_q_.getColumn(1).getString()};
        }
        node_q_.reset();
        it = nodes_.emplace(node_id, std::move(info)).first;
    }
    return it->second;
}

void RollupDays::ensure(const std::string& node_id, const std::string& campaign_id,
                        std::int64_t at_us) {
    auto& days = done_[{campaign_id, node_id}];
    if (auto it = days.upper_bound(at_us); it != days.begin() && std::prev(it)->second > at_us) {
        return;
    }
    const NodeInfo& info = node(node_id);
    auto name = names_.find(campaign_id);
    if (name == names_.end()) {
        name_q_.bind(1, campaign_id);
        name = names_
                   .emplace(campaign_id,
                            name_q_.executeStep() ? name_q_.getColumn(0).getString() : campaign_id)
                   .first;
        name_q_.reset();
    }
    const LocalDay day = local_day(at_us, info.time_zone);
    insert_.bind(1, campaign_id);
    insert_.bind(2, info.area_path);
    insert_.bind(3, static_cast<int64_t>(day.start_us));
    insert_.bind(4, node_id);
    insert_.bind(5, static_cast<int64_t>(day.end_us));
    insert_.bind(6, day.date);
    insert_.bind(7, name->second);
    insert_.exec();
    insert_.reset();
    days[day.start_us] = day.end_us;
}

// ---- ingest ----------------------------------------------------------------------------------

namespace {

/// The row holding an instant: local days last at most 25 hours.
constexpr const char* kFindRow =
    "SELECT day_start_us, day_end_us, area_path FROM airtime_rollup WHERE campaign_id = ?1 AND "
    "node_id = ?2 AND day_start_us <= ?3 AND day_start_us > ?3 - 90000000000 AND "
    "day_end_us > ?3 ORDER BY day_start_us DESC LIMIT 1";

}  // namespace

RollupDeltas::RollupDeltas(SQLite::Database& db)
    : db_(db),
      node_q_(db, "SELECT area_path, time_zone FROM nodes WHERE node_id = ?"),
      find_(db, kFindRow),
      update_(db,
              "UPDATE airtime_rollup SET played = played + ?, played_us = played_us + ?, "
              "interrupted = interrupted + ?, interrupted_us = interrupted_us + ?, late = late + "
              "?, late_us = late_us + ?, media_missing = media_missing + ?, media_missing_us = "
              "media_missing_us + ?, node_offline = node_offline + ?, node_offline_us = "
              "node_offline_us + ?, failed = failed + ?, failed_us = failed_us + ?, aired_us = "
              "aired_us + ?, unplanned_plays = unplanned_plays + ?, unplanned_us = unplanned_us "
              "+ ?, silent = silent + ?, off_time = off_time + ? WHERE campaign_id = ? AND "
              "node_id = ? AND day_start_us = ?") {}

void RollupDeltas::start(const std::string& node_id) {
    rows_.clear();
    find_.reset();  // a report that failed may have left them stepping
    update_.reset();
    node_id_ = node_id;
    area_path_.clear();
    time_zone_ = schedules::kDefaultTimeZone;
    node_q_.bind(1, node_id);
    if (node_q_.executeStep()) {
        area_path_ = node_q_.getColumn(0).getString();
        time_zone_ = node_q_.getColumn(1).getString();
    }
    node_q_.reset();
}

RollupDeltas::Row& RollupDeltas::row(const std::string& campaign_id, std::int64_t at_us) {
    auto& days = rows_[campaign_id];
    if (auto it = days.upper_bound(at_us); it != days.begin()) {
        if (auto& [start, r] = *std::prev(it); r.end_us > at_us) {
            return r;
        }
    }
    find_.bind(1, campaign_id);
    find_.bind(2, node_id_);
    find_.bind(3, static_cast<int64_t>(at_us));
    if (find_.executeStep()) {
        const std::int64_t start = find_.getColumn(0).getInt64();
        Row& r = days[start];
        r.end_us = find_.getColumn(1).getInt64();
        r.area_path = find_.getColumn(2).getString();
        find_.reset();
        return r;
    }
    find_.reset();
    // A play of a day nothing was booked on (an emergency's): its row starts now.
    const LocalDay day = local_day(at_us, time_zone_);
    SQLite::Statement insert(
        db_,
        "INSERT OR IGNORE INTO airtime_rollup (campaign_id, area_path, day_start_us, node_id, "
        "day_end_us, local_day, campaign_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce((SELECT "
        "name FROM campaigns WHERE campaign_id = ?1), ?1))");
    insert.bind(1, campaign_id);
    insert.bind(2, area_path_);
    insert.bind(3, static_cast<int64_t>(day.start_us));
    insert.bind(4, node_id_);
    insert.bind(5, static_cast<int64_t>(day.end_us));
    insert.bind(6, day.date);
    insert.exec();
    Row& r = days[day.start_us];
    r.end_us = day.end_us;
    r.area_path = area_path_;
    return r;
}

const std::string& RollupDeltas::area_for(const std::string& campaign_id, std::int64_t planned_us) {
    return row(campaign_id, planned_us).area_path;
}

void RollupDeltas::add_booked(const std::string& campaign_id, std::int64_t planned_start_us,
                              ConfirmedBucket bucket, std::int64_t planned_us,
                              std::int64_t aired_us, bool silent, bool off_time) {
    Delta& d = row(campaign_id, planned_start_us).delta;
    const auto b = static_cast<std::size_t>(bucket);
    d.off_time += off_time ? 1 : 0;
    d.plays[b] += 1;
    d.planned_us[b] += planned_us;
    d.aired_us += aired_us;
    d.silent += silent ? 1 : 0;
}

void RollupDeltas::add_unplanned(const std::string& campaign_id, std::int64_t planned_start_us,
                                 std::int64_t aired_us, bool silent) {
    Delta& d = row(campaign_id, planned_start_us).delta;
    d.unplanned_plays += 1;
    d.unplanned_us += aired_us;
    d.silent += silent ? 1 : 0;
}

void RollupDeltas::write() {
    auto& update = update_;
    for (const auto& [campaign_id, days] : rows_) {
        for (const auto& [start, r] : days) {
            const Delta& d = r.delta;
            int i = 1;
            for (std::size_t b = 0; b < 6; ++b) {
                update.bind(i++, static_cast<int64_t>(d.plays[b]));
                update.bind(i++, static_cast<int64_t>(d.planned_us[b]));
            }
            update.bind(i++, static_cast<int64_t>(d.aired_us));
            update.bind(i++, static_cast<int64_t>(d.unplanned_plays));
            update.bind(i++, static_cast<int64_t>(d.unplanned_us));
            update.bind(i++, static_cast<int64_t>(d.silent));
            update.bind(i++, static_cast<int64_t>(d.off_time));
            update.bind(i++, campaign_id);
            update.bind(i++, node_id_);
            update.bind(i++, static_cast<int64_t>(start));
            update.exec();
            update.reset();
        }
    }
    rows_.clear();
}

}  // namespace loa::controller::detail
