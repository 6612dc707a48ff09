// One virtual node: the node library's session and store, driven by a simulator thread.
#include "virtual_node.hpp"

#include <spdlog/spdlog.h>

namespace loa::sim::detail {

namespace {

node::AgentOptions agent_options(const NodeIdentity& identity, const SimOptions& sim) {
    node::AgentOptions o;
    o.node_id = identity.node_id;
    o.controller = sim.endpoint;
    o.keys = identity.keys;
    o.controller_key = sim.controller_key;
    o.data_dir = sim.data_root / identity.node_id;
    if (sim.heartbeat_ms > 0) {
        o.heartbeat_interval_ms = sim.heartbeat_ms;
        o.heartbeat_from_welcome = false;
    }
    // Virtual nodes share the simulator's disk: its free space says nothing about one node.
    o.min_free_bytes = 0;
    // They share this machine's clock too: an offset they measure is queueing on the way.
    o.clock_warn_us = 3'600'000'000;
    return o;
}

std::filesystem::path store_path(const NodeIdentity& identity, const SimOptions& sim) {
    return sim.store_files ? sim.data_root / identity.node_id / "node.db"
                           : std::filesystem::path(":memory:");
}

void add(node::SessionStats& to, const node::SessionStats& s) {
    to.hellos += s.hellos;
    to.welcomes += s.welcomes;
    to.sessions_lost += s.sessions_lost;
    to.sessions_given_up += s.sessions_given_up;
    to.heartbeats += s.heartbeats;
    to.heartbeat_acks += s.heartbeat_acks;
    to.reports += s.reports;
    to.confirmations_sent += s.confirmations_sent;
    to.confirmations_acked += s.confirmations_acked;
    to.timelines += s.timelines;
    to.commands += s.commands;
    to.errors += s.errors;
    to.bad_frames += s.bad_frames;
    to.unsent += s.unsent;
    if (!s.last_error.empty()) {
        to.last_error = s.last_error;
    }
}

}  // namespace

VirtualNode::VirtualNode(const NodeIdentity& identity, const SimOptions& options,
                         std::uint32_t index, std::uint64_t seed)
    : options_(agent_options(identity, options)),
      index_(index),
      store_(store_path(identity, options)),
      media_(options_.data_dir / "media"),
      player_(identity.node_id, store_, media_, options, seed) {
    store_.recover_interrupted();
}

void VirtualNode::connect(zmq::context_t& context, Link* link) {
    session_ = std::make_unique<node::Session>(options_, store_, media_, player_, &context);
    ++generation_;
    if (link) {
        session_->set_link(
            [this, link](std::string frame) { return link->outgoing(*this, std::move(frame)); },
            [this, link](std::string frame) { link->incoming(*this, std::move(frame)); });
    }
}

void VirtualNode::disconnect() {
    if (session_) {
        add(earlier_, session_->stats());
        session_.reset();
    }
}

int VirtualNode::fd() {
    return session_->socket().get(zmq::sockopt::fd);
}

void VirtualNode::step(std::int64_t now) {
    session_->tick();
    player_.step(now);
}

void VirtualNode::restart(zmq::context_t& context, Link* link, std::int64_t now) {
    spdlog::info("virtual node {} restarting", id());
    disconnect();
    player_.restarted(now);
    ++restarts_;
    connect(context, link);
}

void VirtualNode::failed(const std::string& what) {
    if (failures_++ == 0) {
        spdlog::error("virtual node {}: {}", id(), what);
    }
    last_failure_ = what;
}

NodeCounts VirtualNode::counts() {
    NodeCounts c;
    c.node_id = options_.node_id;
    c.session = earlier_;
    if (session_) {
        add(c.session, session_->stats());
        c.in_session = session_->welcomed();
    }
    const PlayerCounts& p = player_.counts();
    c.booked = p.booked;
    c.played = p.played;
    c.synthetic = p.synthetic;
    c.emergency = p.emergency;
    c.produced = p.produced;
    c.confirmations = p.confirmations;
    const std::uint64_t key = p.produced + c.session.confirmations_acked + restarts_;
    if (key != counted_key_) {
        try {
            last_seq_ = store_.last_seq();
            outbox_ = static_cast<std::uint64_t>(store_.outbox_size());
            counted_key_ = key;
        } catch (const std::exception& e) {
            failed(e.what());
        }
    }
    c.last_seq = last_seq_;
    c.outbox = outbox_;
    c.restarts = restarts_;
    c.dropped = dropped;
    c.failures = failures_;
    c.last_failure = last_failure_;
    return c;
}

}  // namespace loa::sim::detail
