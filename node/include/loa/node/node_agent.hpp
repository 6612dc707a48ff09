// The node agent: keeps its session with the controller and plays its timeline on time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "loa/media/content_store.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/node/node_store.hpp"
#include "loa/node/player.hpp"

namespace loa::node {

struct AgentOptions {
    std::string node_id;
    std::string controller = "tcp://127.0.0.1:5599";
    std::filesystem::path data_dir = "loa-node-data";
    SinkSpec sink;
    std::int64_t heartbeat_interval_ms = 30'000;  ///< until the controller's Welcome says
    std::int64_t preroll_lead_us = 1'500'000;     ///< pipelines are prerolled this much early
    std::int64_t late_grace_us = 2'000'000;       ///< later than this, a play is skipped: late
    /// Media for plays up to this far ahead are fetched as soon as the timeline names them.
    std::int64_t prefetch_horizon_us = 7LL * 24 * 3600 * 1'000'000;
    FetchOptions fetch;
};

/// Runs two threads: the caller's, in run(), for ZeroMQ; and a player thread for GStreamer.
class NodeAgent {
  public:
    explicit NodeAgent(AgentOptions options);
    ~NodeAgent();

    /// Serves until `stop` becomes true; returns after the player thread has finished.
    void run(const std::atomic<bool>& stop);

  private:
    void player_loop();
    void play_slot(const wire::Slot& slot);
    /// Waits until `deadline_us` (UTC) or until woken by a new timeline, media or stop.
    void wait_until(std::int64_t deadline_us);
    void wake_player();

    AgentOptions options_;
    NodeStore store_;
    media::ContentStore media_;
    Player player_;
    std::atomic<bool> stopping_{false};
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::uint64_t wake_generation_ = 0;
    std::thread player_thread_;
};

}  // namespace loa::node
