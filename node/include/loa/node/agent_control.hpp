// What the session (network side) may ask of the side that plays: the agent's player thread, or
// a simulator's virtual player.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>

#include "loa/protocol/loa.pb.h"

namespace loa::node {

/// What the node is doing now, for heartbeats.
struct NowPlaying {
    std::string state = "idle";  ///< "idle", "playing" or "emergency"
    std::string slot_id;
    std::string title;
};

/// What the side that plays does with its clock (protocol/README.md, "Clock"), for heartbeats.
struct ClockUse {
    wire::ClockState state = wire::CLOCK_UNSAID;
    std::int64_t applied_us = 0;  ///< added to the node's clock to get the controller's
    std::int64_t age_us = 0;      ///< since the offset in use was measured (0: none)
};

/// Called on the session's thread; an implementation that plays on another thread (the agent's)
/// hands each call over to it.
class AgentControl {
  public:
    virtual ~AgentControl() = default;
    virtual NowPlaying now_playing() = 0;
    /// The timeline or the media changed: the player looks again at what comes next.
    virtual void timeline_changed() = 0;
    /// An emergency was accepted, cancelled or became playable: stop what plays now (the
    /// interrupted item is confirmed with the seconds it aired) and look again.
    virtual void preempt() = 0;
    virtual void apply_volume(int percent) = 0;
    /// Runs the amplifier hook and waits for it; the message says what was done. For sides
    /// that switch nothing real (a simulator's virtual nodes): the session calls
    /// start_amplifier.
    virtual std::expected<std::string, std::string> set_amplifier(bool on) = 0;
    /// What was done, or why not, once the amplifier hook has ended.
    using AmplifierDone = std::function<void(std::expected<std::string, std::string>)>;
    /// Starts the amplifier hook without waiting for it, so that the session goes on
    /// heartbeating and acking while a slow relay board switches: `done` gets the outcome when
    /// the hook ends or is killed at its time limit, on any thread, and is never called once the
    /// agent has stopped. Refused at once, with the reason, when it cannot start (no hook, or
    /// one still running); `done` is then not called. By default: set_amplifier, at once.
    virtual std::expected<void, std::string> start_amplifier(bool on, AmplifierDone done) {
        done(set_amplifier(on));
        return {};
    }
    /// Stops the agent so that its main starts it again.
    virtual void request_restart() = 0;
    virtual bool restart_requested() = 0;
    /// The newest bytes of the agent's log.
    virtual std::string log_tail(std::size_t max_bytes) = 0;
    /// A thread has failed for too long (FaultGuard): the agent stops, and its main exits 3.
    virtual void give_up(const std::string& reason) = 0;
    virtual bool given_up() = 0;
    /// The session's best clock exchange: controller clock − node clock, measured at `at_us`
    /// (node clock). A side that plays on the controller's time keeps it; others ignore it.
    virtual void clock_measured(std::int64_t /*offset_us*/, std::int64_t /*at_us*/) {}
    /// What is done with the clock now; `now_us` is the node's clock.
    virtual ClockUse clock_use(std::int64_t /*now_us*/) { return {}; }
};

}  // namespace loa::node
