// Private: the node's estimate of its clock against the controller's, from heartbeat exchanges.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace loa::node::detail {

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

    /// Adds an exchange; one with impossible timestamps (negative round trip) is ignored.
    void add(std::int64_t t1, std::int64_t t2, std::int64_t t3, std::int64_t t4) {
        const std::int64_t round_trip = (t4 - t1) - (t3 - t2);
        if (round_trip < 0 || t1 == 0) {
            return;
        }
        samples_.push_back({((t2 - t1) + (t3 - t4)) / 2, round_trip});
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
