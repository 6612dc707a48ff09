// Private: the node's side of the session with the controller (DEALER socket).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <zmq.hpp>

#include "loa/media/content_store.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/node/node_store.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

/// Says hello, stores timelines, prefetches media (MediaFetcher), reports its state, sends the
/// outbox until acked and heartbeats — retrying each as protocol/README.md says. Single-threaded.
class Session {
  public:
    Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
            std::function<void()> on_change);

    void run(const std::atomic<bool>& stop);

  private:
    void on_frame(std::string_view frame);
    void on_schedule_update(const wire::Envelope& in);
    void on_error(const wire::Error& error);
    void tick();  ///< timers: hello, heartbeat, outbox, media
    void fetch_media(std::int64_t now);
    void send_media_status(std::int64_t now);
    bool send(wire::Envelope envelope);
    void send_hello();

    const AgentOptions& options_;
    NodeStore& store_;
    media::ContentStore& media_;
    std::function<void()> on_change_;
    zmq::context_t context_;
    zmq::socket_t dealer_;

    bool welcomed_ = false;
    std::uint64_t next_message_id_ = 1;
    std::int64_t heartbeat_interval_us_;
    std::int64_t last_hello_us_ = 0;
    std::int64_t last_heartbeat_us_ = 0;
    std::int64_t last_heard_us_ = 0;
    std::int64_t last_report_us_ = 0;

    /// When to ask the store again what the timeline needs; 0 = now (timeline changed).
    std::int64_t next_media_scan_us_ = 0;
    MediaFetcher fetcher_;
    std::uint64_t status_sent_generation_ = 0;  ///< 0: send the media status at once
    std::int64_t status_sent_us_ = 0;
};

}  // namespace loa::node
