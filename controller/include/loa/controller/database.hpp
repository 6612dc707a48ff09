// The controller's SQLite database: opening it and bringing its schema to the current version.
#pragma once

#include <filesystem>
#include <memory>

#include <SQLiteCpp/Database.h>

#include "loa/controller/error.hpp"

namespace loa::controller {

/// Schema version this build writes; older databases are migrated step by step on open.
inline constexpr int kSchemaVersion = 9;

/// Opens (creating if needed) the database at `file` in WAL mode and runs pending migrations.
Result<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& file);

/// The schema version recorded in an open database.
int schema_version(SQLite::Database& db);

/// Runs `work`, turning SQLite exceptions into Error::Code::storage.
template <typename F>
auto guard_storage(F&& work) -> decltype(work());

/// Runs `work` inside a transaction, turning SQLite exceptions into Error::Code::storage.
/// `work` returns a Result; the transaction commits only if it holds a value.
template <typename F>
auto in_transaction(SQLite::Database& db, F&& work) -> decltype(work());

}  // namespace loa::controller

#include "loa/controller/database_inl.hpp"
