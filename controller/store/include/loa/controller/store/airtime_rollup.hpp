// The airtime rollup (per campaign × node × local day) the audit reads, kept up to date
// in the transactions that book, take back and confirm plays (docs/audit.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace loa::controller {

/// A play that aired is flagged silent when its measured peak stayed below this (dBFS): nothing
/// but noise reached the amplifier (a silent file, volume 0, a dead decoder). The rollup counts
/// such plays, and a partial index of the schema names the same figure.
inline constexpr double kSilenceThresholdDbfs = -50.0;

}  // namespace loa::controller

namespace loa::controller::detail {

/// Where a confirmed play of a booked slot counts (the report's columns; see Bucket in
/// airtime_report.hpp for the ones without a confirmation).
enum class ConfirmedBucket { played, interrupted, late, media_missing, node_offline, failed };

/// The bucket of a confirmation of a booked play, from its outcome ("played", "interrupted",
/// "failed", "skipped") and the node's reason ("late", "media-missing", "agent-stopped",
/// "agent-restarted", "pipeline: …").
ConfirmedBucket bucket_of(std::string_view outcome, std::string_view reason);

/// The rollup column of a bucket ("played", "late" …); its planned microseconds are in
/// "<column>_us".
const char* bucket_column(ConfirmedBucket bucket);

/// A local calendar day of a node, as UTC instants [start_us, end_us) (23 or 25 hours across a
/// daylight-saving change) and its date "YYYY-MM-DD".
struct LocalDay {
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
    std::string date;
};

/// The local day in IANA time zone `zone` holding the instant `utc_us`. An unknown zone counts
/// as Vietnam's (UTC+7), as nodes are registered in it by default.
LocalDay local_day(std::int64_t utc_us, std::string_view zone);

/// Registers loa_day_start(us, zone), loa_day_end(us, zone), loa_local_day(us, zone) and
/// loa_bucket(outcome, reason) on `db`, for the migration that fills the rollup from older data.
void register_rollup_functions(SQLite::Database& db);

/// Makes sure the rollup has a row for the local day of `node_id` holding `at_us` in
/// `campaign_id` (the node's area and the campaign's name as they are now are kept in it), so
/// that the slots trigger counts a booked play in the node's own time zone. Must run inside the
/// booking transaction; throws SQLite::Exception.
class RollupDays {
  public:
    explicit RollupDays(SQLite::Database& db);
    void ensure(const std::string& node_id, const std::string& campaign_id, std::int64_t at_us);

  private:
    struct NodeInfo {
        std::string area_path;
        std::string time_zone;
    };
    const NodeInfo& node(const std::string& node_id);

    SQLite::Statement node_q_;
    SQLite::Statement name_q_;
    SQLite::Statement insert_;
    std::map<std::string, NodeInfo> nodes_;
    std::map<std::string, std::string> names_;
    /// (campaign, node) → days already ensured: [start, end).
    std::map<std::pair<std::string, std::string>, std::map<std::int64_t, std::int64_t>> done_;
};

/// What the confirmations of one report add to the rollup, summed per row and written once per
/// row by write(): the ingest's share of the work stays one UPDATE per campaign and day of the
/// report, not one per confirmation. Made once per ingest transaction (its statements are
/// prepared once), then start() for each report; throws SQLite::Exception.
class RollupDeltas {
  public:
    explicit RollupDeltas(SQLite::Database& db);

    /// Begins the sums of a report of `node_id`, dropping any not written.
    void start(const std::string& node_id);

    /// The area the row of a play of `campaign_id` planned at `planned_us` files it under (the
    /// node's area when the row was made); the row is made now if there is none.
    const std::string& area_for(const std::string& campaign_id, std::int64_t planned_us);

    /// A confirmation of a booked play of `planned_us` microseconds; `aired_us` counts as
    /// airtime (played and interrupted plays).
    void add_booked(const std::string& campaign_id, std::int64_t planned_start_us,
                    ConfirmedBucket bucket, std::int64_t planned_us, std::int64_t aired_us,
                    bool silent, bool off_time = false);

    /// A play that aired without a booked slot (an emergency's, or a slot taken back since).
    void add_unplanned(const std::string& campaign_id, std::int64_t planned_start_us,
                       std::int64_t aired_us, bool silent);

    /// Writes the sums.
    void write();

  private:
    struct Delta {
        std::int64_t plays[6] = {};
        std::int64_t planned_us[6] = {};
        std::int64_t aired_us = 0;
        std::int64_t unplanned_plays = 0;
        std::int64_t unplanned_us = 0;
        std::int64_t silent = 0;
        std::int64_t off_time = 0;  ///< booked plays that aired over 30 s off their time
    };
    struct Row {
        std::int64_t end_us = 0;
        std::string area_path;
        Delta delta;
    };
    Row& row(const std::string& campaign_id, std::int64_t at_us);

    SQLite::Database& db_;
    std::string node_id_;
    std::string area_path_;  ///< the node's area now, for rows made here
    std::string time_zone_;
    SQLite::Statement node_q_;
    SQLite::Statement find_;
    SQLite::Statement update_;
    /// campaign → day start → row.
    std::map<std::string, std::map<std::int64_t, Row>> rows_;
};

}  // namespace loa::controller::detail
