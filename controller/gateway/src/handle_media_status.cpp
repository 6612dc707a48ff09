// C:MEDIA-STATUS — what a node's prefetch holds; kept so operators see what is missing where.
#include <spdlog/spdlog.h>

#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::handle_media_status(Peer& peer, const std::string& routing_id,
                                      const wire::Envelope& in) {
    if (auto valid = check_media_status(peer.node_id, in.media_status()); !valid) {
        spdlog::warn("node {}: media status refused: {}", peer.node_id, valid.error().message);
        send_error(routing_id, wire::MALFORMED, valid.error().message, in.message_id());
        return;
    }
    // Only the latest of a round is stored: each replaces the one before.
    pending_->media[peer.node_id] = in.media_status();
    pending_->media_received[peer.node_id] = now_us();
}

}  // namespace loa::controller
