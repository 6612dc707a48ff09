// The emergency routes of the HTTP API over real loopback HTTP, for every role and for no token:
// sent and cancelled only by those who may, to nodes in their scope; listed and shown node by
// node within scope; refusals change nothing and every change and refusal is in the action log.
#include <catch2/catch.hpp>

#include <fmt/core.h>

#include "api_fixture.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/people/action_log.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

std::size_t count(const std::vector<lc::LoggedAction>& log, lc::Outcome outcome,
                  const std::string& actor = {}) {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& row) {
        return row.outcome == outcome && (actor.empty() || row.actor == actor);
    }));
}

/// Two loudspeaker nodes, one per commune, and a bulletin approved for every area.
struct EmergencyFixture : ApiFixture {
    std::string media;

    EmergencyFixture() {
        node("ta-van-01", kCommune);
        node("ban-ho-01", kOtherCommune);
        media = tone(2.0);
    }

    /// An emergency to Tả Van's node, as its operator would send it.
    nlohmann::json to_ta_van() const {
        return {{"media", media},
                {"nodes", {"ta-van-01"}},
                {"repeat", 2},
                {"expires", "now+30m"},
                {"title", "Lũ quét"}};
    }

    bool cancelled(const std::string& id) {
        SQLite::Statement q(*db, "SELECT cancelled_us FROM emergencies WHERE emergency_id = ?");
        q.bind(1, id);
        REQUIRE(q.executeStep());
        return !q.getColumn(0).isNull();
    }
};

}  // namespace

TEST_CASE("API emergencies: sent by operators and admins, to nodes in their scope only",
          "[api][emergency]") {
    EmergencyFixture api;
    const auto order = api.to_ta_van();
    CHECK(api.post("/api/v1/emergencies", "approver", order).status == 403);
    CHECK(api.post("/api/v1/emergencies", "auditor", order).status == 403);
    auto outside = api.post("/api/v1/emergencies", "other-operator", order);
    CHECK(outside.status == 403);
    CHECK(outside.error().find(ApiFixture::kCommune) != std::string::npos);
    CHECK(api.post("/api/v1/emergencies", "", order).status == 401);
    CHECK(api.count("emergencies") == 0);
    CHECK(api.count("commands") == 0);

    auto sent = api.post("/api/v1/emergencies", "operator", order);
    INFO(sent.body);
    REQUIRE(sent.status == 201);
    const std::string id = sent.json().at("emergency_id");
    CHECK(id.starts_with("kc-"));
    CHECK(sent.json().at("nodes") == nlohmann::json::array({"ta-van-01"}));
    CHECK(sent.json().at("command_ids").size() == 1);
    CHECK(api.count("emergencies") == 1);

    // --all is every area: only for the admin; a commune operator names its area.
    auto all = nlohmann::json{{"media", api.media}, {"all", true}};
    auto everywhere = api.post("/api/v1/emergencies", "operator", all);
    CHECK(everywhere.status == 403);
    CHECK(everywhere.error().find("every area") != std::string::npos);
    auto by_admin = api.post("/api/v1/emergencies?format=table&lang=en", "admin", all);
    REQUIRE(by_admin.status == 201);
    CHECK(by_admin.body.find("queued for 2 node(s) (ban-ho-01, ta-van-01)") != std::string::npos);
    auto area = nlohmann::json{{"media", api.media}, {"area", ApiFixture::kCommune}};
    CHECK(api.post("/api/v1/emergencies", "operator", area).status == 201);
    CHECK(api.post("/api/v1/emergencies", "other-operator", area).status == 403);
    CHECK(api.count("emergencies") == 3);
    CHECK(api.count("commands") == 4);

    // What cannot be sent: the reason, and nothing stored.
    auto bad = order;
    bad["repeat"] = -1;
    CHECK(api.post("/api/v1/emergencies", "operator", bad).status == 400);
    bad = order;
    bad["expires"] = "tomorrow";
    auto expiry = api.post("/api/v1/emergencies", "operator", bad);
    CHECK(expiry.status == 400);
    CHECK(expiry.error().find("expires: ") != std::string::npos);
    bad = order;
    bad["nodes"] = {"ta-van-01", "ke-la"};
    CHECK(api.post("/api/v1/emergencies", "operator", bad).error().find("no node 'ke-la'") !=
          std::string::npos);
    bad = order;
    bad.erase("media");
    CHECK(api.post("/api/v1/emergencies", "operator", bad).status == 400);
    bad = order;
    bad["nodes"] = "ta-van-01";
    CHECK(api.post("/api/v1/emergencies", "operator", bad).status == 400);
    // Media nobody approved stays off the air, emergencies included.
    auto pending_file = api.dir / "chua-duyet.wav";
    make_tone(pending_file, 2.0, 22050, 880.0);
    auto pending =
        api.post_raw("/api/v1/media?name=chua-duyet.wav", "operator", read_file(pending_file));
    REQUIRE(pending.status == 201);
    bad = order;
    bad["media"] = pending.json().at("media_hash");
    auto unapproved = api.post("/api/v1/emergencies", "operator", bad);
    CHECK(unapproved.status == 403);
    CHECK(unapproved.error().find("not approved") != std::string::npos);
    CHECK(api.count("emergencies") == 3);
    CHECK(api.count("commands") == 4);

    auto log = api.logged("emergency.send");
    CHECK(count(log, lc::Outcome::refused, "approver") == 1);
    CHECK(count(log, lc::Outcome::refused, "auditor") == 1);
    CHECK(count(log, lc::Outcome::refused, "other-operator") == 2);
    CHECK(count(log, lc::Outcome::done, "operator") == 2);
    CHECK(count(log, lc::Outcome::done, "admin") == 1);
    // --all, the expiry, the unknown node, the unapproved media; the body that does not parse
    // (repeat, nodes, media) is refused before anything is tried.
    CHECK(count(log, lc::Outcome::refused, "operator") == 4);
    auto first = std::find_if(log.begin(), log.end(),
                              [](const auto& row) { return row.outcome == lc::Outcome::done; });
    CHECK(first->target == id);
    CHECK(first->area == ApiFixture::kCommune);
    CHECK(first->detail.at("nodes") == nlohmann::json::array({"ta-van-01"}));
    CHECK(api.logged("access.refused").size() == 1);  // no token
}

TEST_CASE("API emergencies: listed within scope, and how each node answered", "[api][emergency]") {
    EmergencyFixture api;
    auto everywhere =
        api.post("/api/v1/emergencies", "admin", {{"media", api.media}, {"all", true}});
    REQUIRE(everywhere.status == 201);
    const std::string all_id = everywhere.json().at("emergency_id");
    auto commune = api.post("/api/v1/emergencies", "operator", api.to_ta_van());
    REQUIRE(commune.status == 201);
    const std::string commune_id = commune.json().at("emergency_id");

    const std::map<std::string, std::size_t> listed = {
        {"admin", 2}, {"operator", 2}, {"approver", 2}, {"auditor", 2}, {"other-operator", 1}};
    for (const auto& [who, n] : listed) {
        auto list = api.get("/api/v1/emergencies", who);
        INFO(who);
        REQUIRE(list.status == 200);
        CHECK(list.json().size() == n);
    }
    CHECK(api.get("/api/v1/emergencies", "").status == 401);
    CHECK(api.get("/api/v1/emergencies?format=table", "auditor").body.find("đang hiệu lực") !=
          std::string::npos);

    // Tả Van's node carried out the province's emergency.
    const auto command_id = everywhere.json().at("command_ids")[1].get<std::uint64_t>();
    REQUIRE(everywhere.json().at("nodes")[1] == "ta-van-01");
    wire::CommandResult result;
    result.set_command_id(command_id);
    result.set_ok(true);
    result.set_message("phát xong 1 lần");
    result.set_done_us(lc::now_us());
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_command_result(tx, "ta-van-01", result, lc::now_us());
            }) == true);

    auto status = api.get("/api/v1/emergencies/" + all_id, "admin");
    INFO(status.body);
    REQUIRE(status.status == 200);
    const auto province = status.json();
    CHECK(province.at("emergency_id") == all_id);
    CHECK(province.at("done_ok") == 1);
    const auto& answers = province.at("answers");
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].at("node") == "ban-ho-01");
    CHECK(answers[0].at("state") == "pending");
    CHECK(answers[0].at("ok").is_null());
    CHECK(answers[1].at("node") == "ta-van-01");
    CHECK(answers[1].at("state") == "done");
    CHECK(answers[1].at("ok") == true);
    CHECK(answers[1].at("message") == "phát xong 1 lần");
    CHECK_FALSE(answers[1].at("answered").is_null());
    // Each person sees the nodes of their scope; an emergency that reached none of them is
    // refused, and the refusal logged.
    const std::map<std::string, std::vector<std::string>> nodes = {
        {"operator", {"ta-van-01"}},
        {"approver", {"ta-van-01"}},
        {"auditor", {"ban-ho-01", "ta-van-01"}},
        {"other-operator", {"ban-ho-01"}}};
    for (const auto& [who, expected] : nodes) {
        auto seen = api.get("/api/v1/emergencies/" + all_id, who);
        INFO(who);
        REQUIRE(seen.status == 200);
        std::vector<std::string> shown;
        const auto body = seen.json();
        for (const auto& a : body.at("answers")) {
            shown.push_back(a.at("node"));
        }
        CHECK(shown == expected);
    }
    auto table = api.get("/api/v1/emergencies/" + all_id + "?format=table", "operator");
    CHECK(table.body.find("OK: phát xong 1 lần") != std::string::npos);
    CHECK(table.body.find("ban-ho-01") == std::string::npos);
    CHECK(api.get("/api/v1/emergencies/" + commune_id, "other-operator").status == 403);
    CHECK(api.get("/api/v1/emergencies/" + commune_id, "").status == 401);
    CHECK(api.get("/api/v1/emergencies/kc-khong-co", "admin").status == 404);
    auto refusals = api.logged("access.refused");
    CHECK(std::count_if(refusals.begin(), refusals.end(), [](const auto& r) {
              return r.actor == "other-operator" && r.area == ApiFixture::kCommune;
          }) == 1);
}

TEST_CASE("API emergencies: cancelled only by those who may send them there", "[api][emergency]") {
    EmergencyFixture api;
    auto commune = api.post("/api/v1/emergencies", "operator", api.to_ta_van());
    REQUIRE(commune.status == 201);
    const std::string id = commune.json().at("emergency_id");
    auto everywhere =
        api.post("/api/v1/emergencies", "admin", {{"media", api.media}, {"all", true}});
    REQUIRE(everywhere.status == 201);
    const std::string all_id = everywhere.json().at("emergency_id");
    const std::string cancel = "/api/v1/emergencies/" + id + "/cancel";

    for (const std::string who : {"approver", "auditor", "other-operator"}) {
        INFO(who);
        CHECK(api.post(cancel, who, nlohmann::json::object()).status == 403);
    }
    CHECK(api.post(cancel, "", nlohmann::json::object()).status == 401);
    // The province's emergency reached Bản Hồ too: not the Tả Van operator's to cancel.
    CHECK(
        api.post("/api/v1/emergencies/" + all_id + "/cancel", "operator", nlohmann::json::object())
            .status == 403);
    CHECK_FALSE(api.cancelled(id));
    CHECK_FALSE(api.cancelled(all_id));
    CHECK(api.count("commands") == 3);

    auto done = api.post(cancel, "operator", nlohmann::json::object());
    INFO(done.body);
    REQUIRE(done.status == 200);
    CHECK(done.json().at("withdrawn") == 1);
    CHECK(done.json().at("nodes") == nlohmann::json::array({"ta-van-01"}));
    CHECK(api.cancelled(id));
    CHECK(api.count("commands") == 4);  // the CancelEmergency
    auto again = api.post(cancel, "operator", nlohmann::json::object());
    CHECK(again.status == 400);
    CHECK(again.error().find("already cancelled") != std::string::npos);
    CHECK(api.post("/api/v1/emergencies/kc-khong-co/cancel", "admin", nlohmann::json::object())
              .status == 404);
    auto by_admin = api.post("/api/v1/emergencies/" + all_id + "/cancel?format=table&lang=en",
                             "admin", nlohmann::json::object());
    REQUIRE(by_admin.status == 200);
    CHECK(by_admin.body.find("a cancel goes to 2 node(s)") != std::string::npos);

    auto status = api.get("/api/v1/emergencies/" + id, "operator").json();
    CHECK_FALSE(status.at("cancelled").is_null());
    CHECK(status.at("answers")[0].at("state") == "cancelled");
    CHECK(status.at("answers")[0].at("cancel_state") == "pending");

    auto log = api.logged("emergency.cancel");
    CHECK(count(log, lc::Outcome::refused, "approver") == 1);
    CHECK(count(log, lc::Outcome::refused, "auditor") == 1);
    CHECK(count(log, lc::Outcome::refused, "other-operator") == 1);
    CHECK(count(log, lc::Outcome::refused, "operator") == 2);  // the province's; twice
    CHECK(count(log, lc::Outcome::refused, "admin") == 1);     // unknown
    CHECK(count(log, lc::Outcome::done, "operator") == 1);
    CHECK(count(log, lc::Outcome::done, "admin") == 1);
    auto first = std::find_if(log.begin(), log.end(),
                              [](const auto& row) { return row.outcome == lc::Outcome::done; });
    CHECK(first->target == id);
    CHECK(first->area == ApiFixture::kCommune);
    CHECK(first->detail.at("withdrawn") == 1);
}
