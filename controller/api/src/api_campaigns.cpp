// API campaigns and plans: list and create campaigns, check a plan's feasibility, apply (accept)
// a plan.
#include <fstream>

#include <unistd.h>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/booking/booking.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/booking/campaign_pause.hpp"
#include "loa/controller/booking/plan_booking.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/plans/plan_compilation.hpp"
#include "scope_queries.hpp"

namespace loa::controller::api {

namespace {

nlohmann::json campaign_json(SQLite::Database& db, const CampaignSpec& c) {
    auto paused = campaign_paused_since(db, c.campaign_id);
    return {{"campaign", c.campaign_id},
            {"name", c.name},
            {"owner", c.owner},
            {"start", format_local(c.window_start_us)},
            {"end", format_local(c.window_end_us)},
            {"areas", c.areas},
            {"items", c.media_hashes},
            {"paused", paused && *paused ? format_local(**paused) : ""}};
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : ", ") + p;
    }
    return out;
}

Result<Reply> list(Request& request) {
    auto all = list_campaigns(request.db());
    if (!all) {
        return std::unexpected(all.error());
    }
    nlohmann::json out = nlohmann::json::array();
    std::vector<const CampaignSpec*> shown;
    for (const auto& c : *all) {
        if (campaign_in_scope(c, request.who().area)) {
            shown.push_back(&c);
            out.push_back(campaign_json(request.db(), c));
        }
    }
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        if (shown.empty()) {
            return std::string(vi ? "Không có chiến dịch nào trong phạm vi của bạn.\n"
                                  : "No campaigns in your scope.\n");
        }
        std::string text;
        for (const auto* c : shown) {
            text += fmt::format(fmt::runtime(vi ? "{}  {} → {}  {} nội dung  {}  «{}» ({})\n"
                                                : "{}  {} → {}  {} items  {}  \"{}\" ({})\n"),
                                c->campaign_id, format_local(c->window_start_us),
                                format_local(c->window_end_us), c->media_hashes.size(),
                                joined(c->areas), c->name, c->owner);
        }
        return text;
    });
}

Result<Reply> show(Request& request) {
    auto campaign = find_campaign(request.db(), request.path("campaign_id"));
    if (!campaign) {
        return std::unexpected(campaign.error());
    }
    if (!campaign_in_scope(*campaign, request.who().area)) {
        if (auto ok = may_read(request, scope_of(campaign->areas), "campaign.show"); !ok) {
            return std::unexpected(ok.error());
        }
    }
    return json_reply(campaign_json(request.db(), *campaign));
}

Result<std::vector<std::string>> string_list(const nlohmann::json& body, std::string_view name) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_array() || it->empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("thiếu \"{}\" (danh sách chuỗi) / \"{}\" (a list of strings) is "
                                "required",
                                name, name));
    }
    std::vector<std::string> out;
    for (const auto& v : *it) {
        if (!v.is_string()) {
            return fail(
                Error::Code::invalid_input,
                fmt::format("\"{}\" chỉ chứa chuỗi / \"{}\" must hold only strings", name, name));
        }
        out.push_back(v.get<std::string>());
    }
    return out;
}

Result<Reply> create(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    CampaignSpec spec;
    auto id = field(*body, "campaign");
    auto name = field(*body, "name");
    auto owner = optional_field(*body, "owner");
    auto items = string_list(*body, "items");
    auto areas = string_list(*body, "areas");
    auto start_text = optional_field(*body, "start");
    auto end_text = optional_field(*body, "end");
    for (const auto* f : {&id, &name, &owner, &start_text, &end_text}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    if (!items || !areas) {
        return std::unexpected(!items ? items.error() : areas.error());
    }
    spec.campaign_id = *id;
    spec.name = *name;
    spec.owner = *owner;
    spec.media_hashes = *items;
    spec.areas = *areas;
    Change change(request, "campaign.book", spec.campaign_id, scope_of(spec.areas));
    for (const auto& area : spec.areas) {
        if (auto ok = change.allowed(Permission::schedule, area); !ok) {
            return std::unexpected(ok.error());
        }
    }
    const auto& who = request.who();
    // Media with no record in this person's scope is not theirs to book (and where it may air
    // is for its approved records to say: plan_campaign).
    for (std::size_t i = 0; i < spec.media_hashes.size(); ++i) {
        auto problem = media_scope_problem(request.db(), spec.media_hashes[i], who.name, who.area);
        if (!problem) {
            return change.refused(problem.error());
        }
        if (!problem->empty()) {
            return change.refused(
                {Error::Code::forbidden,
                 fmt::format("campaign '{}': item {}: {}", spec.campaign_id, i + 1, *problem)});
        }
    }
    auto start = instant_field(request, "start", *start_text);
    auto end = instant_field(request, "end", *end_text, true);
    if (!start || !end) {
        return change.refused(!start ? start.error() : end.error());
    }
    spec.window_start_us = *start;
    spec.window_end_us = *end;
    const nlohmann::json what = {{"areas", spec.areas},
                                 {"items", spec.media_hashes},
                                 {"start", format_local(spec.window_start_us)},
                                 {"end", format_local(spec.window_end_us)}};
    // The engine runs on a snapshot; the campaign, its plays and the log row are one change.
    auto booked = change.compute_and_commit(
        [&](SQLite::Database& snapshot) { return plan_campaign(snapshot, spec, request.now()); },
        [](WriteTx& tx, CampaignBooking& booking) { return commit_campaign(tx, booking); },
        [&](const BookingResult& r) {
            nlohmann::json detail = what;
            detail["slots_booked"] = r.slots_booked;
            detail["nodes_targeted"] = r.nodes_targeted;
            return detail;
        });
    if (!booked) {
        return change.refused(booked.error(), what);
    }
    const nlohmann::json out = {{"campaign", spec.campaign_id},
                                {"slots_booked", booked->slots_booked},
                                {"nodes_targeted", booked->nodes_targeted},
                                {"unplaced", booked->unplaced}};
    Reply reply = listing(request, out, [&] {
        std::string text =
            fmt::format("campaign {}: {} plays booked on {} nodes\n", spec.campaign_id,
                        booked->slots_booked, booked->nodes_targeted);
        for (const auto& u : booked->unplaced) {
            text += fmt::format("  not placed / không xếp được: {}\n", u);
        }
        return text;
    });
    reply.status = 201;
    return reply;
}

/// The plan in the body: the file the HTTP edge streamed it to, read by the plan reader where it
/// lies (the edge removes it when the request ends).
class UploadedPlan {
  public:
    explicit UploadedPlan(const Request& request) : path_(request.body_file()) {}
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

/// `text` with the uploaded file's path replaced by the name the operator knows it by.
std::string as_named(std::string text, const std::filesystem::path& file, const std::string& name) {
    const std::string path = file.string();
    for (auto at = text.find(path); at != std::string::npos; at = text.find(path, at)) {
        text.replace(at, path.size(), name);
        at += name.size();
    }
    return text;
}

struct PlanQuery {
    schedules::Date from;
    int days = 7;
    std::string name;
};

Result<PlanQuery> plan_query(const Request& request) {
    PlanQuery q;
    q.from = vietnam_date(request.now());
    if (request.has_query("from")) {
        auto given = parse_date(request.query("from"));
        if (!given) {
            return fail(Error::Code::invalid_input, "from: " + given.error());
        }
        q.from = *given;
    }
    if (request.has_query("days")) {
        try {
            q.days = std::stoi(request.query("days"));
        } catch (const std::exception&) {
            q.days = 0;
        }
        if (q.days < 1 || q.days > 366) {
            return fail(Error::Code::invalid_input,
                        "days: từ 1 đến 366 ngày / days must be 1 to 366");
        }
    }
    q.name = request.query("name", "plan.toml");
    if (request.body_size() == 0) {
        return fail(Error::Code::invalid_input,
                    "không có kế hoạch: gửi tệp TOML trong nội dung yêu cầu / no plan: send the "
                    "TOML file as the request body");
    }
    return q;
}

Result<Reply> check(Request& request) {
    auto q = plan_query(request);
    if (!q) {
        return std::unexpected(q.error());
    }
    UploadedPlan plan(request);
    auto compiled = compile_plan_file(plan.path(), q->from, q->days);
    if (!compiled) {
        std::string text;
        for (const auto& problem : compiled.error()) {
            text += as_named(problem.text(), plan.path(), q->name) + "\n";
        }
        return fail(Error::Code::invalid_input, text);
    }
    auto out = quota_report_json(*compiled);
    Reply reply =
        listing(request, out, [&] { return render_quota_report(*compiled, request.language()); });
    reply.headers["X-Loa-Feasible"] = compiled->feasible ? "true" : "false";
    return reply;
}

Result<Reply> apply(Request& request) {
    auto q = plan_query(request);
    if (!q) {
        return std::unexpected(q.error());
    }
    const auto& who = request.who();
    Change change(request, "plan.apply", q->name, who.area);
    if (auto ok = change.allowed(Permission::schedule); !ok) {
        return std::unexpected(ok.error());
    }
    const bool accept = request.query("accept_shortfall") == "true";
    // Every area the plan changes must lie in the person's scope; the log files it there.
    std::vector<std::string> touched;
    auto may_touch = [&](std::string_view area) -> Result<void> {
        touched.emplace_back(area);
        return authorize(who, Permission::schedule, area);
    };
    // The items' media must be this person's to put on the air, as for POST /campaigns.
    auto may_use = [&](const std::string& hash) -> Result<void> {
        auto problem = media_scope_problem(request.db(), hash, who.name, who.area);
        if (!problem) {
            return std::unexpected(problem.error());
        }
        if (!problem->empty()) {
            return fail(Error::Code::forbidden, *problem);
        }
        return {};
    };
    UploadedPlan plan(request);
    const nlohmann::json what = {{"from", date_text(q->from)}, {"days", q->days}};
    // Compiled on a snapshot (it may take long); applied, with its log row, in one short change
    // that first checks nothing it read has moved.
    auto applied = compute_then_commit(
        request.store(),
        [&](SQLite::Database& snapshot) {
            touched.clear();
            return prepare_plan(snapshot, plan.path(), q->from, q->days, request.now(), accept, {},
                                may_touch, may_use);
        },
        [&](WriteTx& tx, PreparedPlan& prepared) -> Result<PlanApplication> {
            change.set_area(scope_of(touched));
            auto result = commit_plan(tx, prepared);
            if (result && result->applied) {
                nlohmann::json detail = what;
                detail["plan_id"] = result->plan_id;
                detail["slots_booked"] = result->slots_booked;
                detail["slots_replaced"] = result->slots_replaced;
                detail["feasible"] = result->compiled.feasible;
                change.done(tx, detail);
            }
            return result;
        });
    change.set_area(scope_of(touched));
    if (!applied) {
        Error error = applied.error();
        error.message = as_named(error.message, plan.path(), q->name);
        return change.refused(error, what);
    }
    if (!applied->applied) {
        change.refused(
            {Error::Code::invalid_input, "some quotas cannot be met (accept_shortfall not given)"},
            what);
    }
    auto out = quota_report_json(applied->compiled);
    out["applied"] = applied->applied;
    out["plan_id"] = applied->plan_id;
    out["slots_booked"] = applied->slots_booked;
    out["slots_replaced"] = applied->slots_replaced;
    out["nodes_registered"] = applied->nodes_registered;
    out["notes"] = applied->notes;
    const bool vi = request.language() == Language::vi;
    Reply reply = listing(request, out, [&] {
        std::string text = render_quota_report(applied->compiled, request.language()) + "\n";
        if (applied->applied) {
            text += fmt::format(
                fmt::runtime(vi ? "Đã áp dụng kế hoạch #{}: {} lượt phát được xếp, {} lượt của "
                                  "kế hoạch trước được thu hồi, {} nút mới đăng ký.\n"
                                : "Plan #{} applied: {} plays booked, {} plays of the previous "
                                  "plan taken back, {} new nodes registered.\n"),
                applied->plan_id, applied->slots_booked, applied->slots_replaced,
                applied->nodes_registered);
        } else {
            text += vi ? "Kế hoạch KHÔNG được áp dụng: có chỉ tiêu không đáp ứng được (dùng "
                         "--accept-shortfall để vẫn áp dụng).\n"
                       : "The plan was NOT applied: some quotas cannot be met "
                         "(--accept-shortfall applies it anyway).\n";
        }
        for (const auto& note : applied->notes) {
            text += note + "\n";
        }
        return text;
    });
    // 409: not applied, the quota report says why; 201: applied.
    reply.status = applied->applied ? 201 : 409;
    reply.headers["X-Loa-Feasible"] = applied->compiled.feasible ? "true" : "false";
    return reply;
}

/// Pause or resume: a change by someone who may schedule in every area of the campaign.
Result<Reply> pause_or_resume(Request& request, bool pause) {
    const std::string& id = request.path("campaign_id");
    auto campaign = find_campaign(request.db(), id);
    if (!campaign) {
        return std::unexpected(campaign.error());
    }
    Change change(request, pause ? "campaign.pause" : "campaign.resume", id,
                  scope_of(campaign->areas));
    for (const auto& area : campaign->areas) {
        if (auto ok = change.allowed(Permission::schedule, area); !ok) {
            return std::unexpected(ok.error());
        }
    }
    const bool vi = request.language() == Language::vi;
    if (pause) {
        auto paused = change.commit(
            [&](WriteTx& tx) { return pause_campaign(tx, id, request.who().name, request.now()); },
            [](const PauseResult& p) {
                return nlohmann::json{{"plays_taken_back", p.plays_taken_back}};
            });
        if (!paused) {
            return change.refused(paused.error());
        }
        return listing(
            request,
            {{"campaign", id}, {"paused", true}, {"plays_taken_back", paused->plays_taken_back}},
            [&] {
                return fmt::format(
                    fmt::runtime(vi ? "Đã tạm dừng chiến dịch {}: thu hồi {} lượt phát "
                                      "chưa bắt đầu.\n"
                                    : "Campaign {} paused: {} plays not yet started "
                                      "taken back.\n"),
                    id, paused->plays_taken_back);
            });
    }
    auto resumed = change.compute_and_commit(
        [&](SQLite::Database& snapshot) { return plan_resume(snapshot, id, request.now()); },
        [](WriteTx& tx, ResumePlan& plan) { return commit_resume(tx, plan); },
        [](const ResumeResult& r) {
            return nlohmann::json{{"plays_booked", r.plays_booked}, {"needs_plan", r.needs_plan}};
        });
    if (!resumed) {
        return change.refused(resumed.error());
    }
    return listing(request,
                   {{"campaign", id},
                    {"paused", false},
                    {"plays_booked", resumed->plays_booked},
                    {"needs_plan", resumed->needs_plan}},
                   [&] {
                       std::string text = fmt::format(
                           fmt::runtime(vi ? "Đã tiếp tục chiến dịch {}: {} lượt phát được xếp "
                                             "lại.\n"
                                           : "Campaign {} resumed: {} plays booked again.\n"),
                           id, resumed->plays_booked);
                       if (resumed->needs_plan) {
                           text += vi ? "Chiến dịch thuộc kế hoạch: áp dụng lại kế hoạch để xếp "
                                        "lịch phát.\n"
                                      : "The campaign comes from a plan: apply the plan again to "
                                        "book its plays.\n";
                       }
                       return text;
                   });
}

Result<Reply> pause(Request& request) {
    return pause_or_resume(request, true);
}

Result<Reply> resume(Request& request) {
    return pause_or_resume(request, false);
}

}  // namespace

std::vector<Route> campaign_routes() {
    return {
        {"GET", "/api/v1/campaigns", false, "Campaigns that play in your area scope", list},
        {"POST", "/api/v1/campaigns", false, "Define a campaign and book its plays", create},
        {"GET", "/api/v1/campaigns/{campaign_id}", false, "One campaign", show},
        {"POST", "/api/v1/campaigns/{campaign_id}/pause", false,
         "Pause a campaign: its plays not yet started are taken back", pause},
        {"POST", "/api/v1/campaigns/{campaign_id}/resume", false,
         "Resume a paused campaign: its plays are booked again", resume},
        {"POST", "/api/v1/plans/check", false,
         "Check whether every quota of a plan (TOML body) can be met; changes nothing", check,
         BodyKind::file, kMaxPlanFileBytes},
        {"POST", "/api/v1/plans", false,
         "Apply a plan (TOML body): register its nodes, store its campaigns, book their plays; "
         "accept_shortfall=true accepts unmet quotas",
         apply, BodyKind::file, kMaxPlanFileBytes},
    };
}

}  // namespace loa::controller::api
