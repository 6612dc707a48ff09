// Broadcast plans written as TOML files (docs/plan-format.md): reading them into schedules::Plan.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "loa/schedules/plan.hpp"

namespace loa::controller {

/// A problem in a plan file: where (file, 1-based line and column; 0 when unknown) and why.
struct PlanFileProblem {
    std::string file;
    int line = 0;
    int column = 0;
    std::string what;

    /// "FILE:LINE:COLUMN: what" (the column left out when 0, the line too when it is 0).
    std::string text() const;
};

/// Parses a plan; `source` names it in problems. Syntax, unknown keys, wrong types and bad values
/// (e.g. "25:00", "-5m", an unknown weekday) are problems, all of them reported, each at its
/// value. Whole-plan checks (unknown area, overlapping windows …) are not done here: run
/// schedules::check_plan on the result, which reports the Origin lines set here.
std::expected<schedules::Plan, std::vector<PlanFileProblem>> parse_plan(std::string_view text,
                                                                        const std::string& source);

/// Larger plan files are refused before they are read whole: a plan for every commune of a
/// province is well under a megabyte.
inline constexpr std::uintmax_t kMaxPlanFileBytes = 16 * 1024 * 1024;

/// Reads a plan file's text (an unreadable file, or one over kMaxPlanFileBytes, is one problem
/// naming it).
std::expected<std::string, std::vector<PlanFileProblem>> read_plan_text(
    const std::filesystem::path& path);

/// Reads and parses a plan file (an unreadable file is one problem naming it).
std::expected<schedules::Plan, std::vector<PlanFileProblem>> read_plan_file(
    const std::filesystem::path& path);

}  // namespace loa::controller
