// Private: the check every path that puts media on the air makes (booking, plans, emergencies).
#pragma once

#include <string>

#include <SQLiteCpp/Database.h>

namespace loa::controller::detail {

/// Empty when `media_hash` is approved media; otherwise a refusal naming `what` (e.g. "item 2")
/// and the media and saying it is not approved, in Vietnamese then English. Unknown media gets
/// "" too: the caller reports that in its own words. Throws SQLite::Exception (for code inside
/// a transaction).
std::string approval_problem(SQLite::Database& db, const std::string& media_hash,
                             const std::string& what);

}  // namespace loa::controller::detail
