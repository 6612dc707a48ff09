// Opening the store: the write connection handed to the writer, read-only connections per thread.
#include "loa/controller/store/store.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include "loa/controller/store/database.hpp"

namespace loa::controller {

ChangeCounters change_counters(SQLite::Database& db) {
    ChangeCounters out;
    SQLite::Statement q(db, "SELECT topic, value FROM change_counters");
    while (q.executeStep()) {
        const std::string topic = q.getColumn(0).getString();
        const std::int64_t value = q.getColumn(1).getInt64();
        if (topic == "schedule") {
            out.schedule = value;
        } else if (topic == "commands") {
            out.commands = value;
        } else if (topic == "keys") {
            out.keys = value;
        }
    }
    return out;
}

Snapshot::Snapshot(Store& store) : db_(store.reader()) {
    db_.exec("BEGIN");
    try {
        counters_ = change_counters(db_);  // the first read fixes the snapshot
    } catch (...) {
        db_.exec("ROLLBACK");
        throw;
    }
}

Snapshot::~Snapshot() {
    try {
        db_.exec("ROLLBACK");
    } catch (const std::exception&) {
        // Nothing was written; a connection whose read transaction ended already is fine.
    }
}

ReadTransaction::ReadTransaction(SQLite::Database& db) : db_(db) {
    if (sqlite3_get_autocommit(db_.getHandle()) != 0) {
        db_.exec("BEGIN");
        began_ = true;
    }
}

ReadTransaction::~ReadTransaction() {
    if (began_) {
        try {
            db_.exec("ROLLBACK");
        } catch (const std::exception&) {
            // Nothing was written; a transaction that ended already is fine.
        }
    }
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& file,
                                           WriterOptions options) {
    auto db = open_database(file);
    if (!db) {
        return std::unexpected(db.error());
    }
    tune_writer(**db);
    auto writer = std::make_unique<Writer>(std::move(*db), options);
    return std::unique_ptr<Store>(new Store(file, std::move(writer)));
}

Store::Store(std::filesystem::path file, std::unique_ptr<Writer> writer)
    : file_(std::move(file)), writer_(std::move(writer)) {}

Store::~Store() {
    writer_->stop();
}

SQLite::Database& Store::reader() {
    std::lock_guard lock(readers_mutex_);
    auto& reader = readers_[std::this_thread::get_id()];
    if (!reader) {
        auto opened = open_reader(file_);
        if (!opened) {
            throw std::runtime_error(opened.error().message);
        }
        reader = std::move(*opened);
    }
    return *reader;
}

}  // namespace loa::controller
