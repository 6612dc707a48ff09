// Storing playback confirmations from nodes: validated, idempotent, committed before acked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// Stores the confirmations of `report` in one transaction. A confirmation already received (same
/// node and sequence number) is not stored twice; one for a slot already confirmed under another
/// number is kept apart. One that makes no sense (sequence number 0 excepted: it cannot be
/// acked) is kept apart in `refused_confirmations` with the reason, so that it neither counts as
/// airtime nor blocks the node's outbox. Outcome INTERRUPTED (cut short by an emergency) counts
/// the part that aired. A play of an emergency has the slot id "emergency:<emergency id>:<n>"
/// and no booked slot; it counts for the emergency's campaign. Audio levels, frames rendered and
/// the offset into the media are kept with the confirmation. Returns the sequence numbers now
/// safely on disk, to be acked.
Result<std::vector<std::uint64_t>> ingest_confirmations(SQLite::Database& db,
                                                        const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now);

/// Sets up the connection confirmations are stored through (the daemon's): a page cache of
/// 256 MiB, as the indexes of a large confirmations table are written all over, and a
/// checkpoint every 64 MiB of WAL rather than every 4 MiB, so that pages written by several
/// commits in a row are copied into the database once. Other connections keep the defaults of
/// open_database.
void tune_for_ingest(SQLite::Database& db);

/// A report as it arrived from a node.
struct NodeReport {
    std::string node_id;
    const wire::PlaybackReport* report = nullptr;
};

/// Stores several nodes' reports in one transaction — one commit, one fsync, for all the
/// reports the daemon drained in a poll round — each as ingest_confirmations would. A report
/// refused (an unknown node) is refused before it writes anything and does not stop the others.
/// The answer holds, per report in order, the sequence numbers to ack or why it was refused; it
/// is an error only when the transaction itself failed (then nothing is stored or acked).
Result<std::vector<Result<std::vector<std::uint64_t>>>> ingest_reports(
    SQLite::Database& db, const std::vector<NodeReport>& reports, std::int64_t now);

}  // namespace loa::controller
