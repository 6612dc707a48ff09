// Scenario 06: a node vanishes (SIGKILL) just before its timeline changes; the controller goes on.
#include "scenario.hpp"

using namespace loa::e2e;

TEST_CASE("scenario 06: a timeline change for a vanished node does not upset the controller",
          "[e2e]") {
    Scenario s;
    const std::vector<std::string> nodes = {"ta-van-01", "ta-van-02", "ta-van-03"};
    for (const auto& id : nodes) {
        s.add_node(id);
    }
    const Bulletin bulletin = s.tone(2.0, 330.0);
    s.start_controller();
    // ta-van-02 connects last, so its session is the last the controller walks when it pushes
    // timelines (ZeroMQ numbers connections in order and the sessions are kept sorted by that).
    const std::vector<std::string> survivors = {"ta-van-01", "ta-van-03"};
    for (const auto& id : survivors) {
        s.start_node(id);
    }
    bool first_seen = loa::test::wait_until([&] { return s.seen(survivors); }, 10s);
    E2E_REQUIRE(s, first_seen);
    s.start_node("ta-van-02");
    bool all_seen = loa::test::wait_until([&] { return s.seen(nodes); }, 10s);
    E2E_REQUIRE(s, all_seen);

    // It dies without a word; the controller still counts it as connected (it has not been
    // silent for three heartbeats yet) when the campaign changes its timeline, so the push to
    // it fails.
    s.kill_node("ta-van-02");
    std::this_thread::sleep_for(300ms);  // the controller's ZeroMQ sees the connection close
    s.add_campaign("sau-su-co", {bulletin}, 7);
    std::this_thread::sleep_for(1500ms);  // a few periodic pushes
    E2E_REQUIRE(s, s.controller_running());

    // The survivors get their timelines and play; the vanished node, back later, catches up.
    s.start_node("ta-van-02");
    bool confirmed = loa::test::wait_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [&](const auto& id) { return s.confirmed(id, "played") == 1; });
        },
        confirm_deadline(s, "ta-van-01"));
    E2E_REQUIRE(s, confirmed);
    E2E_CHECK(s, s.controller_running());
    for (const auto& id : nodes) {
        INFO("node " << id);
        E2E_CHECK(s, s.wavs(id).size() == 1);
    }
}
