// C:SCHEDULE-ACK — the node stored a timeline; remember which, so it is not sent again.
#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>

#include "loa/controller/gateway/controller_server.hpp"

namespace loa::controller {

void ControllerServer::handle_schedule_ack(Peer& peer, const wire::Envelope& in) {
    peer.acked_hash = in.schedule_ack().timeline_hash();
    try {
        SQLite::Statement q(db_, "UPDATE nodes SET acked_timeline_hash = ? WHERE node_id = ?");
        q.bind(1, peer.acked_hash);
        q.bind(2, peer.node_id);
        q.exec();
    } catch (const std::exception& e) {
        spdlog::error("node {}: cannot record schedule ack: {}", peer.node_id, e.what());
    }
    spdlog::info("node {}: stored timeline {}", peer.node_id, peer.acked_hash.substr(0, 12));
}

}  // namespace loa::controller
