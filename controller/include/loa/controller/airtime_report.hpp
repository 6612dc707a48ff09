// The airtime report: planned against confirmed plays and seconds, per node and in total.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/error.hpp"

namespace loa::controller {

struct ReportQuery {
    std::string campaign_id;
    std::string area;  ///< empty: every area
    std::int64_t from_us = 0;
    std::int64_t to_us = 0;  ///< exclusive
};

struct NodeAirtime {
    std::string node_id;
    std::string area_path;
    std::int64_t planned_plays = 0;
    std::int64_t planned_us = 0;
    std::int64_t confirmed_plays = 0;  ///< outcome "played"
    /// Sum of actual end - actual start of those plays and of the interrupted ones.
    std::int64_t confirmed_us = 0;
    std::int64_t interrupted = 0;  ///< cut short by an emergency; what aired is in confirmed_us
    std::int64_t failed = 0;
    std::int64_t skipped = 0;
    std::int64_t unconfirmed = 0;  ///< planned plays with no confirmation yet
};

struct AirtimeReport {
    ReportQuery query;
    std::string campaign_name;
    std::vector<NodeAirtime> nodes;  ///< sorted by area, then node
    NodeAirtime total;
};

/// Builds the report for plays planned in [from, to) on nodes inside `area`.
Result<AirtimeReport> airtime_report(SQLite::Database& db, const ReportQuery& query);

enum class Language { vi, en };

/// A table for people, columns aligned even with Vietnamese diacritics.
std::string render_table(const AirtimeReport& report, Language language);

nlohmann::json to_json(const AirtimeReport& report);

}  // namespace loa::controller
