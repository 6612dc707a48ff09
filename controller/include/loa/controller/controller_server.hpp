// The controller daemon's ZeroMQ side: one ROUTER socket serving every node agent.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include <SQLiteCpp/Database.h>
#include <zmq.hpp>

#include "loa/controller/error.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

struct ServerOptions {
    std::string endpoint = "tcp://127.0.0.1:5599";
    std::int64_t heartbeat_interval_ms = 30'000;  ///< told to nodes in Welcome
    std::int64_t resend_after_ms = 5'000;         ///< an unacked ScheduleUpdate is sent again
};

/// Serves node sessions as protocol/README.md describes. Single-threaded: run() polls the
/// socket and does the periodic work (pushing changed timelines) between messages.
class ControllerServer {
  public:
    ControllerServer(SQLite::Database& db, media::ContentStore& store, ServerOptions options);

    /// Binds the ROUTER socket; fails if the endpoint is taken.
    Result<void> bind();

    /// Serves until `stop` becomes true.
    void run(const std::atomic<bool>& stop);

    /// Handles what arrived within `timeout_ms` and does due periodic work; run() loops on it.
    void poll_once(int timeout_ms);

  private:
    /// What the controller knows of one connected node agent, keyed by ZeroMQ routing id.
    struct Peer {
        std::string node_id;
        std::int64_t last_seen_us = 0;
        std::string pushed_hash;  ///< last timeline sent
        std::int64_t pushed_us = 0;
        std::string acked_hash;  ///< last timeline the node confirmed storing
    };

    void on_frame(const std::string& routing_id, std::string_view frame);
    void handle_hello(const std::string& routing_id, const wire::Envelope& in);
    void handle_heartbeat(Peer& peer, const std::string& routing_id, const wire::Envelope& in);
    void handle_schedule_ack(Peer& peer, const wire::Envelope& in);
    void handle_chunk_request(const std::string& routing_id, const wire::Envelope& in);
    void handle_playback_report(Peer& peer, const std::string& routing_id,
                                const wire::Envelope& in);

    /// Sends the node its timeline if it changed, or if the last one went unacked too long.
    void push_timeline(Peer& peer, const std::string& routing_id, bool force);
    void push_due_timelines();
    /// False when the node is gone (its peer entry is then erased: do not use it afterwards).
    bool send(const std::string& routing_id, wire::Envelope envelope, std::uint64_t in_reply_to);
    void send_error(const std::string& routing_id, wire::ErrorCode code, const std::string& message,
                    std::uint64_t in_reply_to);

    SQLite::Database& db_;
    media::ContentStore& store_;
    ServerOptions options_;
    zmq::context_t context_;
    zmq::socket_t router_;
    std::map<std::string, Peer> peers_;
    std::uint64_t next_message_id_ = 1;
    std::int64_t data_version_ = -1;
    std::int64_t next_periodic_us_ = 0;
};

}  // namespace loa::controller
