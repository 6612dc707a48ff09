// Scenario 09: a device enrolls with a one-time token and plays from its configuration alone; a
// replayed token is refused; a revoked node is cut off; the action log holds each step.
#include "scenario.hpp"

using namespace loa::e2e;

namespace {

bool logged(const nlohmann::json& log, const std::string& action, const std::string& outcome,
            const std::string& actor_prefix) {
    return std::any_of(log.begin(), log.end(), [&](const nlohmann::json& row) {
        return row["action"] == action && row["outcome"] == outcome &&
               row["actor"].get<std::string>().starts_with(actor_prefix);
    });
}

}  // namespace

TEST_CASE("scenario 09: enrollment by token, a replayed token, and revocation", "[e2e]") {
    Scenario s;
    s.start_controller();
    const std::string id = "ta-van-09";
    auto issued = s.loactl(
        fmt::format("node enroll {} --kind speaker --area {} --expires-hours 1", id, kArea));
    const std::string token = issued["token"];
    REQUIRE(token.starts_with("loa1."));

    // The technician, on the device: the token and the enrollment endpoint, nothing else.
    int status = -1;
    const auto device = s.node_data(id);
    std::string out = loa::test::capture_shell(
        fmt::format("{} enroll --controller {} --token {} --data {} 2>&1", LOA_NODE_BIN,
                    s.enroll_endpoint(), token, device.string()),
        &status);
    INFO(out);
    REQUIRE(status == 0);
    const std::string config = loa::test::read_file(device / "node.conf");
    CHECK(config.find("node_id = " + id) != std::string::npos);
    CHECK(config.find("controller = " + s.endpoint()) != std::string::npos);
    CHECK(fs::status(device / "node.key").permissions() ==
          (fs::perms::owner_read | fs::perms::owner_write));

    // The same token on another device: refused, and that device gets no configuration.
    const auto thief = s.root() / "thief";
    out = loa::test::capture_shell(
        fmt::format("{} enroll --controller {} --token {} --data {} --timeout 10 2>&1",
                    LOA_NODE_BIN, s.enroll_endpoint(), token, thief.string()),
        &status);
    CHECK(status == 1);
    CHECK(out.find("already used") != std::string::npos);
    CHECK_FALSE(fs::exists(thief / "node.conf"));
    CHECK_FALSE(fs::exists(thief / "node.key"));

    // The device runs from what enrollment wrote: no --id, no --controller.
    const auto log = s.logs() / (id + ".log");
    loa::test::Process node(
        {LOA_NODE_BIN, "--data", device.string(), "--sink", "file:" + s.played(id).string()}, log);
    bool seen = loa::test::wait_until([&] { return s.seen({id}); }, 10s);
    E2E_REQUIRE(s, seen);
    auto booked = s.add_campaign("ghi-danh", {s.tone(1.0, 440.0)}, 5);
    CHECK(booked["nodes_targeted"] == 1);
    bool confirmed = loa::test::wait_until([&] { return s.confirmed(id) == 1; }, 30s);
    E2E_CHECK(s, confirmed);

    // Revoked: the agent hears it within a heartbeat (1 s here) and disconnects.
    s.loactl(fmt::format("node revoke {} --reason {}", id, shell_quote("thiết bị bị mất")));
    bool cut_off = loa::test::wait_until(
        [&] { return loa::test::read_file(log).find("revoked this node") != std::string::npos; },
        3s);
    E2E_CHECK(s, cut_off);
    auto keys = s.loactl("node keys " + id);
    REQUIRE(keys.size() == 1);
    CHECK(keys[0]["retired_reason"] == "revoked: thiết bị bị mất");

    auto actions = s.loactl("log list");
    CHECK(logged(actions, "node.enroll", "done", "admin"));       // the operator's token
    CHECK(logged(actions, "node.enroll", "done", "node:" + id));  // the device's key
    CHECK(logged(actions, "node.enroll", "refused", "key:"));     // the replay
    CHECK(logged(actions, "node.revoke", "done", "admin"));
    CHECK(node.terminate(5s) == 0);
}
