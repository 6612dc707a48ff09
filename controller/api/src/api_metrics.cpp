// GET /metrics: the controller's counters in Prometheus' text format — nodes connected and
// online (per area), confirmations ingested and their lag, media sent, emergencies in flight, the
// HTTP edge, the database's writer and sign-in throttling.
#include <map>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <sqlite3.h>

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
    if (const auto* http = request.services().http) {
        const auto h = http->stats();
        out.metric("loa_http_connections_open", "gauge", "HTTP connections open now.");
        out.sample("loa_http_connections_open", static_cast<double>(h.connections_open));
        out.metric("loa_http_connections_accepted_total", "counter", "HTTP connections accepted.");
        out.sample("loa_http_connections_accepted_total",
                   static_cast<double>(h.connections_accepted));
        out.metric("loa_http_connections_refused_total", "counter",
                   "HTTP connections refused over a cap (in all or per address).");
        out.sample("loa_http_connections_refused_total",
                   static_cast<double>(h.connections_refused));
        out.metric("loa_http_requests_total", "counter", "HTTP requests whose headers arrived.");
        out.sample("loa_http_requests_total", static_cast<double>(h.requests));
        out.metric("loa_http_refused_total", "counter",
                   "HTTP requests refused by the edge: a body too large (413), headers too large "
                   "(431), busy (503: workers or body memory), not HTTP (400).");
        out.sample("loa_http_refused_total", static_cast<double>(h.refused_too_large),
                   "reason=\"too_large\"");
        out.sample("loa_http_refused_total", static_cast<double>(h.refused_header_too_large),
                   "reason=\"header_too_large\"");
        out.sample("loa_http_refused_total", static_cast<double>(h.refused_busy),
                   "reason=\"busy\"");
        out.sample("loa_http_refused_total", static_cast<double>(h.malformed),
                   "reason=\"malformed\"");
        out.metric("loa_http_timeouts_total", "counter",
                   "HTTP connections cut at a deadline (headers, body, response, idle).");
        out.sample("loa_http_timeouts_total", static_cast<double>(h.timeouts));
        out.metric("loa_http_body_bytes_total", "counter", "Bytes of request bodies taken.");
        out.sample("loa_http_body_bytes_total", static_cast<double>(h.body_bytes_read));
    }
    const auto& w = request.store().writer().stats();
    out.metric("loa_writer_commits_total", "counter",
               "Transactions the database's writer committed.");
    out.sample("loa_writer_commits_total", static_cast<double>(w.commits.load()));
    out.metric("loa_writer_changes_total", "counter",
               "Changes committed (several per transaction).");
    out.sample("loa_writer_changes_total", static_cast<double>(w.changes.load()));
    out.metric("loa_writer_changes_refused_total", "counter",
               "Changes that returned an error and were undone.");
    out.sample("loa_writer_changes_refused_total", static_cast<double>(w.changes_refused.load()));
    out.metric("loa_writer_failed_commits_total", "counter", "Transactions that could not commit.");
    out.sample("loa_writer_failed_commits_total", static_cast<double>(w.failed_commits.load()));
    out.metric("loa_writer_largest_batch", "gauge", "Most changes committed in one transaction.");
    out.sample("loa_writer_largest_batch", static_cast<double>(w.largest_batch.load()));
    out.metric("loa_writer_queued", "gauge", "Changes waiting for the writer now.");
    out.sample("loa_writer_queued", static_cast<double>(w.queued.load()));
    out.metric("loa_writer_busy_seconds_total", "counter",
               "Time the writer spent in transactions.");
    out.sample("loa_writer_busy_seconds_total", static_cast<double>(w.busy_us.load()) / 1e6);
    out.metric("loa_writer_disk_full", "gauge",
               "1 while the database's disk is full (changes refused with 507), else 0.");
    out.sample("loa_writer_disk_full", request.store().writer().disk_full() ? 1.0 : 0.0);
    out.metric("loa_writer_full_commits_total", "counter",
               "Transactions that could not commit because the disk was full.");
    out.sample("loa_writer_full_commits_total", static_cast<double>(w.full_commits.load()));
    // Bounded by the connections' cache_size, whatever the number of nodes: what a reading of
    // the process's RSS must set aside to see what each connected node costs.
    out.metric("loa_sqlite_heap_bytes", "gauge",
               "Memory SQLite holds now (page caches of every connection, statements).");
    out.sample("loa_sqlite_heap_bytes", static_cast<double>(sqlite3_memory_used()));
    out.metric("loa_login_lockouts_total", "counter",
               "User names or source addresses locked out after too many wrong passwords.");
    out.sample("loa_login_lockouts_total",
               static_cast<double>(request.services().logins->lockouts()));
    out.metric("loa_password_checks_refused_total", "counter",
               "Sign-ins and password changes answered 503: too many Argon2id checks at once.");
    out.sample("loa_password_checks_refused_total",
               static_cast<double>(request.services().passwords->refused()));
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
