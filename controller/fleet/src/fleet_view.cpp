// fleet_view: each node online or not, its runway, the media it lacks for the next day and its
// last error, for `loactl node list` and the HTTP API; and the online share per area.
#include "loa/controller/fleet/fleet_view.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/fleet_text.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/sql_columns.hpp"

namespace loa::controller {

namespace {

constexpr double kHourUs = 3600.0 * 1'000'000;

constexpr const char* kSelectNodes =
    "SELECT n.node_id, n.kind, n.area_path, n.last_seen_us, coalesce(n.agent_version, ''), "
    "n.revoked_us, h.received_us, h.state, h.clock_offset_us, h.runway_end_us "
    "FROM nodes n LEFT JOIN node_status h USING (node_id) "
    "WHERE ? = '' OR n.node_id = ? ORDER BY n.area_path, n.node_id";

// Each node's last error, kept as it was found (store/node_errors.hpp); `?` `?` is the node
// filter.
constexpr const char* kLastErrors =
    "SELECT node_id, source, at_us, subject, reason FROM node_errors "
    "WHERE ? = '' OR node_id = ?";

using detail::optional_column;

/// Each node's last error (one row per node).
std::map<std::string, NodeError> last_errors(SQLite::Database& db, const std::string& node_id) {
    std::map<std::string, NodeError> out;
    SQLite::Statement q(db, kLastErrors);
    q.bind(1, node_id);
    q.bind(2, node_id);
    while (q.executeStep()) {
        NodeError e;
        e.source = q.getColumn(1).getString();
        e.at_us = q.getColumn(2).getInt64();
        e.subject = q.getColumn(3).getString();
        e.reason = q.getColumn(4).getString();
        out.emplace(q.getColumn(0).getString(), std::move(e));
    }
    return out;
}

bool passes(const FleetNode& node, const FleetFilter& filter) {
    if (filter.offline_only && node.online) {
        return false;
    }
    if (filter.runway_below_hours && node.runway_hours &&
        *node.runway_hours >= *filter.runway_below_hours) {
        return false;
    }
    return filter.area.empty() || in_scope(filter.area, node.area_path);
}

std::string kind_text(const std::string& kind, Language language) {
    if (language == Language::en) {
        return kind;
    }
    return kind == "speaker" ? "cụm loa" : kind == "panel" ? "bảng tin" : kind;
}

std::string connection_text(std::string_view connection, Language language) {
    const bool vi = language == Language::vi;
    if (connection == "online") {
        return vi ? "trực tuyến" : "online";
    }
    if (connection == "offline") {
        return vi ? "mất liên lạc" : "offline";
    }
    if (connection == "revoked") {
        return vi ? "đã thu hồi" : "revoked";
    }
    return vi ? "chưa kết nối" : "never connected";
}

std::string source_text(const std::string& source, Language language) {
    const bool vi = language == Language::vi;
    if (source == "confirmation") {
        return vi ? "phát hỏng" : "play failed";
    }
    if (source == "command") {
        return vi ? "lệnh không được" : "command failed";
    }
    if (source == "refused-confirmation") {
        return vi ? "xác nhận bị loại" : "confirmation refused";
    }
    return vi ? "bị từ chối" : "refused";
}

std::string missing_text(const std::vector<MissingMedia>& missing) {
    if (missing.empty()) {
        return "0";
    }
    const auto& first = missing.front();
    std::string out = fmt::format(
        "{}: {}", missing.size(),
        detail::clip(first.title.empty() ? first.media_hash.substr(0, 12) : first.title, 28));
    if (missing.size() > 1) {
        out += fmt::format(", +{}", missing.size() - 1);
    }
    return out;
}

std::string error_text(const NodeError& e, std::int64_t now, Language language) {
    std::string what = source_text(e.source, language);
    if (!e.subject.empty()) {
        what += " (" + detail::clip(e.subject, 32) + ")";
    }
    if (!e.reason.empty()) {
        what += ": " + detail::clip(e.reason, 40);
    }
    return what + ", " + detail::age_text(now - e.at_us, language);
}

nlohmann::json nullable_time(const std::optional<std::int64_t>& us) {
    return us ? nlohmann::json(format_local(*us)) : nlohmann::json(nullptr);
}

}  // namespace

bool node_online(std::optional<std::int64_t> last_seen_us, bool revoked, std::int64_t now,
                 std::int64_t heartbeat_interval_ms) {
    return !revoked && last_seen_us &&
           now - *last_seen_us <= kOfflineAfterHeartbeats * heartbeat_interval_ms * 1000;
}

std::string_view FleetNode::connection() const {
    if (revoked) {
        return "revoked";
    }
    if (online) {
        return "online";
    }
    return last_seen_us ? "offline" : "never";
}

Result<std::vector<FleetNode>> fleet_view(SQLite::Database& db, std::int64_t now,
                                          std::int64_t heartbeat_interval_ms,
                                          const FleetFilter& filter) {
    if (heartbeat_interval_ms < 1) {
        return fail(Error::Code::invalid_input,
                    fmt::format("fleet: a heartbeat interval of {} ms: it must be at least 1 ms",
                                heartbeat_interval_ms));
    }
    FleetFilter f = filter;
    if (f.area == kEveryArea) {
        f.area.clear();
    }
    if (!f.area.empty()) {
        if (auto why = scope_problem(f.area); !why.empty()) {
            return fail(Error::Code::invalid_input, fmt::format("area '{}': {}", f.area, why));
        }
    }
    if (f.runway_below_hours && !(*f.runway_below_hours >= 0)) {
        return fail(Error::Code::invalid_input,
                    fmt::format("fleet: a runway below {} hours: give 0 or more hours",
                                *f.runway_below_hours));
    }
    return guard_storage([&]() -> Result<std::vector<FleetNode>> {
        std::vector<FleetNode> out;
        SQLite::Statement q(db, kSelectNodes);
        q.bind(1, f.node_id);
        q.bind(2, f.node_id);
        while (q.executeStep()) {
            FleetNode n;
            n.node_id = q.getColumn(0).getString();
            n.kind = q.getColumn(1).getString();
            n.area_path = q.getColumn(2).getString();
            n.last_seen_us = optional_column<std::int64_t>(q, 3);
            n.agent_version = q.getColumn(4).getString();
            n.revoked = !q.getColumn(5).isNull();
            n.online = node_online(n.last_seen_us, n.revoked, now, heartbeat_interval_ms);
            n.heartbeat_us = optional_column<std::int64_t>(q, 6);
            if (n.heartbeat_us) {
                n.state = q.getColumn(7).getString();
                n.clock_offset_us = optional_column<std::int64_t>(q, 8);
                if (const auto end = q.getColumn(9).getInt64(); end > 0) {
                    n.runway_end_us = end;
                    n.runway_hours = std::max(0.0, static_cast<double>(end - now) / kHourUs);
                }
            }
            if (passes(n, f)) {
                out.push_back(std::move(n));
            }
        }
        if (!f.node_id.empty() && out.empty()) {
            // Either there is no such node or the other filters left it out.
            SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
            exists.bind(1, f.node_id);
            if (!exists.executeStep()) {
                return fail(Error::Code::not_found, fmt::format("no node '{}'", f.node_id));
            }
            return out;
        }
        if (out.empty()) {
            return out;
        }

        auto missing = missing_media(db, now, now + kFleetMediaLookaheadUs, f.node_id);
        if (!missing) {
            return std::unexpected(missing.error());
        }
        std::map<std::string, std::vector<MissingMedia>> missing_by_node;
        for (auto& m : *missing) {
            missing_by_node[m.node_id].push_back(std::move(m));
        }
        std::map<std::string, NodeError> errors = last_errors(db, f.node_id);
        for (auto& n : out) {
            if (auto m = missing_by_node.find(n.node_id); m != missing_by_node.end()) {
                n.media_missing = std::move(m->second);
                // missing_media orders by node then first play: soonest first already.
            }
            if (auto e = errors.find(n.node_id); e != errors.end()) {
                n.last_error = std::move(e->second);
            }
        }
        return out;
    });
}

Result<double> parse_runway_hours(std::string_view text) {
    auto refuse = [&] {
        return fail(Error::Code::invalid_input,
                    fmt::format("runway '{}' is not a duration (write e.g. 24h, 90m, 2d, or hours "
                                "as a number: 24, 1.5)",
                                text));
    };
    if (text.empty()) {
        return refuse();
    }
    double hours = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), hours);
    if (ec == std::errc() && ptr == text.data() + text.size()) {
        if (!std::isfinite(hours) || hours < 0) {
            return refuse();
        }
        return hours;
    }
    auto us = parse_duration(text);
    if (!us) {
        return refuse();
    }
    return static_cast<double>(*us) / kHourUs;
}

std::string render_fleet(const std::vector<FleetNode>& fleet, std::int64_t now, Language language,
                         std::int64_t offset_warn_us) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút",          "Loại",
                                      "Khu vực",      "Nghe lần cuối",
                                      "Liên lạc",     "Trạng thái",
                                      "Phiên bản",    "Lệch giờ",
                                      "Tự chủ (giờ)", "Thiếu nội dung 24 giờ",
                                      "Lỗi gần nhất"}
           : std::vector<std::string>{
                 "Node",      "Kind",  "Area",         "Last seen",  "Connection",
                 "State",     "Agent", "Clock offset", "Runway (h)", "Missing media (24 h)",
                 "Last error"};
    std::vector<std::vector<std::string>> rows;
    bool any_flagged = false;
    for (const auto& n : fleet) {
        std::string seen = n.last_seen_us
                               ? fmt::format("{} ({})", detail::short_local(*n.last_seen_us),
                                             detail::age_text(now - *n.last_seen_us, language))
                               : (vi ? "chưa bao giờ" : "never");
        std::string state = "-";
        if (n.online && !n.state.empty()) {
            state = detail::play_state_text(n.state, language);
        }
        any_flagged =
            any_flagged || (n.clock_offset_us && std::llabs(*n.clock_offset_us) > offset_warn_us);
        rows.push_back({n.node_id, kind_text(n.kind, language), n.area_path, seen,
                        connection_text(n.connection(), language), state,
                        n.agent_version.empty() ? "-" : n.agent_version,
                        detail::offset_text(n.clock_offset_us, offset_warn_us),
                        n.runway_hours ? fmt::format("{:.1f}", *n.runway_hours) : "-",
                        missing_text(n.media_missing),
                        n.last_error ? error_text(*n.last_error, now, language) : "-"});
    }
    std::vector<bool> right(header.size());
    right[7] = right[8] = true;
    std::string out = detail::render_text_table(header, rows, right);
    if (any_flagged) {
        out += fmt::format(fmt::runtime(vi ? "\n! đồng hồ của nút lệch quá {} ms so với máy chủ\n"
                                           : "\n! the node's clock is more than {} ms off the "
                                             "controller's\n"),
                           offset_warn_us / 1000);
    }
    return out;
}

nlohmann::json fleet_json(const std::vector<FleetNode>& fleet, std::int64_t offset_warn_us) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : fleet) {
        nlohmann::json media = nlohmann::json::array();
        for (const auto& m : n.media_missing) {
            media.push_back({{"media_hash", m.media_hash},
                             {"title", detail::utf8_text(m.title)},
                             {"state", m.state},
                             {"first_play", format_local(m.first_play_us)},
                             {"plays", m.plays}});
        }
        nlohmann::json error = nullptr;
        if (n.last_error) {
            error = {{"source", n.last_error->source},
                     {"at", format_local(n.last_error->at_us)},
                     {"subject", detail::utf8_text(n.last_error->subject)},
                     {"reason", detail::utf8_text(n.last_error->reason)}};
        }
        out.push_back({{"node", n.node_id},
                       {"kind", n.kind},
                       {"area", n.area_path},
                       // As `node list` always printed it: "-" for a node never heard.
                       {"last_seen", n.last_seen_us ? format_local(*n.last_seen_us) : "-"},
                       {"agent_version", detail::utf8_text(n.agent_version)},
                       {"online", n.online},
                       {"connection", n.connection()},
                       {"revoked", n.revoked},
                       {"state", n.state},
                       {"heartbeat", nullable_time(n.heartbeat_us)},
                       {"clock_offset_us", n.clock_offset_us ? nlohmann::json(*n.clock_offset_us)
                                                             : nlohmann::json(nullptr)},
                       {"clock_offset_flagged",
                        n.clock_offset_us && std::llabs(*n.clock_offset_us) > offset_warn_us},
                       {"runway_hours",
                        n.runway_hours ? nlohmann::json(*n.runway_hours) : nlohmann::json(nullptr)},
                       {"runway_end", nullable_time(n.runway_end_us)},
                       {"media_missing_24h", {{"count", n.media_missing.size()}, {"media", media}}},
                       {"last_error", error}});
    }
    return out;
}

double AreaOnline::share() const {
    return nodes == 0 ? 0.0 : static_cast<double>(online) / static_cast<double>(nodes);
}

std::string area_at_depth(std::string_view area_path, std::size_t depth) {
    if (depth == 0) {
        return std::string(kEveryArea);
    }
    std::size_t end = 0;  // of the segments taken so far
    for (std::size_t segment = 0; segment < depth; ++segment) {
        const auto slash = area_path.find('/', segment == 0 ? 0 : end + 1);
        if (slash == std::string_view::npos) {
            return std::string(area_path);
        }
        end = slash;
    }
    return std::string(area_path.substr(0, end));
}

std::vector<AreaOnline> online_by_area(const std::vector<FleetNode>& fleet, std::size_t depth) {
    std::map<std::string, AreaOnline> areas;
    for (const auto& n : fleet) {
        if (n.revoked) {
            continue;
        }
        auto key = area_at_depth(n.area_path, depth);
        auto& area = areas[key];
        area.area_path = key;
        ++area.nodes;
        area.online += n.online ? 1 : 0;
    }
    std::vector<AreaOnline> out;
    for (auto& [path, area] : areas) {
        out.push_back(std::move(area));
    }
    return out;
}

Result<std::vector<AreaOnline>> online_by_area(SQLite::Database& db, std::int64_t now,
                                               std::int64_t heartbeat_interval_ms,
                                               std::size_t depth, std::string_view scope) {
    if (auto why = scope_problem(scope); !why.empty()) {
        return fail(Error::Code::invalid_input, fmt::format("area '{}': {}", scope, why));
    }
    if (heartbeat_interval_ms < 1) {
        return fail(Error::Code::invalid_input,
                    fmt::format("fleet: a heartbeat interval of {} ms: it must be at least 1 ms",
                                heartbeat_interval_ms));
    }
    auto nodes = list_nodes(db);
    if (!nodes) {
        return std::unexpected(nodes.error());
    }
    std::vector<FleetNode> fleet;
    for (const auto& record : *nodes) {
        if (!in_scope(scope, record.area_path)) {
            continue;
        }
        FleetNode n;
        n.area_path = record.area_path;
        n.revoked = record.revoked;
        n.online = node_online(record.last_seen_us, record.revoked, now, heartbeat_interval_ms);
        fleet.push_back(std::move(n));
    }
    return online_by_area(fleet, depth);
}

}  // namespace loa::controller
