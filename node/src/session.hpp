// Private: the node's side of the session with the controller (DEALER socket).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <zmq.hpp>

#include "loa/media/content_store.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/node/node_store.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::node {

/// Says hello, stores timelines, fetches missing media chunk by chunk, sends the outbox until
/// acked and heartbeats — retrying each as protocol/README.md says. Single-threaded.
class Session {
  public:
    Session(const AgentOptions& options, NodeStore& store, media::ContentStore& media,
            std::function<void()> on_change);

    void run(const std::atomic<bool>& stop);

  private:
    void on_frame(std::string_view frame);
    void on_schedule_update(const wire::Envelope& in);
    void on_chunk(const wire::Chunk& chunk);
    void on_error(const wire::Error& error);
    void tick();  ///< timers: hello, heartbeat, outbox, media
    void fetch_media();
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

    /// When to look in the store again for media to fetch; 0 = now (timeline changed, file done).
    std::int64_t next_media_scan_us_ = 0;
    /// The one media file being fetched, and its chunk requests in flight (offset → sent at).
    std::string fetching_;
    std::uint64_t fetch_size_ = 0;
    std::uint64_t next_offset_ = 0;
    std::map<std::uint64_t, std::int64_t> in_flight_;
};

}  // namespace loa::node
