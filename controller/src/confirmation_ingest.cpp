// Validating and storing playback confirmations, once each, before they are acked.
#include "loa/controller/confirmation_ingest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "loa/controller/database.hpp"

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
    if (c.slot_id().empty() || c.slot_id().size() > 256) {
        return "slot id empty or longer than 256 bytes";
    }
    if (c.campaign_id().size() > 64 || c.item_id().size() > 128 || c.media_hash().size() > 64 ||
        c.reason().size() > 1024 || c.emergency_id().size() > 64) {
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

}  // namespace

Result<std::vector<std::uint64_t>> ingest_confirmations(SQLite::Database& db,
                                                        const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now) {
    for (const auto& c : report.confirmations()) {
        if (c.seq() == 0 || c.seq() > kMaxSeq) {
            return fail(Error::Code::invalid_input,
                        fmt::format("node '{}', confirmation of slot '{}': sequence number {} "
                                    "(they start at 1 and stay below 2^63)",
                                    node_id, c.slot_id(), c.seq()));
        }
    }
    return in_transaction(db, [&]() -> Result<std::vector<std::uint64_t>> {
        SQLite::Statement area(db, "SELECT area_path FROM nodes WHERE node_id = ?");
        area.bind(1, node_id);
        if (!area.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        std::string area_path = area.getColumn(0).getString();
        SQLite::Statement known(db,
                                "SELECT 1 FROM confirmations WHERE node_id = ? AND seq = ? "
                                "UNION ALL SELECT 1 FROM refused_confirmations "
                                "WHERE node_id = ? AND seq = ?");
        // OR IGNORE: the slot may have been confirmed already under another number (checked
        // below); a number already stored is skipped before.
        SQLite::Statement insert(
            db,
            "INSERT OR IGNORE INTO confirmations (node_id, seq, slot_id, campaign_id, item_id, "
            "media_hash, area_path, planned_start_us, actual_start_us, actual_end_us, outcome, "
            "reason, received_us, rms_dbfs, peak_dbfs, silent_seconds, measured_seconds, "
            "silence_threshold_dbfs, frames_rendered, offset_us, emergency_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        SQLite::Statement refuse(db,
                                 "INSERT OR IGNORE INTO refused_confirmations (node_id, seq, "
                                 "reason, confirmation, received_us) VALUES (?, ?, ?, ?, ?)");
        SQLite::Statement same_slot(
            db, "SELECT seq FROM confirmations WHERE node_id = ? AND slot_id = ?");
        // An emergency play counts for the campaign its emergency names, whatever the node says.
        SQLite::Statement emergency_campaign(
            db, "SELECT coalesce(campaign_id, '') FROM emergencies WHERE emergency_id = ?");
        auto keep_apart = [&](const wire::Confirmation& c, const std::string& why) {
            spdlog::warn("node '{}', confirmation {} (slot '{}') refused: {}", node_id, c.seq(),
                         c.slot_id(), why);
            std::string bytes = c.SerializeAsString();
            refuse.bind(1, node_id);
            refuse.bind(2, static_cast<int64_t>(c.seq()));
            refuse.bind(3, why);
            refuse.bind(4, bytes.data(), static_cast<int>(bytes.size()));
            refuse.bind(5, static_cast<int64_t>(now));
            refuse.exec();
            refuse.reset();
        };
        std::vector<std::uint64_t> acked;
        for (const auto& c : report.confirmations()) {
            acked.push_back(c.seq());
            known.bind(1, node_id);
            known.bind(2, static_cast<int64_t>(c.seq()));
            known.bind(3, node_id);
            known.bind(4, static_cast<int64_t>(c.seq()));
            const bool already = known.executeStep();
            known.reset();
            if (already) {
                continue;  // re-sent because the ack was lost
            }
            if (auto why = confirmation_problem(c); !why.empty()) {
                keep_apart(c, why);
                continue;
            }
            std::string campaign_id = c.campaign_id();
            if (!c.emergency_id().empty()) {
                emergency_campaign.bind(1, c.emergency_id());
                if (emergency_campaign.executeStep()) {
                    campaign_id = emergency_campaign.getColumn(0).getString();
                }
                emergency_campaign.reset();
            }
            insert.bind(1, node_id);
            insert.bind(2, static_cast<int64_t>(c.seq()));
            insert.bind(3, c.slot_id());
            insert.bind(4, campaign_id);
            insert.bind(5, c.item_id());
            insert.bind(6, c.media_hash());
            insert.bind(7, area_path);
            insert.bind(8, static_cast<int64_t>(c.planned_start_us()));
            insert.bind(9, static_cast<int64_t>(c.actual_start_us()));
            insert.bind(10, static_cast<int64_t>(c.actual_end_us()));
            insert.bind(11, outcome_name(c.outcome()));
            insert.bind(12, c.reason());
            insert.bind(13, static_cast<int64_t>(now));
            if (c.has_levels()) {
                insert.bind(14, c.levels().rms_dbfs());
                insert.bind(15, c.levels().peak_dbfs());
                insert.bind(16, c.levels().silent_seconds());
                insert.bind(17, c.levels().measured_seconds());
                insert.bind(18, c.levels().silence_threshold_dbfs());
            }
            insert.bind(
                19, static_cast<int64_t>(std::min<std::uint64_t>(c.frames_rendered(), kMaxSeq)));
            insert.bind(20, static_cast<int64_t>(c.offset_us()));
            insert.bind(21, c.emergency_id());
            const int stored = insert.exec();
            insert.clearBindings();
            insert.reset();
            if (stored == 0) {
                // The slot was confirmed under another number: kept apart, so that this number
                // is accounted for and the play counts once.
                same_slot.bind(1, node_id);
                same_slot.bind(2, c.slot_id());
                const std::int64_t first =
                    same_slot.executeStep() ? same_slot.getColumn(0).getInt64() : 0;
                same_slot.reset();
                keep_apart(c, fmt::format("slot '{}' was already confirmed as number {}",
                                          c.slot_id(), first));
            }
        }
        return acked;
    });
}

}  // namespace loa::controller
