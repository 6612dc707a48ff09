// The controller's SQLite database: opening it and bringing its schema to the current version.
#pragma once

#include <filesystem>
#include <memory>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"

namespace loa::controller {

/// Schema version this build writes; older databases are migrated step by step on open.
inline constexpr int kSchemaVersion = 15;

/// Opens (creating if needed) the database at `file` in WAL mode and runs pending migrations, in
/// one exclusive transaction. Only the Store's writer, tests and tools use a connection opened so:
/// everything else reads through Store::reader() and writes through the writer.
Result<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& file);

/// Opens the existing database at `file` read-only (WAL: it reads the last commit and never waits
/// for a writer). Store::reader() hands these out, one per thread.
Result<std::unique_ptr<SQLite::Database>> open_reader(const std::filesystem::path& file);

/// Sets up the connection the writer writes through: a page cache of 256 MiB, as the indexes of
/// a large confirmations table are written all over, and a checkpoint every 64 MiB of WAL rather
/// than every 4 MiB, so that pages written by several commits in a row are copied into the
/// database once.
void tune_writer(SQLite::Database& db);

/// The schema version recorded in an open database.
int schema_version(SQLite::Database& db);

/// Runs `work`, turning SQLite exceptions into Error::Code::storage (storage_full when the disk
/// is full).
template <typename F>
auto guard_storage(F&& work) -> decltype(work());

}  // namespace loa::controller

#include "loa/controller/store/database_inl.hpp"
