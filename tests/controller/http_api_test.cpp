// The HTTP API over real loopback HTTP: sign-in and tokens, refusals as JSON, and the routes of
// areas, nodes, campaigns, plans, schedules, reports and metrics for each role.
#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "api_fixture.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/people/action_log.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

TEST_CASE("API: signing in gives a token that stands for the person, wrong passwords do not",
          "[api]") {
    ApiFixture api;
    auto in = api.post("/api/v1/login", "",
                       {{"name", "operator"}, {"password", "mật-khẩu-operator"}, {"label", "cli"}});
    REQUIRE(in.status == 201);
    const auto token = in.json().at("token").get<std::string>();
    CHECK(token.rfind("loa_", 0) == 0);
    CHECK(in.json().at("role") == "operator");
    CHECK(in.json().at("area") == ApiFixture::kCommune);

    auto me = api.get("/api/v1/whoami", token);
    REQUIRE(me.status == 200);
    CHECK(me.json().at("user") == "operator");
    CHECK(me.json().at("role") == "operator");

    auto wrong = api.post("/api/v1/login", "", {{"name", "operator"}, {"password", "sai"}});
    CHECK(wrong.status == 403);
    CHECK_FALSE(wrong.error().empty());
    auto refusals = api.logged("access.refused");
    REQUIRE(refusals.size() == 1);
    CHECK(refusals[0].actor == "operator");

    auto missing = api.post("/api/v1/login", "", {{"name", "operator"}});
    CHECK(missing.status == 400);
    CHECK(missing.error().find("password") != std::string::npos);
    auto broken = api.post_raw("/api/v1/login", "", "{\"name\": ", "application/json");
    CHECK(broken.status == 400);
    CHECK(broken.error().find("JSON") != std::string::npos);
    CHECK(api.logged("token.issue").size() == 1);  // only the good sign-in issued a token
}

TEST_CASE("API: no token, an unknown token and a revoked token are refused with 401, logged",
          "[api]") {
    ApiFixture api;
    auto none = api.get("/api/v1/nodes", "");
    CHECK(none.status == 401);
    CHECK(none.json().at("error").at("code") == "unauthenticated");
    CHECK(none.error().find("Authorization: Bearer") != std::string::npos);
    CHECK_FALSE(none.json().at("error").at("request_id").get<std::string>().empty());

    auto unknown = api.get("/api/v1/nodes", "loa_" + std::string(64, '0'));
    CHECK(unknown.status == 401);

    auto who = lc::authenticate_token(*api.db, api.tokens["auditor"], lc::now_us());
    REQUIRE(who.has_value());
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::revoke_token(tx, who->token_id, lc::now_us());
            }).has_value());
    auto revoked = api.get("/api/v1/nodes", "auditor");
    CHECK(revoked.status == 401);

    auto refusals = api.logged("access.refused");
    REQUIRE(refusals.size() == 3);
    CHECK(refusals[0].actor == "unknown");
    CHECK(refusals[2].actor == "auditor");  // whose revoked token it was
    CHECK(refusals[2].detail.at("request") == "GET /api/v1/nodes");
}

TEST_CASE("API: an unknown endpoint is 404 with a JSON error, metrics need a token unless open",
          "[api]") {
    ApiFixture api;
    auto nowhere = api.get("/api/v1/nowhere", "admin");
    CHECK(nowhere.status == 404);
    CHECK(nowhere.error().find("/api/v1/nowhere") != std::string::npos);

    api.node("ta-van-01", ApiFixture::kCommune);
    CHECK(api.get("/metrics", "").status == 401);
    auto metrics = api.get("/metrics", "auditor");
    REQUIRE(metrics.status == 200);
    CHECK(metrics.content_type.find("text/plain") == 0);
    CHECK(metrics.body.find("# TYPE loa_nodes gauge\nloa_nodes 1\n") != std::string::npos);
    CHECK(metrics.body.find("loa_nodes_online 0\n") != std::string::npos);
    CHECK(metrics.body.find("loa_area_online_share{area=\"vn/lao-cai/sa-pa/ta-van\"} 0\n") !=
          std::string::npos);
    CHECK(metrics.body.find("loa_emergencies_in_flight 0\n") != std::string::npos);
}

TEST_CASE("API: nodes are registered by whoever manages nodes there, and seen within scope",
          "[api]") {
    ApiFixture api;
    const nlohmann::json node = {
        {"node", "ta-van-01"}, {"kind", "speaker"}, {"area", ApiFixture::kCommune}};
    auto by_approver = api.post("/api/v1/nodes", "approver", node);
    CHECK(by_approver.status == 403);
    auto by_other = api.post("/api/v1/nodes", "other-operator", node);
    CHECK(by_other.status == 403);
    CHECK(by_other.error().find("outside its scope") != std::string::npos);
    CHECK(api.count("nodes") == 0);

    auto added = api.post("/api/v1/nodes", "operator", node);
    REQUIRE(added.status == 201);
    CHECK(added.json().at("node") == "ta-van-01");
    auto again = api.post("/api/v1/nodes", "operator", node);
    CHECK(again.status == 409);
    auto bad = api.post("/api/v1/nodes", "admin",
                        {{"node", "x"}, {"kind", "trumpet"}, {"area", ApiFixture::kCommune}});
    CHECK(bad.status == 400);

    auto mine = api.get("/api/v1/nodes", "auditor");
    REQUIRE(mine.status == 200);
    REQUIRE(mine.json().size() == 1);
    CHECK(mine.json()[0].at("node") == "ta-van-01");
    CHECK(api.get("/api/v1/nodes", "other-operator").json().empty());
    CHECK(api.get("/api/v1/nodes?area=vn/ha-noi", "operator").status == 403);

    auto table = api.get("/api/v1/nodes?format=table", "admin");
    CHECK(table.content_type.find("text/plain") == 0);
    CHECK(table.body.find("ta-van-01") != std::string::npos);

    auto status = api.get("/api/v1/nodes/ta-van-01", "approver");
    REQUIRE(status.status == 200);
    CHECK(status.json().at("node") == "ta-van-01");
    CHECK(api.get("/api/v1/nodes/ta-van-01", "other-operator").status == 403);
    CHECK(api.get("/api/v1/nodes/nowhere-01", "admin").status == 404);

    auto areas = api.get("/api/v1/areas", "auditor");
    REQUIRE(areas.status == 200);
    REQUIRE(areas.json().size() == 4);  // vn, vn/lao-cai, vn/lao-cai/sa-pa, the commune
    CHECK(areas.json()[3].at("area") == ApiFixture::kCommune);
    CHECK(areas.json()[3].at("level") == 4);
    CHECK(areas.json()[3].at("nodes") == 1);
    CHECK(areas.json()[3].at("online") == 0);

    auto log = api.logged("node.add");
    REQUIRE(log.size() == 5);  // 2 refused for role/scope, 1 done, 1 conflict, 1 invalid
    CHECK(log[2].outcome == lc::Outcome::done);
    CHECK(log[2].actor == "operator");
    CHECK(log[0].outcome == lc::Outcome::refused);
}

TEST_CASE("API: campaigns are booked by operators in their scope and listed by scope", "[api]") {
    ApiFixture api;
    api.node("ta-van-01", ApiFixture::kCommune);
    api.node("ban-ho-01", ApiFixture::kOtherCommune);
    const std::string media = api.tone(2.0);
    const nlohmann::json campaign = {{"campaign", "phong-chong-lu"},
                                     {"name", "Phòng chống lũ quét"},
                                     {"owner", "UBND xã Tả Van"},
                                     {"items", {media}},
                                     {"areas", {ApiFixture::kCommune}},
                                     {"start", "now+1m"},
                                     {"end", "now+2h"}};
    CHECK(api.post("/api/v1/campaigns", "auditor", campaign).status == 403);
    CHECK(api.post("/api/v1/campaigns", "other-operator", campaign).status == 403);
    auto no_items = campaign;
    no_items.erase("items");
    CHECK(api.post("/api/v1/campaigns", "operator", no_items).status == 400);
    CHECK(api.count("campaigns") == 0);

    auto booked = api.post("/api/v1/campaigns", "operator", campaign);
    REQUIRE(booked.status == 201);
    CHECK(booked.json().at("nodes_targeted") == 1);
    CHECK(booked.json().at("slots_booked").get<int>() > 0);

    auto listed = api.get("/api/v1/campaigns", "auditor");
    REQUIRE(listed.json().size() == 1);
    CHECK(listed.json()[0].at("name") == "Phòng chống lũ quét");
    CHECK(api.get("/api/v1/campaigns", "other-operator").json().empty());
    CHECK(api.get("/api/v1/campaigns/phong-chong-lu", "other-operator").status == 403);
    CHECK(api.get("/api/v1/campaigns/phong-chong-lu", "approver").status == 200);
    CHECK(api.get("/api/v1/campaigns/nothing", "admin").status == 404);

    auto day = api.get("/api/v1/schedules?node=ta-van-01&days=2", "auditor");
    REQUIRE(day.status == 200);
    CHECK(day.json().size() == booked.json().at("slots_booked").get<std::size_t>());
    CHECK(day.json()[0].at("outcome") == "booked");
    CHECK(api.get("/api/v1/schedules?area=vn/lao-cai&days=2", "auditor").json().size() ==
          day.json().size());
    CHECK(api.get("/api/v1/schedules?node=ta-van-01", "other-operator").status == 403);
    CHECK(api.get("/api/v1/schedules", "admin").status == 400);
    CHECK(api.get("/api/v1/schedules?area=vn&days=40", "admin").status == 400);

    auto report = api.get("/api/v1/reports/airtime?campaign=phong-chong-lu&from=now-1h&to=now%2B3h",
                          "auditor");
    REQUIRE(report.status == 200);
    CHECK(report.json().at("total").at("planned_plays") == booked.json().at("slots_booked"));
    CHECK(api.get("/api/v1/reports/airtime?campaign=phong-chong-lu&from=now-1h&to=now%2B3h",
                  "other-operator")
              .status == 403);
    CHECK(
        api.get("/api/v1/reports/airtime?campaign=phong-chong-lu&from=yesterday&to=now", "auditor")
            .status == 400);
}

TEST_CASE("API: a plan is checked without changing anything and applied only by schedulers",
          "[api]") {
    ApiFixture api;
    const std::string media = api.tone(2.0);
    const std::string today = lc::date_text(lc::vietnam_date(lc::now_us()));
    const std::string plan = fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "ca-ngay"
  start = "00:00"
  end = "23:59"

[[areas]]
path = "vn/lao-cai"
name = "Lào Cai"

[[areas]]
path = "vn/lao-cai/sa-pa"
name = "Sa Pa"

[[areas]]
path = "vn/lao-cai/sa-pa/ta-van"
name = "Tả Van"

[[nodes]]
id = "ta-van-01"
area = "vn/lao-cai/sa-pa/ta-van"

[[items]]
id = "ban-tin"
title = "Tiêm chủng mở rộng"
duration = "2s"
media = "{}"

[[campaigns]]
id = "tiem-chung"
title = "Tiêm chủng mở rộng"
areas = ["vn/lao-cai/sa-pa/ta-van"]
items = ["ban-tin"]
from = {}
until = {}
  [campaigns.quotas]
  plays_per_day = 2
)",
                                         media, today, today);
    auto checked = api.post_raw("/api/v1/plans/check?days=2&name=tiem-chung.toml", "auditor", plan,
                                "application/toml");
    INFO(checked.body);
    REQUIRE(checked.status == 200);
    CHECK(checked.json().contains("feasible"));
    CHECK(api.count("campaigns") == 0);

    auto broken = api.post_raw("/api/v1/plans/check?name=hong.toml", "auditor",
                               "[[node]\nid=", "application/toml");
    CHECK(broken.status == 400);
    CHECK(broken.error().find("hong.toml") != std::string::npos);  // named as the operator did

    CHECK(api.post_raw("/api/v1/plans?days=2", "auditor", plan, "application/toml").status == 403);
    CHECK(api.post_raw("/api/v1/plans?days=2", "other-operator", plan, "application/toml").status ==
          403);
    CHECK(api.count("campaigns") == 0);
    auto applied = api.post_raw("/api/v1/plans?days=2&name=tiem-chung.toml&accept_shortfall=true",
                                "operator", plan, "application/toml");
    INFO(applied.body);
    REQUIRE(applied.status == 201);
    CHECK(applied.json().at("applied") == true);
    CHECK(applied.json().at("slots_booked").get<int>() > 0);
    CHECK(api.count("campaigns") == 1);
    auto log = api.logged("plan.apply");
    REQUIRE(log.size() == 3);
    CHECK(log[2].outcome == lc::Outcome::done);
    CHECK(log[2].target == "tiem-chung.toml");
}

TEST_CASE("API: a campaign paused takes back its plays not yet started, resumed, books them again",
          "[api]") {
    ApiFixture api;
    api.node("ta-van-01", ApiFixture::kCommune);
    const std::string media = api.tone(2.0);
    auto booked = api.post("/api/v1/campaigns", "operator",
                           {{"campaign", "ve-sinh"},
                            {"name", "Vệ sinh môi trường"},
                            {"items", {media}},
                            {"areas", {ApiFixture::kCommune}},
                            {"start", "now+1m"},
                            {"end", "now+1h"}});
    REQUIRE(booked.status == 201);
    const auto plays = booked.json().at("slots_booked").get<std::int64_t>();
    REQUIRE(plays > 0);
    REQUIRE(api.count("slots") == plays);

    CHECK(api.post("/api/v1/campaigns/ve-sinh/pause", "auditor", {}).status == 403);
    CHECK(api.post("/api/v1/campaigns/ve-sinh/pause", "approver", {}).status == 403);
    CHECK(api.post("/api/v1/campaigns/ve-sinh/pause", "other-operator", {}).status == 403);
    CHECK(api.post("/api/v1/campaigns/khong-co/pause", "operator", {}).status == 404);
    CHECK(api.count("slots") == plays);  // refusals change nothing

    auto paused = api.post("/api/v1/campaigns/ve-sinh/pause", "operator", {});
    REQUIRE(paused.status == 200);
    CHECK(paused.json().at("plays_taken_back") == plays);
    CHECK(api.count("slots") == 0);
    CHECK_FALSE(api.get("/api/v1/campaigns/ve-sinh", "auditor")
                    .json()
                    .at("paused")
                    .get<std::string>()
                    .empty());
    CHECK(api.post("/api/v1/campaigns/ve-sinh/pause", "operator", {}).status == 409);

    // Booking other work on the node does not bring the paused campaign back.
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::book_node(tx, "ta-van-01", lc::now_us());
            }).has_value());
    CHECK(api.count("slots") == 0);

    auto resumed =
        api.post("/api/v1/campaigns/ve-sinh/resume?format=table&lang=en", "operator", {});
    REQUIRE(resumed.status == 200);
    CHECK(resumed.body.find("Campaign ve-sinh resumed") == 0);
    CHECK(api.count("slots") > 0);
    CHECK(api.get("/api/v1/campaigns/ve-sinh", "auditor").json().at("paused") == "");
    CHECK(api.post("/api/v1/campaigns/ve-sinh/resume", "operator", {}).status == 409);

    auto pauses = api.logged("campaign.pause");
    REQUIRE(pauses.size() == 5);
    CHECK(pauses[3].outcome == lc::Outcome::done);
    CHECK(pauses[3].detail.at("plays_taken_back") == plays);
    CHECK(pauses[4].outcome == lc::Outcome::refused);
    REQUIRE(api.logged("campaign.resume").size() == 2);
}
