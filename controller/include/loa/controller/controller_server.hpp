// The controller daemon's ZeroMQ side: one ROUTER socket serving every node agent.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include <SQLiteCpp/Database.h>
#include <zmq.hpp>

#include "loa/controller/error.hpp"
#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

struct ServerOptions {
    std::string endpoint = "tcp://127.0.0.1:5599";
    std::int64_t heartbeat_interval_ms = 30'000;     ///< told to nodes in Welcome
    std::int64_t resend_after_ms = 5'000;            ///< an unacked ScheduleUpdate is sent again
    std::uint32_t transfer_chunk_bytes = 64 * 1024;  ///< chunk size of the manifests served
    /// Messages queued for one node before more are dropped (the node asks again): with chunks of
    /// transfer_chunk_bytes this bounds the memory one node can hold in the controller.
    int send_queue_per_node = 64;
    std::int64_t command_resend_ms = 10'000;  ///< an unanswered Command is sent again
};

/// What the server has sent of media so far (counted on successful sends).
struct TransferStats {
    std::atomic<std::uint64_t> manifests_served{0};
    std::atomic<std::uint64_t> chunks_served{0};
    std::atomic<std::uint64_t> bytes_served{0};
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

    /// Media served so far; safe to read from another thread.
    const TransferStats& transfer_stats() const { return stats_; }

  private:
    /// What the controller knows of one connected node agent, keyed by ZeroMQ routing id.
    struct Peer {
        std::string node_id;
        std::int64_t last_seen_us = 0;
        std::string pushed_hash;  ///< last timeline sent
        std::int64_t pushed_us = 0;
        std::string acked_hash;  ///< last timeline the node confirmed storing
        /// Commands sent in this session and not answered yet: command id → when last sent.
        std::map<std::uint64_t, std::int64_t> commands_sent_us;
        std::int64_t next_command_check_us = 0;  ///< when pending commands are looked at again
    };

    /// `received_us`: when the frame was taken off the socket (t2 of the clock exchange).
    void on_frame(const std::string& routing_id, std::string_view frame, std::int64_t received_us);
    void handle_hello(const std::string& routing_id, const wire::Envelope& in);
    void handle_heartbeat(Peer& peer, const std::string& routing_id, const wire::Envelope& in,
                          std::int64_t received_us);
    void handle_command_result(Peer& peer, const std::string& routing_id, const wire::Envelope& in);
    void handle_schedule_ack(Peer& peer, const wire::Envelope& in);
    void handle_manifest_request(const std::string& routing_id, const wire::Envelope& in);
    void handle_chunk_request(const std::string& routing_id, const wire::Envelope& in);
    void handle_media_status(Peer& peer, const std::string& routing_id, const wire::Envelope& in);
    /// The manifest of stored media (cached); null with `why` when it cannot be served.
    std::shared_ptr<const media::ChunkManifest> manifest_of(const std::string& media_hash,
                                                            std::string& why);
    void handle_playback_report(Peer& peer, const std::string& routing_id,
                                const wire::Envelope& in);

    /// Sends the node its timeline if it changed, or if the last one went unacked too long.
    void push_timeline(Peer& peer, const std::string& routing_id, bool force);
    /// Sends the node its pending commands it has not been sent in this session, and again those
    /// unanswered for command_resend_ms; expired ones are marked so and never sent.
    void push_commands(Peer& peer, const std::string& routing_id);
    /// Pushes changed timelines and due commands to every peer; drops silent sessions.
    void push_due_updates();
    /// False when the node is gone (its peer entry is then erased: do not use it afterwards) or
    /// its send queue is full (the message is dropped; the node asks again).
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
    std::map<std::string, std::shared_ptr<const media::ChunkManifest>> manifests_;
    std::deque<std::string> manifest_order_;  ///< oldest first, for eviction
    TransferStats stats_;
};

}  // namespace loa::controller
