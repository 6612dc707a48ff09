// Nodes' clock offsets as the controller measured them, kept so that each confirmation is
// judged on the controller's clock with the offset measured nearest its play.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// A play that started further than this from its booked time, on the controller's clock, is
/// flagged "lệch giờ / off time" in the airtime report. A node on corrected time starts within a
/// second (its late grace is 2 s, its offset's error half a round trip: under a second even on a
/// congested 3G link); 30 s is a sixth of a short bulletin and far beyond any of that, yet
/// catches a clock off by a minute or more, which moves a bulletin out of the moment listeners
/// were told.
inline constexpr std::int64_t kOffTimeThresholdUs = 30'000'000;

/// Samples of a node's offset are logged when it moves by more than this, …
inline constexpr std::int64_t kClockLogStepUs = 100'000;
/// … or when the last one logged is this old (and at each new session).
inline constexpr std::int64_t kClockLogEveryUs = 6LL * 3600 * 1'000'000;
/// Samples older than this are forgotten (the newest of each node is always kept).
inline constexpr std::int64_t kClockKeepUs = 90LL * 86'400'000'000;

/// One measurement of a node's clock: controller clock − node clock at `measured_us`.
struct ClockSample {
    std::string node_id;
    std::int64_t measured_us = 0;  ///< controller clock
    std::int64_t offset_us = 0;
    /// The exchange's round trip (its error is at most half); none for a one-way estimate from
    /// HELLO (its error is the link's delay).
    std::optional<std::int64_t> round_trip_us;
};

/// Logs the samples (a node's samples older than kClockKeepUs but its newest are dropped).
Result<void> record_clock_samples(WriteTx& tx, const std::vector<ClockSample>& samples);

/// The offset a confirmation of a play at `at_us` (controller clock) is corrected with: of the
/// node's logged samples, the last one at or before it and the first one after, whichever was
/// measured nearer in time; none when the node's clock was never measured.
class ClockOffsetLookup {
  public:
    explicit ClockOffsetLookup(SQLite::Database& db);
    std::optional<ClockSample> nearest(const std::string& node_id, std::int64_t at_us);
    void reset();

  private:
    SQLite::Statement before_;
    SQLite::Statement after_;
};

}  // namespace loa::controller
