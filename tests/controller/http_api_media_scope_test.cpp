// Media scope over the HTTP API, as an attacker in another commune would try it: the same bytes
// imported twice give each commune its own record and approval, nobody loses control of their
// own file, media airs only where an approved record covers, and sharing is explicit.
#include <catch2/catch.hpp>

#include <fmt/core.h>

#include "api_fixture.hpp"
#include "loa/controller/people/action_log.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr const char* kProvince = "vn/lao-cai";

/// Tả Van (commune A) and Bản Hồ (commune B) with a loudspeaker each, their approvers, and the
/// province's operator and approver; one bulletin's bytes to import.
struct ScopeFixture : ApiFixture {
    std::string bytes;

    ScopeFixture() {
        person("other-approver", lc::Role::approver, kOtherCommune);
        person("province-operator", lc::Role::operator_, kProvince);
        person("province-approver", lc::Role::approver, kProvince);
        node("ta-van-01", kCommune);
        node("ban-ho-01", kOtherCommune);
        const auto file = dir / "ban-tin.wav";
        make_tone(file, 2.0, 22050, 550.0);
        bytes = read_file(file);
    }

    /// `who` uploads the bulletin; the answer.
    Answer upload(const std::string& who, const std::string& title = "Bản tin") {
        return post_raw("/api/v1/media?name=ban-tin.wav&title=" + title, who, bytes, "audio/wav");
    }

    /// A campaign of the bulletin in `area`, booked by `who`.
    Answer book(const std::string& who, const std::string& id, const std::string& hash,
                const std::string& area) {
        return post("/api/v1/campaigns", who,
                    {{"campaign", id},
                     {"name", "Phòng chống thiên tai"},
                     {"items", {hash}},
                     {"areas", {area}},
                     {"start", "now+1m"},
                     {"end", "now+2h"}});
    }

    /// The record of `hash` in `area` as `who` is shown it (null when not shown).
    nlohmann::json record(const std::string& hash, const std::string& area,
                          const std::string& who = "admin") {
        auto shown = get("/api/v1/media/" + hash, who);
        REQUIRE(shown.status == 200);
        const auto body = shown.json();  // kept: a range over a temporary's member dangles
        for (const auto& r : body.at("records")) {
            if (r.at("area") == area) {
                return r;
            }
        }
        return nullptr;
    }

    std::int64_t slots_on(const std::string& node_id) {
        SQLite::Statement q(*db, "SELECT count(*) FROM slots WHERE node_id = ?");
        q.bind(1, node_id);
        q.executeStep();
        return q.getColumn(0).getInt64();
    }
};

}  // namespace

TEST_CASE(
    "API media scope: another commune importing the same bytes gets its own pending record "
    "and the first commune keeps its own",
    "[api][media][scope]") {
    ScopeFixture api;
    auto first = api.upload("operator", "B%E1%BA%A3n%20tin%20T%E1%BA%A3%20Van");
    REQUIRE(first.status == 201);
    const std::string hash = first.json().at("media_hash");
    REQUIRE(
        api.post("/api/v1/media/" + hash + "/approve", "approver", {{"note", "đã nghe"}}).status ==
        200);

    // Commune B brings the same bytes: a record of its own, pending, in its own area.
    auto second = api.upload("other-operator", "Tin%20B%E1%BA%A3n%20H%E1%BB%93");
    INFO(second.body);
    REQUIRE(second.status == 201);
    CHECK(second.json().at("media_hash") == hash);
    CHECK(second.json().at("already_present") == false);
    CHECK(second.json().at("area") == ApiFixture::kOtherCommune);
    CHECK(second.json().at("approval") == "pending");
    CHECK(second.json().at("title") == "Tin Bản Hồ");
    // Again in B: its record is found.
    auto again = api.upload("other-operator");
    REQUIRE(again.status == 200);
    CHECK(again.json().at("already_present") == true);
    CHECK(again.json().at("area") == ApiFixture::kOtherCommune);

    // A's record: area, approval and title untouched; A's people still see it as theirs.
    auto mine = api.get("/api/v1/media/" + hash, "operator");
    REQUIRE(mine.status == 200);
    CHECK(mine.json().at("area") == ApiFixture::kCommune);
    CHECK(mine.json().at("approval") == "approved");
    CHECK(mine.json().at("title") == "Bản tin Tả Van");
    REQUIRE(mine.json().at("records").size() == 1);  // B's record is not A's to see
    auto theirs = api.get("/api/v1/media/" + hash, "other-operator");
    REQUIRE(theirs.status == 200);
    CHECK(theirs.json().at("area") == ApiFixture::kOtherCommune);
    CHECK(theirs.json().at("approval") == "pending");
    REQUIRE(theirs.json().at("records").size() == 1);
    CHECK(theirs.json().at("approvals").empty());  // A's decision is A's
    auto listed = api.get("/api/v1/media", "other-operator");
    REQUIRE(listed.json().size() == 1);
    CHECK(listed.json()[0].at("area") == ApiFixture::kOtherCommune);
    CHECK(api.get("/api/v1/media", "auditor").json().size() == 2);  // the province sees both

    // A's approver still decides on A's file: rejected, then approved again.
    auto rejected = api.post("/api/v1/media/" + hash + "/reject", "approver", {{"note", "lỗi"}});
    INFO(rejected.body);
    REQUIRE(rejected.status == 200);
    CHECK(rejected.json().at("area") == ApiFixture::kCommune);
    CHECK(api.record(hash, ApiFixture::kCommune).at("approval") == "rejected");
    CHECK(api.record(hash, ApiFixture::kOtherCommune).at("approval") == "pending");
    REQUIRE(api.post("/api/v1/media/" + hash + "/approve", "approver", nlohmann::json::object())
                .status == 200);
    // B's approver decides on B's record only.
    CHECK(api.post("/api/v1/media/" + hash + "/approve?area=" + std::string(ApiFixture::kCommune),
                   "other-approver", nlohmann::json::object())
              .status == 403);
    CHECK(api.record(hash, ApiFixture::kOtherCommune).at("approval") == "pending");
    auto imports = api.logged("media.import");
    REQUIRE(imports.size() == 3);
    CHECK(imports[1].area == ApiFixture::kOtherCommune);
}

TEST_CASE("API media scope: a commune cannot air media on another commune's approval",
          "[api][media][scope]") {
    ScopeFixture api;
    const std::string hash = api.upload("operator").json().at("media_hash");
    REQUIRE(api.post("/api/v1/media/" + hash + "/approve", "approver", nlohmann::json::object())
                .status == 200);
    REQUIRE(api.upload("other-operator").status == 201);

    // B's record is pending: A's approval does not let B book it, apply it or send it.
    auto booked = api.book("other-operator", "xam-nhap", hash, ApiFixture::kOtherCommune);
    INFO(booked.body);
    CHECK(booked.status == 403);
    CHECK(booked.error().find("not approved") != std::string::npos);
    CHECK(booked.error().find(ApiFixture::kOtherCommune) != std::string::npos);
    auto emergency = api.post("/api/v1/emergencies", "other-operator",
                              {{"media", hash}, {"nodes", {"ban-ho-01"}}, {"expires", "now+30m"}});
    CHECK(emergency.status == 403);
    CHECK(emergency.error().find("not approved") != std::string::npos);
    CHECK(api.count("campaigns") == 0);
    CHECK(api.count("emergencies") == 0);
    CHECK(api.count("slots") == 0);

    // B's approver approves B's record: now B books it, in B only.
    auto approved =
        api.post("/api/v1/media/" + hash + "/approve", "other-approver", nlohmann::json::object());
    INFO(approved.body);
    REQUIRE(approved.status == 200);
    CHECK(approved.json().at("area") == ApiFixture::kOtherCommune);
    CHECK(approved.json().at("previous") == "pending");
    auto ours = api.book("other-operator", "cua-ban-ho", hash, ApiFixture::kOtherCommune);
    INFO(ours.body);
    REQUIRE(ours.status == 201);
    CHECK(ours.json().at("nodes_targeted") == 1);
    CHECK(api.slots_on("ban-ho-01") > 0);
    CHECK(api.slots_on("ta-van-01") == 0);
}

TEST_CASE("API media scope: a provincial campaign needs a provincial record, made by sharing",
          "[api][media][scope]") {
    ScopeFixture api;
    const std::string hash = api.upload("operator").json().at("media_hash");
    REQUIRE(api.post("/api/v1/media/" + hash + "/approve", "approver", nlohmann::json::object())
                .status == 200);

    // The province sees Tả Van's file, but Tả Van's approval covers Tả Van only.
    auto provincial = api.book("province-operator", "toan-tinh", hash, kProvince);
    INFO(provincial.body);
    CHECK(provincial.status == 403);
    CHECK(provincial.error().find("not approved") != std::string::npos);
    CHECK(provincial.error().find("loactl media share") != std::string::npos);
    CHECK(api.count("campaigns") == 0);

    // Shared with the province: a pending record of its own.
    const std::string shares = "/api/v1/media/" + hash + "/shares";
    auto shared = api.post(shares, "province-operator", {{"area", kProvince}});
    INFO(shared.body);
    REQUIRE(shared.status == 201);
    CHECK(shared.json().at("area") == kProvince);
    CHECK(shared.json().at("approval") == "pending");
    CHECK(shared.json().at("via") == "share");
    CHECK(shared.json().at("added_by") == "province-operator");
    CHECK(api.post(shares, "province-operator", {{"area", kProvince}}).status == 409);

    // The provincial approver sees two records in scope: which one must be said.
    const std::string approve = "/api/v1/media/" + hash + "/approve";
    auto ambiguous = api.post(approve, "province-approver", nlohmann::json::object());
    INFO(ambiguous.body);
    CHECK(ambiguous.status == 400);
    CHECK(ambiguous.error().find(kProvince) != std::string::npos);
    CHECK(ambiguous.error().find(ApiFixture::kCommune) != std::string::npos);
    CHECK(ambiguous.error().find("area") != std::string::npos);
    CHECK(api.count("approvals") == 1);
    auto named = api.post(approve + "?area=" + std::string(kProvince), "province-approver",
                          nlohmann::json::object());
    INFO(named.body);
    REQUIRE(named.status == 200);
    CHECK(named.json().at("area") == kProvince);
    // …or in the body.
    auto in_body = api.post("/api/v1/media/" + hash + "/reject", "province-approver",
                            {{"area", ApiFixture::kCommune}, {"note", "thử"}});
    REQUIRE(in_body.status == 200);
    CHECK(in_body.json().at("area") == ApiFixture::kCommune);
    REQUIRE(api.post(approve, "approver", nlohmann::json::object()).status == 200);

    auto booked = api.book("province-operator", "toan-tinh", hash, kProvince);
    INFO(booked.body);
    REQUIRE(booked.status == 201);
    CHECK(booked.json().at("nodes_targeted") == 2);
    auto history = api.get("/api/v1/media/" + hash + "/approvals", "auditor").json();
    REQUIRE(history.size() == 4);
    CHECK(history[1].at("area") == kProvince);
    auto listed = api.get("/api/v1/media/" + hash + "/approvals", "operator").json();
    CHECK(listed.size() == 4);  // the province's record lies above Tả Van: seen there too
    CHECK(api.logged("media.share").size() == 2);
}

TEST_CASE("API media scope: a share needs the right to import there and the media in sight",
          "[api][media][scope]") {
    ScopeFixture api;
    const std::string hash = api.upload("operator").json().at("media_hash");
    const std::string shares = "/api/v1/media/" + hash + "/shares";

    // Not into B by A's operator; not by B's operator, who does not see A's file; not by an
    // approver or an auditor, who do not import.
    auto into_b = api.post(shares, "operator", {{"area", ApiFixture::kOtherCommune}});
    CHECK(into_b.status == 403);
    CHECK(into_b.error().find("import media") != std::string::npos);
    auto unseen = api.post(shares, "other-operator", {{"area", ApiFixture::kOtherCommune}});
    CHECK(unseen.status == 403);
    CHECK(api.post(shares, "province-approver", {{"area", kProvince}}).status == 403);
    CHECK(api.post(shares, "auditor", {{"area", kProvince}}).status == 403);
    CHECK(api.post(shares, "", {{"area", kProvince}}).status == 401);
    // Bad requests.
    CHECK(api.post(shares, "admin", nlohmann::json::object()).status == 400);
    auto bad_area = api.post(shares, "admin", {{"area", "Lào Cai"}});
    CHECK(bad_area.status == 400);
    CHECK(bad_area.error().find("Lào Cai") != std::string::npos);
    CHECK(api.post("/api/v1/media/" + std::string(64, 'e') + "/shares", "admin",
                   {{"area", kProvince}})
              .status == 404);
    // Its own area has it already.
    CHECK(api.post(shares, "operator", {{"area", ApiFixture::kCommune}}).status == 409);
    CHECK(api.get("/api/v1/media/" + hash, "admin").json().at("records").size() == 1);

    // The admin shares it with B: B's pending record, for B's approver to decide on.
    auto shared = api.post(shares, "admin", {{"area", ApiFixture::kOtherCommune}});
    INFO(shared.body);
    REQUIRE(shared.status == 201);
    CHECK(shared.json().at("approval") == "pending");
    CHECK(shared.json().at("title") == "Bản tin");
    auto seen = api.get("/api/v1/media/" + hash, "other-operator");
    REQUIRE(seen.status == 200);
    CHECK(seen.json().at("area") == ApiFixture::kOtherCommune);
    CHECK(api.post("/api/v1/media/" + hash + "/approve", "other-approver", nlohmann::json::object())
              .status == 200);
    CHECK(api.record(hash, ApiFixture::kCommune).at("approval") == "pending");

    auto log = api.logged("media.share");
    CHECK(std::count_if(log.begin(), log.end(),
                        [](const auto& row) { return row.outcome == lc::Outcome::done; }) == 1);
    CHECK(log.back().area == ApiFixture::kOtherCommune);
    CHECK(std::count_if(log.begin(), log.end(),
                        [](const auto& row) { return row.outcome == lc::Outcome::refused; }) >= 5);
}

TEST_CASE("API media scope: rejecting a record takes back only the plays it let air",
          "[api][media][scope]") {
    ScopeFixture api;
    const std::string hash = api.upload("operator").json().at("media_hash");
    REQUIRE(api.upload("other-operator").status == 201);
    REQUIRE(api.post("/api/v1/media/" + hash + "/approve", "approver", nlohmann::json::object())
                .status == 200);
    REQUIRE(
        api.post("/api/v1/media/" + hash + "/approve", "other-approver", nlohmann::json::object())
            .status == 200);
    REQUIRE(api.book("operator", "cua-ta-van", hash, ApiFixture::kCommune).status == 201);
    REQUIRE(api.book("other-operator", "cua-ban-ho", hash, ApiFixture::kOtherCommune).status ==
            201);
    const auto a_plays = api.slots_on("ta-van-01");
    const auto b_plays = api.slots_on("ban-ho-01");
    REQUIRE(a_plays > 0);
    REQUIRE(b_plays > 0);

    auto rejected = api.post("/api/v1/media/" + hash + "/reject", "approver", {{"note", "sai"}});
    INFO(rejected.body);
    REQUIRE(rejected.status == 200);
    CHECK(rejected.json().at("plays_taken_back") == a_plays);
    CHECK(api.slots_on("ta-van-01") == 0);
    CHECK(api.slots_on("ban-ho-01") == b_plays);
    CHECK(api.record(hash, ApiFixture::kOtherCommune).at("approval") == "approved");
}

TEST_CASE(
    "API plan apply: media outside the applier's scope or not approved there is refused "
    "with its line",
    "[api][media][scope]") {
    ScopeFixture api;
    const std::string hash = api.upload("operator").json().at("media_hash");
    REQUIRE(api.post("/api/v1/media/" + hash + "/approve", "approver", nlohmann::json::object())
                .status == 200);
    const std::string today = lc::date_text(lc::vietnam_date(lc::now_us()));
    const std::string plan = fmt::format(R"([[areas]]
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
path = "vn/lao-cai/sa-pa/ban-ho"
name = "Bản Hồ"

[[nodes]]
id = "ban-ho-01"
area = "vn/lao-cai/sa-pa/ban-ho"

[[items]]
id = "ban-tin"
title = "Bản tin"
duration = "2s"
media = "{}"

[[campaigns]]
id = "cua-ban-ho"
title = "Bản tin Bản Hồ"
areas = ["vn/lao-cai/sa-pa/ban-ho"]
items = ["ban-tin"]
from = {}
until = {}
  [campaigns.quotas]
  plays_per_day = 1
)",
                                         hash, today, today);
    const std::string item_line = "ke-hoach.toml:25:";  // [[items]] of "ban-tin"
    const std::string path = "/api/v1/plans?days=1&name=ke-hoach.toml&accept_shortfall=true";

    // B has no record of A's file: outside B's scope.
    auto outside = api.post_raw(path, "other-operator", plan, "application/toml");
    INFO(outside.body);
    CHECK(outside.status == 403);
    CHECK(outside.error().find(item_line) != std::string::npos);
    CHECK(outside.error().find("item 'ban-tin'") != std::string::npos);
    CHECK(outside.error().find("outside the scope of 'other-operator'") != std::string::npos);

    // B imports the same bytes: B's record is pending, and A's approval does not cover B.
    REQUIRE(api.upload("other-operator").status == 201);
    auto pending = api.post_raw(path, "other-operator", plan, "application/toml");
    INFO(pending.body);
    CHECK(pending.status == 403);
    CHECK(pending.error().find(item_line) != std::string::npos);
    CHECK(pending.error().find("not approved") != std::string::npos);
    CHECK(api.count("plans") == 0);
    CHECK(api.count("slots") == 0);
    auto log = api.logged("plan.apply");
    REQUIRE(log.size() == 2);
    CHECK(log[0].outcome == lc::Outcome::refused);

    // Approved by B's approver, it applies.
    REQUIRE(
        api.post("/api/v1/media/" + hash + "/approve", "other-approver", nlohmann::json::object())
            .status == 200);
    auto applied = api.post_raw(path, "other-operator", plan, "application/toml");
    INFO(applied.body);
    REQUIRE(applied.status == 201);
    CHECK(api.slots_on("ban-ho-01") > 0);
}
