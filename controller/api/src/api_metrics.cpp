// GET /metrics: the controller's counters in Prometheus' text format — nodes connected and
// online (per area), confirmations ingested and their lag, media sent, emergencies in flight.
#include <map>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller::api {

namespace {

/// Label values escaped as the exposition format wants (backslash, quote, newline).
std::string label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

class Exposition {
  public:
    void metric(std::string_view name, std::string_view type, std::string_view help) {
        text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void sample(std::string_view name, double value, std::string_view labels = {}) {
        text_ += labels.empty() ? fmt::format("{} {}\n", name, value)
                                : fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    std::string take() { return std::move(text_); }

  private:
    std::string text_;
};

struct AreaCount {
    int nodes = 0;
    int online = 0;
};

Result<Reply> metrics(Request& request) {
    auto& db = request.db();
    Exposition out;
    // Nodes online (fleet_view's rule: heard within 3 heartbeat intervals, not revoked), per
    // area at every level of the tree. Revoked nodes are left out of the shares, as they are of
    // online_by_area: cut off on purpose, they would hold a share down for good.
    auto registered = list_nodes(db);
    if (!registered) {
        return std::unexpected(registered.error());
    }
    std::map<std::string, AreaCount> areas;
    int nodes = 0;
    int online = 0;
    for (const auto& n : *registered) {
        const bool is_online = node_online(n.last_seen_us, n.revoked, request.now(),
                                           request.services().heartbeat_interval_ms);
        ++nodes;
        online += is_online;
        if (n.revoked) {
            continue;
        }
        const std::string& area = n.area_path;
        for (auto end = area.find('/');; end = area.find('/', end + 1)) {
            auto& count = areas[area.substr(0, end)];
            ++count.nodes;
            count.online += is_online;
            if (end == std::string::npos) {
                break;
            }
        }
    }
    out.metric("loa_nodes", "gauge", "Nodes registered.");
    out.sample("loa_nodes", nodes);
    out.metric("loa_nodes_online", "gauge",
               "Nodes heard within 3 heartbeat intervals (the others are offline).");
    out.sample("loa_nodes_online", online);
    out.metric("loa_area_online_share", "gauge",
               "Share of an area's nodes that are online, for every area at every level.");
    for (const auto& [area, count] : areas) {
        out.sample("loa_area_online_share",
                   count.nodes == 0 ? 0.0 : static_cast<double>(count.online) / count.nodes,
                   fmt::format("area=\"{}\"", label(area)));
    }
    SQLite::Statement emergencies(db,
                                  "SELECT count(*) FROM emergencies WHERE cancelled_us IS NULL "
                                  "AND expires_us > ?");
    emergencies.bind(1, static_cast<int64_t>(request.now()));
    emergencies.executeStep();
    out.metric("loa_emergencies_in_flight", "gauge", "Emergencies neither cancelled nor expired.");
    out.sample("loa_emergencies_in_flight", emergencies.getColumn(0).getInt64());
    // From the per-node marks the ingest keeps, not count(*): a scrape must stay cheap at
    // hundreds of millions of confirmations.
    SQLite::Statement confirmations(db,
                                    "SELECT coalesce((SELECT sum(received) FROM "
                                    "confirmation_marks), 0) - (SELECT count(*) FROM "
                                    "refused_confirmations)");
    confirmations.executeStep();
    out.metric("loa_confirmations_stored", "gauge", "Playback confirmations in the database.");
    out.sample("loa_confirmations_stored", confirmations.getColumn(0).getInt64());

    if (const auto* server = request.services().nodes) {
        const auto& s = server->session_stats();
        const auto& t = server->transfer_stats();
        out.metric("loa_nodes_connected", "gauge", "Node sessions open on this controller.");
        out.sample("loa_nodes_connected", static_cast<double>(s.connected_nodes.load()));
        out.metric("loa_confirmations_ingested_total", "counter",
                   "Playback confirmations stored and acked since the controller started.");
        out.sample("loa_confirmations_ingested_total",
                   static_cast<double>(s.confirmations_ingested.load()));
        out.metric("loa_reports_refused_total", "counter",
                   "Playback reports not stored (the node keeps and resends them).");
        out.sample("loa_reports_refused_total", static_cast<double>(s.reports_refused.load()));
        out.metric("loa_ingest_lag_seconds", "gauge",
                   "Of the last report stored: seconds from the end of its latest play.");
        out.sample("loa_ingest_lag_seconds", static_cast<double>(s.ingest_lag_us.load()) / 1e6);
        out.metric("loa_media_bytes_sent_total", "counter", "Media bytes sent to nodes.");
        out.sample("loa_media_bytes_sent_total", static_cast<double>(t.bytes_served.load()));
        out.metric("loa_media_chunks_sent_total", "counter", "Media chunks sent to nodes.");
        out.sample("loa_media_chunks_sent_total", static_cast<double>(t.chunks_served.load()));
        out.metric("loa_sessions_opened_total", "counter", "Node sessions opened (WELCOME).");
        out.sample("loa_sessions_opened_total", static_cast<double>(s.welcomes.load()));
        out.metric("loa_keys_refused_total", "counter", "CURVE keys refused at the handshake.");
        out.sample("loa_keys_refused_total", static_cast<double>(s.keys_refused.load()));
        out.metric("loa_enrollments_total", "counter", "Enrollment tokens redeemed.");
        out.sample("loa_enrollments_total", static_cast<double>(s.enrollments.load()));
        out.metric("loa_sends_dropped_total", "counter",
                   "Messages dropped because a node's send queue was full.");
        out.sample("loa_sends_dropped_total", static_cast<double>(s.sends_dropped.load()));
    }
    return Reply{200, out.take(), "text/plain; version=0.0.4; charset=utf-8", {}, {}};
}

}  // namespace

std::vector<Route> metrics_routes() {
    return {
        // A token of any role, unless the controller runs with --metrics-open.
        {"GET", "/metrics", false, "Prometheus metrics", metrics},
    };
}

}  // namespace loa::controller::api
