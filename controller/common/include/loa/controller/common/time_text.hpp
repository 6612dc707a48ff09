// Times as operators write them ("2026-11-24T05:30:00+07:00", "2026-11-24", "now+20s") and read
// them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "loa/controller/common/error.hpp"
#include "loa/schedules/plan.hpp"

namespace loa::controller {

/// Offset of Vietnam's time (UTC+7, no daylight saving), used for dates written without a time.
inline constexpr std::int64_t kVietnamOffsetUs = 7LL * 3600 * 1'000'000;

/// Current UTC time in microseconds since the Unix epoch.
std::int64_t now_us();

/// The date in Vietnam (UTC+7) at an instant.
schedules::Date vietnam_date(std::int64_t utc_us);

/// A date as "YYYY-MM-DD".
std::string date_text(schedules::Date date);

/// UTC microseconds of a date's midnight in Vietnam (UTC+7).
std::int64_t vietnam_midnight_us(schedules::Date date);

/// Parses an instant: ISO 8601 `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]` (no zone means UTC+7),
/// a date `YYYY-MM-DD` (its local midnight, UTC+7; with `end_of_day` the next midnight), or
/// `now`, `now+N[s|m|h|d]`, `now-N[s|m|h|d]` relative to `now`.
Result<std::int64_t> parse_instant(std::string_view text, std::int64_t now,
                                   bool end_of_day = false);

/// Parses a duration such as "30s", "5m", "2h", "7d".
Result<std::int64_t> parse_duration(std::string_view text);

/// Formats an instant as ISO 8601 in UTC+7, e.g. "2026-11-24T05:30:00+07:00".
std::string format_local(std::int64_t utc_us);

/// Formats an instant as ISO 8601 in UTC, e.g. "2026-11-23T22:30:00Z" (".250" when it has
/// milliseconds).
std::string format_utc(std::int64_t utc_us);

}  // namespace loa::controller
