// Validating and storing playback confirmations, once each, before they are acked.
#include "loa/controller/audit/confirmation_ingest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/clock_offsets.hpp"
#include "loa/controller/store/airtime_rollup.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/node_errors.hpp"
#include "loa/protocol/limits.hpp"

namespace loa::controller {

namespace {

/// Sequence numbers are stored as SQLite integers.
constexpr std::uint64_t kMaxSeq =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

const char* outcome_name(wire::Outcome outcome) {
    switch (outcome) {
        case wire::PLAYED:
            return "played";
        case wire::FAILED:
            return "failed";
        case wire::SKIPPED:
            return "skipped";
        case wire::INTERRUPTED:
            return "interrupted";
        default:
            return nullptr;
    }
}

bool finite_levels(const wire::AudioLevels& l) {
    for (double v : {l.rms_dbfs(), l.peak_dbfs(), l.silent_seconds(), l.measured_seconds(),
                     l.silence_threshold_dbfs()}) {
        if (!std::isfinite(v)) {
            return false;
        }
    }
    return l.silent_seconds() >= 0 && l.measured_seconds() >= 0;
}

/// The emergency id and play number of an emergency play's slot id
/// ("emergency:<emergency_id>:<n>", n from 1); empty when `slot_id` is not one.
std::optional<std::pair<std::string, std::uint64_t>> emergency_slot(const std::string& slot_id) {
    constexpr std::string_view kPrefix = "emergency:";
    if (!slot_id.starts_with(kPrefix)) {
        return std::nullopt;
    }
    const auto colon = slot_id.rfind(':');
    if (colon < kPrefix.size() + 1 || colon + 1 >= slot_id.size()) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (std::size_t i = colon + 1; i < slot_id.size(); ++i) {
        if (slot_id[i] < '0' || slot_id[i] > '9' || n > 1'000'000) {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::uint64_t>(slot_id[i] - '0');
    }
    if (n == 0) {
        return std::nullopt;
    }
    return std::pair{slot_id.substr(kPrefix.size(), colon - kPrefix.size()), n};
}

std::string confirmation_problem(const wire::Confirmation& c) {
    // The decoder holds every field to its size (protocol/limits.hpp); these are for
    // confirmations made in-process.
    if (c.slot_id().empty() || c.slot_id().size() > protocol::kMaxSlotIdBytes) {
        return fmt::format("slot id empty or longer than {} bytes", protocol::kMaxSlotIdBytes);
    }
    if (c.campaign_id().size() > protocol::kMaxIdBytes ||
        c.item_id().size() > protocol::kMaxIdBytes ||
        c.media_hash().size() > protocol::kMaxHashBytes ||
        c.reason().size() > protocol::kMaxReasonBytes ||
        c.emergency_id().size() > protocol::kMaxIdBytes) {
        return "a field is longer than allowed";
    }
    if (!outcome_name(c.outcome())) {
        return fmt::format("outcome {} is not played, failed, skipped or interrupted",
                           static_cast<int>(c.outcome()));
    }
    if ((c.outcome() == wire::PLAYED || c.outcome() == wire::INTERRUPTED) &&
        (c.actual_start_us() <= 0 || c.actual_end_us() < c.actual_start_us())) {
        return "a play without a start, or ending before it starts";
    }
    if (c.has_levels() && !finite_levels(c.levels())) {
        return "audio levels that are not numbers, or negative seconds";
    }
    if (c.offset_us() < 0) {
        return "a negative offset into the media";
    }
    auto emergency = emergency_slot(c.slot_id());
    if (c.slot_id().starts_with("emergency:") && !emergency) {
        return "an emergency slot id is emergency:<emergency id>:<play number from 1>";
    }
    if (emergency && emergency->first != c.emergency_id()) {
        return fmt::format("slot '{}' is a play of emergency '{}', but the confirmation names '{}'",
                           c.slot_id(), emergency->first, c.emergency_id());
    }
    if (!emergency && !c.emergency_id().empty()) {
        return fmt::format("a play of emergency '{}' has slot id '{}', not emergency:{}:<n>",
                           c.emergency_id(), c.slot_id(), c.emergency_id());
    }
    return {};
}

/// A report whose sequence numbers cannot be acked is refused whole.
Result<void> check_numbers(const std::string& node_id, const wire::PlaybackReport& report) {
    for (const auto& c : report.confirmations()) {
        if (c.seq() == 0 || c.seq() > kMaxSeq) {
            return fail(Error::Code::invalid_input,
                        fmt::format("node '{}', confirmation of slot '{}': sequence number {} "
                                    "(they start at 1 and stay below 2^63)",
                                    node_id, c.slot_id(), c.seq()));
        }
    }
    return {};
}

/// The statements of the ingest, prepared once per transaction: a group commit stores many
/// reports, and preparing them for each report cost as much as the inserts.
struct IngestStatements {
    explicit IngestStatements(SQLite::Database& db)
        : area(db, "SELECT area_path FROM nodes WHERE node_id = ?"),
          // What a number already holds: a confirmation stored under it (slot and what it says,
          // to tell a re-sent copy from another confirmation reusing the number).
          stored_as(db,
                    "SELECT slot_id, outcome, coalesce(node_start_us, actual_start_us), "
                    "coalesce(node_end_us, actual_end_us) FROM confirmations "
                    "WHERE node_id = ? AND seq = ?"),
          refused_before(db,
                         "SELECT 1 FROM refused_confirmations WHERE node_id = ? AND seq = ? "
                         "AND confirmation = ?"),
          number_refused(db, "SELECT 1 FROM refused_confirmations WHERE node_id = ? AND seq = ?"),
          // OR IGNORE: the number may be stored already (re-sent because the ack was lost), or
          // the slot confirmed under another number; the two are told apart below.
          insert(db,
                 "INSERT OR IGNORE INTO confirmations (node_id, seq, slot_id, campaign_id, "
                 "item_id, media_hash, area_path, planned_start_us, actual_start_us, "
                 "actual_end_us, outcome, reason, received_us, rms_dbfs, peak_dbfs, "
                 "silent_seconds, measured_seconds, silence_threshold_dbfs, frames_rendered, "
                 "offset_us, emergency_id, unbooked, node_start_us, node_end_us, clock_offset_us, "
                 "clock_measured_us, off_by_us, off_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
          refuse(db,
                 "INSERT INTO refused_confirmations (node_id, seq, reason, confirmation, "
                 "received_us) VALUES (?, ?, ?, ?, ?)"),
          same_slot(db, "SELECT seq FROM confirmations WHERE node_id = ? AND slot_id = ?"),
          // An emergency play counts for the campaign its emergency names, whatever the node
          // says, and only if that emergency was sent to this node.
          emergency_sent(db,
                         "SELECT coalesce(e.campaign_id, '') FROM emergencies e "
                         "WHERE e.emergency_id = ?1 AND EXISTS (SELECT 1 FROM commands k "
                         "WHERE k.emergency_id = ?1 AND k.node_id = ?2)"),
          // A confirmation of a booked play keeps what was booked: campaign and planned start.
          slot(db,
               "SELECT campaign_id, start_us, duration_us, title FROM slots "
               "WHERE node_id = ? AND slot_id = ?"),
          // A play booked and withdrawn since (the node had it in its timeline).
          withdrawn(db,
                    "SELECT campaign_id, start_us FROM slots_withdrawn "
                    "WHERE node_id = ? AND slot_id = ?"),
          marks(db,
                "INSERT INTO confirmation_marks (node_id, received, highest_seq, "
                "reported_through_us) VALUES (?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
                "received = received + excluded.received, highest_seq = max(highest_seq, "
                "excluded.highest_seq), reported_through_us = max(reported_through_us, "
                "excluded.reported_through_us)"),
          rollup(db),
          errors(db),
          clock(db) {}

    /// After a report that failed half-way: no statement is left stepping or bound.
    void reset() {
        for (auto* q : {&area, &stored_as, &refused_before, &number_refused, &insert, &refuse,
                        &same_slot, &emergency_sent, &slot, &withdrawn, &marks}) {
            q->reset();
            q->clearBindings();
        }
        clock.reset();
    }

    SQLite::Statement area;
    SQLite::Statement stored_as;
    SQLite::Statement refused_before;
    SQLite::Statement number_refused;
    SQLite::Statement insert;
    SQLite::Statement refuse;
    SQLite::Statement same_slot;
    SQLite::Statement emergency_sent;
    SQLite::Statement slot;
    SQLite::Statement withdrawn;
    SQLite::Statement marks;
    detail::RollupDeltas rollup;
    NodeErrors errors;
    ClockOffsetLookup clock;
};

/// A confirmation's times on the controller's clock (protocol/README.md, "Clock").
struct Judged {
    std::int64_t start_us = 0;  ///< the node's claim corrected; 0 if nothing aired
    std::int64_t end_us = 0;
    std::optional<ClockSample> offset;      ///< what it was corrected with; none: never measured
    std::optional<std::int64_t> off_by_us;  ///< booked plays that aired: start − booked start
    bool off_time = false;
};

/// Corrects what the node's clock said with the offset measured nearest the play, and judges a
/// booked play against its booked start (`booked_start`: the booking's, plus a late join's
/// offset into the media). A node whose clock was never measured is taken at its word.
Judged judge(ClockOffsetLookup& clock, const std::string& node_id, const wire::Confirmation& c,
             std::optional<std::int64_t> booked_start) {
    Judged j;
    if (c.actual_start_us() <= 0) {
        return j;
    }
    j.offset = clock.nearest(node_id, booked_start.value_or(c.actual_start_us()));
    const std::int64_t offset = j.offset ? j.offset->offset_us : 0;
    j.start_us = c.actual_start_us() + offset;
    j.end_us = c.actual_end_us() + offset;
    if (booked_start) {
        j.off_by_us = j.start_us - *booked_start;
        j.off_time = std::llabs(*j.off_by_us) > kOffTimeThresholdUs;
    }
    return j;
}

/// What a stored confirmation under the same number says.
struct StoredAs {
    std::string slot_id;
    std::string outcome;
    std::int64_t actual_start_us = 0;
    std::int64_t actual_end_us = 0;
};

/// Stores one report inside the caller's transaction; throws SQLite::Exception.
Result<std::vector<std::uint64_t>> store_report(IngestStatements& st, const std::string& node_id,
                                                const wire::PlaybackReport& report,
                                                std::int64_t now) {
    st.reset();
    st.area.bind(1, node_id);
    if (!st.area.executeStep()) {
        return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
    }
    const std::string node_area = st.area.getColumn(0).getString();
    st.area.reset();
    auto& rollup = st.rollup;
    rollup.start(node_id);
    std::int64_t new_numbers = 0;
    std::uint64_t highest = 0;
    std::int64_t reported_through = 0;
    auto counted = [&](std::uint64_t seq) {
        ++new_numbers;
        highest = std::max(highest, seq);
    };
    auto stored_as = [&](std::uint64_t seq) -> std::optional<StoredAs> {
        st.stored_as.bind(1, node_id);
        st.stored_as.bind(2, static_cast<int64_t>(seq));
        std::optional<StoredAs> out;
        if (st.stored_as.executeStep()) {
            out = StoredAs{
                st.stored_as.getColumn(0).getString(), st.stored_as.getColumn(1).getString(),
                st.stored_as.getColumn(2).getInt64(), st.stored_as.getColumn(3).getInt64()};
        }
        st.stored_as.reset();
        return out;
    };
    auto number_refused = [&](std::uint64_t seq) {
        st.number_refused.bind(1, node_id);
        st.number_refused.bind(2, static_cast<int64_t>(seq));
        const bool found = st.number_refused.executeStep();
        st.number_refused.reset();
        return found;
    };
    // Kept apart with the reason, acked all the same, so that one bad confirmation never blocks
    // the node's outbox. A copy re-sent because the ack was lost is kept once.
    std::size_t kept_apart_count = 0;
    auto keep_apart = [&](const wire::Confirmation& c, const std::string& why) {
        const std::string bytes = c.SerializeAsString();
        st.refused_before.bind(1, node_id);
        st.refused_before.bind(2, static_cast<int64_t>(c.seq()));
        st.refused_before.bind(3, bytes.data(), static_cast<int>(bytes.size()));
        const bool again = st.refused_before.executeStep();
        st.refused_before.reset();
        if (again) {
            return;
        }
        if (!stored_as(c.seq()) && !number_refused(c.seq())) {
            counted(c.seq());  // a number received for the first time
        }
        // One line a report, not one a confirmation: a node that sends thousands of plays nobody
        // booked must not fill the disk with the log (each stays in node_errors all the same).
        if (kept_apart_count++ == 0) {
            spdlog::warn("node '{}', confirmation {} (slot '{}') kept apart: {}", node_id, c.seq(),
                         c.slot_id(), why);
        }
        st.refuse.bind(1, node_id);
        st.refuse.bind(2, static_cast<int64_t>(c.seq()));
        st.refuse.bind(3, why);
        st.refuse.bind(4, bytes.data(), static_cast<int>(bytes.size()));
        st.refuse.bind(5, static_cast<int64_t>(now));
        st.refuse.exec();
        st.refuse.reset();
        st.errors.record(node_id, "refused-confirmation", now, fmt::format("seq {}", c.seq()), why);
    };
    std::vector<std::uint64_t> acked;
    for (const auto& c : report.confirmations()) {
        acked.push_back(c.seq());
        if (auto why = confirmation_problem(c); !why.empty()) {
            keep_apart(c, why);
            continue;
        }
        std::string campaign_id;
        std::int64_t planned_start = c.planned_start_us();
        std::optional<std::int64_t> booked_us;  // the booked play's duration
        std::string title;
        if (!c.emergency_id().empty()) {
            st.emergency_sent.bind(1, c.emergency_id());
            st.emergency_sent.bind(2, node_id);
            const bool sent = st.emergency_sent.executeStep();
            if (sent) {
                campaign_id = st.emergency_sent.getColumn(0).getString();
            }
            st.emergency_sent.reset();
            if (!sent) {
                keep_apart(c, fmt::format("emergency '{}' was never sent to node '{}'",
                                          c.emergency_id(), node_id));
                continue;
            }
        } else {
            st.slot.bindNoCopy(1, node_id);
            st.slot.bindNoCopy(2, c.slot_id());
            if (st.slot.executeStep()) {
                campaign_id = st.slot.getColumn(0).getString();
                planned_start = st.slot.getColumn(1).getInt64();
                booked_us = st.slot.getColumn(2).getInt64();
                title = st.slot.getColumn(3).getString();
            }
            st.slot.reset();
            if (!booked_us) {
                st.withdrawn.bindNoCopy(1, node_id);
                st.withdrawn.bindNoCopy(2, c.slot_id());
                const bool found = st.withdrawn.executeStep();
                if (found) {
                    campaign_id = st.withdrawn.getColumn(0).getString();
                    planned_start = st.withdrawn.getColumn(1).getInt64();
                }
                st.withdrawn.reset();
                if (!found) {
                    // Not airtime of any campaign: a node names whatever campaign it likes.
                    keep_apart(c, fmt::format("slot '{}' was never booked for node '{}'",
                                              c.slot_id(), node_id));
                    continue;
                }
            }
        }
        const bool aired = c.outcome() == wire::PLAYED || c.outcome() == wire::INTERRUPTED;
        // Booked plays (and plays booked then withdrawn) are judged against their booked start;
        // an emergency's has none (it plays at once).
        const bool has_booking = c.emergency_id().empty();
        const Judged judged = judge(
            st.clock, node_id, c,
            aired && has_booking ? std::optional(planned_start + c.offset_us()) : std::nullopt);
        // The rollup row of the play's day files it under the area the node had then.
        const std::string& area_path =
            booked_us || aired ? rollup.area_for(campaign_id, planned_start) : node_area;
        auto& insert = st.insert;
        // Without copies: every string outlives the statement's step.
        insert.bindNoCopy(1, node_id);
        insert.bind(2, static_cast<int64_t>(c.seq()));
        insert.bindNoCopy(3, c.slot_id());
        insert.bindNoCopy(4, campaign_id);
        insert.bindNoCopy(5, c.item_id());
        insert.bindNoCopy(6, c.media_hash());
        insert.bindNoCopy(7, area_path);
        insert.bind(8, static_cast<int64_t>(planned_start));
        insert.bind(9, static_cast<int64_t>(judged.start_us));
        insert.bind(10, static_cast<int64_t>(judged.end_us));
        insert.bindNoCopy(11, outcome_name(c.outcome()));
        insert.bindNoCopy(12, c.reason());
        insert.bind(13, static_cast<int64_t>(now));
        if (c.has_levels()) {
            insert.bind(14, c.levels().rms_dbfs());
            insert.bind(15, c.levels().peak_dbfs());
            insert.bind(16, c.levels().silent_seconds());
            insert.bind(17, c.levels().measured_seconds());
            insert.bind(18, c.levels().silence_threshold_dbfs());
        }
        insert.bind(19,
                    static_cast<int64_t>(std::min<std::uint64_t>(c.frames_rendered(), kMaxSeq)));
        insert.bind(20, static_cast<int64_t>(c.offset_us()));
        insert.bindNoCopy(21, c.emergency_id());
        insert.bind(22, !booked_us && c.emergency_id().empty() ? 1 : 0);
        insert.bind(23, static_cast<int64_t>(c.actual_start_us()));
        insert.bind(24, static_cast<int64_t>(c.actual_end_us()));
        if (judged.offset) {
            insert.bind(25, static_cast<int64_t>(judged.offset->offset_us));
            insert.bind(26, static_cast<int64_t>(judged.offset->measured_us));
        }
        if (judged.off_by_us) {
            insert.bind(27, static_cast<int64_t>(*judged.off_by_us));
        }
        insert.bind(28, judged.off_time ? 1 : 0);
        const int stored = insert.exec();
        insert.clearBindings();
        insert.reset();
        if (stored == 0) {
            if (auto before = stored_as(c.seq())) {
                const bool same = before->slot_id == c.slot_id() &&
                                  before->outcome == outcome_name(c.outcome()) &&
                                  before->actual_start_us == c.actual_start_us() &&
                                  before->actual_end_us == c.actual_end_us();
                if (!same) {
                    // The number was used before for another confirmation (a device that lost
                    // its store and numbers from 1 again): never silently dropped.
                    keep_apart(c, fmt::format("number {} was used before, for slot '{}' ({}); "
                                              "this confirmation reuses it",
                                              c.seq(), before->slot_id, before->outcome));
                }
                continue;  // else re-sent because the ack was lost: stored once already
            }
            // The slot was confirmed under another number: kept apart, so that this number is
            // accounted for and the play counts once.
            st.same_slot.bindNoCopy(1, node_id);
            st.same_slot.bindNoCopy(2, c.slot_id());
            const std::int64_t first =
                st.same_slot.executeStep() ? st.same_slot.getColumn(0).getInt64() : 0;
            st.same_slot.reset();
            keep_apart(
                c, fmt::format("slot '{}' was already confirmed as number {}", c.slot_id(), first));
            continue;
        }
        counted(c.seq());
        if (c.outcome() == wire::FAILED) {
            st.errors.record(node_id, "confirmation", now,
                             title.empty() ? c.slot_id() : title + ", " + c.slot_id(), c.reason());
        }
        const std::int64_t aired_us = aired ? c.actual_end_us() - c.actual_start_us() : 0;
        const bool silent =
            aired && c.has_levels() && c.levels().peak_dbfs() < kSilenceThresholdDbfs;
        if (booked_us) {
            rollup.add_booked(campaign_id, planned_start,
                              detail::bucket_of(outcome_name(c.outcome()), c.reason()), *booked_us,
                              aired_us, silent, judged.off_time);
        } else if (aired) {
            rollup.add_unplanned(campaign_id, planned_start, aired_us, silent);
        }
        if (c.emergency_id().empty()) {
            reported_through = std::max(reported_through, planned_start);
        }
    }
    rollup.write();
    if (kept_apart_count > 1) {
        spdlog::warn("node '{}': {} more confirmations of the same report kept apart", node_id,
                     kept_apart_count - 1);
    }
    if (new_numbers > 0) {
        st.marks.bind(1, node_id);
        st.marks.bind(2, static_cast<int64_t>(new_numbers));
        st.marks.bind(3, static_cast<int64_t>(highest));
        st.marks.bind(4, static_cast<int64_t>(reported_through));
        st.marks.exec();
        st.marks.reset();
    }
    return acked;
}

}  // namespace

Result<std::vector<std::uint64_t>> ingest_confirmations(WriteTx& tx, const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now) {
    SQLite::Database& db = tx.db();
    if (auto ok = check_numbers(node_id, report); !ok) {
        return std::unexpected(ok.error());
    }
    return in_savepoint(tx, [&]() -> Result<std::vector<std::uint64_t>> {
        IngestStatements statements(db);
        return store_report(statements, node_id, report, now);
    });
}

Result<std::vector<Result<std::vector<std::uint64_t>>>> ingest_reports(
    WriteTx& tx, const std::vector<NodeReport>& reports, std::int64_t now) {
    SQLite::Database& db = tx.db();
    using Acked = Result<std::vector<std::uint64_t>>;
    return in_savepoint(tx, [&]() -> Result<std::vector<Acked>> {
        std::vector<Acked> out;
        out.reserve(reports.size());
        IngestStatements statements(db);
        for (const auto& r : reports) {
            if (auto ok = check_numbers(r.node_id, *r.report); !ok) {
                out.emplace_back(std::unexpected(ok.error()));
                continue;
            }
            // A report refused (an unknown node) is refused before it writes anything; the
            // others still commit. A storage failure throws and takes back the whole round.
            out.push_back(store_report(statements, r.node_id, *r.report, now));
        }
        return out;
    });
}

}  // namespace loa::controller
