// The controller's database as its threads use it: one writer (writer.hpp) for every change, and a
// read-only connection per reading thread, which never waits for the writer nor holds it up.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// Where the schema's change counters stand (migration 10): each moves on every change to what it
/// watches, whoever makes it.
struct ChangeCounters {
    std::int64_t schedule = 0;  ///< slots, campaigns, nodes' placement, media's length/approval
    std::int64_t commands = 0;  ///< orders for nodes
    std::int64_t keys = 0;      ///< node keys, revocations, enrollment tokens
    bool operator==(const ChangeCounters&) const = default;
};

/// Reads the counters through `db` (any connection, inside a transaction or not).
ChangeCounters change_counters(SQLite::Database& db);

class Store;

/// A read transaction on the calling thread's reader: everything read through it is one moment
/// of the database, whatever the writer commits meanwhile. Ends (rolled back) when destroyed.
class Snapshot {
  public:
    explicit Snapshot(Store& store);
    ~Snapshot();
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;

    SQLite::Database& db() const { return db_; }
    /// The counters at this moment.
    const ChangeCounters& counters() const { return counters_; }

  private:
    SQLite::Database& db_;
    ChangeCounters counters_;
};

/// A read transaction on any connection, unless one is open on it already: what is read through
/// it while it lives is one moment of the database. Ends (rolled back: nothing was written) when
/// destroyed.
class ReadTransaction {
  public:
    explicit ReadTransaction(SQLite::Database& db);
    ~ReadTransaction();
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    SQLite::Database& db_;
    bool began_ = false;
};

/// Opens the database, migrates it, and owns its writer and its readers.
class Store {
  public:
    /// Opens (creating if needed) the database `file` and brings its schema to this build's
    /// version (exclusively: see open_database), then starts the writer.
    static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file,
                                               WriterOptions options = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    Writer& writer() { return *writer_; }
    const std::filesystem::path& file() const { return file_; }

    /// The calling thread's read-only connection, opened on first use. It cannot write (SQLite
    /// refuses): every change goes through writer(). Each statement outside a Snapshot reads the
    /// latest commit.
    SQLite::Database& reader();

  private:
    Store(std::filesystem::path file, std::unique_ptr<Writer> writer);

    std::filesystem::path file_;
    std::unique_ptr<Writer> writer_;
    std::mutex readers_mutex_;
    std::map<std::thread::id, std::unique_ptr<SQLite::Database>> readers_;
};

/// The answer a change gives when what it was computed from has changed since (compute_then_commit
/// then computes again).
struct Stale {};

/// Long work (a plan's compilation, a campaign's booking with the solver) done outside the writer
/// on a snapshot, then committed in one short change that first checks the 'schedule' counter has
/// not moved since the snapshot; if it has, the work is done again on a new snapshot. The last of
/// `attempts` runs the work inside the writer, so that it always ends.
///
/// `compute(SQLite::Database& snapshot) -> Result<C>` reads only; `commit(WriteTx&, C&) ->
/// Result<R>` writes what was computed (and its action-log row).
template <typename Compute, typename Commit>
auto compute_then_commit(Store& store, Compute&& compute, Commit&& commit, int attempts = 3)
    -> std::invoke_result_t<
        Commit&, WriteTx&,
        typename std::invoke_result_t<Compute&, SQLite::Database&>::value_type&> {
    using Computed = typename std::invoke_result_t<Compute&, SQLite::Database&>::value_type;
    using Answer = std::invoke_result_t<Commit&, WriteTx&, Computed&>;
    for (int attempt = 1;; ++attempt) {
        if (attempt >= attempts) {
            // Changes keep coming: compute inside the writer, where nothing can move under it.
            return store.writer().run([&](WriteTx& tx) -> Answer {
                auto computed = compute(tx.db());
                if (!computed) {
                    return std::unexpected(computed.error());
                }
                return commit(tx, *computed);
            });
        }
        std::optional<Computed> computed;
        ChangeCounters seen;
        {
            Snapshot snapshot(store);
            seen = snapshot.counters();
            auto result = compute(snapshot.db());
            if (!result) {
                return std::unexpected(result.error());
            }
            computed.emplace(std::move(*result));
        }
        bool stale = false;
        auto answer = store.writer().run([&](WriteTx& tx) -> Answer {
            if (change_counters(tx.db()).schedule != seen.schedule) {
                stale = true;
                return std::unexpected(Error{Error::Code::conflict, "stale"});
            }
            return commit(tx, *computed);
        });
        if (!stale) {
            return answer;
        }
    }
}

}  // namespace loa::controller
