// Private: short texts the fleet views (status, runway, gaps, commands, emergencies) share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "loa/controller/airtime_report.hpp"

namespace loa::controller::detail {

/// How long ago, for a table cell: "42 s trước" / "42 s ago", then minutes, hours, days.
std::string age_text(std::int64_t age_us, Language language);

/// An instant in UTC+7 to the minute, "2026-11-24 05:30", where a table has no room for the
/// full ISO 8601 form.
std::string short_local(std::int64_t utc_us);

/// `bytes` with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that text a
/// node sent (a log, a message) can go into JSON.
std::string utf8_text(std::string_view bytes);

}  // namespace loa::controller::detail
