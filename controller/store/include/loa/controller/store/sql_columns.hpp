// Private: reading result columns of SQLite statements that may be NULL.
#pragma once

#include <optional>

#include <SQLiteCpp/Statement.h>

namespace loa::controller::detail {

/// The integer in `column` of the current row as T; empty when it is NULL.
template <typename T>
std::optional<T> optional_column(SQLite::Statement& q, int column) {
    if (q.getColumn(column).isNull()) {
        return std::nullopt;
    }
    return static_cast<T>(q.getColumn(column).getInt64());
}

}  // namespace loa::controller::detail
