// The node agent: keeps its session with the controller and plays its timeline on time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "loa/media/content_store.hpp"
#include "loa/node/agent_control.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/node/node_store.hpp"
#include "loa/node/player.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace loa::node {

namespace detail {
class HookRunner;
}

/// This agent's version, as HELLO, heartbeats and enrollment report it.
inline constexpr const char* kAgentVersion = "0.3.0";

struct AgentOptions {
    std::string node_id;
    std::string controller = "tcp://127.0.0.1:5599";
    /// This device's CURVE key pair and the controller's public key (written by
    /// `loa-node enroll`): the connection is encrypted, and the controller knows the node by
    /// its key. Empty keys: a plain connection, which a loa controller refuses.
    protocol::CurveKeyPair keys;
    std::string controller_key;
    std::filesystem::path data_dir = "loa-node-data";
    SinkSpec sink;
    DisplaySpec display;
    std::int64_t heartbeat_interval_ms = 30'000;  ///< until the controller's Welcome says
    /// False: heartbeat_interval_ms stands whatever WELCOME says (a simulator loading a
    /// controller harder than its interval asks).
    bool heartbeat_from_welcome = true;
    std::int64_t preroll_lead_us = 1'500'000;  ///< pipelines are prerolled this much early
    std::int64_t late_grace_us = 2'000'000;    ///< later than this, a play is late
    /// A late play still airs, from where it should be by now, if more than this share of it
    /// remains (a node that boots or gets power back mid-bulletin); otherwise `skipped: late`.
    double resume_share = 0.5;
    /// Panels: between booked plays no further apart than this, the board loops the session's
    /// items instead of going blank; a longer gap ends the session (0: never loop).
    std::int64_t panel_loop_gap_us = 15LL * 60 * 1'000'000;
    /// Media for plays up to this far ahead are fetched as soon as the timeline names them.
    std::int64_t prefetch_horizon_us = 7LL * 24 * 3600 * 1'000'000;
    FetchOptions fetch;
    double silence_threshold_dbfs = -50;  ///< evidence: quieter than this counts as silence
    std::int64_t clock_warn_us = 50'000;  ///< warn when the clock is further off than this
    /// Tests: the node's clock reads this much later than the system's (a clock set wrong).
    /// Every time the agent reads, sends, stores or confirms is on that clock; GStreamer is
    /// handed system times. 0 on a device.
    std::int64_t clock_shift_us = 0;
    /// Disk policy: the media cache's cap (0: none) and the free space kept on the data disk.
    std::uint64_t max_media_bytes = 0;
    std::uint64_t min_free_bytes = 256ULL << 20;
    /// Run to power the amplifier: `{state}` becomes "on" or "off" (e.g. a GPIO script). It
    /// runs off the session's thread; one still running after `hook_timeout_ms` is killed.
    std::string amplifier_command;
    std::int64_t hook_timeout_ms = 10'000;
    /// The agent's log, whose tail a SendLog command returns ("" : none kept).
    std::filesystem::path log_file;
    /// A fault in the player or the session thread is logged and survived; a thread that keeps
    /// failing this long without one good round stops the agent (failed(): its main exits 3, and
    /// the service manager starts it afresh). 0: never give up.
    std::int64_t give_up_after_us = 300'000'000;
};

/// Runs two threads: the caller's, in run(), for ZeroMQ; and a player thread for GStreamer.
class NodeAgent {
  public:
    explicit NodeAgent(AgentOptions options);
    ~NodeAgent();

    /// Serves until `stop` becomes true or a Restart command; returns after the player thread
    /// has finished.
    void run(const std::atomic<bool>& stop);

    /// A Restart command ended run(): the caller should start the agent again.
    bool restart_requested() const { return restart_.load(); }

    /// A thread kept failing (AgentOptions::give_up_after_us) and ended run(); failure() says
    /// which and with what. The caller should exit non-zero.
    bool failed() const { return failed_.load(); }
    std::string failure();

  private:
    class Control;
    friend class Control;

    void player_loop();
    /// One look at what to play next, and playing it: the body of player_loop().
    void player_round();
    /// After a fault in player_round(): nothing left on air, a play cut by it confirmed.
    void recover_player();
    /// Waits `us`, or less if the agent stops.
    void pause_player(std::int64_t us);
    void give_up(const std::string& reason);
    /// Plays the active emergency's next play; false if it cannot play now (media not here).
    bool play_emergency(const ActiveEmergency& active);
    /// A panel inside a session, before its next booked play: shows the session's next item
    /// (not confirmed: not booked). False when there is nothing to show (the board stays blank).
    bool fill_panel_session(const wire::Slot& next, std::int64_t now);
    void play_slot(const wire::Slot& slot, std::int64_t offset_us, const ClockUse& clock);
    /// The node's clock (the system's, shifted by AgentOptions::clock_shift_us in tests).
    std::int64_t now_us() const;
    /// The system-clock instant (what GStreamer runs on) of `controller_us` on the controller's
    /// clock, as `clock` corrects it.
    std::int64_t system_us(std::int64_t controller_us, const ClockUse& clock) const;
    /// The session measured the clock (its thread): kept, and written to the store when it moved.
    void clock_measured(std::int64_t offset_us, std::int64_t at_us);
    ClockUse clock_use(std::int64_t now_us);
    PlayItem item_for(const wire::Slot& slot, std::int64_t offset_us) const;
    wire::Confirmation evidence_of(const PlayResult& result, std::int64_t offset_us) const;
    std::uint64_t wake_generation();
    /// Waits until `deadline_us` (UTC), or until woken (a new timeline, media, an emergency, stop)
    /// after wake_generation() returned `seen_generation`.
    void wait_until(std::int64_t deadline_us, std::uint64_t seen_generation);
    void wake_player();
    void preempt();
    void set_now_playing(std::string state, const wire::Slot* slot);

    AgentOptions options_;
    NodeStore store_;
    media::ContentStore media_;
    Player player_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> restart_{false};
    std::atomic<bool> failed_{false};
    std::mutex failure_mutex_;
    std::string failure_;
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::uint64_t wake_generation_ = 0;
    std::thread player_thread_;
    /// Runs hooks (the amplifier's) off the session's thread; stopped before the store closes.
    std::unique_ptr<detail::HookRunner> hooks_;
    /// The pending play the player last waited on for its media (player thread only): if it
    /// is then too late to air, the missing file is the reason, not lateness.
    std::string awaited_media_slot_;

    // What airs now, for heartbeats and for deciding what an emergency pre-empts.
    std::mutex playing_mutex_;
    std::string playing_state_ = "idle";
    std::string playing_slot_id_;
    std::string playing_title_;
    std::string playing_emergency_id_;  ///< set while an emergency play airs
    std::atomic<bool> preempted_{false};
    /// The last measured offset and when (node clock), and the one last written to the store.
    std::mutex clock_mutex_;
    std::optional<std::pair<std::int64_t, std::int64_t>> clock_;
    std::optional<std::pair<std::int64_t, std::int64_t>> clock_persisted_;
    std::size_t fill_index_ = 0;  ///< panels: which session item loops next  ///< the current play
                                  ///< was stopped for an emergency
};

}  // namespace loa::node
