// Storing playback confirmations from nodes: validated, idempotent, committed before acked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// Stores the confirmations of `report`. A confirmation already received (same node, sequence
/// number and content) is not stored twice. Kept apart in `refused_confirmations` with the
/// reason, so that it neither counts as airtime nor blocks the node's outbox: one that makes no
/// sense (sequence number 0 excepted: it cannot be acked), one for a slot already confirmed under
/// another number, one that reuses a number stored with another content (a device that lost its
/// store), one for a slot never booked for that node, one of an emergency never sent to it.
/// A confirmation of a slot booked and withdrawn since (the node had it in its timeline) counts
/// for the campaign that booked it, as a play without a booked slot. Outcome INTERRUPTED (cut
/// short by an emergency) counts the part that aired. A play of an emergency has the slot id
/// "emergency:<emergency id>:<n>" and counts for the emergency's campaign. Audio levels, frames
/// rendered and the offset into the media are kept with the confirmation. Failed plays and
/// refusals become the node's last error. Returns the sequence numbers to ack once committed.
Result<std::vector<std::uint64_t>> ingest_confirmations(WriteTx& tx, const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now);

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
    WriteTx& tx, const std::vector<NodeReport>& reports, std::int64_t now);

}  // namespace loa::controller
