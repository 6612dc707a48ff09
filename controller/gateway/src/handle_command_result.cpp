// C:COMMAND-RESULT — what became of a command: committed first, then S:COMMAND-ACK releases it.
#include <spdlog/spdlog.h>

#include "loa/controller/gateway/controller_server.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_command_result(Peer& peer, const std::string& routing_id,
                                             const wire::Envelope& in) {
    const auto& result = in.command_result();
    auto stored = record_command_result(db_, peer.node_id, result, now_us());
    if (!stored) {
        // Not acked: the node keeps the result and sends it again; the error tells its log why.
        spdlog::warn("node {}: command result refused: {}", peer.node_id, stored.error().message);
        send_error(
            routing_id,
            stored.error().code == Error::Code::invalid_input ? wire::MALFORMED : wire::INTERNAL,
            stored.error().message, in.message_id());
        return;
    }
    peer.commands_sent_us.erase(result.command_id());
    if (*stored) {
        spdlog::info("node {}: command {} {}{}{}", peer.node_id, result.command_id(),
                     result.ok() ? "done" : "failed", result.message().empty() ? "" : ": ",
                     result.message());
    } else {
        // Unknown, another node's, or answered before (the ack was lost): nothing to store.
        spdlog::info("node {}: result for command {} already stored or not expected", peer.node_id,
                     result.command_id());
    }
    wire::Envelope out;
    out.mutable_command_ack()->set_command_id(result.command_id());
    send(routing_id, std::move(out), in.message_id());
}

}  // namespace loa::controller
