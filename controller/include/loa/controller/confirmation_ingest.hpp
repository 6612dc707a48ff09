// Storing playback confirmations from nodes: validated, idempotent, committed before acked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/error.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// Validates every confirmation of `report` and stores them in one transaction. A confirmation
/// already stored (same node and sequence number, or same node and slot) is not stored twice.
/// Returns the sequence numbers now safely on disk, to be acked; on any invalid confirmation
/// nothing is stored and the error names it.
Result<std::vector<std::uint64_t>> ingest_confirmations(SQLite::Database& db,
                                                        const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now);

}  // namespace loa::controller
