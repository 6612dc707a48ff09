// Template part of database.hpp.
#pragma once

#include <SQLiteCpp/Exception.h>

namespace loa::controller {

template <typename F>
auto guard_storage(F&& work) -> decltype(work()) {
    try {
        return work();
    } catch (const SQLite::Exception& e) {
        return fail(Error::Code::storage, std::string("database: ") + e.what());
    }
}

}  // namespace loa::controller
