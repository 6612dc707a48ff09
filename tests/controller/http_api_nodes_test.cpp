// The HTTP API of nodes over real loopback HTTP: the fleet view, status, runway and sequence gaps,
// enrollment, revocation and keys, and commands to nodes, for each role; refusals change nothing.
#include <algorithm>
#include <filesystem>

#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "api_fixture.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/protocol/curve_keys.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHourUs = 3600 * kSecondUs;

/// Node ids of a list answer, in order.
std::vector<std::string> ids(const Answer& answer) {
    std::vector<std::string> out;
    for (const auto& row : answer.json()) {
        out.push_back(row.at("node").get<std::string>());
    }
    return out;
}

/// Three nodes: two in Tả Van (one heard a minute ago with a 5 h runway, one never), one in
/// Bản Hồ heard 5 s ago with a 48 h runway.
struct Fleet : ApiFixture {
    Fleet() {
        node("ta-van-01", kCommune);
        node("ta-van-02", kCommune);
        node("ban-ho-01", kOtherCommune);
        const std::int64_t now = lc::now_us();
        heard("ta-van-01", now - 60 * kSecondUs, now + 5 * kHourUs, 7);
        heard("ban-ho-01", now - 5 * kSecondUs, now + 48 * kHourUs, 0);
    }

    void heard(const std::string& id, std::int64_t at, std::int64_t runway_end,
               std::uint64_t last_seq) {
        wire::Heartbeat h;
        h.set_state("idle");
        h.set_agent_version("loa-node 0.3.0");
        h.set_clock_offset_us(-3'000);
        h.set_volume_percent(70);
        h.set_runway_end_us(runway_end);
        h.set_schedule_horizon_end_us(runway_end);
        h.set_last_seq(last_seq);
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
                    return lc::record_heartbeat(tx, id, h, at);
                }).has_value());
    }
};

/// A refusal: `status`, an Error body, and a message holding `says`.
void refused(const Answer& answer, int status, const std::string& says = {}) {
    INFO(answer.status << " " << answer.body);
    CHECK(answer.status == status);
    CHECK(answer.content_type.find("application/json") == 0);
    CHECK_FALSE(answer.json().at("error").at("request_id").get<std::string>().empty());
    if (!says.empty()) {
        CHECK(answer.error().find(says) != std::string::npos);
    }
}

/// Whether docs/openapi.json declares `answer` to METHOD `target`: its status, media type and,
/// for JSON, its schema (tests/controller/openapi_check.py, as the OpenAPI test runs it).
void matches_spec(const std::string& method, const std::string& target, const Answer& answer) {
    static const fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
    static int n = 0;
    TempDir dir;
    const fs::path body = dir / fmt::format("answer-{}", ++n);
    write_file(body, answer.body);
    auto quoted = [](const std::string& text) {
        std::string out = "'";
        for (char c : text) {
            out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        }
        return out + "'";
    };
    int status = -1;
    const std::string output = capture_shell(
        fmt::format("/usr/bin/python3 {} answer {} {} {} {} {} {} 2>&1",
                    quoted((repo / "tests" / "controller" / "openapi_check.py").string()),
                    quoted((repo / "docs" / "openapi.json").string()), method, quoted(target),
                    answer.status, quoted(answer.content_type), quoted(body.string())),
        &status);
    INFO(method << " " << target << " → " << answer.status << "\n" << output);
    CHECK(status == 0);
}

}  // namespace

TEST_CASE("API nodes: the fleet view by scope, narrowed by offline, runway and area", "[api]") {
    Fleet api;
    refused(api.get("/api/v1/nodes", ""), 401);

    auto all = api.get("/api/v1/nodes", "admin");
    REQUIRE(all.status == 200);
    CHECK(ids(all) == std::vector<std::string>{"ban-ho-01", "ta-van-01", "ta-van-02"});
    const auto fleet = all.json();
    const auto& ta_van = fleet[1];
    CHECK(ta_van.at("online") == true);  // heard a minute ago: within 3 × 30 s
    CHECK(ta_van.at("connection") == "online");
    CHECK(ta_van.at("agent_version") == "loa-node 0.3.0");
    CHECK(ta_van.at("runway_hours").get<double>() == Approx(5.0).margin(0.05));
    CHECK(fleet[2].at("connection") == "never");

    // Each person sees the nodes of their scope only.
    CHECK(ids(api.get("/api/v1/nodes", "approver")) ==
          std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(ids(api.get("/api/v1/nodes", "other-operator")) == std::vector<std::string>{"ban-ho-01"});
    CHECK(api.get("/api/v1/nodes", "auditor").json().size() == 3);

    CHECK(ids(api.get("/api/v1/nodes?offline=true", "admin")) ==
          std::vector<std::string>{"ta-van-02"});
    CHECK(ids(api.get("/api/v1/nodes?runway_below=24h", "admin")) ==
          std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(ids(api.get("/api/v1/nodes?runway_below=3d&area=vn/lao-cai/sa-pa/ban-ho", "admin")) ==
          std::vector<std::string>{"ban-ho-01"});
    // Judged by a 10 s heartbeat, a minute's silence is offline.
    CHECK(ids(api.get("/api/v1/nodes?offline=true&heartbeat_ms=10000", "admin")) ==
          std::vector<std::string>{"ta-van-01", "ta-van-02"});

    // The table loactl prints: the filters said above it.
    auto table = api.get("/api/v1/nodes?offline=true&runway_below=24h&format=table", "operator");
    REQUIRE(table.status == 200);
    CHECK(table.content_type.find("text/plain") == 0);
    CHECK(
        table.body.starts_with("Nút mất liên lạc (không nghe thấy trong 90 s), tự chủ dưới 24 "
                               "giờ hoặc chưa báo cáo:\n\n"));
    CHECK(table.body.find("ta-van-02") != std::string::npos);
    auto none = api.get(
        "/api/v1/nodes?offline=true&area=vn/lao-cai/sa-pa/ban-ho&format=table&lang=en", "admin");
    CHECK(none.body == "No node offline (not heard for 90 s), in vn/lao-cai/sa-pa/ban-ho.\n");

    // Bad input names the parameter; another area is refused and logged.
    refused(api.get("/api/v1/nodes?offline=yes", "admin"), 400, "\"offline\"");
    refused(api.get("/api/v1/nodes?runway_below=soon", "admin"), 400,
            "runway_below: runway 'soon' is not a duration");
    refused(api.get("/api/v1/nodes?area=vn//x", "admin"), 400, "area 'vn//x'");
    refused(api.get("/api/v1/nodes?heartbeat_ms=0", "admin"), 400, "\"heartbeat_ms\"");
    refused(api.get("/api/v1/nodes?area=vn/lao-cai/sa-pa/ban-ho", "operator"), 403,
            "outside its scope");
    const auto refusals = api.logged("access.refused");
    REQUIRE(refusals.size() == 2);  // no token, and the area outside the scope
    CHECK(refusals[1].actor == "operator");
    CHECK(refusals[1].detail.at("command") == "node.list");
}

TEST_CASE("API nodes: status, runway and sequence gaps of the nodes in scope", "[api]") {
    Fleet api;
    for (const char* path : {"/api/v1/node-status", "/api/v1/node-runway", "/api/v1/node-gaps"}) {
        refused(api.get(path, ""), 401);
    }

    auto status = api.get("/api/v1/node-status", "approver");
    REQUIRE(status.status == 200);
    CHECK(ids(status) == std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(status.json()[0].at("heartbeat").at("volume_percent") == 70);
    CHECK(status.json()[0].at("heartbeat").at("clock_offset_flagged") == false);
    CHECK(status.json()[1].at("heartbeat").is_null());
    // A stricter threshold flags the 3 ms offset.
    auto strict = api.get("/api/v1/node-status?node=ta-van-01&offset_warn_ms=1", "auditor");
    REQUIRE(strict.status == 200);
    REQUIRE(strict.json().size() == 1);
    CHECK(strict.json()[0].at("heartbeat").at("clock_offset_flagged") == true);
    auto status_table = api.get("/api/v1/node-status?format=table&lang=en", "other-operator");
    CHECK(status_table.body.find("ban-ho-01") != std::string::npos);
    CHECK(status_table.body.find("ta-van-01") == std::string::npos);
    refused(api.get("/api/v1/node-status?node=ban-ho-01", "operator"), 403, "outside its scope");
    refused(api.get("/api/v1/node-status?node=ke-la", "admin"), 404, "no node 'ke-la'");
    refused(api.get("/api/v1/node-status?offset_warn_ms=-1", "admin"), 400, "\"offset_warn_ms\"");

    auto runway = api.get("/api/v1/node-runway?below_hours=24", "admin");
    REQUIRE(runway.status == 200);
    CHECK(ids(runway) == std::vector<std::string>{"ta-van-02", "ta-van-01"});  // unknown first
    CHECK(ids(api.get("/api/v1/node-runway?below_hours=24", "other-operator")).empty());
    CHECK(
        api.get("/api/v1/node-runway?below_hours=24&format=table&lang=en", "other-operator").body ==
        "Every node can run at least 24 hours on the schedule and media it holds.\n");
    CHECK(api.get("/api/v1/node-runway?format=table", "admin")
              .body.starts_with("Nút tự chủ dưới 48 giờ (hoặc chưa báo cáo), ngắn nhất trước:"));
    refused(api.get("/api/v1/node-runway?below_hours=soon", "admin"), 400, "\"below_hours\"");

    auto gaps = api.get("/api/v1/node-gaps", "operator");
    REQUIRE(gaps.status == 200);
    CHECK(ids(gaps) == std::vector<std::string>{"ta-van-01", "ta-van-02"});
    CHECK(gaps.json()[0].at("not_yet_reported") ==
          nlohmann::json::parse(R"({"first":1,"last":7})"));
    CHECK(ids(api.get("/api/v1/node-gaps?node=ta-van-01", "auditor")) ==
          std::vector<std::string>{"ta-van-01"});
    CHECK(api.get("/api/v1/node-gaps?format=table&lang=en", "admin")
              .body.starts_with("Confirmation sequence numbers per node."));
    refused(api.get("/api/v1/node-gaps?node=ta-van-01", "other-operator"), 403);
    refused(api.get("/api/v1/node-gaps?node=ke-la", "admin"), 404, "no node 'ke-la'");
}

TEST_CASE("API nodes: enrollment tokens and keys by whoever manages nodes there, revocation",
          "[api]") {
    ApiFixture api;
    const std::string path = "/api/v1/nodes/ta-van-09/enrollment";
    const nlohmann::json new_node = {
        {"area", ApiFixture::kCommune}, {"kind", "speaker"}, {"expires_hours", 1}};
    refused(api.post(path, "", new_node), 401);
    refused(api.post(path, "approver", new_node), 403, "may not");
    refused(api.post(path, "auditor", new_node), 403);
    refused(api.post(path, "other-operator", new_node), 403, "outside its scope");
    refused(api.post(path, "operator", {{"area", ApiFixture::kCommune}}), 404,
            "give --area and --kind");
    refused(api.post(path, "operator",
                     {{"area", ApiFixture::kCommune}, {"kind", "speaker"}, {"expires_hours", 0}}),
            400, "\"expires_hours\"");
    refused(api.post(path, "operator", {{"area", ApiFixture::kCommune}, {"kind", "trumpet"}}), 400);
    refused(api.post(path, "operator", {{"area", 7}, {"kind", "speaker"}}), 400, "\"area\"");
    CHECK(api.count("nodes") == 0);
    CHECK(api.count("enrollment_tokens") == 0);

    auto issued = api.post(path, "operator", new_node);
    REQUIRE(issued.status == 201);
    const auto token = issued.json().at("token").get<std::string>();
    CHECK(token.starts_with("loa1."));
    CHECK(issued.json().at("area") == ApiFixture::kCommune);
    CHECK(issued.json().at("kind") == "speaker");
    CHECK(fs::exists(api.dir / "controller.key"));
    CHECK(issued.json().at("controller_key").get<std::string>().size() == 40);  // Z85
    CHECK(api.count("nodes") == 1);
    REQUIRE(api.logged("node.add").size() == 1);
    CHECK(api.logged("node.add")[0].outcome == lc::Outcome::done);
    // Registered elsewhere or as another kind: 409; again as it is: a new token.
    refused(api.post(path, "operator", {{"kind", "panel"}}), 409, "already registered");
    auto again = api.post(path + "?format=table&lang=en", "operator", nlohmann::json::object());
    REQUIRE(again.status == 201);
    CHECK(again.body.starts_with("Enrollment token for node ta-van-09 (speaker, " +
                                 std::string(ApiFixture::kCommune) + "), one use"));
    CHECK(api.count("enrollment_tokens") == 2);

    // A key made at the workshop, registered at once.
    const auto keys = protocol::generate_curve_key_pair();
    auto direct = api.post(path, "admin", {{"public_key", keys.public_key}});
    REQUIRE(direct.status == 201);
    CHECK(direct.json().at("public_key") == keys.public_key);
    refused(api.get("/api/v1/nodes/ta-van-09/keys", ""), 401);
    refused(api.get("/api/v1/nodes/ta-van-09/keys", "other-operator"), 403);
    refused(api.get("/api/v1/nodes/ke-la/keys", "admin"), 404, "no node 'ke-la'");
    auto listed = api.get("/api/v1/nodes/ta-van-09/keys", "auditor");
    REQUIRE(listed.status == 200);
    REQUIRE(listed.json().size() == 1);
    CHECK(listed.json()[0].at("public_key") == keys.public_key);
    CHECK(listed.json()[0].at("retired") == "");

    auto enrolled = api.logged("node.enroll");
    // Refused: 3 for role or scope, 1 unregistered, 1 bad kind, 1 conflict; done: 3. The
    // bodies that did not parse were refused before anything was asked of the store.
    REQUIRE(enrolled.size() == 9);
    CHECK(std::count_if(enrolled.begin(), enrolled.end(),
                        [](const auto& e) { return e.outcome == lc::Outcome::done; }) == 3);

    // Revocation: managers of the node's area only; the keys are retired, the node refused.
    const std::string revoke = "/api/v1/nodes/ta-van-09/revoke";
    refused(api.post(revoke, "", {{"reason", "mất"}}), 401);
    refused(api.post(revoke, "approver", {{"reason", "mất"}}), 403);
    refused(api.post(revoke, "other-operator", {{"reason", "mất"}}), 403);
    refused(api.post(revoke, "operator", {{"reason", 5}}), 400, "\"reason\"");
    refused(api.post("/api/v1/nodes/ke-la/revoke", "admin", {{"reason", "mất"}}), 404);
    CHECK(api.get("/api/v1/nodes/ta-van-09/keys", "admin").json()[0].at("retired") == "");
    auto revoked = api.post(revoke, "operator", {{"reason", "thiết bị bị mất"}});
    REQUIRE(revoked.status == 200);
    CHECK(revoked.json().at("node") == "ta-van-09");
    auto retired = api.get("/api/v1/nodes/ta-van-09/keys", "admin").json();
    CHECK(retired[0].at("retired_reason") == "revoked: thiết bị bị mất");
    CHECK(api.get("/api/v1/nodes", "admin").json()[0].at("connection") == "revoked");
    auto log = api.logged("node.revoke");
    REQUIRE(log.size() == 4);  // the approver, the other operator, the unknown node; done
    CHECK(log.back().outcome == lc::Outcome::done);
    CHECK(log.back().detail.at("reason") == "thiết bị bị mất");
}

TEST_CASE("API nodes: commands are queued by operators in scope, listed and followed", "[api]") {
    ApiFixture api;
    api.node("ta-van-01", ApiFixture::kCommune);
    api.node("ban-ho-01", ApiFixture::kOtherCommune);
    const std::string path = "/api/v1/nodes/ta-van-01/commands";
    refused(api.post(path, "", {{"volume", 30}}), 401);
    refused(api.post(path, "approver", {{"volume", 30}}), 403, "may not");
    refused(api.post(path, "auditor", {{"restart", true}}), 403);
    refused(api.post(path, "other-operator", {{"volume", 30}}), 403, "outside its scope");
    refused(api.post("/api/v1/nodes/ke-la/commands", "admin", {{"volume", 30}}), 404,
            "no node 'ke-la'");
    refused(api.post(path, "operator", {{"volume", 101}}), 400,
            "volume 101 % is not within 0..100");
    refused(api.post(path, "operator", {{"volume", "loud"}}), 400, "\"volume\"");
    refused(api.post(path, "operator", {{"amplifier", "maybe"}}), 400, "\"amplifier\"");
    refused(api.post(path, "operator", {{"restart", false}}), 400, "\"restart\"");
    refused(api.post(path, "operator", {{"send_log", 2'000'000}}), 400,
            "ask for 1 to 1048576 (1 MiB)");
    refused(api.post(path, "operator", {{"volume", 30}, {"restart", true}}), 400, "exactly one");
    refused(api.post(path, "operator", nlohmann::json::object()), 400, "exactly one");
    refused(api.post(path, "operator", {{"mute", true}}), 400, "\"mute\"");
    CHECK(api.count("commands") == 0);

    auto volume = api.post(path, "operator", {{"volume", 30}});
    REQUIRE(volume.status == 201);
    CHECK(volume.json().at("kind") == "set-volume");
    CHECK(volume.json().at("state") == "pending");
    const auto id = volume.json().at("command_id").get<std::uint64_t>();
    auto location = volume.headers.find("Location");
    REQUIRE(location != volume.headers.end());
    CHECK(location->second == fmt::format("/api/v1/commands/{}", id));
    auto amplifier = api.post(path + "?format=table", "operator", {{"amplifier", "off"}});
    REQUIRE(amplifier.status == 201);
    CHECK(amplifier.body.find("Xem kết quả: loactl node commands --node ta-van-01\n") !=
          std::string::npos);
    CHECK(api.post(path, "admin", {{"restart", true}}).status == 201);
    auto log = api.post(path + "?format=table&lang=en", "operator", {{"send_log", 4096}});
    REQUIRE(log.status == 201);
    CHECK(log.body.starts_with("Command "));
    CHECK(log.body.find("loactl node commands") == std::string::npos);
    CHECK(api.post("/api/v1/nodes/ban-ho-01/commands", "other-operator", {{"restart", true}})
              .status == 201);

    auto logged = api.logged("node.command");
    REQUIRE(logged.size() == 9);  // 4 refused (3 for role or scope, 1 unknown node), 5 done
    CHECK(logged[4].outcome == lc::Outcome::done);
    CHECK(logged[4].detail.at("command_id") == id);
    CHECK(logged[4].actor == "operator");

    // Listed by scope, newest first; narrowed to a node or to those not answered.
    refused(api.get("/api/v1/commands", ""), 401);
    CHECK(api.get("/api/v1/commands", "admin").json().size() == 5);
    CHECK(api.get("/api/v1/commands", "approver").json().size() == 4);
    CHECK(api.get("/api/v1/commands", "other-operator").json().size() == 1);
    auto mine = api.get("/api/v1/commands?node=ta-van-01&pending=true", "auditor");
    REQUIRE(mine.status == 200);
    REQUIRE(mine.json().size() == 4);
    CHECK(mine.json()[3].at("command_id") == id);
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_command_result(
                    tx, "ta-van-01",
                    [&] {
                        wire::CommandResult r;
                        r.set_command_id(id);
                        r.set_ok(true);
                        r.set_message("volume 30 %");
                        return r;
                    }(),
                    lc::now_us());
            }).value_or(false));
    CHECK(api.get("/api/v1/commands?node=ta-van-01&pending=true", "auditor").json().size() == 3);
    CHECK(
        api.get("/api/v1/commands?format=table&lang=en", "other-operator").body.find("ta-van-01") ==
        std::string::npos);
    refused(api.get("/api/v1/commands?node=ban-ho-01", "operator"), 403);
    refused(api.get("/api/v1/commands?node=ke-la", "admin"), 404);
    refused(api.get("/api/v1/commands?pending=maybe", "admin"), 400, "\"pending\"");

    // One command, as `loactl node log` follows it.
    auto one = api.get(location->second, "approver");
    REQUIRE(one.status == 200);
    CHECK(one.json().at("state") == "done");
    CHECK(one.json().at("ok") == true);
    CHECK(one.json().at("message") == "volume 30 %");
    refused(api.get(location->second, ""), 401);
    refused(api.get(location->second, "other-operator"), 403, "outside its scope");
    refused(api.get("/api/v1/commands/999", "admin"), 404, "no command 999");
    refused(api.get("/api/v1/commands/abc", "admin"), 400, "\"command_id\"");
    CHECK(api.count("commands") == 5);  // none of the refusals queued anything
}

TEST_CASE("API nodes: real answers of every node and command route match docs/openapi.json",
          "[api][openapi]") {
    Fleet api;
    auto get = [&](const std::string& target, const std::string& who) {
        auto answer = api.get(target, who);
        matches_spec("GET", target, answer);
        return answer;
    };
    auto post = [&](const std::string& target, const std::string& who, const nlohmann::json& body) {
        auto answer = api.post(target, who, body);
        matches_spec("POST", target, answer);
        return answer;
    };
    get("/api/v1/nodes", "admin");
    get("/api/v1/nodes?offline=true&runway_below=24h&format=table", "admin");
    get("/api/v1/nodes?offline=yes", "admin");
    get("/api/v1/nodes?area=vn/ha-noi", "operator");
    get("/api/v1/node-status?offset_warn_ms=1", "auditor");
    get("/api/v1/node-status?node=ke-la", "auditor");
    get("/api/v1/node-runway?below_hours=24", "admin");
    get("/api/v1/node-runway?below_hours=x", "admin");
    get("/api/v1/node-gaps", "operator");
    get("/api/v1/node-gaps?node=ban-ho-01", "operator");

    const auto keys = protocol::generate_curve_key_pair();
    post("/api/v1/nodes/ta-van-09/enrollment", "operator",
         {{"area", ApiFixture::kCommune}, {"kind", "panel"}, {"expires_hours", 2}});
    post("/api/v1/nodes/ta-van-09/enrollment", "operator", {{"public_key", keys.public_key}});
    post("/api/v1/nodes/ta-van-09/enrollment", "operator", {{"kind", "speaker"}});
    post("/api/v1/nodes/ke-la/enrollment", "operator", nlohmann::json::object());
    post("/api/v1/nodes/ta-van-09/enrollment", "approver", nlohmann::json::object());
    get("/api/v1/nodes/ta-van-09/keys", "auditor");
    get("/api/v1/nodes/ke-la/keys", "auditor");
    post("/api/v1/nodes/ta-van-09/revoke", "operator", {{"reason", "mất"}});
    post("/api/v1/nodes/ta-van-09/revoke", "operator", {{"reason", 1}});
    get("/api/v1/nodes/ta-van-09/keys", "auditor");
    get("/api/v1/nodes", "operator");  // a revoked node, and one whose heartbeat said things

    auto queued = post("/api/v1/nodes/ta-van-01/commands", "operator", {{"send_log", 4096}});
    post("/api/v1/nodes/ta-van-01/commands", "operator", {{"volume", 30}});
    post("/api/v1/nodes/ta-van-01/commands?format=table", "operator", {{"amplifier", "on"}});
    post("/api/v1/nodes/ta-van-01/commands", "operator", {{"volume", -1}});
    post("/api/v1/nodes/ban-ho-01/commands", "operator", {{"restart", true}});
    post("/api/v1/nodes/ke-la/commands", "operator", {{"restart", true}});
    const auto id = queued.json().at("command_id").get<std::uint64_t>();
    wire::CommandResult result;
    result.set_command_id(id);
    result.set_ok(true);
    result.set_message("4096 bytes");
    result.set_log_tail("05:30:01 loa-node: phát xong\n");
    result.set_done_us(lc::now_us());
    REQUIRE(loa::controller::write_directly(*api.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_command_result(tx, "ta-van-01", result, lc::now_us());
            }).value_or(false));
    get("/api/v1/commands", "auditor");
    get("/api/v1/commands?node=ta-van-01&pending=true&format=table&lang=en", "auditor");
    get("/api/v1/commands?pending=1", "auditor");
    get(fmt::format("/api/v1/commands/{}", id), "approver");
    get(fmt::format("/api/v1/commands/{}", id), "other-operator");
    get("/api/v1/commands/77", "admin");
    get("/api/v1/commands/x", "admin");
    get("/api/v1/commands", "");
}
