// Emergencies: checked, stored with one command per node, cancelled, listed.
#include "loa/controller/fleet/emergencies.hpp"

#include <algorithm>
#include <set>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "command_queue.hpp"
#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/fleet_text.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::controller {

namespace {

/// At most this many plays of one emergency when a count is given.
constexpr std::uint32_t kMaxRepeat = 100;

std::unexpected<Error> invalid(const std::string& why) {
    return fail(Error::Code::invalid_input, "emergency: " + why);
}

/// The node kind that can play media of `kind`.
std::string player_kind(const std::string& media_kind) {
    return media_kind == "audio" ? "speaker" : "panel";
}

std::string kind_text(const std::string& node_kind) {
    return node_kind == "speaker" ? "a loudspeaker cluster" : "a panel board";
}

std::string media_use_text(const std::string& media_kind) {
    return media_kind == "audio" ? "audio, for loudspeakers" : media_kind + ", for panel boards";
}

/// "kc-YYYYMMDD-HHMMSS" in UTC+7, with "-2", "-3" … when that second already has one.
std::string new_emergency_id(SQLite::Database& db, std::int64_t now) {
    const std::string local = format_local(now);  // 2026-11-24T05:30:00+07:00
    std::string base = "kc-" + local.substr(0, 4) + local.substr(5, 2) + local.substr(8, 2) + "-" +
                       local.substr(11, 2) + local.substr(14, 2) + local.substr(17, 2);
    SQLite::Statement exists(db, "SELECT 1 FROM emergencies WHERE emergency_id = ?");
    std::string id = base;
    for (int n = 2;; ++n) {
        exists.bind(1, id);
        const bool taken = exists.executeStep();
        exists.reset();
        if (!taken) {
            return id;
        }
        id = fmt::format("{}-{}", base, n);
    }
}

wire::SlotKind slot_kind(const std::string& media_kind) {
    if (media_kind == "video") {
        return wire::SLOT_VIDEO;
    }
    return media_kind == "image" ? wire::SLOT_IMAGE : wire::SLOT_AUDIO;
}

}  // namespace

Result<EmergencySent> send_emergency(WriteTx& tx, const EmergencySpec& spec, std::int64_t now) {
    SQLite::Database& db = tx.db();
    const int choices =
        (spec.node_ids.empty() ? 0 : 1) + (spec.area.empty() ? 0 : 1) + (spec.all ? 1 : 0);
    if (choices != 1) {
        return invalid("choose the nodes one way: a list of nodes, an area, or all nodes");
    }
    if (!spec.until_expiry && spec.repeat == 0) {
        return invalid("repeat 0: an emergency plays at least once");
    }
    if (!spec.until_expiry && spec.repeat > kMaxRepeat) {
        return invalid(fmt::format("repeat {}: at most {} plays (or until it expires)", spec.repeat,
                                   kMaxRepeat));
    }
    if (spec.expires_us <= now) {
        return invalid(fmt::format("it would expire at {}, which is not ahead of now ({})",
                                   format_local(spec.expires_us), format_local(now)));
    }
    if (!spec.area.empty()) {
        if (auto why = schedules::area_path_problem(spec.area); !why.empty()) {
            return invalid(fmt::format("area '{}': {}", spec.area, why));
        }
    }
    return in_savepoint(tx, [&]() -> Result<EmergencySent> {
        SQLite::Statement media(db,
                                "SELECT kind, title, size_bytes, duration_us FROM media "
                                "WHERE media_hash = ?");
        media.bind(1, spec.media_hash);
        if (!media.executeStep()) {
            return invalid(fmt::format("media '{}' is not imported media (see loactl media list)",
                                       spec.media_hash));
        }
        const std::string media_kind = media.getColumn(0).getString();
        const std::string media_title = media.getColumn(1).getString();
        const auto size = static_cast<std::uint64_t>(media.getColumn(2).getInt64());
        const std::int64_t duration =
            media_kind == "image" ? detail::kSlideUs : media.getColumn(3).getInt64();
        if (!spec.campaign_id.empty()) {
            SQLite::Statement campaign(db, "SELECT 1 FROM campaigns WHERE campaign_id = ?");
            campaign.bind(1, spec.campaign_id);
            if (!campaign.executeStep()) {
                return invalid(fmt::format("no campaign '{}' for its airtime", spec.campaign_id));
            }
        }

        EmergencySent sent;
        // Where it airs, for the approval check: the nodes' areas, the area, or every area.
        std::vector<std::string> targets;
        const std::string wanted_kind = player_kind(media_kind);
        if (!spec.node_ids.empty()) {
            SQLite::Statement node(db, "SELECT kind, area_path FROM nodes WHERE node_id = ?");
            std::set<std::string> seen;
            for (const auto& id : spec.node_ids) {
                if (!seen.insert(id).second) {
                    continue;
                }
                node.bind(1, id);
                if (!node.executeStep()) {
                    return invalid(fmt::format("no node '{}' (see loactl node list)", id));
                }
                const std::string kind = node.getColumn(0).getString();
                targets.push_back(node.getColumn(1).getString());
                node.reset();
                if (kind != wanted_kind) {
                    return invalid(fmt::format("node '{}' is {} and media {} is {}", id,
                                               kind_text(kind), spec.media_hash.substr(0, 12),
                                               media_use_text(media_kind)));
                }
                sent.node_ids.push_back(id);
            }
        } else {
            SQLite::Statement nodes(db,
                                    "SELECT node_id, kind, area_path FROM nodes "
                                    "ORDER BY area_path, node_id");
            while (nodes.executeStep()) {
                const std::string area = nodes.getColumn(2).getString();
                if (!spec.all && !schedules::area_contains(spec.area, area)) {
                    continue;
                }
                auto& into =
                    nodes.getColumn(1).getString() == wanted_kind ? sent.node_ids : sent.left_out;
                into.push_back(nodes.getColumn(0).getString());
            }
            const std::string where =
                spec.all ? "the controller has" : "area '" + spec.area + "' has";
            if (sent.node_ids.empty() && sent.left_out.empty()) {
                return invalid(fmt::format("{} no node", where));
            }
            if (sent.node_ids.empty()) {
                return invalid(
                    fmt::format("{} no {} to play media {} ({})", where,
                                wanted_kind == "speaker" ? "loudspeaker cluster" : "panel board",
                                spec.media_hash.substr(0, 12), media_use_text(media_kind)));
            }
            targets.push_back(spec.all ? std::string(kEveryArea) : spec.area);
        }
        // Approval exists to keep unapproved audio off the air, emergencies included: an
        // approved record of the media must cover every area it goes to.
        if (auto why = detail::approval_problem(db, spec.media_hash, targets, "emergency");
            !why.empty()) {
            return fail(Error::Code::forbidden, why);
        }
        std::string title = spec.title;
        if (title.empty()) {
            title = detail::covering_title(db, spec.media_hash, targets.front());
        }
        if (title.empty()) {
            title = media_title;
        }

        sent.emergency_id = new_emergency_id(db, now);
        SQLite::Statement insert(db,
                                 "INSERT INTO emergencies (emergency_id, created_us, media_hash, "
                                 "title, campaign_id, repeat, until_expiry, expires_us, "
                                 "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        insert.bind(1, sent.emergency_id);
        insert.bind(2, static_cast<int64_t>(now));
        insert.bind(3, spec.media_hash);
        insert.bind(4, title);
        if (!spec.campaign_id.empty()) {
            insert.bind(5, spec.campaign_id);
        }
        insert.bind(6, static_cast<int64_t>(spec.until_expiry ? 1 : spec.repeat));
        insert.bind(7, spec.until_expiry ? 1 : 0);
        insert.bind(8, static_cast<int64_t>(spec.expires_us));
        if (!spec.created_by.empty()) {
            insert.bind(9, spec.created_by);
        }
        insert.exec();
        for (const auto& node_id : sent.node_ids) {
            wire::Command command;
            auto* e = command.mutable_emergency();
            e->set_emergency_id(sent.emergency_id);
            e->set_campaign_id(spec.campaign_id);
            e->set_item_id(spec.media_hash);
            e->set_media_hash(spec.media_hash);
            e->set_media_size(size);
            e->set_duration_us(duration);
            e->set_title(title);
            e->set_repeat(spec.until_expiry ? 1 : spec.repeat);
            e->set_until_expiry(spec.until_expiry);
            e->set_expires_us(spec.expires_us);
            e->set_kind(slot_kind(media_kind));
            sent.command_ids.push_back(detail::insert_command(db, node_id, command, now,
                                                              sent.emergency_id, spec.expires_us));
        }
        return sent;
    });
}

Result<EmergencyCancelled> cancel_emergency(WriteTx& tx, const std::string& emergency_id,
                                            std::int64_t now) {
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<EmergencyCancelled> {
        SQLite::Statement q(
            db, "SELECT expires_us, cancelled_us FROM emergencies WHERE emergency_id = ?");
        q.bind(1, emergency_id);
        if (!q.executeStep()) {
            return invalid(
                fmt::format("no emergency '{}' (see loactl emergency list)", emergency_id));
        }
        const std::int64_t expires = q.getColumn(0).getInt64();
        if (!q.getColumn(1).isNull()) {
            return invalid(fmt::format("'{}' was already cancelled at {}", emergency_id,
                                       format_local(q.getColumn(1).getInt64())));
        }
        if (expires <= now) {
            return invalid(fmt::format("'{}' expired at {}: nothing left to cancel", emergency_id,
                                       format_local(expires)));
        }
        EmergencyCancelled out;
        out.emergency_id = emergency_id;
        SQLite::Statement nodes(db,
                                "SELECT DISTINCT node_id FROM commands WHERE emergency_id = ? "
                                "AND kind = 'emergency' ORDER BY node_id");
        nodes.bind(1, emergency_id);
        while (nodes.executeStep()) {
            out.node_ids.push_back(nodes.getColumn(0).getString());
        }
        SQLite::Statement withdraw(
            db,
            "UPDATE commands SET state = 'cancelled', message = ? WHERE emergency_id = ? AND "
            "kind = 'emergency' AND state = 'pending'");
        withdraw.bind(1,
                      fmt::format("cancelled at {} before the node answered", format_local(now)));
        withdraw.bind(2, emergency_id);
        out.withdrawn = static_cast<std::size_t>(withdraw.exec());
        SQLite::Statement mark(db,
                               "UPDATE emergencies SET cancelled_us = ? WHERE emergency_id = ?");
        mark.bind(1, static_cast<int64_t>(now));
        mark.bind(2, emergency_id);
        mark.exec();
        // Sent to every node, answered or not: a node that received the emergency may be
        // playing it; one that never did answers that there is nothing to cancel. Past the
        // expiry there is nothing to stop, so the cancel expires with it.
        for (const auto& node_id : out.node_ids) {
            wire::Command command;
            command.mutable_cancel_emergency()->set_emergency_id(emergency_id);
            out.command_ids.push_back(
                detail::insert_command(db, node_id, command, now, emergency_id, expires));
        }
        return out;
    });
}

Result<std::vector<EmergencyRecord>> list_emergencies(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::vector<EmergencyRecord>> {
        SQLite::Statement q(
            db,
            "SELECT e.emergency_id, e.created_us, e.media_hash, e.title, "
            "coalesce(e.campaign_id, ''), e.repeat, e.until_expiry, e.expires_us, "
            "coalesce(e.created_by, ''), e.cancelled_us, count(c.command_id), "
            "coalesce(sum(c.state = 'done' AND c.ok), 0), "
            "coalesce(sum(c.state = 'done' AND NOT c.ok), 0), "
            "coalesce(sum(c.state = 'pending'), 0), coalesce(sum(c.state = 'expired'), 0), "
            "coalesce(sum(c.state = 'cancelled'), 0) "
            "FROM emergencies e LEFT JOIN commands c "
            "ON c.emergency_id = e.emergency_id AND c.kind = 'emergency' "
            "GROUP BY e.emergency_id ORDER BY e.created_us DESC, e.emergency_id DESC");
        std::vector<EmergencyRecord> out;
        while (q.executeStep()) {
            EmergencyRecord r;
            r.emergency_id = q.getColumn(0).getString();
            r.created_us = q.getColumn(1).getInt64();
            r.media_hash = q.getColumn(2).getString();
            r.title = q.getColumn(3).getString();
            r.campaign_id = q.getColumn(4).getString();
            r.repeat = static_cast<std::uint32_t>(q.getColumn(5).getInt64());
            r.until_expiry = q.getColumn(6).getInt() != 0;
            r.expires_us = q.getColumn(7).getInt64();
            r.created_by = q.getColumn(8).getString();
            if (!q.getColumn(9).isNull()) {
                r.cancelled_us = q.getColumn(9).getInt64();
            }
            r.nodes = q.getColumn(10).getInt();
            r.done_ok = q.getColumn(11).getInt();
            r.done_failed = q.getColumn(12).getInt();
            r.pending = q.getColumn(13).getInt();
            r.expired = q.getColumn(14).getInt();
            r.cancelled = q.getColumn(15).getInt();
            out.push_back(std::move(r));
        }
        return out;
    });
}

std::string render_emergencies(const std::vector<EmergencyRecord>& emergencies, std::int64_t now,
                               Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Mã",      "Lúc",         "Nội dung",  "Số lần",
                                      "Hết hạn", "Nút",         "Đã phát",   "Không được",
                                      "Chờ",     "Hết hạn/huỷ", "Tình trạng"}
           : std::vector<std::string>{"Id",    "Sent", "Title",  "Plays",   "Expires",
                                      "Nodes", "Done", "Failed", "Pending", "Expired/cancelled",
                                      "Status"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : emergencies) {
        std::string status;
        if (e.cancelled_us) {
            status = (vi ? "đã huỷ " : "cancelled ") + detail::short_local(*e.cancelled_us);
        } else if (e.expires_us <= now) {
            status = vi ? "đã hết hạn" : "expired";
        } else {
            status = vi ? "đang hiệu lực" : "in force";
        }
        rows.push_back(
            {e.emergency_id, detail::short_local(e.created_us), e.title,
             e.until_expiry ? (vi ? "đến hết hạn" : "until expiry") : std::to_string(e.repeat),
             detail::short_local(e.expires_us), std::to_string(e.nodes), std::to_string(e.done_ok),
             std::to_string(e.done_failed), std::to_string(e.pending),
             std::to_string(e.expired + e.cancelled), status});
    }
    return detail::render_text_table(
        header, rows,
        std::vector<bool>{false, false, false, true, false, true, true, true, true, true, false});
}

nlohmann::json emergencies_json(const std::vector<EmergencyRecord>& emergencies) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : emergencies) {
        out.push_back({{"emergency_id", e.emergency_id},
                       {"created", format_local(e.created_us)},
                       {"media_hash", e.media_hash},
                       {"title", e.title},
                       {"campaign", e.campaign_id},
                       {"repeat", e.repeat},
                       {"until_expiry", e.until_expiry},
                       {"expires", format_local(e.expires_us)},
                       {"created_by", e.created_by},
                       {"cancelled", e.cancelled_us ? nlohmann::json(format_local(*e.cancelled_us))
                                                    : nlohmann::json(nullptr)},
                       {"nodes", e.nodes},
                       {"done_ok", e.done_ok},
                       {"done_failed", e.done_failed},
                       {"pending", e.pending},
                       {"expired", e.expired},
                       {"cancelled_commands", e.cancelled}});
    }
    return out;
}

Result<std::vector<EmergencyNodeAnswer>> emergency_answers(SQLite::Database& db,
                                                           const std::string& emergency_id) {
    return guard_storage([&]() -> Result<std::vector<EmergencyNodeAnswer>> {
        SQLite::Statement exists(db, "SELECT 1 FROM emergencies WHERE emergency_id = ?");
        exists.bind(1, emergency_id);
        if (!exists.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("emergency: no emergency '{}' (see loactl emergency list)",
                                    emergency_id));
        }
        // Each node's Emergency command with the newest CancelEmergency sent it, if any.
        SQLite::Statement q(
            db,
            "SELECT e.node_id, coalesce(n.area_path, ''), e.command_id, e.state, e.ok, "
            "coalesce(e.message, ''), e.done_us, e.result_received_us, "
            "coalesce(c.state, ''), c.ok, coalesce(c.message, '') "
            "FROM commands e LEFT JOIN nodes n ON n.node_id = e.node_id "
            "LEFT JOIN commands c ON c.command_id = (SELECT max(command_id) FROM commands "
            "WHERE emergency_id = e.emergency_id AND node_id = e.node_id "
            "AND kind = 'cancel-emergency') "
            "WHERE e.emergency_id = ? AND e.kind = 'emergency' ORDER BY e.node_id");
        q.bind(1, emergency_id);
        auto optional_int = [&](int column) -> std::optional<std::int64_t> {
            if (q.getColumn(column).isNull()) {
                return std::nullopt;
            }
            return q.getColumn(column).getInt64();
        };
        std::vector<EmergencyNodeAnswer> out;
        while (q.executeStep()) {
            EmergencyNodeAnswer a;
            a.node_id = q.getColumn(0).getString();
            a.area_path = q.getColumn(1).getString();
            a.command_id = static_cast<std::uint64_t>(q.getColumn(2).getInt64());
            a.state = q.getColumn(3).getString();
            if (auto ok = optional_int(4)) {
                a.ok = *ok != 0;
            }
            a.message = q.getColumn(5).getString();
            a.done_us = optional_int(6);
            a.answered_us = optional_int(7);
            a.cancel_state = q.getColumn(8).getString();
            if (auto ok = optional_int(9)) {
                a.cancel_ok = *ok != 0;
            }
            a.cancel_message = q.getColumn(10).getString();
            out.push_back(std::move(a));
        }
        return out;
    });
}

namespace {

std::string answer_state_text(const std::string& state, Language language) {
    const bool vi = language == Language::vi;
    if (state == "pending") {
        return vi ? "chờ trả lời" : "pending";
    }
    if (state == "done") {
        return vi ? "đã trả lời" : "answered";
    }
    if (state == "expired") {
        return vi ? "hết hạn" : "expired";
    }
    if (state == "cancelled") {
        return vi ? "đã huỷ" : "cancelled";
    }
    return state.empty() ? "-" : state;
}

/// "OK: message", "KHÔNG ĐƯỢC: message" / "FAILED: …", or the controller's message, or "-".
std::string answer_text(const std::optional<bool>& ok, const std::string& message,
                        Language language) {
    const std::string said = detail::utf8_text(message);
    if (!ok) {
        return said.empty() ? "-" : said;
    }
    const std::string verdict = *ok ? "OK" : (language == Language::vi ? "KHÔNG ĐƯỢC" : "FAILED");
    return said.empty() ? verdict : verdict + ": " + said;
}

}  // namespace

std::string render_emergency_answers(const std::vector<EmergencyNodeAnswer>& answers,
                                     Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút", "Vùng", "Lệnh", "Trạng thái", "Trả lời", "Lúc", "Huỷ"}
           : std::vector<std::string>{"Node", "Area", "Command", "State", "Answer", "At", "Cancel"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : answers) {
        std::string cancel = "-";
        if (!a.cancel_state.empty()) {
            cancel = answer_state_text(a.cancel_state, language);
            if (a.cancel_ok) {
                cancel += " (" + answer_text(a.cancel_ok, a.cancel_message, language) + ")";
            }
        }
        rows.push_back({a.node_id, a.area_path, std::to_string(a.command_id),
                        answer_state_text(a.state, language),
                        detail::clip(answer_text(a.ok, a.message, language), 60),
                        a.answered_us ? detail::short_local(*a.answered_us) : "-", cancel});
    }
    return detail::render_text_table(
        header, rows, std::vector<bool>{false, false, true, false, false, false, false});
}

nlohmann::json emergency_answers_json(const std::vector<EmergencyNodeAnswer>& answers) {
    auto optional_time = [](const std::optional<std::int64_t>& t) -> nlohmann::json {
        return t ? nlohmann::json(format_local(*t)) : nlohmann::json(nullptr);
    };
    auto optional_bool = [](const std::optional<bool>& b) -> nlohmann::json {
        return b ? nlohmann::json(*b) : nlohmann::json(nullptr);
    };
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : answers) {
        out.push_back({{"node", a.node_id},
                       {"area", a.area_path},
                       {"command_id", a.command_id},
                       {"state", a.state},
                       {"ok", optional_bool(a.ok)},
                       {"message", detail::utf8_text(a.message)},
                       {"done", optional_time(a.done_us)},
                       {"answered", optional_time(a.answered_us)},
                       {"cancel_state", a.cancel_state},
                       {"cancel_ok", optional_bool(a.cancel_ok)},
                       {"cancel_message", detail::utf8_text(a.cancel_message)}});
    }
    return out;
}

}  // namespace loa::controller
