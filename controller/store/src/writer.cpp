// The writer thread: takes what is queued, runs each change in a savepoint of one transaction,
// commits once, then answers every change.
#include "loa/controller/store/writer.hpp"

#include <cerrno>
#include <chrono>
#include <filesystem>

#include <sys/statvfs.h>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

namespace loa::controller {

namespace detail {

Error error_of_exception(const std::exception& e) {
    if (const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e); sqlite != nullptr) {
        if ((sqlite->getErrorCode() & 0xff) == SQLITE_FULL) {
            return {Error::Code::storage_full, storage_full_message()};
        }
        return {Error::Code::storage, std::string("database: ") + e.what()};
    }
    return {Error::Code::storage, std::string("lỗi khi ghi / error while writing: ") + e.what()};
}

}  // namespace detail

namespace {

/// Free bytes on the database's file system that end a full-disk condition.
constexpr std::uint64_t kRoomAgainBytes = 1024 * 1024;

/// Whether `e` says the database is locked by another process (SQLITE_BUSY after the timeout).
bool is_busy(const SQLite::Exception& e) {
    return (e.getErrorCode() & 0xff) == SQLITE_BUSY;
}

}  // namespace

Writer::Writer(std::unique_ptr<SQLite::Database> connection, WriterOptions options)
    : db_(std::move(connection)), options_(options) {
    thread_ = std::thread([this] { loop(); });
}

Writer::~Writer() {
    stop();
}

void Writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (std::this_thread::get_id() == thread_.get_id()) {
        return;  // a change's answer stopping the writer: the loop ends after this batch
    }
    std::call_once(joined_, [this] {
        if (thread_.joinable()) {
            thread_.join();
        }
    });
}

void Writer::post(std::function<Result<void>(WriteTx&)> change,
                  std::function<void(const Result<void>&)> after) {
    struct State {
        std::function<Result<void>(WriteTx&)> work;
        std::function<void(const Result<void>&)> after;
        std::optional<Result<void>> result;
    };
    auto state = std::make_shared<State>(State{std::move(change), std::move(after), std::nullopt});
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
        Result<void> outcome = commit_error && (!state->result || state->result->has_value())
                                   ? Result<void>(std::unexpected(*commit_error))
                                   : state->result.value_or(Result<void>(std::unexpected(
                                         Error{Error::Code::storage, "the change was never run"})));
        if (state->after) {
            try {
                state->after(outcome);
            } catch (const std::exception& e) {
                spdlog::error("writer: a change's answer failed: {}", e.what());
            }
        }
    };
    enqueue(std::move(job));
}

void Writer::enqueue(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(job));
            stats_.queued.store(queue_.size(), std::memory_order_relaxed);
            wake_.notify_one();
            return;
        }
    }
    const Error stopped{Error::Code::storage,
                        "bộ điều khiển đang dừng, không ghi được / the controller is stopping: "
                        "nothing more is written"};
    job.complete(&stopped);
}

void Writer::set_on_commit(std::function<void()> hook) {
    std::lock_guard lock(hook_mutex_);
    on_commit_ = std::move(hook);
}

void Writer::loop() {
    std::deque<Job> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // stopping, and everything queued is committed
            }
            while (!queue_.empty() && batch.size() < options_.max_batch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            stats_.queued.store(queue_.size(), std::memory_order_relaxed);
        }
        commit_batch(batch);
        batch.clear();
    }
}

Error Writer::error_of(const std::exception& e, std::string_view doing) const {
    if (const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e); sqlite != nullptr) {
        const int code = sqlite->getErrorCode() & 0xff;
        // SQLite says SQLITE_FULL when a write finds no room; a WAL index that cannot grow is an
        // I/O error whose system error says the same.
        const int os = sqlite3_system_errno(db_->getHandle());
        if (code == SQLITE_FULL || (code == SQLITE_IOERR && (os == ENOSPC || os == EDQUOT))) {
            return {Error::Code::storage_full, storage_full_message()};
        }
    }
    return {Error::Code::storage, fmt::format("database: {}: {}", doing, e.what())};
}

void Writer::note_disk_full(bool full) {
    if (full) {
        stats_.full_commits.fetch_add(1, std::memory_order_relaxed);
        if (!disk_full_.exchange(true)) {
            spdlog::error(
                "writer: the disk holding {} is full: every change is refused (HTTP 507; nodes' "
                "reports are not acked and stay in their outboxes) until space is freed; reading "
                "goes on, and the next change to commit ends this",
                db_->getFilename());
            full_since_commits_ = stats_.full_commits.load(std::memory_order_relaxed);
        }
        return;
    }
    if (!disk_full_.load(std::memory_order_relaxed)) {
        return;
    }
    // A commit can fit in WAL pages a failed one already took while the disk is still full;
    // the condition ends when the file system has room again, so it is not logged on and off.
    struct statvfs fs {};
    const auto dir = std::filesystem::path(db_->getFilename()).parent_path();
    if (::statvfs(dir.c_str(), &fs) == 0 &&
        static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < kRoomAgainBytes) {
        return;
    }
    if (disk_full_.exchange(false)) {
        spdlog::warn(
            "writer: there is room on the disk holding {} again: changes are stored "
            "again ({} transaction(s) were refused while it was full)",
            db_->getFilename(),
            stats_.full_commits.load(std::memory_order_relaxed) - full_since_commits_ + 1);
    }
}

void Writer::commit_batch(std::deque<Job>& batch) {
    const auto started = std::chrono::steady_clock::now();
    WriteTx tx(*db_);
    std::optional<Error> failure;
    bool change_found_disk_full = false;
    // BEGIN IMMEDIATE takes the write lock first, so no later statement of the transaction can
    // be refused for a snapshot that moved (SQLITE_BUSY_SNAPSHOT). Inside this process nobody
    // else writes; another process may, and then the busy timeout and these retries wait for it.
    for (;;) {
        try {
            db_->exec("BEGIN IMMEDIATE");
            break;
        } catch (const SQLite::Exception& e) {
            if (is_busy(e) && std::chrono::steady_clock::now() - started <
                                  std::chrono::milliseconds(options_.lock_wait_ms)) {
                continue;  // the busy timeout already waited; try again until our own limit
            }
            failure = error_of(e, "cannot start writing");
            break;
        }
    }
    std::uint64_t kept = 0;
    if (!failure) {
        try {
            for (auto& job : batch) {
                db_->exec("SAVEPOINT change");
                std::optional<Error::Code> refused;
                try {
                    refused = job.apply(tx);
                } catch (...) {
                    refused = Error::Code::storage;  // apply converts exceptions: a last guard
                }
                change_found_disk_full =
                    change_found_disk_full || refused == Error::Code::storage_full;
                if (sqlite3_get_autocommit(db_->getHandle()) != 0) {
                    // SQLite rolled the whole transaction back under the change (it may after
                    // SQLITE_FULL or an I/O error): nothing of the batch is left to commit, and
                    // a change run now would write outside any transaction.
                    failure = refused == Error::Code::storage_full
                                  ? Error{Error::Code::storage_full, storage_full_message()}
                                  : Error{Error::Code::storage,
                                          "database: the transaction was rolled back by SQLite "
                                          "after a change failed"};
                    break;
                }
                if (refused) {
                    db_->exec("ROLLBACK TO change");
                    stats_.changes_refused.fetch_add(1, std::memory_order_relaxed);
                } else {
                    ++kept;
                }
                db_->exec("RELEASE change");
            }
            if (!failure) {
                db_->exec("COMMIT");
            }
        } catch (const std::exception& e) {
            failure = error_of(e, "the changes could not be committed");
        }
    }
    // Whatever failed, the connection is left with no transaction open, ready for the next batch
    // (a failed COMMIT may leave its transaction open; one that SQLite rolled back is gone).
    if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
        try {
            db_->exec("ROLLBACK");
        } catch (const std::exception& e) {
            spdlog::error("writer: cannot roll back a failed transaction: {}", e.what());
        }
    }
    if ((failure && failure->code == Error::Code::storage_full) || change_found_disk_full) {
        note_disk_full(true);
    } else if (!failure && kept > 0) {
        note_disk_full(false);  // something reached the disk: there is room again
    }
    if (failure) {
        stats_.failed_commits.fetch_add(1, std::memory_order_relaxed);
        if (failure->code == Error::Code::storage_full) {
            // Said once when it began (note_disk_full), not once per batch.
            spdlog::debug("writer: {} change(s) not stored: the disk is full", batch.size());
        } else {
            spdlog::error("writer: {} change(s) not stored: {}", batch.size(), failure->message);
        }
    } else {
        stats_.commits.fetch_add(1, std::memory_order_relaxed);
        stats_.changes.fetch_add(kept, std::memory_order_relaxed);
        std::lock_guard lock(hook_mutex_);
        if (on_commit_) {
            on_commit_();
        }
    }
    if (batch.size() > stats_.largest_batch.load(std::memory_order_relaxed)) {
        stats_.largest_batch.store(batch.size(), std::memory_order_relaxed);
    }
    stats_.busy_us.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count()),
        std::memory_order_relaxed);
    for (auto& job : batch) {
        job.complete(failure ? &*failure : nullptr);
    }
}

}  // namespace loa::controller
