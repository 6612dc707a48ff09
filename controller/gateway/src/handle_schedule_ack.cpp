// C:SCHEDULE-ACK — the node stored a timeline; remember which, so it is not sent again.
#include <spdlog/spdlog.h>

#include "gateway_writes.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::handle_schedule_ack(Peer& peer, const wire::Envelope& in) {
    peer.acked_hash = in.schedule_ack().timeline_hash();
    pending_->schedule_acks[peer.node_id] = peer.acked_hash;
    spdlog::info("node {}: stored timeline {}", peer.node_id, peer.acked_hash.substr(0, 12));
}

}  // namespace loa::controller
