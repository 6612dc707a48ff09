// C:HEARTBEAT — the node is alive and says how it is; S:HEARTBEAT-ACK carries the controller's
// clock for the node's offset measurement.
#include <spdlog/spdlog.h>

#include "loa/controller/gateway/controller_server.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_heartbeat(Peer& peer, const std::string& routing_id,
                                        const wire::Envelope& in, std::int64_t received_us) {
    const auto& heartbeat = in.heartbeat();
    const std::string node_id = peer.node_id;  // `peer` is gone after a failed send
    if (auto why = heartbeat_problem(heartbeat); !why.empty()) {
        spdlog::warn("node {}: heartbeat refused: {}", node_id, why);
        try {
            touch_node(db_, node_id, received_us);  // it is alive all the same
        } catch (const std::exception& e) {
            spdlog::error("node {}: cannot record heartbeat: {}", node_id, e.what());
        }
        send_error(routing_id, wire::MALFORMED, "heartbeat: " + why, in.message_id());
        return;
    }
    // The ack leaves before the heartbeat is written: t2 is when the frame arrived, t3 is taken
    // just before sending, and the node's offset does not depend on how long the write takes.
    wire::Envelope out;
    auto* ack = out.mutable_heartbeat_ack();
    ack->set_node_time_us(heartbeat.node_time_us());
    ack->set_controller_receive_us(received_us);
    ack->set_controller_send_us(now_us());
    send(routing_id, std::move(out), in.message_id());
    if (auto recorded = record_heartbeat(db_, node_id, heartbeat, received_us); !recorded) {
        spdlog::error("node {}: cannot record heartbeat: {}", node_id, recorded.error().message);
    }
}

}  // namespace loa::controller
