// S:COMMAND — a node's pending commands, after WELCOME, when new ones are queued, and again every
// command_resend_ms until the node's CommandResult is stored.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

void NodeGateway::push_commands(Peer& peer, const std::string& routing_id) {
    const std::int64_t now = now_us();
    const std::int64_t resend_us = options_.command_resend_ms * 1000;
    peer.next_command_check_us = now + resend_us;
    auto commands = due_commands(reader(), peer.node_id, now);
    if (!commands) {
        spdlog::error("node {}: cannot read its commands: {}", peer.node_id,
                      commands.error().message);
        return;
    }
    // Expired ones are marked so by the writer with the round; they are not sent.
    pending_->expired_commands.insert(pending_->expired_commands.end(), commands->expired.begin(),
                                      commands->expired.end());
    auto* due = &commands->due;
    // Answered, expired or cancelled commands are no longer due: forget them.
    std::map<std::uint64_t, std::int64_t> still_due;
    for (const auto& command : *due) {
        if (auto it = peer.commands_sent_us.find(command.command_id());
            it != peer.commands_sent_us.end()) {
            still_due.insert(*it);
        }
    }
    peer.commands_sent_us = std::move(still_due);
    const std::string node_id = peer.node_id;  // `peer` is gone after a failed send
    for (auto& command : *due) {
        const std::uint64_t id = command.command_id();
        auto sent = peer.commands_sent_us.find(id);
        if (sent != peer.commands_sent_us.end() && now - sent->second < resend_us) {
            peer.next_command_check_us =
                std::min(peer.next_command_check_us, sent->second + resend_us);
            continue;
        }
        spdlog::info("node {}: sending command {} ({}){}", node_id, id, command_kind(command),
                     sent != peer.commands_sent_us.end() ? " again" : "");
        peer.commands_sent_us[id] = now;
        wire::Envelope out;
        *out.mutable_command() = std::move(command);
        if (!send(routing_id, std::move(out), 0)) {
            return;  // gone (the peer was erased) or its queue is full: sent again later
        }
    }
}

}  // namespace loa::controller
