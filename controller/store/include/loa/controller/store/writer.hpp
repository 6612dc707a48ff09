// The one writer of the controller's database: every change is queued to it, runs in its thread
// on its connection, and is committed together with the changes queued beside it (group commit);
// an answer that promises durability is released only after that commit.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include "loa/controller/common/error.hpp"

namespace loa::controller {

class Writer;

/// The writer's transaction, handed to each change it runs. Only the Writer makes one, so a
/// function that takes a WriteTx& can only run as a change queued to the one writer: that is how
/// the code says which functions write (docs/architecture.md). Reading inside it reads what the
/// transaction has written so far.
class WriteTx {
  public:
    WriteTx(const WriteTx&) = delete;
    WriteTx& operator=(const WriteTx&) = delete;

    SQLite::Database& db() const { return db_; }

  private:
    friend class Writer;
    template <typename F>
    friend auto write_directly(SQLite::Database& db, F&& change)
        -> std::invoke_result_t<F&, WriteTx&>;
    explicit WriteTx(SQLite::Database& db) : db_(db) {}
    SQLite::Database& db_;
};

/// Runs `work` (returning a Result) inside a savepoint of the writer's transaction: if it returns
/// an error or throws, its own writes are undone and the caller's stay. A write function whose
/// refusal can come after its first write runs in one, so that a caller may go on after refusing
/// it. SQLite exceptions become Error::Code::storage.
template <typename F>
auto in_savepoint(WriteTx& tx, F&& work) -> decltype(work());

/// Runs `change` (taking WriteTx&, returning a Result) at once in a transaction of `db`,
/// committed only if it returns a value. For tests and offline tools that own the database file
/// alone: the controller's own threads write only through the Writer (docs/architecture.md).
template <typename F>
auto write_directly(SQLite::Database& db, F&& change) -> std::invoke_result_t<F&, WriteTx&>;

/// What the writer has done (safe to read from any thread).
struct WriterStats {
    std::atomic<std::uint64_t> commits{0};          ///< transactions committed
    std::atomic<std::uint64_t> changes{0};          ///< changes committed
    std::atomic<std::uint64_t> changes_refused{0};  ///< changes that returned an error (undone)
    std::atomic<std::uint64_t> failed_commits{0};   ///< transactions that could not commit
    std::atomic<std::uint64_t> largest_batch{0};    ///< most changes in one transaction
    std::atomic<std::uint64_t> queued{0};           ///< changes waiting now
    std::atomic<std::uint64_t> busy_us{0};          ///< time spent in transactions
    std::atomic<std::uint64_t> full_commits{0};     ///< of failed_commits: the disk was full
};

struct WriterOptions {
    /// Most changes in one transaction: a flood of small changes still commits in bounded steps.
    std::size_t max_batch = 2048;
    /// How long the writer waits for another process holding the database's write lock
    /// (`loactl --data` on a stopped controller's directory) before the batch fails.
    int lock_wait_ms = 30'000;
};

/// Owns the write connection and the thread that uses it. Changes queued by any thread run in
/// queue order, each in a savepoint of its own inside the batch's transaction: a change that
/// returns an error (or throws) undoes only its own writes. Long work does not belong in a change
/// (it holds every other change up): do it on a snapshot and commit the result (store.hpp,
/// compute_then_commit).
class Writer {
  public:
    /// Takes the connection (opened and migrated) and starts the writer thread.
    explicit Writer(std::unique_ptr<SQLite::Database> connection, WriterOptions options = {});
    /// Commits what is queued, then stops.
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// Queues `change` (a callable taking WriteTx& and returning a Result) and returns its result
    /// once the transaction holding it has committed; if the commit fails, the storage error.
    /// Blocks the calling thread: never call it from an event loop (use post()).
    template <typename F>
    auto run(F&& change) -> std::invoke_result_t<F&, WriteTx&> {
        return submit(std::forward<F>(change)).get();
    }

    /// As run(), without waiting: the future is ready after the commit.
    template <typename F>
    auto submit(F&& change) -> std::future<std::invoke_result_t<F&, WriteTx&>>;

    /// For event loops, which must not wait: `change` runs as run() would; `after` is called on
    /// the writer's thread once the transaction committed (or failed), with the change's result
    /// or the commit's error. `after` must be quick and must not block.
    void post(std::function<Result<void>(WriteTx&)> change,
              std::function<void(const Result<void>&)> after);

    /// Refuses changes from now on (they fail with Error::Code::storage), after committing those
    /// queued. The destructor calls it.
    void stop();

    const WriterStats& stats() const { return stats_; }

    /// `hook` is called on the writer's thread after each transaction that committed, and must be
    /// quick and never block: the node gateway wakes its loop with it, so that what the API
    /// committed (an emergency's commands, a new timeline) goes out at once instead of at the
    /// gateway's next periodic look. One hook; an empty one removes it, and once this returns
    /// the old hook is not running and will not run again.
    void set_on_commit(std::function<void()> hook);

    /// Whether the last transaction failed because the database's disk is full (SQLITE_FULL,
    /// ENOSPC): changes are refused with Error::Code::storage_full until one commits again. The
    /// writer keeps trying each batch, so it notices by itself when space returns; callers use
    /// this only to skip bookkeeping that may wait (a token's last use) and to say so.
    bool disk_full() const { return disk_full_.load(std::memory_order_relaxed); }

  private:
    /// One queued change: `apply` runs it inside the transaction and returns nothing to keep its
    /// writes, or the code of the error that refused it; `complete` is told the commit's error
    /// (null when it committed).
    struct Job {
        std::function<std::optional<Error::Code>(WriteTx&)> apply;
        std::function<void(const Error* commit_error)> complete;
    };
    void enqueue(Job job);
    void loop();
    void commit_batch(std::deque<Job>& batch);
    /// The error for a failed statement of the writer's own (BEGIN, COMMIT): storage_full when
    /// the disk is full, storage otherwise, saying `doing`.
    Error error_of(const std::exception& e, std::string_view doing) const;
    /// Records whether the disk was full for this batch; logs the condition when it starts and
    /// when it ends, never per change.
    void note_disk_full(bool full);

    std::unique_ptr<SQLite::Database> db_;
    WriterOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::once_flag joined_;
    WriterStats stats_;
    std::mutex hook_mutex_;
    std::function<void()> on_commit_;
    std::atomic<bool> disk_full_{false};
    std::uint64_t full_since_commits_ = 0;  ///< full_commits when the disk was found full
    std::thread thread_;
};

namespace detail {
/// The error a change that threw is answered with (storage_full for SQLITE_FULL).
Error error_of_exception(const std::exception& e);
}  // namespace detail

template <typename F>
auto Writer::submit(F&& change) -> std::future<std::invoke_result_t<F&, WriteTx&>> {
    using R = std::invoke_result_t<F&, WriteTx&>;
    struct State {
        explicit State(F&& f) : work(std::forward<F>(f)) {}
        std::decay_t<F> work;
        std::promise<R> promise;
        std::optional<R> result;
    };
    auto state = std::make_shared<State>(std::forward<F>(change));
    auto future = state->promise.get_future();
    Job job;
    job.apply = [state](WriteTx& tx) -> std::optional<Error::Code> {
        try {
            state->result.emplace(state->work(tx));
        } catch (const std::exception& e) {
            state->result.emplace(std::unexpected(detail::error_of_exception(e)));
        }
        if (state->result->has_value()) {
            return std::nullopt;
        }
        return state->result->error().code;
    };
    job.complete = [state](const Error* commit_error) {
        if (!state->result) {
            state->result.emplace(std::unexpected(
                commit_error ? *commit_error
                             : Error{Error::Code::storage, "the change was never run"}));
        } else if (commit_error && state->result->has_value()) {
            state->result.emplace(std::unexpected(*commit_error));
        }
        state->promise.set_value(std::move(*state->result));
    };
    enqueue(std::move(job));
    return future;
}

template <typename F>
auto in_savepoint(WriteTx& tx, F&& work) -> decltype(work()) {
    auto& db = tx.db();
    db.exec("SAVEPOINT part");
    try {
        auto result = work();
        if (!result) {
            db.exec("ROLLBACK TO part");
        }
        db.exec("RELEASE part");
        return result;
    } catch (const std::exception& e) {
        auto error = detail::error_of_exception(e);
        try {
            db.exec("ROLLBACK TO part");
            db.exec("RELEASE part");
        } catch (const std::exception&) {
            // SQLite rolled the whole transaction back (it may after SQLITE_FULL or an I/O
            // error): the first error is the one to tell, and the writer sees the rest is gone.
        }
        return std::unexpected(std::move(error));
    }
}

template <typename F>
auto write_directly(SQLite::Database& db, F&& change) -> std::invoke_result_t<F&, WriteTx&> {
    WriteTx tx(db);
    try {
        db.exec("BEGIN IMMEDIATE");
    } catch (const std::exception& e) {
        return std::unexpected(detail::error_of_exception(e));
    }
    try {
        auto result = change(tx);
        db.exec(result ? "COMMIT" : "ROLLBACK");
        return result;
    } catch (const std::exception& e) {
        try {
            db.exec("ROLLBACK");
        } catch (const std::exception&) {
            // A failed COMMIT has rolled back already.
        }
        return std::unexpected(detail::error_of_exception(e));
    }
}

}  // namespace loa::controller
