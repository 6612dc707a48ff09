// The airtime audit: planned against confirmed plays and seconds of a campaign, per node, area
// or period, with every planned play explained, coverage, and silence flagged (docs/audit.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/store/airtime_rollup.hpp"

namespace loa::controller {

/// What a report's rows are.
enum class Grouping { node, area, day, week, month };

/// "node", "area", "day", "week", "month".
std::string_view grouping_name(Grouping grouping);

/// Parses a grouping name ("area-level" is "area"); invalid_input otherwise.
Result<Grouping> parse_grouping(std::string_view text);

struct ReportQuery {
    std::string campaign_id;
    std::string area;  ///< empty: every area
    std::int64_t from_us = 0;
    std::int64_t to_us = 0;  ///< exclusive
    Grouping by = Grouping::node;
    /// Grouping by area: the depth areas are cut at ("vn" is 1, "vn/lao-cai" 2 …); 0: one below
    /// `area` (without `area`: one below what all the rows share).
    int level = 0;
    /// … or a level name of the applied plans' areas ("commune"), instead of `level`.
    std::string level_name;
    /// The time the report is made at: plays ending after it are upcoming. 0: the clock.
    std::int64_t now_us = 0;
};

/// Where each planned play ended up; every planned play is in exactly one.
enum class Bucket {
    played,            ///< aired in full (or joined late and aired to its end)
    interrupted,       ///< cut short by an emergency; what aired counts as confirmed airtime
    late,              ///< skipped: the node was too late to start it (after a power cut …)
    media_missing,     ///< the node did not hold the media verified in time
    node_offline,      ///< the agent or the device went down while it was due
    failed,            ///< any other failure (pipeline, sink …)
    missing,           ///< no confirmation, and the node has reported later plays: none will come
    not_yet_reported,  ///< no confirmation yet from a node silent since, or with numbers missing
    upcoming,          ///< not over yet when the report was made
};
inline constexpr std::size_t kBucketCount = 9;

/// "played", "interrupted", "late", "media_missing", "node_offline", "failed", "missing",
/// "not_yet_reported", "upcoming": the JSON keys.
std::string_view bucket_name(Bucket bucket);

struct PlayCount {
    std::int64_t plays = 0;
    std::int64_t planned_us = 0;  ///< what these plays were booked for
};

/// One row of the report, or its total.
struct AirtimeRow {
    std::string key;        ///< node id, area path, "2026-11-24", "2026-W48" or "2026-11"
    std::string node_id;    ///< by node
    std::string area_path;  ///< by node: the node's area; by area: the area (= key)
    std::int64_t planned_plays = 0;
    std::int64_t planned_us = 0;
    std::int64_t confirmed_plays = 0;  ///< played in full (= the played bucket)
    std::int64_t confirmed_us = 0;     ///< what booked plays aired: played and interrupted
    std::array<PlayCount, kBucketCount> buckets{};
    /// Plays of the campaign that aired without being booked: its emergencies.
    std::int64_t unplanned_plays = 0;
    std::int64_t unplanned_us = 0;
    std::int64_t silent = 0;          ///< plays that aired with their peak below the threshold
    std::int64_t nodes_targeted = 0;  ///< nodes with plays booked in the row
    std::int64_t nodes_met = 0;       ///< … that met every quota
    std::vector<std::int64_t> quota_nodes_met;  ///< … that met each of AirtimeReport::quotas
    /// Booked plays that aired more than kOffTimeThresholdUs (30 s) from their booked start on
    /// the controller's clock ("lệch giờ / off time"): counted in their bucket all the same.
    std::int64_t off_time = 0;

    PlayCount& bucket(Bucket b) { return buckets[static_cast<std::size_t>(b)]; }
    const PlayCount& bucket(Bucket b) const { return buckets[static_cast<std::size_t>(b)]; }
    /// Planned plays without a confirmation: missing, not yet reported and upcoming.
    std::int64_t unconfirmed() const;
    /// The campaign's airtime: booked plays' and unplanned plays'.
    std::int64_t airtime_us() const { return confirmed_us + unplanned_us; }
    /// Plays in some bucket; equal to planned_plays (the report checks it).
    std::int64_t accounted_plays() const;
};

/// A promise the campaign made each targeted node, checked per node.
struct QuotaCheck {
    /// "as_planned" (a campaign without quotas: every booked play played), "plays_per_day",
    /// "airtime_per_day", "airtime_per_week" or "airtime_per_month".
    std::string quota;
    std::int64_t required = 0;     ///< plays, or microseconds of airtime
    double coverage_required = 1;  ///< the share of targeted nodes the campaign promised
};

/// A play that aired into silence: the evidence behind AirtimeRow::silent.
struct SilentPlay {
    std::string node_id;
    std::string area_path;
    std::string slot_id;
    std::int64_t planned_start_us = 0;
    std::int64_t aired_us = 0;
    double peak_dbfs = 0;
    double rms_dbfs = 0;
};

struct AirtimeReport {
    ReportQuery query;          ///< as asked, with `level` and `now_us` filled in
    std::string campaign_name;  ///< as it was when the period's plays were booked
    std::string quota_source;   ///< the plan file the quotas come from; empty: none
    std::vector<QuotaCheck> quotas;
    std::vector<AirtimeRow> rows;  ///< by query.by: nodes by area then id, areas by path, time
    AirtimeRow total;
    std::vector<AirtimeRow> by_area;  ///< at query.level, for the charts
    std::vector<AirtimeRow> by_week;
    std::vector<SilentPlay> silent_plays;  ///< the first kSilentPlaysListed, by planned start
};

/// Silent plays listed one by one; the rest are counted.
inline constexpr std::size_t kSilentPlaysListed = 50;

/// Builds the report of the campaign's plays booked in [from, to) on nodes inside `area`, from
/// the airtime rollup (docs/audit.md). The campaign may have been deleted since: its rows stay.
Result<AirtimeReport> airtime_report(SQLite::Database& db, const ReportQuery& query);

/// A table for people, columns aligned even with Vietnamese diacritics, then coverage, silent
/// plays and what each column means.
std::string render_table(const AirtimeReport& report, Language language);

/// Every figure, keys in English; `language` only sets the labels given with them.
nlohmann::json to_json(const AirtimeReport& report, Language language = Language::en);

/// RFC 4180 CSV for spreadsheets: UTF-8 with a byte order mark, CRLF line ends, a header row in
/// `language`, one line per row and the total, '.' as decimal point.
std::string render_csv(const AirtimeReport& report, Language language);

/// A self-contained page printable on A4: the summary table, inline SVG bar charts of planned
/// against confirmed seconds per area and per week, coverage and silent plays.
std::string render_html(const AirtimeReport& report, Language language);

}  // namespace loa::controller
