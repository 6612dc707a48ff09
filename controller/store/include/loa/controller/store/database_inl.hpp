// Template part of database.hpp.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

namespace loa::controller {

template <typename F>
auto guard_storage(F&& work) -> decltype(work()) {
    try {
        return work();
    } catch (const SQLite::Exception& e) {
        if ((e.getErrorCode() & 0xff) == SQLITE_FULL) {
            return fail(Error::Code::storage_full, storage_full_message());
        }
        return fail(Error::Code::storage, std::string("database: ") + e.what());
    }
}

}  // namespace loa::controller
