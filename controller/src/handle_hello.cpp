// C:HELLO — a node opens (or reopens) its session; S:WELCOME, its timeline if needed, and its
// pending commands.
#include <spdlog/spdlog.h>

#include "loa/controller/controller_server.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/time_text.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::controller {

void ControllerServer::handle_hello(const std::string& routing_id, const wire::Envelope& in) {
    const auto& hello = in.hello();
    auto node = find_node(db_, hello.node_id());
    if (!node) {
        spdlog::warn("hello from unknown node '{}' refused", hello.node_id());
        send_error(routing_id, wire::UNKNOWN_NODE,
                   "node '" + hello.node_id() + "' is not registered (loactl node add)",
                   in.message_id());
        return;
    }
    // One session per node: a reconnecting agent replaces its old routing id.
    for (auto it = peers_.begin(); it != peers_.end();) {
        it = (it->second.node_id == hello.node_id() && it->first != routing_id) ? peers_.erase(it)
                                                                                : std::next(it);
    }
    Peer& peer = peers_[routing_id];
    peer.node_id = hello.node_id();
    peer.last_seen_us = now_us();
    peer.acked_hash = hello.timeline_hash();
    peer.pushed_hash.clear();
    peer.commands_sent_us.clear();  // a new session: every pending command is sent again
    peer.next_command_check_us = 0;
    try {
        touch_node(db_, peer.node_id, peer.last_seen_us, hello.agent_version());
    } catch (const std::exception& e) {
        spdlog::error("node {}: cannot record hello: {}", peer.node_id, e.what());
    }
    spdlog::info("node {} said hello (agent {}, timeline {})", peer.node_id, hello.agent_version(),
                 hello.timeline_hash().substr(0, 12));
    wire::Envelope out;
    auto* welcome = out.mutable_welcome();
    welcome->set_accepted_version(std::min(in.version(), protocol::kProtocolVersion));
    welcome->set_controller_time_us(now_us());
    welcome->set_heartbeat_interval_ms(static_cast<std::uint32_t>(options_.heartbeat_interval_ms));
    if (!send(routing_id, std::move(out), in.message_id())) {
        return;
    }
    push_timeline(peer, routing_id, true);
    if (auto it = peers_.find(routing_id); it != peers_.end()) {  // still there after the push
        push_commands(it->second, routing_id);
    }
}

}  // namespace loa::controller
