// C:COMMAND-RESULT — what became of a command: committed first, then S:COMMAND-ACK releases it
// (run_completions, after the round's change committed).
#include <spdlog/spdlog.h>

#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::handle_command_result(Peer& peer, const std::string& routing_id,
                                        const wire::Envelope& in) {
    if (auto why = command_result_problem(in.command_result()); !why.empty()) {
        // Not acked: the error tells the node's log why.
        spdlog::warn("node {}: command result refused: {}", peer.node_id, why);
        send_error(routing_id, wire::MALFORMED,
                   fmt::format("result for command {}: {}", in.command_result().command_id(), why),
                   in.message_id());
        return;
    }
    pending_->command_results.push_back({routing_id, peer.node_id, in, now_us()});
}

}  // namespace loa::controller
