// Scenario 12: a re-imaged device. A real node enrolls, plays and reports; its data directory is
// wiped and it enrolls again (new token, new key), gets its timeline, loses the controller and
// plays offline, then reports: every play of both lives counts once, no number collides with
// the first life's, and the controller's highest number for the node only grows.
#include "scenario.hpp"

using namespace loa::e2e;

namespace {

/// `loa-node enroll` with a fresh token for `id` into `data`; requires success.
void enroll(Scenario& s, const std::string& id, const fs::path& data) {
    auto issued = s.loactl(
        fmt::format("node enroll {} --kind speaker --area {} --expires-hours 1", id, kArea));
    int status = -1;
    std::string out = loa::test::capture_shell(
        fmt::format("{} enroll --controller {} --token {} --data {} 2>&1", LOA_NODE_BIN,
                    s.enroll_endpoint(), issued["token"].get<std::string>(), data.string()),
        &status);
    INFO(out);
    REQUIRE(status == 0);
}

std::unique_ptr<loa::test::Process> run_agent(Scenario& s, const std::string& id,
                                              const std::string& log_name) {
    return std::make_unique<loa::test::Process>(
        std::vector<std::string>{LOA_NODE_BIN, "--data", s.node_data(id).string(), "--sink",
                                 "file:" + s.played(id).string()},
        s.logs() / log_name);
}

}  // namespace

TEST_CASE(
    "scenario 12: a re-imaged node's plays of both lives count once, its numbers never "
    "collide",
    "[e2e]") {
    Scenario s;
    s.start_controller();
    const std::string id = "ta-van-12";
    const auto device = s.node_data(id);
    std::vector<std::int64_t> highest;  // confirmation_marks.highest_seq, each time it is read
    auto highest_seq = [&] {
        auto h = s.controller_scalar(
            fmt::format("SELECT highest_seq FROM confirmation_marks WHERE node_id = '{}'", id));
        highest.push_back(h.value_or(0));
        return highest.back();
    };

    // First life: two plays, reported and acked.
    enroll(s, id, device);
    auto agent = run_agent(s, id, id + "-1.log");
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({id}); }, 15s));
    s.add_campaign("truoc", {s.tone(1.0, 440.0), s.tone(1.0, 550.0)}, 6);
    const std::int64_t first_plays = s.planned(id, "truoc");
    REQUIRE(first_plays >= 2);
    bool reported = loa::test::wait_until(
        [&] {
            return s.confirmed(id, "") == first_plays &&
                   s.node_scalar(id, "SELECT count(*) FROM outbox") == 0;
        },
        confirm_deadline(s, id));
    E2E_REQUIRE(s, reported);
    const std::int64_t first_highest = highest_seq();
    CHECK(first_highest == first_plays);
    REQUIRE(agent->terminate(10s) == 0);

    // Re-imaged: the data directory wiped, a new token and a new key.
    fs::remove_all(device);
    REQUIRE_FALSE(fs::exists(device));
    enroll(s, id, device);
    // Soon: the longer the controller is away, the longer the agent's reconnection back-off.
    s.add_campaign("sau", {s.tone(1.0, 660.0), s.tone(1.0, 770.0)}, 12);
    const std::int64_t second_plays = s.planned(id, "sau");
    REQUIRE(second_plays >= 2);
    agent = run_agent(s, id, id + "-2.log");
    // It holds its timeline and every file it needs, then loses the controller.
    bool ready = loa::test::wait_until(
        [&] {
            return s.node_scalar(id, "SELECT count(*) FROM slots WHERE campaign_id = 'sau'") ==
                       second_plays &&
                   s.controller_scalar(
                       fmt::format("SELECT count(*) FROM node_media WHERE node_id = '{}' AND "
                                   "state = 'ready'",
                                   id)) >= 2;
        },
        20s);
    E2E_REQUIRE(s, ready);
    CHECK(highest_seq() >= first_highest);
    REQUIRE(s.stop_controller() == 0);

    // Offline, it plays and queues its confirmations.
    bool played = loa::test::wait_until(
        [&] { return s.node_scalar(id, "SELECT count(*) FROM outbox") == second_plays; },
        confirm_deadline(s, id));
    E2E_REQUIRE(s, played);
    s.start_controller();
    reported = loa::test::wait_until(
        [&] {
            return s.confirmed(id, "") == first_plays + second_plays &&
                   s.node_scalar(id, "SELECT count(*) FROM outbox") == 0;
        },
        30s);
    E2E_REQUIRE(s, reported);

    // Every play of both lives once; numbers above the first life's; nothing kept apart.
    CHECK(s.confirmed(id, "played") == first_plays + second_plays);
    CHECK(s.controller_scalar(fmt::format(
              "SELECT count(DISTINCT seq) FROM confirmations WHERE node_id = '{}'", id)) ==
          first_plays + second_plays);
    CHECK(s.controller_scalar(fmt::format(
              "SELECT min(seq) FROM confirmations c JOIN slots s USING (node_id, slot_id) "
              "WHERE c.node_id = '{}' AND s.campaign_id = 'sau'",
              id)) == first_highest + 1);
    CHECK(s.controller_scalar(fmt::format(
              "SELECT count(*) FROM refused_confirmations WHERE node_id = '{}'", id)) == 0);
    CHECK(highest_seq() == first_plays + second_plays);
    CHECK(std::is_sorted(highest.begin(), highest.end()));
    for (const std::string campaign : {"truoc", "sau"}) {
        auto report = s.report(campaign);
        INFO(campaign << ": " << report.dump(2));
        CHECK(report["total"]["confirmed_plays"] ==
              (campaign == "truoc" ? first_plays : second_plays));
        CHECK(report["total"]["unconfirmed"] == 0);
    }
    const std::string second_log = loa::test::read_file(s.logs() / (id + "-2.log"));
    CHECK(second_log.find(fmt::format("confirmations are numbered from {}", first_highest + 1)) !=
          std::string::npos);
    CHECK(agent->terminate(10s) == 0);
}
