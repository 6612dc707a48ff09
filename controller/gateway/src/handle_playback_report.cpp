// C:PLAYBACK-REPORT — confirmations are committed first (the reports of a poll round together,
// in the round's change), then S:REPORT-ACK releases them (run_completions).
#include "gateway_writes.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::handle_playback_report(Peer& peer, const std::string& routing_id,
                                         const wire::Envelope& in) {
    // Stored with the other reports of this poll round in one change, so that a burst of
    // reports costs one fsync, not one each.
    pending_->reports.push_back({routing_id, peer.node_id, in});
}

}  // namespace loa::controller
