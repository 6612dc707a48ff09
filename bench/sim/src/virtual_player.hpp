// Private: a virtual node's player — the agent's rules for when a play airs, on the real clock,
// without GStreamer; outcomes go through the node store's outbox as the agent's do.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "loa/media/content_store.hpp"
#include "loa/node/agent_control.hpp"
#include "loa/node/node_store.hpp"
#include "loa/sim/simulator.hpp"

namespace loa::sim::detail {

/// What the player confirmed so far.
struct PlayerCounts {
    std::uint64_t booked = 0;
    std::uint64_t played = 0;
    std::uint64_t synthetic = 0;
    std::uint64_t emergency = 0;
    std::uint64_t produced = 0;
    std::uint64_t last_seq = 0;
    std::vector<ProducedConfirmation> confirmations;  ///< when kept
};

/// Single-threaded: the session's thread calls both step() and the AgentControl side.
///
/// Booked plays follow the agent's rules (node_agent.cpp): a play starts at its planned start if
/// its media is verified here; more than 2 s late it joins where it should be by now if more
/// than half is left, else it is confirmed skipped (late) or failed (media-missing, when it was
/// waiting for its file). It airs until its planned end and is confirmed played with the
/// clock's start and end and the levels a real -23 LUFS bulletin shows. An accepted emergency
/// interrupts what airs (confirmed interrupted) and plays its repeats. Synthetic plays, when
/// asked for, are confirmed at their rate without taking the air.
class VirtualPlayer final : public node::AgentControl {
  public:
    VirtualPlayer(std::string node_id, node::NodeStore& store, const media::ContentStore& media,
                  const SimOptions& options, std::uint64_t seed);

    /// Plays what is due at `now` (UTC µs).
    void step(std::int64_t now);
    /// The node restarted: a play cut on air is confirmed failed (agent-restarted) by the store,
    /// as a restarted agent does.
    void restarted(std::int64_t now);
    /// A RESTART command asked for a new session; cleared by the call.
    bool take_restart();

    const PlayerCounts& counts() const { return counts_; }

    node::NowPlaying now_playing() override;
    void timeline_changed() override { look_again_ = true; }
    void preempt() override { emergency_changed_ = true; }
    void apply_volume(int) override {}
    std::expected<std::string, std::string> set_amplifier(bool on) override;
    void request_restart() override { restart_ = true; }
    bool restart_requested() override { return restart_; }
    std::string log_tail(std::size_t max_bytes) override;
    /// A virtual node whose session keeps failing is stopped like an agent (FaultGuard); the
    /// simulator counts it as failed.
    void give_up(const std::string& reason) override {
        given_up_ = true;
        give_up_reason_ = reason;
    }
    bool given_up() override { return given_up_; }

  private:
    struct Airing {
        wire::Slot slot;
        std::int64_t start_us = 0;  ///< when it went on air (clock)
        std::int64_t end_us = 0;    ///< when it comes off
        std::int64_t offset_us = 0;
        std::string emergency_id;  ///< set for an emergency's play
        bool last = false;         ///< the emergency's last play
    };

    void booked(std::int64_t now);
    void emergencies(std::int64_t now);
    void synthetic(std::int64_t now);
    void finish(std::int64_t now, wire::Outcome outcome, const std::string& reason);
    wire::Confirmation measured(std::int64_t start_us, std::int64_t end_us, std::int64_t offset_us,
                                wire::SlotKind kind);
    /// Counts a confirmation just written to the outbox.
    void produced(const std::string& slot_id);

    std::string node_id_;
    node::NodeStore& store_;
    const media::ContentStore& media_;
    const SimOptions& options_;
    std::mt19937_64 random_;

    std::optional<Airing> airing_;
    bool look_again_ = true;  ///< the timeline, its media or the last play changed
    std::optional<wire::Slot> next_;
    std::string awaited_media_slot_;  ///< the play that waited for its file
    bool emergency_changed_ = true;
    std::optional<node::ActiveEmergency> emergency_;
    std::int64_t synthetic_every_us_ = 0;
    std::int64_t next_synthetic_us_ = 0;
    bool restart_ = false;
    bool given_up_ = false;
    std::string give_up_reason_;
    PlayerCounts counts_;
};

}  // namespace loa::sim::detail
