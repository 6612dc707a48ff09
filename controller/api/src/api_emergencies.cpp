// API emergencies: send, cancel, list, and how each node answered.
#include <algorithm>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "scope_queries.hpp"

namespace loa::controller::api {

namespace {

/// "a, b, c" with at most `shown` names, then how many more.
std::string names(const std::vector<std::string>& ids, std::size_t shown = 8) {
    std::string out;
    for (std::size_t i = 0; i < ids.size() && i < shown; ++i) {
        out += (i ? ", " : "") + ids[i];
    }
    if (ids.size() > shown) {
        out += fmt::format(", … (+{})", ids.size() - shown);
    }
    return out;
}

std::unexpected<Error> invalid(const std::string& why) {
    return fail(Error::Code::invalid_input, "emergency: " + why);
}

/// What POST /api/v1/emergencies asks, read from its JSON body; `expires` still as text.
struct Order {
    EmergencySpec spec;
    std::string expires = "now+1h";
    std::string ordered_by;
};

Result<bool> bool_field(const nlohmann::json& body, std::string_view name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        return false;
    }
    if (!it->is_boolean()) {
        return invalid(fmt::format("\"{}\" must be true or false", name));
    }
    return it->get<bool>();
}

Result<Order> read_order(const nlohmann::json& body) {
    Order order;
    auto media = field(body, "media");
    auto area = optional_field(body, "area");
    auto expires = optional_field(body, "expires");
    auto title = optional_field(body, "title");
    auto campaign = optional_field(body, "campaign");
    auto ordered_by = optional_field(body, "ordered_by");
    for (const auto* f : {&media, &area, &expires, &title, &campaign, &ordered_by}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    auto all = bool_field(body, "all");
    auto until_expiry = bool_field(body, "until_expiry");
    for (const auto* f : {&all, &until_expiry}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    if (auto nodes = body.find("nodes"); nodes != body.end() && !nodes->is_null()) {
        if (!nodes->is_array() || !std::all_of(nodes->begin(), nodes->end(),
                                               [](const auto& n) { return n.is_string(); })) {
            return invalid("\"nodes\" must be a list of node ids");
        }
        for (const auto& n : *nodes) {
            order.spec.node_ids.push_back(n.get<std::string>());
        }
    }
    std::int64_t repeat = 1;
    if (auto r = body.find("repeat"); r != body.end() && !r->is_null()) {
        if (!r->is_number_integer()) {
            return invalid("\"repeat\" must be a whole number");
        }
        repeat = r->get<std::int64_t>();
    }
    if (repeat < 0) {
        return invalid(fmt::format("repeat {}: an emergency plays at least once", repeat));
    }
    order.spec.media_hash = *media;
    order.spec.area = *area;
    order.spec.all = *all;
    order.spec.repeat = static_cast<std::uint32_t>(std::min<std::int64_t>(repeat, 1'000'000));
    order.spec.until_expiry = *until_expiry;
    order.spec.title = *title;
    order.spec.campaign_id = *campaign;
    if (!expires->empty()) {
        order.expires = *expires;
    }
    order.ordered_by = *ordered_by;
    return order;
}

/// Whether the person may send `spec` where it goes, with that media and campaign; the change
/// is filed where it goes, and a refusal logged through it.
Result<void> allowed_targets(Request& request, const EmergencySpec& spec, Change& change) {
    auto& db = request.db();
    const auto& who = request.who();
    // The media and the campaign must be the person's to use, as in booking a campaign.
    auto problem = media_scope_problem(db, spec.media_hash, who.name, who.area);
    if (!problem) {
        return change.refused(problem.error());
    }
    if (!problem->empty()) {
        return change.refused({Error::Code::forbidden, "emergency: " + *problem});
    }
    if (!spec.campaign_id.empty()) {
        auto campaign = find_campaign(db, spec.campaign_id);
        if (campaign && !campaign_in_scope(*campaign, who.area)) {
            return change.refused(
                {Error::Code::forbidden,
                 fmt::format("emergency: chiến dịch '{}' ngoài phạm vi của '{}' / campaign '{}' "
                             "is outside the scope of '{}'",
                             spec.campaign_id, who.name, spec.campaign_id, who.name)});
        }
    }
    if (spec.all) {
        change.set_area(std::string(kEveryArea));
        return change.allowed(Permission::emergency);
    }
    if (!spec.area.empty()) {
        change.set_area(spec.area);
        return change.allowed(Permission::emergency);
    }
    std::vector<std::string> areas;
    for (const auto& id : spec.node_ids) {
        auto node = find_node(db, id);
        if (!node) {
            continue;  // send_emergency names unknown nodes
        }
        if (auto ok = change.allowed(Permission::emergency, node->area_path); !ok) {
            return ok;
        }
        areas.push_back(node->area_path);
    }
    change.set_area(scope_of(areas));
    return {};
}

/// Whether the emergency reached a node the person sees.
Result<bool> reached_scope(Request& request, const std::string& emergency_id) {
    auto areas = emergency_areas(request.db(), emergency_id);
    if (!areas) {
        return std::unexpected(areas.error());
    }
    return std::any_of(areas->begin(), areas->end(),
                       [&](const std::string& a) { return may_see(request.who(), a); });
}

Result<Reply> list(Request& request) {
    auto all = list_emergencies(request.db());
    if (!all) {
        return std::unexpected(all.error());
    }
    // Those that went to at least one node in the person's scope.
    std::vector<EmergencyRecord> shown;
    for (auto& e : *all) {
        auto reached = reached_scope(request, e.emergency_id);
        if (!reached) {
            return std::unexpected(reached.error());
        }
        if (*reached) {
            shown.push_back(std::move(e));
        }
    }
    const bool vi = request.language() == Language::vi;
    return listing(request, emergencies_json(shown), [&] {
        if (shown.empty()) {
            return std::string(vi ? "Chưa có lệnh khẩn cấp nào.\n" : "No emergencies yet.\n");
        }
        return render_emergencies(shown, request.now(), request.language());
    });
}

Result<Reply> send(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto order = read_order(*body);
    if (!order) {
        return std::unexpected(order.error());
    }
    auto& spec = order->spec;
    const auto& who = request.who();
    spec.created_by = who.name;
    Change change(request, "emergency.send", spec.media_hash, who.area);
    if (auto ok = allowed_targets(request, spec, change); !ok) {
        return std::unexpected(ok.error());
    }
    nlohmann::json detail = {{"media", spec.media_hash},
                             {"nodes", spec.node_ids},
                             {"area", spec.area},
                             {"all", spec.all},
                             {"expires", order->expires}};
    if (!order->ordered_by.empty()) {
        detail["ordered_by"] = order->ordered_by;
    }
    auto expires = parse_instant(order->expires, request.now());
    if (!expires) {
        return change.refused(invalid("expires: " + expires.error().message).error(), detail);
    }
    spec.expires_us = *expires / 1'000'000 * 1'000'000;  // "now+1h" to the second, as shown
    detail["expires"] = format_local(spec.expires_us);
    auto sent = change.commit([&](WriteTx& tx) { return send_emergency(tx, spec, request.now()); },
                              [&](const EmergencySent& s) {
                                  change.set_target(s.emergency_id);
                                  nlohmann::json logged = detail;
                                  logged["nodes"] = s.node_ids;
                                  logged["command_ids"] = s.command_ids;
                                  return logged;
                              });
    if (!sent) {
        return change.refused(sent.error(), detail);
    }
    const nlohmann::json out = {{"emergency_id", sent->emergency_id},
                                {"nodes", sent->node_ids},
                                {"command_ids", sent->command_ids},
                                {"left_out", sent->left_out},
                                {"expires", format_local(spec.expires_us)}};
    const bool vi = request.language() == Language::vi;
    Reply reply = listing(request, out, [&] {
        const std::string plays =
            spec.until_expiry
                ? (vi ? "phát lặp lại đến khi hết hạn" : "played again and again until it expires")
                : fmt::format(fmt::runtime(vi ? "phát {} lần" : "{} play(s)"), spec.repeat);
        std::string text = fmt::format(
            fmt::runtime(vi ? "Khẩn cấp {} gửi tới {} nút ({}): {}, hết hạn {}.\n"
                              "Máy chủ gửi ngay tới các nút đang kết nối; huỷ: loactl "
                              "emergency cancel {}\n"
                            : "Emergency {} queued for {} node(s) ({}): {}, expires {}.\n"
                              "The controller sends it at once to connected nodes; to cancel: "
                              "loactl emergency cancel {}\n"),
            sent->emergency_id, sent->node_ids.size(), names(sent->node_ids), plays,
            format_local(spec.expires_us), sent->emergency_id);
        if (!sent->left_out.empty()) {
            text += fmt::format(fmt::runtime(vi ? "Không gửi tới {} nút loại khác, không phát được "
                                                  "nội dung này: {}\n"
                                                : "Not sent to {} node(s) of the other kind, which "
                                                  "cannot play this media: {}\n"),
                                sent->left_out.size(), names(sent->left_out));
        }
        return text;
    });
    reply.status = 201;
    return reply;
}

Result<Reply> show(Request& request) {
    const std::string& id = request.path("emergency_id");
    auto all = list_emergencies(request.db());
    if (!all) {
        return std::unexpected(all.error());
    }
    auto record = std::find_if(all->begin(), all->end(),
                               [&](const EmergencyRecord& e) { return e.emergency_id == id; });
    if (record == all->end()) {
        return fail(Error::Code::not_found,
                    fmt::format("emergency: no emergency '{}' (see loactl emergency list)", id));
    }
    auto reached = reached_scope(request, id);
    if (!reached) {
        return std::unexpected(reached.error());
    }
    if (!*reached) {
        auto areas = emergency_areas(request.db(), id);
        if (auto ok = may_read(request, areas ? scope_of(*areas) : std::string(kEveryArea),
                               "emergency.show");
            !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto answers = emergency_answers(request.db(), id);
    if (!answers) {
        return std::unexpected(answers.error());
    }
    // Only the nodes in the person's scope: the emergency may have gone further.
    std::erase_if(*answers, [&](const EmergencyNodeAnswer& a) {
        return !may_see(request.who(), a.area_path);
    });
    const std::vector<EmergencyRecord> one = {*record};
    nlohmann::json out = emergencies_json(one)[0];
    out["answers"] = emergency_answers_json(*answers);
    return listing(request, out, [&] {
        return render_emergencies(one, request.now(), request.language()) + "\n" +
               render_emergency_answers(*answers, request.language());
    });
}

Result<Reply> cancel(Request& request) {
    const std::string& id = request.path("emergency_id");
    Change change(request, "emergency.cancel", id, request.who().area);
    auto areas = emergency_areas(request.db(), id);
    if (!areas) {
        return change.refused(areas.error());
    }
    change.set_area(scope_of(*areas));
    for (const auto& area : *areas) {
        if (auto ok = change.allowed(Permission::emergency, area); !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto cancelled =
        change.commit([&](WriteTx& tx) { return cancel_emergency(tx, id, request.now()); },
                      [](const EmergencyCancelled& c) {
                          return nlohmann::json{{"nodes", c.node_ids}, {"withdrawn", c.withdrawn}};
                      });
    if (!cancelled) {
        return change.refused(cancelled.error());
    }
    const nlohmann::json out = {{"emergency_id", cancelled->emergency_id},
                                {"nodes", cancelled->node_ids},
                                {"command_ids", cancelled->command_ids},
                                {"withdrawn", cancelled->withdrawn}};
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        return fmt::format(
            fmt::runtime(vi ? "Huỷ khẩn cấp {}: lệnh huỷ gửi tới {} nút ({}); {} lệnh khẩn cấp "
                              "chưa được trả lời đã rút lại.\n"
                            : "Emergency {} cancelled: a cancel goes to {} node(s) ({}); {} "
                              "unanswered emergency command(s) withdrawn.\n"),
            cancelled->emergency_id, cancelled->node_ids.size(), names(cancelled->node_ids),
            cancelled->withdrawn);
    });
}

}  // namespace

std::vector<Route> emergency_routes() {
    return {
        {"GET", "/api/v1/emergencies", false,
         "Emergencies that reached your area scope, with how their nodes answered", list},
        {"POST", "/api/v1/emergencies", false,
         "Send an emergency: play approved media at once on chosen nodes, pre-empting", send},
        {"GET", "/api/v1/emergencies/{emergency_id}", false,
         "One emergency and how each node in your scope answered", show},
        {"POST", "/api/v1/emergencies/{emergency_id}/cancel", false,
         "Cancel an emergency on every node it was sent to", cancel},
    };
}

}  // namespace loa::controller::api
