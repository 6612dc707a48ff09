// Private: the node's side of the session with the controller (DEALER socket).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>

#include <zmq.hpp>

#include "agent_control.hpp"
#include "clock_offset.hpp"
#include "loa/media/content_store.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/node/node_store.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

/// Says hello, stores timelines, prefetches media (MediaFetcher), reports its state, sends the
/// outbox until acked and heartbeats — retrying each as protocol/README.md says. Single-threaded.
class Session {
  public:
    Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
            detail::AgentControl& agent);

    /// Until when the stored timeline and the verified media cover this node: the horizon's end,
    /// or the start of the first pending play whose media is not here, whichever is sooner.
    static std::int64_t runway_end(NodeStore& store, const media::ContentStore& media);

    void run(const std::atomic<bool>& stop);

  private:
    void on_frame(std::string_view frame);
    /// Takes in WELCOME's highest sequence number; false if the store could not (then the
    /// WELCOME is not taken: nothing may be reported before the numbering is settled).
    bool take_numbering(const wire::Welcome& welcome);
    void on_schedule_update(const wire::Envelope& in);
    void on_error(const wire::Error& error);
    void on_command(const wire::Envelope& in);
    wire::CommandResult carry_out(const wire::Command& command, std::int64_t now);
    void on_heartbeat_ack(const wire::HeartbeatAck& ack);
    void tick();  ///< timers: hello, heartbeat, outbox, media
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
    detail::AgentControl& agent_;
    zmq::context_t context_;
    zmq::socket_t dealer_;

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
    std::int64_t next_prune_us_ = 0;
    detail::ClockOffset clock_;

    /// When to ask the store again what the timeline needs; 0 = now (timeline changed).
    std::int64_t next_media_scan_us_ = 0;
    MediaFetcher fetcher_;
    std::uint64_t status_sent_generation_ = 0;  ///< 0: send the media status at once
    std::int64_t status_sent_us_ = 0;
};

}  // namespace loa::node
