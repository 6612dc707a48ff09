// The node's side of the session with the controller (DEALER socket): the agent runs one on its
// network thread; a simulator drives thousands of them from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "loa/media/content_store.hpp"
#include "loa/node/agent_control.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/node/node_store.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

namespace detail {
class ClockOffset;
}

/// What a session did, counted as it went (logs, tests, simulators).
struct SessionStats {
    std::uint64_t hellos = 0;
    std::uint64_t welcomes = 0;  ///< sessions begun (a second answer to a repeated HELLO aside)
    /// A welcomed session ended: the controller was silent for 3 heartbeats or said NEED_HELLO.
    std::uint64_t sessions_lost = 0;
    /// Of those, the ones the node gave up itself: 3 heartbeats without a word.
    std::uint64_t sessions_given_up = 0;
    std::uint64_t heartbeats = 0;  ///< handed to the link
    std::uint64_t heartbeat_acks = 0;
    std::uint64_t reports = 0;              ///< PLAYBACK-REPORTs handed to the link
    std::uint64_t confirmations_sent = 0;   ///< in those reports, sent again ones included
    std::uint64_t confirmations_acked = 0;  ///< sequence numbers REPORT-ACKs named
    std::uint64_t timelines = 0;            ///< SCHEDULE-UPDATEs stored
    std::uint64_t commands = 0;             ///< COMMANDs received
    std::uint64_t errors = 0;               ///< ERRORs received, NEED_HELLO aside
    std::uint64_t bad_frames = 0;           ///< frames that could not be decoded
    std::uint64_t unsent = 0;               ///< sends refused: no connection (ZMQ_IMMEDIATE)
    std::string last_error;                 ///< the last ERROR: code and message
};

/// Says hello, stores timelines, prefetches media (MediaFetcher), reports its state, sends the
/// outbox until acked and heartbeats — retrying each as protocol/README.md says. Single-threaded.
class Session {
  public:
    /// A frame the session sends; false if it could not be sent.
    using Outgoing = std::function<bool(std::string frame)>;
    /// A frame read from the socket.
    using Incoming = std::function<void(std::string frame)>;

    /// Connects a DEALER in `context` (a simulator's sessions share one); with none, in a
    /// context of the session's own.
    Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
            AgentControl& agent, zmq::context_t* context = nullptr);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Until when the stored timeline and the verified media cover this node: the horizon's end,
    /// or the start of the first pending play whose media is not here, whichever is sooner.
    static std::int64_t runway_end(NodeStore& store, const media::ContentStore& media);

    /// The agent's loop: polls the socket and ticks every 50 ms until `stop` or a restart
    /// command. Made of the steps below, which a host driving many sessions calls itself.
    void run(const std::atomic<bool>& stop);

    /// The DEALER, for the host's poll. libzmq's ZMQ_FD signals only after the socket was found
    /// empty: after tick() or deliver() sent something, call receive() before waiting on it.
    zmq::socket_t& socket() { return dealer_; }
    /// Takes every frame waiting on the socket (without blocking) to deliver(), or to the
    /// incoming link if one is set; returns how many.
    int receive();
    /// Handles one frame from the controller.
    void deliver(std::string_view frame);
    /// Timers: hello, heartbeat, outbox, command results, media. The agent ticks every 50 ms.
    void tick();
    /// A link between the session and its socket, for a simulator's delay and loss: frames the
    /// session sends go to `outgoing`, frames received to `incoming`, which pass them on with
    /// transmit() and deliver() (or not). Unset: straight through.
    void set_link(Outgoing outgoing, Incoming incoming);
    /// Sends a frame on the socket at once, without blocking; false if there is no connection.
    bool transmit(std::string_view frame);

    bool welcomed() const { return welcomed_; }
    const SessionStats& stats() const { return stats_; }

  private:
    /// The node's clock (the system's, shifted by AgentOptions::clock_shift_us in tests).
    std::int64_t now_us() const;
    void on_frame(std::string_view frame);
    /// Takes in WELCOME's highest sequence number; false if the store could not (then the
    /// WELCOME is not taken: nothing may be reported before the numbering is settled).
    bool take_numbering(const wire::Welcome& welcome);
    void on_schedule_update(const wire::Envelope& in);
    void on_error(const wire::Error& error);
    void on_command(const wire::Envelope& in);
    /// The command's result, stored; empty when it is still being carried out off this thread
    /// (a hook): its result is stored when it ends, and sent from tick().
    std::optional<wire::CommandResult> carry_out(const wire::Command& command, std::int64_t now);
    void on_heartbeat_ack(const wire::HeartbeatAck& ack);
    void send_heartbeat(std::int64_t now);
    void send_command_results();
    void media_ready();
    void prune_and_evict(std::int64_t now);
    void fetch_media(std::int64_t now);
    void send_media_status(std::int64_t now);
    bool send(wire::Envelope envelope);
    void send_hello();

    const AgentOptions& options_;
    NodeStore& store_;
    media::ContentStore& media_;
    AgentControl& agent_;
    std::unique_ptr<zmq::context_t> own_context_;  ///< when no context was given
    zmq::socket_t dealer_;
    Outgoing outgoing_;
    Incoming incoming_;
    SessionStats stats_;

    bool welcomed_ = false;
    /// The protocol version WELCOME accepted, stamped on what follows HELLO (ours until then).
    std::uint32_t version_ = protocol::kProtocolVersion;
    std::uint64_t next_message_id_ = 1;
    std::int64_t heartbeat_interval_us_;
    std::int64_t last_hello_us_ = 0;
    std::int64_t next_hello_us_ = 0;
    std::int64_t hello_retry_us_ = 2'000'000;
    std::minstd_rand random_{std::random_device{}()};
    bool revoked_ = false;  ///< the controller said REVOKED: no more hellos
    std::int64_t last_heartbeat_us_ = 0;
    std::int64_t last_heard_us_ = 0;
    std::int64_t last_report_us_ = 0;
    std::uint64_t report_generation_ = 0;
    std::int64_t last_results_us_ = 0;
    std::uint64_t results_generation_ = 0;
    /// Commands whose hook is still running: a copy the controller sends meanwhile is not
    /// carried out again (a hook ends within its time limit, so this stays small).
    std::set<std::uint64_t> running_commands_;
    std::int64_t next_prune_us_ = 0;
    std::int64_t next_flush_us_ = 0;
    std::uint64_t seen_rebuilds_ = 0;  ///< NodeStore::rebuilds() when last looked at
    std::unique_ptr<detail::ClockOffset> clock_;

    /// When to ask the store again what the timeline needs; 0 = now (timeline changed).
    std::int64_t next_media_scan_us_ = 0;
    MediaFetcher fetcher_;
    std::uint64_t status_sent_generation_ = 0;  ///< 0: send the media status at once
    std::int64_t status_sent_us_ = 0;
};

}  // namespace loa::node
