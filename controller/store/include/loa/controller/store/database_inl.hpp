// Template part of database.hpp.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

namespace loa::controller {

template <typename F>
auto guard_storage(F&& work) -> decltype(work()) {
    try {
        return work();
    } catch (const SQLite::Exception& e) {
        return fail(Error::Code::storage, std::string("database: ") + e.what());
    }
}

template <typename F>
auto in_transaction(SQLite::Database& db, F&& work) -> decltype(work()) {
    return guard_storage([&]() -> decltype(work()) {
        SQLite::Transaction transaction(db);
        auto result = work();
        if (result) {
            transaction.commit();
        }
        return result;
    });
}

}  // namespace loa::controller
