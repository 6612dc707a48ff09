// Plan files checked and compiled into timelines: what `loactl plan check/compile` and the
// controller's booking run, and how their results are shown (table, JSON, timeline files).
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/language.hpp"
#include "loa/controller/plans/plan_file.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::controller {

/// A date given on the command line: YYYY-MM-DD (a real calendar date).
std::expected<schedules::Date, std::string> parse_date(std::string_view text);

/// Reads, checks and compiles a plan file over `days` local days from `from`. Problems in the
/// file (syntax, values, whole-plan checks) come back with its name and their lines.
std::expected<schedules::CompiledPlan, std::vector<PlanFileProblem>> compile_plan_file(
    const std::filesystem::path& path, schedules::Date from, int days);

/// {"feasible", "quotas": [...], "timelines": N, "nodes": N, "classes": N}.
nlohmann::json quota_report_json(const schedules::CompiledPlan& compiled);

/// The quota report for operators: a verdict line, then each quota (summary rows, then the
/// unmet rows by area and period).
std::string render_quota_report(const schedules::CompiledPlan& compiled, Language language);

/// A timeline as JSON: {"hash", "plays": [{"slot_id", "campaign", "item", "language", "media",
/// "kind", "priority", "start", "end", "start_us", "end_us"[, "relay_url"]}]}.
nlohmann::json timeline_json(const schedules::Timeline& timeline);

/// Writes DIR/<hash>.json for each timeline and DIR/index.json (node → timeline hash), each
/// through a temporary file renamed into place. Fails with the path and the reason.
std::expected<void, std::string> write_compiled_plan(const schedules::CompiledPlan& compiled,
                                                     schedules::Date from, int days,
                                                     const std::filesystem::path& dir);

}  // namespace loa::controller
