// Private: short texts the fleet views (status, runway, gaps, commands, emergencies) share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "loa/controller/common/language.hpp"

namespace loa::controller::detail {

/// How long ago, for a table cell: "42 s trước" / "42 s ago", then minutes, hours, days.
std::string age_text(std::int64_t age_us, Language language);

/// An instant in UTC+7 to the minute, "2026-11-24 05:30", where a table has no room for the
/// full ISO 8601 form.
std::string short_local(std::int64_t utc_us);

/// What a heartbeat says a node is doing: "chờ"/"idle", "đang phát"/"playing",
/// "KHẨN CẤP"/"EMERGENCY"; "?" for a state an agent did not say.
std::string play_state_text(std::string_view state, Language language);

/// A clock offset in milliseconds with its sign, "+83.0 ms", marked " !" beyond `warn_us`;
/// "-" when unknown.
std::string offset_text(std::optional<std::int64_t> offset_us, std::int64_t warn_us);

/// `text` cut to at most `columns` terminal columns, ending in "…" when cut (never inside a
/// UTF-8 sequence).
std::string clip(std::string_view text, std::size_t columns);

/// `bytes` with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that text a
/// node sent (a log, a message) can go into JSON.
std::string utf8_text(std::string_view bytes);

}  // namespace loa::controller::detail
