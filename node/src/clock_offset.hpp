// Private: the node's estimate of its clock against the controller's, from heartbeat exchanges.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <optional>

#include "loa/node/agent_control.hpp"

namespace loa::node::detail {

/// An offset over this is not applied: one of the two clocks is broken (a lost RTC, a wrong
/// zone), nothing on the node says which, and a bulletin an hour off wakes a village or misses
/// the programme people gather for. Booked plays are held and the heartbeat says why.
inline constexpr std::int64_t kUntrustedOffsetUs = 3600LL * 1'000'000;
/// An offset measured longer ago than this is still applied (it is the best the node knows:
/// a free-running clock drifts a few seconds a day), but the heartbeat says it is stale.
inline constexpr std::int64_t kStaleOffsetUs = 24LL * 3600 * 1'000'000;
/// Two exchanges whose offsets differ by more than both their errors (half of each round trip)
/// plus this mean a clock was stepped (chrony's makestep, a technician's date -s).
inline constexpr std::int64_t kStepMarginUs = 100'000;

/// What the node plays by, given its last measured offset (`measured`: offset and when, on the
/// node's clock) at `now_us` (node clock).
inline ClockUse clock_use(std::optional<std::pair<std::int64_t, std::int64_t>> measured,
                          std::int64_t now_us) {
    if (!measured) {
        return {wire::CLOCK_NOT_MEASURED, 0, 0};
    }
    const auto [offset, at] = *measured;
    const std::int64_t age = std::max<std::int64_t>(now_us - at, 0);
    if (std::llabs(offset) > kUntrustedOffsetUs) {
        return {wire::CLOCK_UNTRUSTED, 0, age};
    }
    return {age > kStaleOffsetUs ? wire::CLOCK_STALE : wire::CLOCK_CORRECTED, offset, age};
}

/// NTP's on-wire calculation over the four timestamps of a HEARTBEAT / HEARTBEAT-ACK exchange:
/// t1 node sends, t2 controller receives, t3 controller sends, t4 node receives.
///   offset     = ((t2 − t1) + (t3 − t4)) / 2   (controller clock − node clock)
///   round trip = (t4 − t1) − (t3 − t2)
/// The error of one offset is at most half its round trip, so of the recent exchanges the one
/// with the shortest round trip is kept (NTP's clock filter, simplified): a 3G link's queueing
/// delay then does not show up as a clock error.
class ClockOffset {
  public:
    static constexpr std::size_t kSamples = 8;

    struct Sample {
        std::int64_t offset_us = 0;
        std::int64_t round_trip_us = 0;
    };

    /// Adds an exchange; one with impossible timestamps (negative round trip) is ignored. One
    /// that cannot agree with the best kept (their offsets further apart than both errors) means
    /// a clock was stepped: the older exchanges are forgotten, or the best of them would stand
    /// for up to 8 heartbeats and the node would play that far off.
    void add(std::int64_t t1, std::int64_t t2, std::int64_t t3, std::int64_t t4) {
        const std::int64_t round_trip = (t4 - t1) - (t3 - t2);
        if (round_trip < 0 || t1 == 0) {
            return;
        }
        const Sample sample{((t2 - t1) + (t3 - t4)) / 2, round_trip};
        if (auto kept = best();
            kept && std::llabs(sample.offset_us - kept->offset_us) >
                        (sample.round_trip_us + kept->round_trip_us) / 2 + kStepMarginUs) {
            samples_.clear();
        }
        samples_.push_back(sample);
        if (samples_.size() > kSamples) {
            samples_.pop_front();
        }
    }

    /// The best recent sample, if any exchange has completed.
    std::optional<Sample> best() const {
        std::optional<Sample> best;
        for (const auto& s : samples_) {
            if (!best || s.round_trip_us < best->round_trip_us) {
                best = s;
            }
        }
        return best;
    }

  private:
    std::deque<Sample> samples_;
};

}  // namespace loa::node::detail
