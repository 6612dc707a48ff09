// Validating and storing playback confirmations, once each, before they are acked.
#include "loa/controller/confirmation_ingest.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "loa/controller/database.hpp"

namespace loa::controller {

namespace {

const char* outcome_name(wire::Outcome outcome) {
    switch (outcome) {
        case wire::PLAYED:
            return "played";
        case wire::FAILED:
            return "failed";
        case wire::SKIPPED:
            return "skipped";
        default:
            return nullptr;
    }
}

std::string confirmation_problem(const wire::Confirmation& c) {
    if (c.slot_id().empty() || c.slot_id().size() > 256) {
        return "slot id empty or longer than 256 bytes";
    }
    if (c.campaign_id().size() > 64 || c.item_id().size() > 128 || c.media_hash().size() > 64 ||
        c.reason().size() > 1024) {
        return "a field is longer than allowed";
    }
    if (!outcome_name(c.outcome())) {
        return fmt::format("outcome {} is not played, failed or skipped",
                           static_cast<int>(c.outcome()));
    }
    if (c.outcome() == wire::PLAYED &&
        (c.actual_start_us() <= 0 || c.actual_end_us() < c.actual_start_us())) {
        return "a play without a start, or ending before it starts";
    }
    return {};
}

}  // namespace

Result<std::vector<std::uint64_t>> ingest_confirmations(SQLite::Database& db,
                                                        const std::string& node_id,
                                                        const wire::PlaybackReport& report,
                                                        std::int64_t now) {
    for (const auto& c : report.confirmations()) {
        if (c.seq() == 0) {
            return fail(Error::Code::invalid_input,
                        fmt::format("node '{}', confirmation of slot '{}': sequence number 0 "
                                    "(they start at 1)",
                                    node_id, c.slot_id()));
        }
    }
    return in_transaction(db, [&]() -> Result<std::vector<std::uint64_t>> {
        SQLite::Statement area(db, "SELECT area_path FROM nodes WHERE node_id = ?");
        area.bind(1, node_id);
        if (!area.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        std::string area_path = area.getColumn(0).getString();
        // OR IGNORE: a report re-sent because its ack was lost is already here; both the
        // sequence number and the slot identify it.
        SQLite::Statement insert(
            db,
            "INSERT OR IGNORE INTO confirmations (node_id, seq, slot_id, campaign_id, item_id, "
            "media_hash, area_path, planned_start_us, actual_start_us, actual_end_us, outcome, "
            "reason, received_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        SQLite::Statement refuse(db,
                                 "INSERT OR IGNORE INTO refused_confirmations (node_id, seq, "
                                 "reason, confirmation, received_us) VALUES (?, ?, ?, ?, ?)");
        std::vector<std::uint64_t> acked;
        for (const auto& c : report.confirmations()) {
            acked.push_back(c.seq());
            if (auto why = confirmation_problem(c); !why.empty()) {
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
                continue;
            }
            insert.bind(1, node_id);
            insert.bind(2, static_cast<int64_t>(c.seq()));
            insert.bind(3, c.slot_id());
            insert.bind(4, c.campaign_id());
            insert.bind(5, c.item_id());
            insert.bind(6, c.media_hash());
            insert.bind(7, area_path);
            insert.bind(8, static_cast<int64_t>(c.planned_start_us()));
            insert.bind(9, static_cast<int64_t>(c.actual_start_us()));
            insert.bind(10, static_cast<int64_t>(c.actual_end_us()));
            insert.bind(11, outcome_name(c.outcome()));
            insert.bind(12, c.reason());
            insert.bind(13, static_cast<int64_t>(now));
            insert.exec();
            insert.reset();
        }
        return acked;
    });
}

}  // namespace loa::controller
