// C:HEARTBEAT — the node is alive and says how it is; S:HEARTBEAT-ACK carries the controller's
// clock for the node's offset measurement.
#include <algorithm>
#include <cstdlib>

#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::handle_heartbeat(Peer& peer, const std::string& routing_id,
                                   const wire::Envelope& in, std::int64_t received_us) {
    const auto& heartbeat = in.heartbeat();
    session_stats_.heartbeats.fetch_add(1, std::memory_order_relaxed);
    // Stored with the rest of the round; a field out of range is kept as unknown, field by field
    // (check_heartbeat), so the node is never refused for one bad reading. Only the latest of a
    // round is stored.
    pending_->heartbeats[peer.node_id] = {heartbeat, received_us};
    // The node's measured offset is logged when it moves, at the first heartbeat of a session
    // and every 6 h: what confirmations are corrected with (clock_offsets.hpp).
    if (heartbeat.has_clock_offset_us()) {
        const std::int64_t offset = heartbeat.clock_offset_us();
        if (peer.clock_logged_us == 0 ||
            std::llabs(offset - peer.clock_logged_offset_us) > kClockLogStepUs ||
            received_us - peer.clock_logged_us >= kClockLogEveryUs) {
            peer.clock_logged_us = received_us;
            peer.clock_logged_offset_us = offset;
            pending_->clock_samples.push_back(
                {peer.node_id, received_us, offset,
                 std::max<std::int64_t>(heartbeat.clock_round_trip_us(), 0)});
        }
    }
    // The ack leaves at once: it promises nothing about storage. t2 is when the frame arrived,
    // t3 is taken just before sending, so the node's offset does not depend on the writer.
    wire::Envelope out;
    auto* ack = out.mutable_heartbeat_ack();
    ack->set_node_time_us(heartbeat.node_time_us());
    ack->set_controller_receive_us(received_us);
    ack->set_controller_send_us(now_us());
    send(routing_id, std::move(out), in.message_id());
}

}  // namespace loa::controller
