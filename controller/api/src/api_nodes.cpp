// API nodes: register, list and enroll nodes, what each node last said of itself (status,
// runway, sequence gaps), and the commands operators send them.
#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/fleet/sequence_gaps.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "scope_queries.hpp"

namespace loa::controller::api {

namespace {

constexpr const char* kNoNodesVi = "Chưa có nút nào (loactl node add).";
constexpr const char* kNoNodesEn = "No nodes yet (loactl node add).";

std::string no_nodes(const Request& request) {
    return std::string(request.language() == Language::vi ? kNoNodesVi : kNoNodesEn) + "\n";
}

/// ?name=true|false; `false` when absent, invalid_input naming it otherwise.
Result<bool> flag_query(const Request& request, const std::string& name) {
    const std::string value = request.query(name, "false");
    if (value == "true" || value == "false") {
        return value == "true";
    }
    return fail(Error::Code::invalid_input,
                fmt::format("tham số \"{}\" phải là true hoặc false, không phải '{}' / query "
                            "parameter \"{}\" must be true or false, not '{}'",
                            name, value, name, value));
}

/// ?name=N, a number not below `least`; `fallback` when absent, invalid_input naming it otherwise.
Result<double> number_query(const Request& request, const std::string& name, double fallback,
                            double least) {
    if (!request.has_query(name)) {
        return fallback;
    }
    const std::string text = request.query(name);
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) ||
        value < least) {
        return fail(Error::Code::invalid_input,
                    fmt::format("tham số \"{}\" phải là một số không nhỏ hơn {:g}, không phải "
                                "'{}' / query parameter \"{}\" must be a number of at least {:g}, "
                                "not '{}'",
                                name, least, text, name, least, text));
    }
    return value;
}

/// The node of the path, when the person may read where it is: not_found or forbidden otherwise.
Result<NodeRecord> readable_node(Request& request, const std::string& node_id,
                                 std::string_view what) {
    auto node = find_node(request.db(), node_id);
    if (!node) {
        return std::unexpected(node.error());
    }
    if (auto ok = may_read(request, node->area_path, what); !ok) {
        return std::unexpected(ok.error());
    }
    return node;
}

Result<Reply> list(Request& request) {
    const bool vi = request.language() == Language::vi;
    FleetFilter filter;
    auto offline = flag_query(request, "offline");
    if (!offline) {
        return std::unexpected(offline.error());
    }
    filter.offline_only = *offline;
    std::int64_t heartbeat_ms = request.services().heartbeat_interval_ms;
    if (request.has_query("heartbeat_ms")) {
        auto asked = number_query(request, "heartbeat_ms", 0, 1);
        if (!asked) {
            return std::unexpected(asked.error());
        }
        heartbeat_ms = std::llround(*asked);
    }
    std::vector<std::string> told;  // what the filters keep, for the line above the table
    if (filter.offline_only) {
        told.push_back(
            fmt::format(fmt::runtime(vi ? "mất liên lạc (không nghe thấy trong {:g} s)"
                                        : "offline (not heard for {:g} s)"),
                        static_cast<double>(kOfflineAfterHeartbeats * heartbeat_ms) / 1000.0));
    }
    if (request.has_query("runway_below")) {
        auto hours = parse_runway_hours(request.query("runway_below"));
        if (!hours) {
            return fail(Error::Code::invalid_input, "runway_below: " + hours.error().message);
        }
        filter.runway_below_hours = *hours;
        told.push_back(fmt::format(fmt::runtime(vi ? "tự chủ dưới {:g} giờ hoặc chưa báo cáo"
                                                   : "with less than {:g} hours of runway or "
                                                     "none reported"),
                                   *hours));
    }
    filter.area = request.query("area");
    if (!filter.area.empty()) {
        if (auto why = scope_problem(filter.area); !why.empty()) {
            return fail(Error::Code::invalid_input, fmt::format("area '{}': {}", filter.area, why));
        }
        if (auto ok = may_read(request, filter.area, "node.list"); !ok) {
            return std::unexpected(ok.error());
        }
        told.push_back(fmt::format(fmt::runtime(vi ? "ở {}" : "in {}"), filter.area));
    }
    auto fleet = fleet_view(request.db(), request.now(), heartbeat_ms, filter);
    if (!fleet) {
        return std::unexpected(fleet.error());
    }
    std::erase_if(*fleet, [&](const FleetNode& n) { return !may_see(request.who(), n.area_path); });
    return listing(request, fleet_json(*fleet), [&] {
        std::string heading;
        for (const auto& part : told) {
            heading += (heading.empty() ? "" : ", ") + part;
        }
        if (fleet->empty()) {
            return told.empty()
                       ? no_nodes(request)
                       : fmt::format(fmt::runtime(vi ? "Không có nút nào {}.\n" : "No node {}.\n"),
                                     heading);
        }
        if (!told.empty()) {
            heading = fmt::format(fmt::runtime(vi ? "Nút {}:\n\n" : "Nodes {}:\n\n"), heading);
        }
        return heading + render_fleet(*fleet, request.now(), request.language());
    });
}

Result<Reply> add(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto id = field(*body, "node");
    auto kind = field(*body, "kind");
    auto area = field(*body, "area");
    auto tz = optional_field(*body, "time_zone");
    for (const auto* f : {&id, &kind, &area, &tz}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    NodeRecord node;
    node.node_id = *id;
    node.kind = *kind;
    node.area_path = *area;
    if (!tz->empty()) {
        node.time_zone = *tz;
    }
    Change change(request, "node.add", node.node_id, node.area_path);
    if (auto ok = change.allowed(Permission::manage_nodes); !ok) {
        return std::unexpected(ok.error());
    }
    auto added = change.compute_and_commit(
        [&](SQLite::Database& snapshot) { return plan_node(snapshot, node, request.now()); },
        [](WriteTx& tx, NodeAddition& addition) { return commit_node(tx, addition); },
        [](const NodeRecord& n) {
            return nlohmann::json{{"kind", n.kind}, {"time_zone", n.time_zone}};
        });
    if (!added) {
        return change.refused(added.error(), {{"kind", node.kind}});
    }
    Reply reply = listing(request, {{"node", added->node_id}, {"area", added->area_path}}, [&] {
        return fmt::format("node {} ({}) added in {}\n", added->node_id, added->kind,
                           added->area_path);
    });
    reply.status = 201;
    return reply;
}

Result<Reply> status(Request& request) {
    auto statuses = node_statuses(request.db(), request.path("node_id"));
    if (!statuses) {
        return std::unexpected(statuses.error());
    }
    if (auto ok = may_read(request, statuses->front().area_path, "node.status"); !ok) {
        return std::unexpected(ok.error());
    }
    return listing(request, node_status_json(*statuses, request.now(), kClockOffsetWarnUs).at(0),
                   [&] {
                       return render_node_status(*statuses, request.now(), kClockOffsetWarnUs,
                                                 request.language());
                   });
}

/// GET /api/v1/node-status: every node in scope (or ?node=), as `loactl node status` shows it.
Result<Reply> statuses(Request& request) {
    auto warn_ms =
        number_query(request, "offset_warn_ms", static_cast<double>(kClockOffsetWarnUs) / 1000, 0);
    if (!warn_ms) {
        return std::unexpected(warn_ms.error());
    }
    const std::string node_id = request.query("node");
    if (!node_id.empty()) {
        if (auto node = readable_node(request, node_id, "node.status"); !node) {
            return std::unexpected(node.error());
        }
    }
    auto all = node_statuses(request.db(), node_id);
    if (!all) {
        return std::unexpected(all.error());
    }
    std::erase_if(*all, [&](const NodeStatus& s) { return !may_see(request.who(), s.area_path); });
    const auto warn_us = std::llround(*warn_ms * 1000);
    return listing(request, node_status_json(*all, request.now(), warn_us), [&] {
        return all->empty() ? no_nodes(request)
                            : render_node_status(*all, request.now(), warn_us, request.language());
    });
}

/// GET /api/v1/node-runway: nodes in scope whose runway ends within ?below_hours=, or unknown.
Result<Reply> runway(Request& request) {
    auto below = number_query(request, "below_hours", 48, 0);
    if (!below) {
        return std::unexpected(below.error());
    }
    auto short_ones = short_runway(request.db(), *below, request.now());
    if (!short_ones) {
        return std::unexpected(short_ones.error());
    }
    std::erase_if(*short_ones,
                  [&](const NodeStatus& s) { return !may_see(request.who(), s.area_path); });
    const bool vi = request.language() == Language::vi;
    return listing(request, node_status_json(*short_ones, request.now(), kClockOffsetWarnUs), [&] {
        if (short_ones->empty()) {
            return fmt::format(
                fmt::runtime(vi ? "Mọi nút tự chủ được ít nhất {} giờ với lịch và nội dung "
                                  "đã có.\n"
                                : "Every node can run at least {} hours on the schedule and "
                                  "media it holds.\n"),
                *below);
        }
        return fmt::format(
                   fmt::runtime(vi ? "Nút tự chủ dưới {} giờ (hoặc chưa báo cáo), ngắn nhất "
                                     "trước:\n\n"
                                   : "Nodes with less than {} hours of runway (or none "
                                     "reported), shortest first:\n\n"),
                   *below) +
               render_runway(*short_ones, request.now(), request.language());
    });
}

/// GET /api/v1/node-gaps: confirmation numbers missing per node in scope (or ?node=).
Result<Reply> gaps(Request& request) {
    const std::string node_id = request.query("node");
    if (!node_id.empty()) {
        if (auto node = readable_node(request, node_id, "node.gaps"); !node) {
            return std::unexpected(node.error());
        }
    }
    auto visible = node_ids_in_scope(request.db(), request.who().area);
    if (!visible) {
        return std::unexpected(visible.error());
    }
    auto all = sequence_gaps(request.db(), node_id);
    if (!all) {
        return std::unexpected(all.error());
    }
    std::erase_if(*all, [&](const SequenceGaps& g) { return !visible->contains(g.node_id); });
    const bool vi = request.language() == Language::vi;
    return listing(request, sequence_gaps_json(*all), [&] {
        if (all->empty()) {
            return no_nodes(request);
        }
        return std::string(
                   vi ? "Số thứ tự xác nhận phát theo nút. «Thiếu trong hồ sơ»: số dưới số cao "
                        "nhất đã nhận mà máy chủ chưa từng nhận (không cho biết lượt đó có phát "
                        "hay không). «Chưa báo cáo»: nút đã đánh số nhưng chưa gửi.\n\n"
                      : "Confirmation sequence numbers per node. \"Missing from the record\": "
                        "numbers below the highest received that never arrived (this alone does "
                        "not tell whether those plays happened). \"Not yet reported\": numbered "
                        "by the node, not sent yet.\n\n") +
               render_sequence_gaps(*all, request.language());
    });
}

/// What POST /api/v1/nodes/{node_id}/enrollment asks.
struct EnrollmentOrder {
    std::string area;
    std::string kind;
    std::string time_zone;
    std::string public_key;
    double expires_hours = static_cast<double>(kDefaultTokenLifetimeUs) / 3'600'000'000.0;
    bool to_file = false;
};

Result<EnrollmentOrder> read_enrollment(const nlohmann::json& body) {
    EnrollmentOrder order;
    auto area = optional_field(body, "area");
    auto kind = optional_field(body, "kind");
    auto tz = optional_field(body, "time_zone");
    auto key = optional_field(body, "public_key");
    for (const auto* f : {&area, &kind, &tz, &key}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    order.area = *area;
    order.kind = *kind;
    order.time_zone = *tz;
    order.public_key = *key;
    if (auto h = body.find("expires_hours"); h != body.end() && !h->is_null()) {
        if (!h->is_number() || !(h->get<double>() > 0) || !std::isfinite(h->get<double>())) {
            return fail(Error::Code::invalid_input,
                        "trường \"expires_hours\" phải là số giờ lớn hơn 0 / field "
                        "\"expires_hours\" must be a number of hours above 0");
        }
        order.expires_hours = h->get<double>();
    }
    if (auto f = body.find("to_file"); f != body.end() && !f->is_null()) {
        if (!f->is_boolean()) {
            return fail(Error::Code::invalid_input,
                        "trường \"to_file\" phải là true hoặc false / field \"to_file\" must be "
                        "true or false");
        }
        order.to_file = f->get<bool>();
    }
    return order;
}

/// POST /api/v1/nodes/{node_id}/enrollment: a one-time token (or a key registered directly),
/// registering the node first when it is new and the body says where and what it is.
Result<Reply> enroll(Request& request) {
    const std::string& node_id = request.path("node_id");
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto order = read_enrollment(*body);
    if (!order) {
        return std::unexpected(order.error());
    }
    auto& db = request.db();
    const auto& who = request.who();
    Change change(request, "node.enroll", node_id, order->area.empty() ? who.area : order->area);
    auto node = find_node(db, node_id);
    if (!node) {
        if (order->area.empty() || order->kind.empty()) {
            return change.refused(
                {Error::Code::not_found,
                 fmt::format("nút '{}' chưa được đăng ký: cho \"area\" và \"kind\" (--area, "
                             "--kind) để đăng ký cùng mã / node '{}' is not registered: give "
                             "--area and --kind to register it with its token",
                             node_id, node_id)});
        }
        if (auto ok = change.allowed(Permission::manage_nodes, order->area); !ok) {
            return std::unexpected(ok.error());
        }
        NodeRecord record;
        record.node_id = node_id;
        record.kind = order->kind;
        record.area_path = order->area;
        if (!order->time_zone.empty()) {
            record.time_zone = order->time_zone;
        }
        Change add(request, "node.add", node_id, order->area);
        auto added = add.compute_and_commit(
            [&](SQLite::Database& snapshot) { return plan_node(snapshot, record, request.now()); },
            [](WriteTx& tx, NodeAddition& addition) { return commit_node(tx, addition); },
            [](const NodeRecord& n) {
                return nlohmann::json{{"kind", n.kind}, {"time_zone", n.time_zone}};
            });
        if (!added) {
            return change.refused(added.error());
        }
        node = *added;
    } else {
        change.set_area(node->area_path);
        if ((!order->area.empty() && order->area != node->area_path) ||
            (!order->kind.empty() && order->kind != node->kind)) {
            return change.refused(
                {Error::Code::conflict,
                 fmt::format("nút '{}' đã được đăng ký là {} ở {}; bỏ --area và --kind để ghi "
                             "danh khóa mới cho nút / node '{}' is already registered as a {} in "
                             "{}; leave out --area and --kind to enroll a new key for it",
                             node_id, node->kind, node->area_path, node_id, node->kind,
                             node->area_path)});
        }
        if (auto ok = change.allowed(Permission::manage_nodes); !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto keys = protocol::load_or_create_key_file(controller_key_file(request.services().data_dir));
    if (!keys) {
        return change.refused({Error::Code::storage, keys.error()});
    }
    const bool vi = request.language() == Language::vi;
    if (!order->public_key.empty()) {
        if (auto enrolled = change.commit(
                [&](WriteTx& tx) {
                    return enroll_key(tx, node_id, order->public_key, request.now(), true);
                },
                [&] {
                    return nlohmann::json{{"public_key", order->public_key}};
                });
            !enrolled) {
            return change.refused(enrolled.error());
        }
        Reply reply = listing(request,
                              {{"node", node_id},
                               {"area", node->area_path},
                               {"kind", node->kind},
                               {"public_key", order->public_key},
                               {"controller_key", keys->public_key}},
                              [&] {
                                  return fmt::format(
                                      fmt::runtime(vi ? "Đã ghi danh khóa {} cho nút {}.\nKhóa "
                                                        "của bộ điều khiển: {}\n"
                                                      : "Key {} enrolled for node {}.\n"
                                                        "Controller key: {}\n"),
                                      order->public_key, node_id, keys->public_key);
                              });
        reply.status = 201;
        return reply;
    }
    auto issued = change.commit(
        [&](WriteTx& tx) {
            return issue_enrollment_token(
                tx, node_id, keys->public_key, who.name, request.now(),
                static_cast<std::int64_t>(order->expires_hours * 3600.0 * 1'000'000.0));
        },
        [&](const IssuedEnrollmentToken& i) {
            return nlohmann::json{{"expires", format_utc(i.expires_us)},
                                  {"to_file", order->to_file},
                                  {"reinstates", node->revoked}};
        });
    if (!issued) {
        return change.refused(issued.error());
    }
    Reply reply =
        listing(request,
                {{"node", node_id},
                 {"area", node->area_path},
                 {"kind", node->kind},
                 {"expires", format_utc(issued->expires_us)},
                 {"controller_key", keys->public_key},
                 {"token", issued->token}},
                [&] {
                    return fmt::format(
                        fmt::runtime(vi ? "Mã ghi danh cho nút {} ({}, {}), dùng một lần, hết "
                                          "hạn lúc {}:\n  {}\nTrên thiết bị, chạy:\n  loa-node "
                                          "enroll --controller tcp://<controller>:<port> "
                                          "--token {}\n"
                                        : "Enrollment token for node {} ({}, {}), one use, "
                                          "expires {}:\n  {}\nOn the device, run:\n  loa-node "
                                          "enroll --controller tcp://<controller>:<port> "
                                          "--token {}\n"),
                        node_id, node->kind, node->area_path, format_local(issued->expires_us),
                        issued->token, issued->token);
                });
    reply.status = 201;
    return reply;
}

/// POST /api/v1/nodes/{node_id}/revoke: cut a node off now, until it enrolls again.
Result<Reply> revoke(Request& request) {
    const std::string& node_id = request.path("node_id");
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto reason = optional_field(*body, "reason");
    if (!reason) {
        return std::unexpected(reason.error());
    }
    Change change(request, "node.revoke", node_id, request.who().area);
    auto node = find_node(request.db(), node_id);
    if (!node) {
        return change.refused(node.error());
    }
    change.set_area(node->area_path);
    if (auto ok = change.allowed(Permission::manage_nodes); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto revoked = change.commit(
            [&](WriteTx& tx) { return revoke_node(tx, node_id, *reason, request.now()); },
            [&] {
                return nlohmann::json{{"reason", *reason}};
            });
        !revoked) {
        return change.refused(revoked.error(), {{"reason", *reason}});
    }
    const bool vi = request.language() == Language::vi;
    return listing(request, {{"node", node_id}, {"revoked", format_utc(request.now())}}, [&] {
        return fmt::format(fmt::runtime(vi ? "Đã thu hồi nút {}: bị ngắt trong vòng một nhịp tim "
                                             "và bị từ chối cho đến khi ghi danh lại.\n"
                                           : "Node {} revoked: cut off within one heartbeat and "
                                             "refused until it enrolls again.\n"),
                           node_id);
    });
}

/// GET /api/v1/nodes/{node_id}/keys: every key the node has had, oldest first.
Result<Reply> keys(Request& request) {
    const std::string& node_id = request.path("node_id");
    if (auto node = readable_node(request, node_id, "node.keys"); !node) {
        return std::unexpected(node.error());
    }
    auto all = node_keys(request.db(), node_id);
    if (!all) {
        return std::unexpected(all.error());
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& key : *all) {
        out.push_back({{"public_key", key.public_key},
                       {"enrolled", format_utc(key.enrolled_us)},
                       {"retired", key.retired_us ? format_utc(*key.retired_us) : ""},
                       {"retired_reason", key.retired_reason}});
    }
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        if (all->empty()) {
            return std::string(vi ? "Nút này chưa ghi danh khóa nào (loactl node enroll).\n"
                                  : "This node has enrolled no key yet (loactl node enroll).\n");
        }
        std::string text;
        for (const auto& key : *all) {
            text +=
                fmt::format("{}  {}  {}\n", key.public_key, format_local(key.enrolled_us),
                            key.retired_us ? (vi ? "thôi dùng: " : "retired: ") + key.retired_reason
                                           : std::string(vi ? "đang dùng" : "active"));
        }
        return text;
    });
}

/// An integer field of a command's body; invalid_input naming it otherwise.
Result<std::int64_t> integer_field(const nlohmann::json& value, std::string_view name,
                                   const std::string& node_id) {
    if (!value.is_number_integer()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("lệnh cho nút '{}': trường \"{}\" phải là số nguyên / command for "
                                "node '{}': field \"{}\" must be a whole number",
                                node_id, name, node_id, name));
    }
    return value.get<std::int64_t>();
}

/// The action a command body asks: exactly one of volume, amplifier, restart, send_log.
Result<wire::Command> read_action(const nlohmann::json& body, const std::string& node_id) {
    static constexpr std::string_view kActions[] = {"volume", "amplifier", "restart", "send_log"};
    std::vector<std::string_view> given;
    for (const auto name : kActions) {
        if (body.contains(name)) {
            given.push_back(name);
        }
    }
    for (const auto& [name, value] : body.items()) {
        if (std::find(std::begin(kActions), std::end(kActions), name) == std::end(kActions)) {
            return fail(Error::Code::invalid_input,
                        fmt::format("lệnh cho nút '{}': không biết trường \"{}\" / command for "
                                    "node '{}': unknown field \"{}\"",
                                    node_id, name, node_id, name));
        }
    }
    if (given.size() != 1) {
        return fail(Error::Code::invalid_input,
                    fmt::format("lệnh cho nút '{}': cần đúng một trong \"volume\", \"amplifier\", "
                                "\"restart\", \"send_log\" / command for node '{}': give exactly "
                                "one of \"volume\", \"amplifier\", \"restart\", \"send_log\"",
                                node_id, node_id));
    }
    const auto& value = body.at(given[0]);
    wire::Command action;
    if (given[0] == "volume") {
        auto percent = integer_field(value, "volume", node_id);
        if (!percent) {
            return std::unexpected(percent.error());
        }
        if (*percent < 0 || *percent > 100) {
            return fail(Error::Code::invalid_input,
                        fmt::format("lệnh cho nút '{}': âm lượng {} % không nằm trong 0..100 / "
                                    "command for node '{}': volume {} % is not within 0..100",
                                    node_id, *percent, node_id, *percent));
        }
        action.mutable_set_volume()->set_percent(static_cast<std::uint32_t>(*percent));
    } else if (given[0] == "amplifier") {
        if (value != "on" && value != "off") {
            return fail(Error::Code::invalid_input,
                        fmt::format("lệnh cho nút '{}': trường \"amplifier\" phải là \"on\" hoặc "
                                    "\"off\" / command for node '{}': field \"amplifier\" must be "
                                    "\"on\" or \"off\"",
                                    node_id, node_id));
        }
        action.mutable_set_amplifier()->set_on(value == "on");
    } else if (given[0] == "restart") {
        if (value != true) {
            return fail(Error::Code::invalid_input,
                        fmt::format("lệnh cho nút '{}': trường \"restart\" phải là true / command "
                                    "for node '{}': field \"restart\" must be true",
                                    node_id, node_id));
        }
        action.mutable_restart();
    } else {
        auto bytes = integer_field(value, "send_log", node_id);
        if (!bytes) {
            return std::unexpected(bytes.error());
        }
        if (*bytes <= 0 || *bytes > kMaxLogBytes) {
            return fail(Error::Code::invalid_input,
                        fmt::format("lệnh cho nút '{}': nhật ký {} byte: hãy xin từ 1 đến {} "
                                    "(1 MiB) / command for node '{}': a log of {} bytes: ask for 1 "
                                    "to {} (1 MiB)",
                                    node_id, *bytes, kMaxLogBytes, node_id, *bytes, kMaxLogBytes));
        }
        action.mutable_send_log()->set_max_bytes(static_cast<std::uint32_t>(*bytes));
    }
    return action;
}

/// POST /api/v1/nodes/{node_id}/commands: queue a command, sent while the node is connected.
Result<Reply> command(Request& request) {
    const std::string& node_id = request.path("node_id");
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto action = read_action(*body, node_id);
    if (!action) {
        return std::unexpected(action.error());
    }
    const std::string summary = command_summary(*action, Language::en);
    Change change(request, "node.command", node_id, request.who().area);
    auto node = find_node(request.db(), node_id);
    if (!node) {
        return change.refused(node.error());
    }
    change.set_area(node->area_path);
    if (auto ok = change.allowed(Permission::command_nodes); !ok) {
        return std::unexpected(ok.error());
    }
    auto queued = change.commit(
        [&](WriteTx& tx) { return queue_command(tx, node_id, *action, request.now()); },
        [&](const CommandRecord& c) {
            return nlohmann::json{{"command", summary}, {"command_id", c.command_id}};
        });
    if (!queued) {
        return change.refused(queued.error(), {{"command", summary}});
    }
    const bool vi = request.language() == Language::vi;
    Reply reply = listing(request, commands_json({*queued})[0], [&] {
        std::string text = fmt::format(
            fmt::runtime(vi ? "Lệnh {} cho nút {}: {}. Máy chủ gửi lệnh khi nút kết nối và "
                              "nhắc lại đến khi nút trả lời.\n"
                            : "Command {} for node {}: {}. The controller sends it while the "
                              "node is connected, again until the node answers.\n"),
            queued->command_id, node_id, command_summary(queued->command, request.language()));
        // A log request is followed by `loactl node log`, which shows the answer itself.
        if (queued->kind != "send-log") {
            text += fmt::format(fmt::runtime(vi ? "Xem kết quả: loactl node commands --node {}\n"
                                                : "Its answer: loactl node commands --node {}\n"),
                                node_id);
        }
        return text;
    });
    reply.status = 201;
    reply.headers["Location"] = fmt::format("/api/v1/commands/{}", queued->command_id);
    return reply;
}

/// GET /api/v1/commands: commands to nodes in scope (?node=, ?pending=true narrow), newest first.
Result<Reply> commands(Request& request) {
    auto pending = flag_query(request, "pending");
    if (!pending) {
        return std::unexpected(pending.error());
    }
    const std::string node_id = request.query("node");
    if (!node_id.empty()) {
        if (auto node = readable_node(request, node_id, "node.commands"); !node) {
            return std::unexpected(node.error());
        }
    }
    auto visible = node_ids_in_scope(request.db(), request.who().area);
    if (!visible) {
        return std::unexpected(visible.error());
    }
    auto all = list_commands(request.db(), node_id, *pending);
    if (!all) {
        return std::unexpected(all.error());
    }
    std::erase_if(*all, [&](const CommandRecord& c) { return !visible->contains(c.node_id); });
    return listing(request, commands_json(*all), [&] {
        if (all->empty()) {
            return std::string(request.language() == Language::vi ? "Không có lệnh nào.\n"
                                                                  : "No commands.\n");
        }
        return render_commands(*all, request.language());
    });
}

/// GET /api/v1/commands/{command_id}: one command and the node's answer (the log tail too).
Result<Reply> show_command(Request& request) {
    const std::string& text = request.path("command_id");
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || end != text.data() + text.size() || id == 0) {
        return fail(Error::Code::invalid_input,
                    fmt::format("mã lệnh \"command_id\" phải là số nguyên dương, không phải '{}' / "
                                "\"command_id\" must be a positive whole number, not '{}'",
                                text, text));
    }
    auto found = find_command(request.db(), id);
    if (!found) {
        return std::unexpected(found.error());
    }
    if (auto node = readable_node(request, found->node_id, "node.commands"); !node) {
        return std::unexpected(node.error());
    }
    return listing(request, commands_json({*found})[0],
                   [&] { return render_commands({*found}, request.language()); });
}

}  // namespace

std::vector<Route> node_routes() {
    return {
        {"GET", "/api/v1/nodes", false,
         "The fleet in your scope: online or not, runway, media missing, last error "
         "(offline, runway_below, area narrow)",
         list},
        {"POST", "/api/v1/nodes", false, "Register a node", add},
        {"GET", "/api/v1/nodes/{node_id}", false, "A node's status from its last heartbeat",
         status},
        {"POST", "/api/v1/nodes/{node_id}/enrollment", false,
         "Issue a one-time enrollment token for a node (or register a device key), registering "
         "the node first when new",
         enroll},
        {"POST", "/api/v1/nodes/{node_id}/revoke", false,
         "Revoke a node: cut it off now and refuse it until it enrolls again", revoke},
        {"GET", "/api/v1/nodes/{node_id}/keys", false,
         "The keys a node has enrolled, and which are retired", keys},
        {"POST", "/api/v1/nodes/{node_id}/commands", false,
         "Queue a command for a node: volume, amplifier, restart or send its log", command},
        {"GET", "/api/v1/node-status", false,
         "What each node in your scope last said of itself (node= narrows)", statuses},
        {"GET", "/api/v1/node-runway", false,
         "Nodes in your scope whose cached schedule runs out within below_hours, or unknown",
         runway},
        {"GET", "/api/v1/node-gaps", false,
         "Confirmation numbers missing from the record, and not yet reported, per node", gaps},
        {"GET", "/api/v1/commands", false,
         "Commands sent to nodes in your scope and their answers (node=, pending=true narrow)",
         commands},
        {"GET", "/api/v1/commands/{command_id}", false,
         "One command and the node's answer, with the log tail of a log request", show_command},
    };
}

}  // namespace loa::controller::api
