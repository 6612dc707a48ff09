// Logging nodes' clock offsets and finding the one measured nearest a play.
#include "loa/controller/audit/clock_offsets.hpp"

#include <cstdlib>

#include "loa/controller/store/database.hpp"

namespace loa::controller {

Result<void> record_clock_samples(WriteTx& tx, const std::vector<ClockSample>& samples) {
    if (samples.empty()) {
        return {};
    }
    return in_savepoint(tx, [&]() -> Result<void> {
        SQLite::Statement insert(tx.db(),
                                 "INSERT OR REPLACE INTO node_clock_offsets (node_id, "
                                 "measured_us, offset_us, round_trip_us) VALUES (?, ?, ?, ?)");
        // A one-way estimate (HELLO) only stands in for a node never measured otherwise.
        SQLite::Statement measured(tx.db(),
                                   "SELECT 1 FROM node_clock_offsets WHERE node_id = ? LIMIT 1");
        SQLite::Statement prune(tx.db(),
                                "DELETE FROM node_clock_offsets WHERE node_id = ?1 AND "
                                "measured_us < ?2 AND measured_us < (SELECT max(measured_us) "
                                "FROM node_clock_offsets WHERE node_id = ?1)");
        for (const auto& s : samples) {
            if (!s.round_trip_us) {
                measured.bind(1, s.node_id);
                const bool known = measured.executeStep();
                measured.reset();
                if (known) {
                    continue;
                }
            }
            insert.bind(1, s.node_id);
            insert.bind(2, static_cast<int64_t>(s.measured_us));
            insert.bind(3, static_cast<int64_t>(s.offset_us));
            if (s.round_trip_us) {
                insert.bind(4, static_cast<int64_t>(*s.round_trip_us));
            } else {
                insert.bind(4);
            }
            insert.exec();
            insert.reset();
            prune.bind(1, s.node_id);
            prune.bind(2, static_cast<int64_t>(s.measured_us - kClockKeepUs));
            prune.exec();
            prune.reset();
        }
        return {};
    });
}

ClockOffsetLookup::ClockOffsetLookup(SQLite::Database& db)
    : before_(db,
              "SELECT measured_us, offset_us, round_trip_us FROM node_clock_offsets WHERE "
              "node_id = ? AND measured_us <= ? ORDER BY measured_us DESC LIMIT 1"),
      after_(db,
             "SELECT measured_us, offset_us, round_trip_us FROM node_clock_offsets WHERE "
             "node_id = ? AND measured_us > ? ORDER BY measured_us LIMIT 1") {}

void ClockOffsetLookup::reset() {
    before_.reset();
    before_.clearBindings();
    after_.reset();
    after_.clearBindings();
}

std::optional<ClockSample> ClockOffsetLookup::nearest(const std::string& node_id,
                                                      std::int64_t at_us) {
    auto read = [&](SQLite::Statement& q) -> std::optional<ClockSample> {
        q.bind(1, node_id);
        q.bind(2, static_cast<int64_t>(at_us));
        std::optional<ClockSample> out;
        if (q.executeStep()) {
            out = ClockSample{node_id, q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                              std::nullopt};
            if (!q.getColumn(2).isNull()) {
                out->round_trip_us = q.getColumn(2).getInt64();
            }
        }
        q.reset();
        return out;
    };
    auto before = read(before_);
    auto after = read(after_);
    if (!before) {
        return after;
    }
    if (!after) {
        return before;
    }
    // Samples are logged when the offset moves, at each session and every 6 h, so between two
    // of them the node's clock was measured again and again without moving: the nearer one is
    // the best evidence of what it was at the play.
    return at_us - before->measured_us <= after->measured_us - at_us ? before : after;
}

}  // namespace loa::controller
