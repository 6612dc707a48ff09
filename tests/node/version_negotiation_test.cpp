// The agent says HELLO in its own protocol version and speaks the version WELCOME accepted after.
#include <catch2/catch.hpp>

#include "agent_fixture.hpp"

using namespace loa::test;
namespace wire = loa::wire;

TEST_CASE("after WELCOME the agent stamps what it sends with the accepted version",
          "[agent][version]") {
    TempDir dir;
    FakeController controller{dir.path()};
    std::uint32_t accepted = 0;
    SECTION("an older controller: version 1") {
        accepted = 1;
    }
    SECTION("a controller of the agent's version") {
        accepted = loa::protocol::kProtocolVersion;
    }
    controller.accepted_version = accepted;
    RunningAgent agent(agent_options(dir / "node", controller));
    REQUIRE(controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    CHECK(controller.hello_version.load() == loa::protocol::kProtocolVersion);
    CHECK(controller.message_version.load() == accepted);
}
