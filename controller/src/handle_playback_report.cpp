// C:PLAYBACK-REPORT — confirmations are committed first, then S:REPORT-ACK releases them.
#include <spdlog/spdlog.h>

#include "loa/controller/confirmation_ingest.hpp"
#include "loa/controller/controller_server.hpp"
#include "loa/controller/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_playback_report(Peer& peer, const std::string& routing_id,
                                              const wire::Envelope& in) {
    auto acked = ingest_confirmations(db_, peer.node_id, in.playback_report(), now_us());
    if (!acked) {
        // Not acked: the node keeps the confirmations; the error tells its log why.
        spdlog::warn("node {}: report refused: {}", peer.node_id, acked.error().message);
        send_error(
            routing_id,
            acked.error().code == Error::Code::invalid_input ? wire::MALFORMED : wire::INTERNAL,
            acked.error().message, in.message_id());
        return;
    }
    spdlog::info("node {}: {} confirmation(s) stored", peer.node_id, acked->size());
    wire::Envelope out;
    // Set even when the report held no confirmation: an envelope without a body is refused by
    // the node as malformed (found by fuzz_controller_handlers).
    auto* ack = out.mutable_report_ack();
    for (auto seq : *acked) {
        ack->add_seqs(seq);
    }
    send(routing_id, std::move(out), in.message_id());
}

}  // namespace loa::controller
