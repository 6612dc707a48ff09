// Each node's last error, written where it is found (a failed play, a refused confirmation, a
// failed command, a refused message), so the fleet view reads one row per node.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// Writes node errors inside the writer's transaction (the statement prepared once).
class NodeErrors {
  public:
    explicit NodeErrors(SQLite::Database& db);
    explicit NodeErrors(WriteTx& tx) : NodeErrors(tx.db()) {}

    /// Makes this the node's last error if it is not older than the one kept. `source`:
    /// "confirmation", "command", "refused-confirmation" or "refused-message"; `subject`: what
    /// failed; text fields are cut to a few hundred bytes. Throws SQLite::Exception.
    void record(const std::string& node_id, std::string_view source, std::int64_t at_us,
                std::string_view subject, std::string_view reason);

  private:
    SQLite::Statement upsert_;
};

}  // namespace loa::controller
