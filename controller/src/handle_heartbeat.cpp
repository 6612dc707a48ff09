// C:HEARTBEAT — the node is alive; S:HEARTBEAT-ACK carries the controller's clock.
#include <spdlog/spdlog.h>

#include "loa/controller/controller_server.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_heartbeat(Peer& peer, const std::string& routing_id,
                                        const wire::Envelope& in) {
    std::int64_t received = now_us();
    try {
        touch_node(db_, peer.node_id, received);
    } catch (const std::exception& e) {
        spdlog::error("node {}: cannot record heartbeat: {}", peer.node_id, e.what());
    }
    wire::Envelope out;
    auto* ack = out.mutable_heartbeat_ack();
    ack->set_node_time_us(in.heartbeat().node_time_us());
    ack->set_controller_receive_us(received);
    ack->set_controller_send_us(now_us());
    send(routing_id, std::move(out), in.message_id());
}

}  // namespace loa::controller
