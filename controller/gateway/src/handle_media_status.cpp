// C:MEDIA-STATUS — what a node's prefetch holds; kept so operators see what is missing where.
#include <spdlog/spdlog.h>

#include "loa/controller/gateway/controller_server.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_media_status(Peer& peer, const std::string& routing_id,
                                           const wire::Envelope& in) {
    auto recorded = record_media_status(db_, peer.node_id, in.media_status(), now_us());
    if (!recorded) {
        spdlog::warn("node {}: media status refused: {}", peer.node_id, recorded.error().message);
        send_error(
            routing_id,
            recorded.error().code == Error::Code::invalid_input ? wire::MALFORMED : wire::INTERNAL,
            recorded.error().message, in.message_id());
    }
}

}  // namespace loa::controller
