// Storing a poll round of the node gateway in one change of the writer.
#include "gateway_writes.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/protocol/enrollment_token.hpp"

namespace loa::controller {

std::uint64_t GatewayWrites::highest_seq(const std::string& node_id) const {
    std::uint64_t highest = 0;
    for (const auto& r : reports) {
        if (r.node_id != node_id) {
            continue;
        }
        for (const auto& c : r.envelope.playback_report().confirmations()) {
            highest = std::max<std::uint64_t>(highest, c.seq());
        }
    }
    return highest;
}

Result<void> GatewayWrites::store(WriteTx& tx, std::int64_t now) {
    auto& db = tx.db();
    // Clock offsets before the reports they correct: a node's first report of a session may come
    // in the same round as the heartbeat that measured it.
    if (auto logged = record_clock_samples(tx, clock_samples); !logged) {
        return std::unexpected(logged.error());
    }
    // Reports first: their acks are what nodes wait for to free their outboxes.
    if (!reports.empty()) {
        std::vector<NodeReport> batch;
        batch.reserve(reports.size());
        for (const auto& r : reports) {
            batch.push_back({r.node_id, &r.envelope.playback_report()});
        }
        auto stored = ingest_reports(tx, batch, now);
        if (!stored) {
            return std::unexpected(stored.error());
        }
        for (std::size_t i = 0; i < reports.size(); ++i) {
            reports[i].acked = std::move((*stored)[i]);
        }
    }
    for (auto& r : command_results) {
        r.stored = record_command_result(tx, r.node_id, r.envelope.command_result(), r.received_us);
    }
    for (auto& e : enrollments) {
        const auto& enroll = e.envelope.enroll();
        // The secret is the token's middle part; the printed token is taken too.
        std::string secret = enroll.token();
        if (auto parsed = protocol::parse_enrollment_token(secret)) {
            secret = parsed->secret_hex;
        }
        e.enrolled = redeem_enrollment_token(tx, secret, e.public_key, e.received_us);
        LoggedAction entry;
        entry.at_us = e.received_us;
        entry.actor = e.enrolled ? "node:" + e.enrolled->node_id : "key:" + e.public_key;
        entry.actor_role = e.enrolled ? "node" : "unknown";
        entry.action = "node.enroll";
        entry.target = e.enrolled ? e.enrolled->node_id : "";
        entry.area = e.enrolled ? e.enrolled->area_path : std::string(kEveryArea);
        entry.outcome = e.enrolled ? Outcome::done : Outcome::refused;
        entry.detail = {{"public_key", e.public_key},
                        {"agent_version", enroll.agent_version()},
                        {"hostname", enroll.hostname()}};
        if (e.enrolled) {
            entry.detail["rotated"] = e.enrolled->rotated;
            // The change and its action-log row are one: logged here, not by the gateway.
            if (auto logged = record_action(tx, entry); !logged) {
                return std::unexpected(logged.error());
            }
        }
    }
    for (const auto& [node_id, seen] : hellos) {
        touch_node(tx, node_id, seen.at_us, seen.agent_version);
    }
    for (const auto& [node_id, h] : heartbeats) {
        if (auto recorded = record_heartbeat(tx, node_id, h.heartbeat, h.received_us); !recorded) {
            spdlog::warn("node {}: heartbeat not recorded: {}", node_id, recorded.error().message);
        }
    }
    if (!schedule_acks.empty()) {
        SQLite::Statement q(db, "UPDATE nodes SET acked_timeline_hash = ? WHERE node_id = ?");
        for (const auto& [node_id, hash] : schedule_acks) {
            q.bind(1, hash);
            q.bind(2, node_id);
            q.exec();
            q.reset();
        }
    }
    for (const auto& [node_id, status] : media) {
        if (auto recorded = record_media_status(tx, node_id, status, media_received[node_id]);
            !recorded) {
            spdlog::warn("node {}: media status not recorded: {}", node_id,
                         recorded.error().message);
        }
    }
    if (!expired_commands.empty()) {
        if (auto expired = expire_commands(tx, expired_commands); !expired) {
            return std::unexpected(expired.error());
        }
    }
    for (const auto& entry : actions) {
        if (auto logged = record_action(tx, entry); !logged) {
            return std::unexpected(logged.error());
        }
    }
    return {};
}

}  // namespace loa::controller
