// Private: one virtual node — a real node session, store and media cache, and a virtual player.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "loa/media/content_store.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/node/node_store.hpp"
#include "loa/node/session.hpp"
#include "loa/sim/simulator.hpp"
#include "virtual_player.hpp"

namespace loa::sim::detail {

class VirtualNode;

/// What lies between a node's session and its socket: the simulator's delay and loss.
class Link {
  public:
    virtual ~Link() = default;
    /// A frame the session sends; false if it could not be sent.
    virtual bool outgoing(VirtualNode& node, std::string frame) = 0;
    /// A frame read from the node's socket.
    virtual void incoming(VirtualNode& node, std::string frame) = 0;
};

/// Single-threaded: one simulator thread owns it, its socket and its store.
class VirtualNode {
  public:
    /// Opens the node's store (in memory, or data_root/<id>/node.db) and media cache; a play cut
    /// by an earlier run is confirmed as failed, as a starting agent does.
    VirtualNode(const NodeIdentity& identity, const SimOptions& options, std::uint32_t index,
                std::uint64_t seed);

    /// Makes the session and connects; `link` sees every frame (null: straight through).
    void connect(zmq::context_t& context, Link* link);
    /// Closes the session (its socket) if any.
    void disconnect();

    std::uint32_t index() const { return index_; }
    const std::string& id() const { return options_.node_id; }
    node::Session& session() { return *session_; }
    /// The socket's ZMQ_FD, for epoll.
    int fd();
    /// Counts the sessions made, so that frames a dropped session left on the link are dropped.
    std::uint64_t generation() const { return generation_; }

    /// Session timers, then the player.
    void step(std::int64_t now);
    /// Everything waiting on the socket.
    int receive() { return session_->receive(); }
    /// The player was asked to restart: the shard makes a new session.
    bool take_restart() { return player_.take_restart(); }
    /// The agent restarting: what airs is confirmed cut, and a new session says hello.
    void restart(zmq::context_t& context, Link* link, std::int64_t now);

    /// Counts an exception caught around this node's work.
    void failed(const std::string& what);

    NodeCounts counts();

    // The link's state for this node, kept by the shard.
    bool touched = false;  ///< sent something since its socket was last drained
    std::int64_t last_due_out_us = 0;
    std::int64_t last_due_in_us = 0;
    std::uint64_t dropped = 0;

  private:
    node::AgentOptions options_;
    std::uint32_t index_;
    node::NodeStore store_;
    media::ContentStore media_;
    VirtualPlayer player_;
    std::unique_ptr<node::Session> session_;
    std::uint64_t generation_ = 0;
    std::uint64_t restarts_ = 0;
    std::uint64_t failures_ = 0;
    std::string last_failure_;
    /// Counts of the sessions closed before this one.
    node::SessionStats earlier_;
    /// The outbox's size and the last number assigned change only when a play is confirmed or
    /// an ack arrives: read from the store only then.
    std::uint64_t counted_key_ = ~0ULL;
    std::uint64_t outbox_ = 0;
    std::uint64_t last_seq_ = 0;
};

}  // namespace loa::sim::detail
