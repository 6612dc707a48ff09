// Scenario 05: SIGTERM, as systemd and deploy/quickstart.sh send it, stops both daemons cleanly.
#include "scenario.hpp"

using namespace loa::e2e;

TEST_CASE("scenario 05: node and controller exit 0 on SIGTERM", "[e2e]") {
    Scenario s;
    const std::string node = "ta-van-01";
    s.add_node(node);
    s.start_controller();
    s.start_node(node);
    bool hello = loa::test::wait_until([&] { return s.seen({node}); }, 10s);
    E2E_REQUIRE(s, hello);
    std::this_thread::sleep_for(1s);  // both are idle in their poll loops now

    // Both main()s promise to serve "until SIGINT or SIGTERM" and then return 0.
    int node_status = s.stop_node(node);
    E2E_CHECK(s, node_status == 0);
    CHECK_THAT(loa::test::read_file(s.logs() / (node + ".log")),
               Catch::Matchers::Contains("node ta-van-01 stopped"));

    int controller_status = s.stop_controller();
    E2E_CHECK(s, controller_status == 0);
    CHECK_THAT(loa::test::read_file(s.logs() / "controller.log"),
               Catch::Matchers::Contains("controller stopped"));
}
