// The controller's node gateway: one thread owns the ROUTER socket serving every node agent, the
// enrollment socket, the ZAP handler and the peers in memory. It reads the store through its own
// read-only connection and never writes it: what nodes report is queued to the writer, one change
// per poll round, and acks that promise durability leave after that change commits.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "loa/controller/common/error.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_store.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// ZAP domains of the two endpoints: node sessions, and enrollment of new devices.
inline constexpr std::string_view kNodeDomain = "loa-nodes";
inline constexpr std::string_view kEnrollDomain = "loa-enroll";

/// Who may hold a connection to the enrollment endpoint, and for how long (docs/security.md).
struct EnrollmentLimits {
    int max_connections = 256;  ///< connections open at once, all addresses together
    int max_per_address = 16;   ///< … from one source address
    int handshake_ms = 5'000;   ///< to finish the CURVE handshake (libzmq's ZMQ_HANDSHAKE_IVL)
    int idle_ms = 10'000;       ///< then to send ENROLL
    int linger_ms = 5'000;      ///< kept after the answer, for it to leave
    /// ENROLL messages taken per connection: a burst, then one per `refill_ms`. With the cap
    /// per address, one place can send only so much junk, and never in anyone else's stead.
    int burst_per_connection = 3;
    int refill_ms = 5'000;
};

struct GatewayOptions {
    std::string endpoint = "tcp://127.0.0.1:5599";
    std::int64_t heartbeat_interval_ms = 30'000;     ///< told to nodes in Welcome
    std::int64_t resend_after_ms = 5'000;            ///< an unacked ScheduleUpdate is sent again
    std::uint32_t transfer_chunk_bytes = 64 * 1024;  ///< chunk size of the manifests served
    /// Messages queued for one node before more are dropped (the node asks again): with chunks of
    /// transfer_chunk_bytes this bounds the memory one node can hold in the controller.
    int send_queue_per_node = 64;
    std::int64_t command_resend_ms = 10'000;  ///< an unanswered Command is sent again
    /// The controller's CURVE key pair (loa-controller keeps it in <data>/controller.key). Every
    /// node connection is encrypted and authenticated with it; a node must know its public key.
    protocol::CurveKeyPair curve_keys;
    /// Where devices enroll with a one-time token ("" = no enrollment endpoint).
    std::string enroll_endpoint;
    EnrollmentLimits enrollment;
};

/// What the server has sent of media so far (counted on successful sends).
struct TransferStats {
    std::atomic<std::uint64_t> manifests_served{0};
    std::atomic<std::uint64_t> chunks_served{0};
    std::atomic<std::uint64_t> bytes_served{0};
};

/// Security and delivery counters (safe to read from another thread).
struct SessionStats {
    std::atomic<std::uint64_t> keys_refused{0};  ///< ZAP refusals of unknown/retired keys
    std::atomic<std::uint64_t> enrollments{0};   ///< tokens redeemed
    std::atomic<std::uint64_t> enrollments_refused{0};
    /// Enrollment connections refused or cut: no token outstanding, over a limit, idle.
    std::atomic<std::uint64_t> enrollment_connections_refused{0};
    std::atomic<std::uint64_t> sends_dropped{0};           ///< a node's send queue was full
    std::atomic<std::uint64_t> welcomes{0};                ///< sessions opened
    std::atomic<std::uint64_t> connected_nodes{0};         ///< sessions open now
    std::atomic<std::uint64_t> confirmations_ingested{0};  ///< stored and acked
    std::atomic<std::uint64_t> reports_refused{0};         ///< PLAYBACK-REPORTs not stored
    std::atomic<std::uint64_t> heartbeats{0};              ///< heartbeats received
    std::atomic<std::uint64_t> write_batches{0};           ///< changes the gateway committed
    /// Of the last report stored: how long after the end of its latest play it was stored.
    std::atomic<std::int64_t> ingest_lag_us{0};
};

class EnrollmentGate;
class GatewayWrites;

/// Serves node sessions as protocol/README.md describes. Single-threaded: run() polls the
/// sockets and does the periodic work (pushing changed timelines) between messages; nothing in
/// it waits for the writer.
class NodeGateway {
  public:
    NodeGateway(Store& store, media::ContentStore& content, GatewayOptions options);
    ~NodeGateway();
    NodeGateway(const NodeGateway&) = delete;
    NodeGateway& operator=(const NodeGateway&) = delete;

    /// Binds the ROUTER socket (and the enrollment socket, if any); fails if an endpoint is taken
    /// or the options hold no valid CURVE key pair.
    Result<void> bind();

    /// Serves until `stop` becomes true, then waits (bounded) for its last changes to commit and
    /// sends their acks.
    void run(const std::atomic<bool>& stop);

    /// Handles what arrived within `timeout_ms` and does due periodic work; run() loops on it.
    void poll_once(int timeout_ms);

    /// Handles one frame from the connection `routing_id`, whose CURVE key the ZAP handler
    /// authenticated as node `node_id`. `received_us`: when the frame was taken off the socket
    /// (t2 of the clock exchange); `fd`: the descriptor of the connection it came in on (-1:
    /// unknown, as for frames that did not come over a socket). poll_once() calls it; public for
    /// tests and the fuzz targets. What it writes is queued: call flush() (poll_once does) to
    /// hand it to the writer.
    void handle_frame(const std::string& routing_id, const std::string& node_id,
                      std::string_view frame, std::int64_t received_us, int fd = -1);

    /// Hands what is queued to the writer if nothing of the gateway is being committed, and sends
    /// the answers of changes that have committed. `wait`: block until everything queued so far
    /// is committed and answered (tests, shutdown).
    void flush(bool wait = false);

    /// Media served so far; safe to read from another thread.
    const TransferStats& transfer_stats() const { return stats_; }
    const SessionStats& session_stats() const { return session_stats_; }

    /// The endpoint nodes connect to, as bound (a port of 0 resolved).
    std::string bound_endpoint() const;
    /// The enrollment endpoint as bound ("" without one).
    std::string bound_enroll_endpoint() const;

  private:
    /// What the controller knows of one connected node agent, keyed by ZeroMQ routing id.
    struct Peer {
        std::string node_id;
        std::int64_t last_seen_us = 0;
        std::string pushed_hash;  ///< last timeline sent
        std::int64_t pushed_us = 0;
        std::string acked_hash;  ///< last timeline the node confirmed storing
        /// The node's schedule version (node_schedule_versions) the last timeline built for it
        /// reflects, and when it was built: it is built again only when its plays change, when
        /// a push goes unacked, or hourly as the horizon moves on.
        std::int64_t schedule_version = -1;
        std::int64_t built_us = 0;
        /// Commands sent in this session and not answered yet: command id → when last sent.
        std::map<std::uint64_t, std::int64_t> commands_sent_us;
        std::int64_t next_command_check_us = 0;  ///< when pending commands are looked at again
        /// The protocol version agreed in HELLO/WELCOME: every envelope to this node is stamped
        /// with it and shaped for it (protocol::downgrade).
        std::uint32_t version = 1;
        /// The connection the session was opened on: its descriptor (-1: unknown) and peer
        /// ("IP:port"). The routing id may pass to another connection (ZMQ_ROUTER_HANDOVER); the
        /// session stays with this one and ends with it.
        int fd = -1;
        std::string remote;
        /// The node's clock offset last logged for this session (node_clock_offsets) and when;
        /// 0: none yet this session.
        std::int64_t clock_logged_us = 0;
        std::int64_t clock_logged_offset_us = 0;
    };

    void handle_hello(const std::string& routing_id, const std::string& node_id,
                      const wire::Envelope& in, int fd);
    /// Ends the sessions whose connection libzmq has closed (the router's monitor events).
    void take_disconnects();
    /// Closes the connection of a session that has ended while its connection stays open (its
    /// routing id taken over, a newer session of the node, silence): nothing will be written to
    /// it again, so without this a half-open one would hold its descriptor for ever.
    static void close_connection(const Peer& peer);
    /// Answers libzmq's ZAP request for a connection's CURVE handshake: node keys on the node
    /// endpoint must be enrolled; the enrollment endpoint takes any key while a token is
    /// outstanding and its connection limits allow.
    void handle_zap_request();
    /// One frame on the enrollment endpoint from a connection whose key is `public_key`.
    void handle_enroll(const std::string& routing_id, const std::string& public_key,
                       const zmq::message_t& frame);
    /// A security refusal: who (`actor`: "node:<id>", "key:<Z85>"), what (`action`, e.g.
    /// "node.connect", "node.enroll"), on what (`target`) and why.
    struct Refusal {
        std::string actor;
        std::string action;
        std::string target;
        std::string reason;
    };
    /// Logs a refusal and writes it to the action log, at most a few a minute however many
    /// arrive (a flood of unknown keys must fill neither the disk nor the database); the rest
    /// are counted and summarised in one line and one row.
    void log_refusal(const Refusal& refusal);
    /// Whether an unexpired enrollment token waits to be used (the enrollment endpoint takes no
    /// handshake otherwise).
    bool token_outstanding();
    std::int64_t token_outstanding_until_us_ = 0;
    /// Ends the sessions of nodes revoked since the last look.
    void cut_off_revoked();
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

    /// The highest confirmation number stored or on its way to the store for `node_id`.
    std::uint64_t highest_seq_of(const std::string& node_id);

    /// Sends the node its timeline if it changed, or if the last one went unacked too long.
    /// `version`: the node's schedule version it is built from (read when not given).
    void push_timeline(Peer& peer, const std::string& routing_id, bool force,
                       std::optional<std::int64_t> version = std::nullopt);
    /// Sends the node its pending commands it has not been sent in this session, and again those
    /// unanswered for command_resend_ms; expired ones are marked so and never sent.
    void push_commands(Peer& peer, const std::string& routing_id);
    /// Pushes changed timelines and due commands to every peer; drops silent sessions.
    /// `periodic`: the half-second round (silence, resends, the horizon); otherwise a look after
    /// a commit, which does nothing when no change counter moved.
    void push_due_updates(bool periodic = true);
    /// False when the node is gone (its peer entry is then erased: do not use it afterwards) or
    /// its send queue is full (the message is dropped; the node asks again).
    bool send(const std::string& routing_id, wire::Envelope envelope, std::uint64_t in_reply_to);
    void send_error(const std::string& routing_id, wire::ErrorCode code, const std::string& message,
                    std::uint64_t in_reply_to);
    /// A reply on the enrollment socket.
    void send_enroll_reply(const std::string& routing_id, wire::Envelope out,
                           std::uint64_t in_reply_to);

    /// Runs the answers of committed changes (on this thread).
    void run_completions();
    /// The reads of the gateway: this thread's read-only connection.
    SQLite::Database& reader() { return store_.reader(); }

    Store& store_;
    media::ContentStore& content_;
    GatewayOptions options_;
    zmq::context_t context_;
    zmq::socket_t zap_;  ///< libzmq's ZAP handler endpoint, answered in this thread's poll loop
    zmq::socket_t router_;
    zmq::socket_t enroll_;
    /// The node ROUTER's connections ending (ZMQ_EVENT_DISCONNECTED), polled with the sockets.
    zmq::socket_t router_monitor_;
    std::unique_ptr<EnrollmentGate> gate_;
    std::map<std::string, Peer> peers_;
    std::int64_t refusal_window_start_us_ = 0;
    int refusals_logged_in_window_ = 0;
    std::uint64_t refusals_suppressed_ = 0;
    SessionStats session_stats_;
    std::uint64_t next_message_id_ = 1;
    std::optional<ChangeCounters> counters_;
    std::int64_t next_periodic_us_ = 0;
    std::int64_t next_change_look_us_ = 0;
    /// Set by the writer's thread after each commit (Writer::set_on_commit).
    std::atomic<bool> commit_seen_{false};
    std::map<std::string, std::shared_ptr<const media::ChunkManifest>> manifests_;
    std::deque<std::string> manifest_order_;  ///< oldest first, for eviction
    TransferStats stats_;
    /// The version of the frame being handled (the oldest served when it did not parse): replies
    /// to a connection with no session yet are stamped and shaped for it.
    std::uint32_t frame_version_ = 1;

    /// Writes queued in this poll round, and the change being committed (at most one at a time:
    /// what arrives meanwhile is committed together next, a group commit per round).
    std::unique_ptr<GatewayWrites> pending_;
    std::shared_ptr<GatewayWrites> in_flight_;
    /// Answers of committed changes, handed over by the writer's thread.
    std::mutex completions_mutex_;
    std::deque<std::shared_ptr<GatewayWrites>> completions_;
    int wake_fd_ = -1;  ///< an eventfd the writer's thread signals; polled with the sockets
};

}  // namespace loa::controller
