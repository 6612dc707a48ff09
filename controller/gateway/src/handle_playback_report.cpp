// C:PLAYBACK-REPORT — confirmations are committed first (the reports of a poll round together),
// then S:REPORT-ACK releases them.
#include <spdlog/spdlog.h>

#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/gateway/controller_server.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

void ControllerServer::handle_playback_report(Peer& peer, const std::string& routing_id,
                                              const wire::Envelope& in) {
    // Stored with the other reports of this poll round in one commit (flush_reports), so that a
    // burst of reports costs one fsync, not one each.
    pending_reports_.push_back({routing_id, peer.node_id, in});
    if (!draining_) {
        flush_reports();
    }
}

void ControllerServer::flush_reports() {
    if (pending_reports_.empty()) {
        return;
    }
    std::vector<PendingReport> pending;
    pending.swap(pending_reports_);
    std::vector<NodeReport> batch;
    batch.reserve(pending.size());
    for (const auto& p : pending) {
        batch.push_back({p.node_id, &p.envelope.playback_report()});
    }
    const std::int64_t now = now_us();
    auto stored = ingest_reports(db_, batch, now);
    for (std::size_t i = 0; i < pending.size(); ++i) {
        const auto& p = pending[i];
        const Result<std::vector<std::uint64_t>> acked =
            stored ? (*stored)[i]
                   : Result<std::vector<std::uint64_t>>(std::unexpected(stored.error()));
        if (!acked) {
            // Not acked: the node keeps the confirmations; the error tells its log why.
            ++session_stats_.reports_refused;
            spdlog::warn("node {}: report refused: {}", p.node_id, acked.error().message);
            send_error(
                p.routing_id,
                acked.error().code == Error::Code::invalid_input ? wire::MALFORMED : wire::INTERNAL,
                acked.error().message, p.envelope.message_id());
            continue;
        }
        spdlog::info("node {}: {} confirmation(s) stored", p.node_id, acked->size());
        session_stats_.confirmations_ingested += acked->size();
        std::int64_t latest_end = 0;
        for (const auto& c : p.envelope.playback_report().confirmations()) {
            latest_end = std::max<std::int64_t>(latest_end, c.actual_end_us());
        }
        if (latest_end > 0) {
            session_stats_.ingest_lag_us = now - latest_end;
        }
        wire::Envelope out;
        // Set even when the report held no confirmation: an envelope without a body is refused
        // by the node as malformed (found by fuzz_controller_handlers).
        auto* ack = out.mutable_report_ack();
        for (auto seq : *acked) {
            ack->add_seqs(seq);
        }
        send(p.routing_id, std::move(out), p.envelope.message_id());
    }
}

}  // namespace loa::controller
