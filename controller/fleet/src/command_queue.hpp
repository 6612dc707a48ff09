// Private: writing a command into the queue, for use inside a caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <SQLiteCpp/Database.h>

#include "loa/protocol/loa.pb.h"

namespace loa::controller::detail {

/// Stores `command` for `node_id` as pending, first setting its command_id (the new row's) and
/// issued_us (`now`); returns the id. Must run inside a transaction; throws SQLite::Exception.
std::uint64_t insert_command(SQLite::Database& db, const std::string& node_id,
                             wire::Command& command, std::int64_t now,
                             const std::string& emergency_id = {},
                             std::optional<std::int64_t> expires_us = std::nullopt);

}  // namespace loa::controller::detail
