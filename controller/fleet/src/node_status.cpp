// node_status: the last heartbeat of every node, the fleet status table and the runway list.
#include "loa/controller/fleet/node_status.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/fleet_text.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/node_errors.hpp"
#include "loa/controller/store/sql_columns.hpp"
#include "loa/protocol/limits.hpp"

namespace loa::controller {

namespace {

// What a heartbeat's fields may hold (protocol/README.md, "Heartbeat fields out of range").
constexpr std::int32_t kMinCpuMillicelsius = -60'000;
constexpr std::int32_t kMaxCpuMillicelsius = 200'000;
constexpr std::int32_t kMinSignalDbm = -200;
constexpr std::int32_t kMaxSignalDbm = 0;

constexpr std::int64_t kHourUs = 3600LL * 1'000'000;

constexpr const char* kSelectStatus =
    "SELECT n.node_id, n.kind, n.area_path, n.last_seen_us, h.received_us, h.node_time_us, "
    "h.state, h.current_slot_id, h.current_title, h.outbox_pending, h.media_missing, "
    "h.volume_percent, h.storage_free_bytes, h.cpu_temp_millicelsius, h.link_interface, "
    "h.link_type, h.link_signal_dbm, h.clock_offset_us, h.clock_round_trip_us, "
    "h.agent_version, h.schedule_horizon_end_us, h.runway_end_us, h.last_seq, h.amplifier_on, "
    "h.problems, h.store_full, h.confirmations_held, h.store_rebuilt_us FROM nodes n LEFT JOIN "
    "node_status h USING (node_id)";

using detail::optional_column;

NodeStatus read_status(SQLite::Statement& q) {
    NodeStatus s;
    s.node_id = q.getColumn(0).getString();
    s.kind = q.getColumn(1).getString();
    s.area_path = q.getColumn(2).getString();
    s.last_seen_us = optional_column<std::int64_t>(q, 3);
    if (q.getColumn(4).isNull()) {
        return s;
    }
    LastHeartbeat h;
    auto text = [&](int column) {
        return q.getColumn(column).isNull() ? std::string() : q.getColumn(column).getString();
    };
    auto number = [&](int column) {
        return q.getColumn(column).isNull() ? 0 : q.getColumn(column).getInt64();
    };
    h.received_us = q.getColumn(4).getInt64();
    h.node_time_us = number(5);
    h.state = text(6);
    h.current_slot_id = text(7);
    h.current_title = text(8);
    h.outbox_pending = static_cast<std::uint32_t>(number(9));
    h.media_missing = static_cast<std::uint32_t>(number(10));
    h.volume_percent = optional_column<std::uint32_t>(q, 11);
    h.storage_free_bytes = optional_column<std::uint64_t>(q, 12);
    h.cpu_temp_millicelsius = optional_column<std::int32_t>(q, 13);
    h.link_interface = text(14);
    h.link_type = text(15);
    h.link_signal_dbm = optional_column<std::int32_t>(q, 16);
    h.clock_offset_us = optional_column<std::int64_t>(q, 17);
    h.clock_round_trip_us = number(18);
    h.agent_version = text(19);
    h.schedule_horizon_end_us = number(20);
    h.runway_end_us = number(21);
    h.last_seq = optional_column<std::uint64_t>(q, 22);
    h.amplifier_on = number(23) != 0;
    h.problems = text(24);
    h.store_full = number(25) != 0;
    h.confirmations_held = static_cast<std::uint32_t>(number(26));
    h.store_rebuilt_us = number(27);
    s.heartbeat = std::move(h);
    return s;
}

bool offset_flagged(const LastHeartbeat& h, std::int64_t offset_warn_us) {
    return h.clock_offset_us && std::llabs(*h.clock_offset_us) > offset_warn_us;
}

std::string link_text(const LastHeartbeat& h) {
    if (h.link_type.empty() && h.link_interface.empty()) {
        return "-";
    }
    std::string out = h.link_type.empty() ? "?" : h.link_type;
    if (!h.link_interface.empty()) {
        out += " " + h.link_interface;
    }
    if (h.link_signal_dbm) {
        out += fmt::format(" {} dBm", *h.link_signal_dbm);
    }
    return out;
}

std::string runway_text(const NodeStatus& s, std::int64_t now) {
    auto hours = runway_hours(s, now);
    return hours ? fmt::format("{:.1f}", *hours) : "-";
}

std::string optional_time(std::int64_t us) {
    return us > 0 ? format_local(us) : "";
}

/// The node's store: "ok", "disk full, held 3", "rebuilt 2026-12-07 18:40".
std::string store_text(const LastHeartbeat& h, Language language) {
    const bool vi = language == Language::vi;
    std::string out;
    if (h.store_full) {
        out = vi ? "! đĩa đầy" : "! disk full";
    }
    if (h.confirmations_held > 0) {
        out += fmt::format(fmt::runtime(vi ? "{}giữ {}" : "{}held {}"), out.empty() ? "" : ", ",
                           h.confirmations_held);
    }
    if (h.store_rebuilt_us > 0) {
        out += fmt::format(fmt::runtime(vi ? "{}dựng lại {}" : "{}rebuilt {}"),
                           out.empty() ? "" : ", ", detail::short_local(h.store_rebuilt_us));
    }
    return out.empty() ? "ok" : out;
}

}  // namespace

CheckedHeartbeat check_heartbeat(const wire::Heartbeat& h) {
    CheckedHeartbeat out;
    out.heartbeat = h;
    wire::Heartbeat& c = out.heartbeat;
    auto note = [&](std::string field, std::string why) {
        out.unknown.insert(field);
        out.problems.push_back(fmt::format("{}: {}", field, why));
    };
    auto clipped = [](const std::string& text) { return detail::clip(text, 32); };
    const auto& state = h.state();
    if (!state.empty() && state != "idle" && state != "playing" && state != "emergency") {
        note("state", fmt::format("'{}' is not idle, playing or emergency", clipped(state)));
    }
    const auto& link = h.link_type();
    if (!link.empty() && link != "cellular" && link != "wifi" && link != "ethernet" &&
        link != "loopback" && link != "unknown") {
        note("link_type", fmt::format("'{}' is not cellular, wifi, ethernet, loopback or unknown",
                                      clipped(link)));
    }
    // Text over its size limit never gets here (the decoder refuses the message, TOO_LARGE);
    // a title is cut all the same, as this is also called with heartbeats made in-process.
    if (h.current_title().size() > protocol::kMaxTitleBytes) {
        std::size_t cut = protocol::kMaxTitleBytes;
        while (cut > 0 && (static_cast<unsigned char>(h.current_title()[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        c.set_current_title(h.current_title().substr(0, cut));
        out.problems.push_back(fmt::format("current_title: {} bytes, cut to {}",
                                           h.current_title().size(), protocol::kMaxTitleBytes));
    }
    if (h.volume_percent() > 100) {
        note("volume_percent", fmt::format("{} is not within 0..100", h.volume_percent()));
    }
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (h.storage_free_bytes() > kMax) {
        note("storage_free_bytes", "not below 2^63");
    }
    if (h.last_seq() > kMax) {
        note("last_seq", "not below 2^63");
    }
    if (h.has_cpu_temp_millicelsius() && (h.cpu_temp_millicelsius() < kMinCpuMillicelsius ||
                                          h.cpu_temp_millicelsius() > kMaxCpuMillicelsius)) {
        note("cpu_temp_millicelsius",
             fmt::format("{} is not within {}..{}", h.cpu_temp_millicelsius(), kMinCpuMillicelsius,
                         kMaxCpuMillicelsius));
    }
    if (h.has_link_signal_dbm() &&
        (h.link_signal_dbm() < kMinSignalDbm || h.link_signal_dbm() > kMaxSignalDbm)) {
        note("link_signal_dbm", fmt::format("{} is not within {}..{}", h.link_signal_dbm(),
                                            kMinSignalDbm, kMaxSignalDbm));
    }
    for (const auto& [name, value] :
         {std::pair<const char*, std::int64_t>{"clock_round_trip_us", h.clock_round_trip_us()},
          {"schedule_horizon_end_us", h.schedule_horizon_end_us()},
          {"runway_end_us", h.runway_end_us()},
          {"store_rebuilt_us", h.store_rebuilt_us()}}) {
        if (value < 0) {
            note(name, fmt::format("{} is negative", value));
        }
    }
    return out;
}

namespace {

/// What the node says it does with its clock: kept with its status, and a clock it does not
/// correct by (never measured aside: that is every agent's first heartbeat) becomes its last
/// error, so that `node list` shows it.
void record_clock_state(WriteTx& tx, const std::string& node_id, const wire::Heartbeat& h,
                        std::int64_t received_us) {
    const int state = static_cast<int>(h.clock_state());
    SQLite::Statement q(
        tx.db(), "UPDATE node_status SET clock_state = ?, clock_age_us = ? WHERE node_id = ?");
    if (wire::ClockState_IsValid(state) && state != wire::CLOCK_UNSAID) {
        q.bind(1, state);
        q.bind(2, static_cast<int64_t>(std::max<std::int64_t>(h.clock_age_us(), 0)));
    }
    q.bind(3, node_id);
    q.exec();
    std::string why = clock_state_problem(h);
    if (!why.empty()) {
        NodeErrors(tx).record(node_id, "clock", received_us, "heartbeat", why);
    }
}

}  // namespace

std::string clock_state_problem(const wire::Heartbeat& h) {
    const double offset_s =
        h.has_clock_offset_us() ? static_cast<double>(h.clock_offset_us()) / 1e6 : 0.0;
    const double age_h = static_cast<double>(h.clock_age_us()) / 3.6e9;
    switch (h.clock_state()) {
        case wire::CLOCK_UNTRUSTED:
            return fmt::format(
                "đồng hồ của nút lệch {:+.0f} s so với bộ điều khiển, quá 1 giờ: không hiệu chỉnh, "
                "các lượt phát theo lịch bị giữ lại (kiểm tra NTP / pin RTC) / the node's clock is "
                "{:+.0f} s off the controller's, over 1 h: not corrected, booked plays are held "
                "(check NTP / the RTC battery)",
                offset_s, offset_s);
        case wire::CLOCK_STALE:
            return fmt::format(
                "độ lệch đồng hồ đang dùng đo cách đây {:.1f} giờ (quá 24 giờ): giờ phát có thể "
                "sai / the clock offset in use was measured {:.1f} h ago (over 24 h): plays may "
                "start off time",
                age_h, age_h);
        default:
            return {};
    }
}

Result<void> record_heartbeat(WriteTx& tx, const std::string& node_id,
                              const wire::Heartbeat& heartbeat, std::int64_t received_us) {
    SQLite::Database& db = tx.db();
    const CheckedHeartbeat checked = check_heartbeat(heartbeat);
    const wire::Heartbeat& h = checked.heartbeat;
    auto known = [&](const char* field) { return !checked.unknown.contains(field); };
    return in_savepoint(tx, [&]() -> Result<void> {
        SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
        exists.bind(1, node_id);
        if (!exists.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        SQLite::Statement q(
            db,
            "INSERT OR REPLACE INTO node_status (node_id, received_us, node_time_us, state, "
            "current_slot_id, current_title, outbox_pending, media_missing, volume_percent, "
            "storage_free_bytes, cpu_temp_millicelsius, link_interface, link_type, "
            "link_signal_dbm, clock_offset_us, clock_round_trip_us, agent_version, "
            "schedule_horizon_end_us, runway_end_us, last_seq, amplifier_on, problems, "
            "store_full, confirmations_held, store_rebuilt_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        // Unbound parameters are NULL: a field out of range is stored as unknown.
        q.bind(1, node_id);
        q.bind(2, static_cast<int64_t>(received_us));
        q.bind(3, static_cast<int64_t>(h.node_time_us()));
        if (known("state")) {
            q.bind(4, h.state());
        }
        q.bind(5, h.current_slot_id());
        q.bind(6, h.current_title());
        q.bind(7, static_cast<int64_t>(h.outbox_pending()));
        q.bind(8, static_cast<int64_t>(h.media_missing()));
        if (known("volume_percent")) {
            q.bind(9, static_cast<int64_t>(h.volume_percent()));
        }
        if (known("storage_free_bytes")) {
            q.bind(10, static_cast<int64_t>(h.storage_free_bytes()));
        }
        if (h.has_cpu_temp_millicelsius() && known("cpu_temp_millicelsius")) {
            q.bind(11, h.cpu_temp_millicelsius());
        }
        q.bind(12, h.link_interface());
        if (known("link_type")) {
            q.bind(13, h.link_type());
        }
        if (h.has_link_signal_dbm() && known("link_signal_dbm")) {
            q.bind(14, h.link_signal_dbm());
        }
        if (h.has_clock_offset_us()) {
            q.bind(15, static_cast<int64_t>(h.clock_offset_us()));
        }
        if (known("clock_round_trip_us")) {
            q.bind(16, static_cast<int64_t>(h.clock_round_trip_us()));
        }
        q.bind(17, h.agent_version());
        if (known("schedule_horizon_end_us")) {
            q.bind(18, static_cast<int64_t>(h.schedule_horizon_end_us()));
        }
        if (known("runway_end_us")) {
            q.bind(19, static_cast<int64_t>(h.runway_end_us()));
        }
        if (known("last_seq")) {
            q.bind(20, static_cast<int64_t>(h.last_seq()));
        }
        q.bind(21, h.amplifier_on() ? 1 : 0);
        std::string problems;
        for (const auto& p : checked.problems) {
            problems += (problems.empty() ? "" : "; ") + p;
        }
        q.bind(22, problems);
        q.bind(23, h.store_full() ? 1 : 0);
        q.bind(24, static_cast<int64_t>(h.confirmations_held()));
        if (known("store_rebuilt_us")) {
            q.bind(25, static_cast<int64_t>(h.store_rebuilt_us()));
        }
        q.exec();
        record_clock_state(tx, node_id, h, received_us);
        touch_node(tx, node_id, received_us, h.agent_version());
        return {};
    });
}

Result<std::vector<NodeStatus>> node_statuses(SQLite::Database& db, const std::string& node_id) {
    return guard_storage([&]() -> Result<std::vector<NodeStatus>> {
        SQLite::Statement q(db, std::string(kSelectStatus) +
                                    " WHERE ? = '' OR n.node_id = ? ORDER BY n.area_path, "
                                    "n.node_id");
        q.bind(1, node_id);
        q.bind(2, node_id);
        std::vector<NodeStatus> out;
        while (q.executeStep()) {
            out.push_back(read_status(q));
        }
        if (out.empty() && !node_id.empty()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        return out;
    });
}

std::optional<double> runway_hours(const NodeStatus& status, std::int64_t now) {
    if (!status.heartbeat || status.heartbeat->runway_end_us <= 0) {
        return std::nullopt;
    }
    return static_cast<double>(status.heartbeat->runway_end_us - now) /
           static_cast<double>(kHourUs);
}

Result<std::vector<NodeStatus>> short_runway(SQLite::Database& db, double below_hours,
                                             std::int64_t now) {
    auto all = node_statuses(db);
    if (!all) {
        return all;
    }
    std::vector<NodeStatus> out;
    for (auto& s : *all) {
        auto hours = runway_hours(s, now);
        if (!hours || *hours < below_hours) {
            out.push_back(std::move(s));
        }
    }
    // Never reported first (nothing is known of them), then the shortest runway.
    std::stable_sort(out.begin(), out.end(), [&](const NodeStatus& a, const NodeStatus& b) {
        auto ha = runway_hours(a, now);
        auto hb = runway_hours(b, now);
        return ha.value_or(-std::numeric_limits<double>::infinity()) <
               hb.value_or(-std::numeric_limits<double>::infinity());
    });
    return out;
}

std::string render_node_status(const std::vector<NodeStatus>& statuses, std::int64_t now,
                               std::int64_t offset_warn_us, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút",          "Nghe lần cuối", "Trạng thái", "Đang phát",
                                      "Âm lượng",     "Ampli",         "Còn trống",  "Nhiệt độ",
                                      "Kết nối",      "Lệch giờ",      "Phiên bản",  "Lịch đến",
                                      "Tự chủ (giờ)", "Chờ gửi",       "Lưu trữ"}
           : std::vector<std::string>{"Node",       "Last heard",   "State", "Playing",
                                      "Volume",     "Amplifier",    "Free",  "Temperature",
                                      "Link",       "Clock offset", "Agent", "Horizon end",
                                      "Runway (h)", "Outbox",       "Store"};
    std::vector<std::vector<std::string>> rows;
    bool any_flagged = false;
    bool any_store_fault = false;
    for (const auto& s : statuses) {
        std::string heard = s.last_seen_us ? detail::age_text(now - *s.last_seen_us, language)
                                           : (vi ? "chưa bao giờ" : "never");
        if (!s.heartbeat) {
            rows.push_back({s.node_id, heard, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                            "-", "-"});
            continue;
        }
        const auto& h = *s.heartbeat;
        any_flagged = any_flagged || offset_flagged(h, offset_warn_us);
        rows.push_back(
            {s.node_id, heard, detail::play_state_text(h.state, language),
             h.current_title.empty() ? "-" : h.current_title,
             h.volume_percent ? fmt::format("{} %", *h.volume_percent) : "?",
             h.amplifier_on ? (vi ? "bật" : "on") : (vi ? "tắt" : "off"),
             h.storage_free_bytes ? detail::size_text(*h.storage_free_bytes) : "?",
             h.cpu_temp_millicelsius
                 ? fmt::format("{:.1f} °C", static_cast<double>(*h.cpu_temp_millicelsius) / 1e3)
                 : "-",
             link_text(h), detail::offset_text(h.clock_offset_us, offset_warn_us),
             h.agent_version.empty() ? "-" : h.agent_version,
             h.schedule_horizon_end_us > 0 ? detail::short_local(h.schedule_horizon_end_us) : "-",
             runway_text(s, now), std::to_string(h.outbox_pending), store_text(h, language)});
        any_store_fault = any_store_fault || h.store_full || h.store_rebuilt_us > 0;
    }
    std::vector<bool> right(header.size());
    right[4] = right[6] = right[7] = right[9] = right[12] = right[13] = true;
    std::string out = detail::render_text_table(header, rows, right);
    if (any_flagged) {
        out += fmt::format(fmt::runtime(vi ? "\n! đồng hồ của nút lệch quá {} ms so với máy chủ\n"
                                           : "\n! the node's clock is more than {} ms off the "
                                             "controller's\n"),
                           offset_warn_us / 1000);
    }
    if (any_store_fault) {
        out +=
            vi ? "\n! đĩa đầy: nút vẫn phát, giữ xác nhận trong bộ nhớ (\"giữ N\") tới khi có "
                 "chỗ; dựng lại: kho của nút hỏng, đã cách ly và dựng lại từ máy chủ\n"
               : "\n! disk full: the node plays on, holding confirmations in memory (\"held N\") "
                 "until there is room; rebuilt: the node's store was damaged, quarantined and "
                 "rebuilt from the controller\n";
    }
    return out;
}

nlohmann::json node_status_json(const std::vector<NodeStatus>& statuses, std::int64_t now,
                                std::int64_t offset_warn_us) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : statuses) {
        nlohmann::json row = {{"node", s.node_id},
                              {"kind", s.kind},
                              {"area", s.area_path},
                              {"last_seen", s.last_seen_us ? format_local(*s.last_seen_us) : ""}};
        if (!s.heartbeat) {
            row["heartbeat"] = nullptr;
            out.push_back(std::move(row));
            continue;
        }
        const auto& h = *s.heartbeat;
        auto hours = runway_hours(s, now);
        auto nullable = [](const auto& value) -> nlohmann::json {
            return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
        };
        row["heartbeat"] = {
            {"received", format_local(h.received_us)},
            {"state", h.state},
            {"current_slot_id", h.current_slot_id},
            {"current_title", h.current_title},
            {"volume_percent", nullable(h.volume_percent)},
            {"amplifier_on", h.amplifier_on},
            {"storage_free_bytes", nullable(h.storage_free_bytes)},
            {"cpu_temp_celsius",
             h.cpu_temp_millicelsius
                 ? nlohmann::json(static_cast<double>(*h.cpu_temp_millicelsius) / 1e3)
                 : nlohmann::json(nullptr)},
            {"link_interface", h.link_interface},
            {"link_type", h.link_type},
            {"link_signal_dbm", nullable(h.link_signal_dbm)},
            {"clock_offset_us", nullable(h.clock_offset_us)},
            {"clock_round_trip_us", h.clock_round_trip_us},
            {"clock_offset_flagged", offset_flagged(h, offset_warn_us)},
            {"agent_version", h.agent_version},
            {"horizon_end", optional_time(h.schedule_horizon_end_us)},
            {"runway_end", optional_time(h.runway_end_us)},
            {"runway_hours", nullable(hours)},
            {"outbox_pending", h.outbox_pending},
            {"media_missing", h.media_missing},
            {"last_seq", nullable(h.last_seq)},
            {"store_full", h.store_full},
            {"confirmations_held", h.confirmations_held},
            {"store_rebuilt", optional_time(h.store_rebuilt_us)},
            {"problems", h.problems}};
        out.push_back(std::move(row));
    }
    return out;
}

std::string render_runway(const std::vector<NodeStatus>& statuses, std::int64_t now,
                          Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút",      "Khu vực",       "Tự chủ (giờ)",  "Hết lúc",
                                      "Lịch đến", "Nghe lần cuối", "Thiếu nội dung"}
           : std::vector<std::string>{"Node",        "Area",       "Runway (h)",   "Runs out",
                                      "Horizon end", "Last heard", "Media missing"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : statuses) {
        std::string heard = s.last_seen_us ? detail::age_text(now - *s.last_seen_us, language)
                                           : (vi ? "chưa bao giờ" : "never");
        if (!runway_hours(s, now)) {
            rows.push_back({s.node_id, s.area_path, vi ? "chưa báo cáo" : "not reported", "-",
                            s.heartbeat && s.heartbeat->schedule_horizon_end_us > 0
                                ? detail::short_local(s.heartbeat->schedule_horizon_end_us)
                                : "-",
                            heard, s.heartbeat ? std::to_string(s.heartbeat->media_missing) : "-"});
            continue;
        }
        const auto& h = *s.heartbeat;
        rows.push_back(
            {s.node_id, s.area_path, runway_text(s, now), detail::short_local(h.runway_end_us),
             h.schedule_horizon_end_us > 0 ? detail::short_local(h.schedule_horizon_end_us) : "-",
             heard, std::to_string(h.media_missing)});
    }
    std::vector<bool> right(header.size());
    right[2] = right[6] = true;
    return detail::render_text_table(header, rows, right);
}

}  // namespace loa::controller
