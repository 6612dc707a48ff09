// Private: the check every path that puts media on the air makes (booking, plans, emergencies).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

namespace loa::controller::detail {

/// The areas of the approved records of `media_hash`. Throws SQLite::Exception.
std::vector<std::string> approved_areas(SQLite::Database& db, const std::string& media_hash);

/// Whether one of `approved` (areas of approved records) holds `area`: media may air there.
bool covers(const std::vector<std::string>& approved, std::string_view area);

/// The title of the deepest approved record of `media_hash` whose area holds `area` ("" when
/// none): what the media is called where it airs. Throws SQLite::Exception.
std::string covering_title(SQLite::Database& db, const std::string& media_hash,
                           std::string_view area);

/// Empty when `media_hash` may air in every one of `areas`: each lies in the area of an approved
/// record of it. Otherwise a refusal naming `what` (e.g. "item 2"), the media and the first area
/// it may not air in, saying whether a record there is pending or rejected or none covers it (and
/// what to do), in Vietnamese then English. Unknown media gets "" too: the caller reports that in
/// its own words. Throws SQLite::Exception (for code inside a transaction).
std::string approval_problem(SQLite::Database& db, const std::string& media_hash,
                             const std::vector<std::string>& areas, const std::string& what);

}  // namespace loa::controller::detail
