// Many virtual nodes in one process, each a real node session (loa_node: Session, NodeStore,
// outbox, sequence numbers) with its own CURVE key, and a virtual player that keeps real time.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loa/node/session.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace loa::sim {

/// Who a virtual node is, as enrollment leaves a device: its id and its own key pair.
struct NodeIdentity {
    std::string node_id;
    protocol::CurveKeyPair keys;
};

/// A node to enroll with a one-time token (`loactl node enroll`, `POST
/// /api/v1/nodes/{id}/enrollment`).
struct EnrollmentTicket {
    std::string node_id;
    std::string token;  ///< as printed: loa1.<secret>.<controller key>
};

/// What the simulator puts between each session and its socket, each way.
struct LinkOptions {
    std::int64_t delay_us = 0;   ///< every frame waits this long
    std::int64_t jitter_us = 0;  ///< plus a uniform share of this (order is kept, as on TCP)
    double loss = 0;             ///< this share of frames is dropped (0..1)
};

struct SimOptions {
    std::string endpoint;        ///< the controller's node endpoint, e.g. tcp://127.0.0.1:5599
    std::string controller_key;  ///< its CURVE public key (Z85)
    /// One directory per node, named by its id: its media cache (and node.db with store_files).
    std::filesystem::path data_root;
    /// Each node's store in a node.db file as on a device (WAL, synchronous=FULL), instead of an
    /// in-memory SQLite database.
    bool store_files = false;
    int threads = 1;     ///< simulator threads; nodes are dealt out to them
    int io_threads = 1;  ///< ZeroMQ I/O threads (CURVE runs there)
    /// Heartbeat interval; 0: as the controller's WELCOME says, as real nodes do.
    std::int64_t heartbeat_ms = 0;
    /// Synthetic plays, confirmed besides what the controller books: this many per node per
    /// simulated day (0: none), a day lasting `day_seconds`, each play `play_seconds` long.
    double plays_per_day = 0;
    double day_seconds = 86'400;
    double play_seconds = 5;
    /// No synthetic play after this time (UTC µs; 0: until the end), so that a run can end with
    /// every outbox drained.
    std::int64_t synthetic_until_us = 0;
    LinkOptions link;
    /// How often each node's session timers and player are looked at (the agent: 50 ms).
    std::int64_t tick_us = 50'000;
    /// Keep the sequence number and slot of every confirmation produced, for checks.
    bool keep_confirmations = false;
    /// Called from a simulator thread whenever a node's play is confirmed (tests, benchmarks).
    std::function<void(const std::string& node_id, std::uint64_t seq, const std::string& slot_id)>
        on_confirmed;
};

/// A confirmation a virtual node wrote to its outbox.
struct ProducedConfirmation {
    std::uint64_t seq = 0;
    std::string slot_id;
};

/// One virtual node, as last published by its thread (about once a second, and at stop).
struct NodeCounts {
    std::string node_id;
    bool in_session = false;
    node::SessionStats session;
    std::uint64_t booked = 0;     ///< booked plays confirmed, whatever their outcome
    std::uint64_t played = 0;     ///< of which played (in full or joined late)
    std::uint64_t synthetic = 0;  ///< synthetic plays confirmed
    std::uint64_t emergency = 0;  ///< emergency plays confirmed
    std::uint64_t produced = 0;   ///< every confirmation written to the outbox
    std::uint64_t last_seq = 0;   ///< the highest sequence number assigned
    std::uint64_t outbox = 0;     ///< confirmations not yet acked
    std::uint64_t restarts = 0;   ///< RESTART commands carried out (a new session each)
    std::uint64_t dropped = 0;    ///< frames the link dropped, both ways
    std::uint64_t failures = 0;   ///< exceptions caught in this node's session or store
    std::string last_failure;
    std::vector<ProducedConfirmation> confirmations;  ///< with keep_confirmations
};

/// Sums over the nodes.
struct SimTotals {
    std::uint64_t nodes = 0;
    std::uint64_t welcomed = 0;    ///< nodes welcomed at least once
    std::uint64_t in_session = 0;  ///< nodes in session now
    std::uint64_t hellos = 0;
    std::uint64_t welcomes = 0;
    std::uint64_t reconnects = 0;  ///< sessions begun after a node's first
    std::uint64_t sessions_lost = 0;
    std::uint64_t sessions_given_up = 0;  ///< of which the node gave up (3 silent heartbeats)
    std::uint64_t heartbeats = 0;
    std::uint64_t heartbeat_acks = 0;
    std::uint64_t timelines = 0;
    std::uint64_t commands = 0;
    std::uint64_t produced = 0;  ///< confirmations written to outboxes
    std::uint64_t booked = 0;
    std::uint64_t played = 0;
    std::uint64_t synthetic = 0;
    std::uint64_t emergency = 0;
    std::uint64_t confirmations_sent = 0;  ///< sends, again ones included
    std::uint64_t confirmations_acked =
        0;                     ///< sequence numbers acked (an ack of a resend counts again)
    std::uint64_t outbox = 0;  ///< not yet acked
    std::uint64_t errors = 0;  ///< ERRORs from the controller, NEED_HELLO aside
    std::uint64_t bad_frames = 0;
    std::uint64_t unsent = 0;
    std::uint64_t dropped = 0;
    std::uint64_t restarts = 0;
    std::uint64_t failures = 0;  ///< exceptions caught in nodes, and in simulator threads
    std::string last_failure;
    std::string last_error;
    /// The simulator threads' CPU seconds, summed (ZeroMQ's I/O threads not included).
    double thread_cpu_s = 0;
    /// The longest pass of one thread over its nodes' timers and players: near tick_us, the
    /// thread has as many nodes as it can drive.
    double longest_sweep_ms = 0;
    /// Time spent in passes, and how many: their mean is what a thread's nodes cost per tick.
    double sweep_s = 0;
    std::uint64_t sweeps = 0;
};

/// Runs virtual nodes on `threads` threads, each driving its share of the sessions from one
/// epoll loop. Add nodes, start(), read totals() or nodes() while it runs, stop().
class Simulator {
  public:
    explicit Simulator(SimOptions options);
    ~Simulator();  ///< stops
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Before start(). Its directory is data_root/<node id>.
    void add_node(NodeIdentity identity);
    std::size_t size() const;

    /// Creates every node's store, media cache and session (they connect at once) and starts the
    /// threads. Throws std::runtime_error if a node cannot be made (e.g. no file descriptors).
    void start();
    /// Stops the threads and closes every session; the counts stay readable.
    void stop();
    bool running() const;

    /// Polls totals() every 100 ms until `done` holds (true) or `timeout` passes (false).
    bool wait_until(const std::function<bool(const SimTotals&)>& done,
                    std::chrono::milliseconds timeout) const;

    /// Sums the threads published (about once a second): cheap enough to poll.
    SimTotals totals() const;
    /// Every node's counts as last published, a copy (with their confirmations, if kept).
    std::vector<NodeCounts> nodes() const;

  private:
    class Shard;

    SimOptions options_;
    std::vector<NodeIdentity> identities_;
    std::unique_ptr<zmq::context_t> context_;
    std::vector<std::unique_ptr<Shard>> shards_;
    bool started_ = false;
    /// What the threads published last, kept after stop().
    std::vector<NodeCounts> last_;
    SimTotals last_totals_;
};

/// Enrolls each ticket's device through the controller's enrollment endpoint as `loa-node enroll`
/// does (node library: a fresh key pair per node, ENROLL over CURVE, node.key and node.conf in
/// data_root/<node id>), `parallel` at a time, at most `per_second` started a second, again after
/// a refusal for rate. Nodes already enrolled there are read back instead.
struct EnrollResult {
    std::vector<NodeIdentity> enrolled;
    std::vector<std::string> failures;  ///< "<node id>: <why>"
};
EnrollResult enroll_nodes(const std::vector<EnrollmentTicket>& tickets,
                          const std::string& enroll_endpoint,
                          const std::filesystem::path& data_root, int parallel = 4,
                          double per_second = 15);

/// Reads "<node id> <token>" lines (blank lines and # comments skipped).
std::expected<std::vector<EnrollmentTicket>, std::string> read_tickets(
    const std::filesystem::path& file);
/// Reads and writes "<node id> <public key> <secret key>" lines (Z85 keys): identities whose
/// keys a test or an operator registered with the controller beforehand.
std::expected<std::vector<NodeIdentity>, std::string> read_identities(
    const std::filesystem::path& file);
std::expected<void, std::string> write_identities(const std::filesystem::path& file,
                                                  const std::vector<NodeIdentity>& identities);

/// This process's resident memory (VmRSS), in KiB.
std::uint64_t resident_kib();

}  // namespace loa::sim
