// C:HELLO — a node opens (or reopens) its session; S:WELCOME, its timeline if needed, and its
// pending commands.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "connection_peer.hpp"
#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/versions.hpp"

namespace loa::controller {

void NodeGateway::handle_hello(const std::string& routing_id, const std::string& node_id,
                               const wire::Envelope& in, int fd) {
    const auto& hello = in.hello();
    // Who this is comes from the key the connection authenticated with (ZAP), never from the
    // message: a node cannot open a session, report or heartbeat as another node.
    if (node_id.empty()) {
        log_refusal({"unknown", "node.hello", "", "a connection with no enrolled key"});
        send_error(routing_id, wire::NOT_ALLOWED, "this connection has no enrolled key",
                   in.message_id());
        return;
    }
    if (!hello.node_id().empty() && hello.node_id() != node_id) {
        log_refusal(
            {"node:" + node_id, "node.hello", hello.node_id(), "said hello as another node"});
        send_error(routing_id, wire::NOT_ALLOWED,
                   "this key is enrolled as node '" + node_id + "', not '" + hello.node_id() + "'",
                   in.message_id());
        return;
    }
    auto node = find_node(reader(), node_id);
    if (!node) {
        spdlog::warn("hello from unknown node '{}' refused", node_id);
        send_error(routing_id, wire::UNKNOWN_NODE, "node '" + node_id + "' is not registered",
                   in.message_id());
        return;
    }
    if (node->revoked) {
        log_refusal({"node:" + node_id, "node.hello", node_id, "the node is revoked"});
        send_error(routing_id, wire::REVOKED,
                   "this node was revoked: it is refused until it enrolls again", in.message_id());
        return;
    }
    // One session per node: a reconnecting agent replaces its old routing id, and its old
    // connection (half-open, if the link dropped) is let go.
    for (auto it = peers_.begin(); it != peers_.end();) {
        if (it->second.node_id != node_id || it->first == routing_id) {
            ++it;
            continue;
        }
        if (it->second.fd != fd) {
            close_connection(it->second);
        }
        it = peers_.erase(it);
    }
    Peer& peer = peers_[routing_id];
    peer.node_id = node_id;
    peer.fd = fd;
    peer.remote = fd >= 0 ? peer_of(fd).first : std::string();
    peer.last_seen_us = now_us();
    peer.acked_hash = hello.timeline_hash();
    peer.pushed_hash.clear();
    peer.commands_sent_us.clear();  // a new session: every pending command is sent again
    peer.next_command_check_us = 0;
    peer.version = protocol::accepted_version(in.version());  // what it is sent from now on
    peer.clock_logged_us = 0;  // the session's first measured offset is logged
    // One way, so off by the link's delay: logged only for a node never measured before, whose
    // first reports (sent before any heartbeat could measure) would otherwise go uncorrected.
    if (hello.node_time_us() > 0) {
        pending_->clock_samples.push_back(
            {node_id, peer.last_seen_us, peer.last_seen_us - hello.node_time_us(), std::nullopt});
    }
    pending_->hellos[node_id] = {peer.last_seen_us, hello.agent_version()};
    spdlog::info("node {} said hello (agent {}, timeline {})", peer.node_id, hello.agent_version(),
                 hello.timeline_hash().substr(0, 12));
    wire::Envelope out;
    auto* welcome = out.mutable_welcome();
    welcome->set_accepted_version(peer.version);
    welcome->set_controller_time_us(now_us());
    welcome->set_heartbeat_interval_ms(static_cast<std::uint32_t>(options_.heartbeat_interval_ms));
    welcome->set_node_id(node_id);
    // A node whose store started empty numbers its confirmations above this, so a re-imaged
    // device never collides with its past (protocol/README.md, "Sequence numbers").
    welcome->set_highest_seq(highest_seq_of(node_id));
    session_stats_.welcomes.fetch_add(1, std::memory_order_relaxed);
    if (!send(routing_id, std::move(out), in.message_id())) {
        return;
    }
    push_timeline(peer, routing_id, true);
    if (auto it = peers_.find(routing_id); it != peers_.end()) {  // still there after the push
        push_commands(it->second, routing_id);
    }
}

}  // namespace loa::controller
