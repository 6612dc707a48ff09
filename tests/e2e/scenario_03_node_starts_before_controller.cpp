// Scenario 03: a node started before any controller exists waits quietly, then joins and plays.
#include "scenario.hpp"

using namespace loa::e2e;

TEST_CASE("scenario 03: a node started before the controller joins it and plays", "[e2e]") {
    Scenario s;
    const std::string node = "ta-van-01";
    // The device was enrolled (its key and node.conf provisioned) but the controller is down:
    // nothing listens on the endpoint and the node's store is empty.
    s.add_node(node);
    s.start_node(node);

    std::this_thread::sleep_for(3s);
    E2E_REQUIRE(s, s.node_running(node));
    E2E_CHECK(s, s.wavs(node).empty());
    // node.db may not even have rows yet; it must not have plays or confirmations.
    E2E_CHECK(s, s.node_scalar(node, "SELECT count(*) FROM outbox").value_or(0) == 0);
    E2E_CHECK(s, s.node_scalar(node, "SELECT count(*) FROM slots").value_or(0) == 0);

    // The operator books a bulletin, then starts the controller.
    const Bulletin bulletin =
        s.speech("thien-tai", "Bản tin phòng chống thiên tai. Bà con thôn Tả Van chú ý mưa lớn.");
    // The node has been retrying for a while and its reconnect interval has grown: leave room.
    s.add_campaign("thien-tai", {bulletin}, 12);
    E2E_REQUIRE(s, s.planned(node, "thien-tai") == 1);
    E2E_CHECK(s, s.controller_scalar("SELECT count(*) FROM nodes WHERE last_seen_us IS NULL") == 1);
    s.start_controller();

    bool joined = loa::test::wait_until([&] { return s.seen({node}); }, 12s);
    E2E_REQUIRE(s, joined);
    E2E_CHECK(s, s.controller_scalar("SELECT count(*) FROM nodes WHERE node_id = 'ta-van-01' AND "
                                     "agent_version IS NOT NULL AND agent_version <> ''") == 1);

    check_single_play(s, node, bulletin, "thien-tai");
    bool acked = loa::test::wait_until(
        [&] { return s.node_scalar(node, "SELECT count(*) FROM outbox") == 0; }, 10s);
    E2E_CHECK(s, acked);
}
