// The agent's crash paths: a fault under the player and the session threads (here a real one,
// the store's main table gone under the agent's SQLite connection) is caught and survived; a
// fault that persists stops the agent cleanly, saying why, instead of killing the process.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include <SQLiteCpp/Database.h>

#include "agent_fixture.hpp"
#include "test_support.hpp"

using loa::test::agent_options;
using loa::test::FakeController;
using loa::test::make_slot;
using loa::test::make_wave;
using loa::test::RunningAgent;
using loa::test::TempDir;
using loa::test::wall_now_us;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecondUs = 1'000'000;

/// Takes the slots table away from under the agent (every read of the timeline then fails with
/// "no such table"), or gives it back.
void break_store(const fs::path& data, bool broken) {
    SQLite::Database db((data / "node.db").string(), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    db.exec(broken ? "ALTER TABLE slots RENAME TO slots_away"
                   : "ALTER TABLE slots_away RENAME TO slots");
}

}  // namespace

TEST_CASE("a fault under the player and the session is survived, and the agent plays on after it",
          "[agent][fault]") {
    TempDir dir;
    FakeController controller(dir.path());
    const fs::path data = dir / "node";
    const fs::path wave = dir / "tone.wav";
    make_wave(wave, "0.1*sin(2*PI*440*t)", 1.0);
    const std::string hash = controller.add_media(wave);
    RunningAgent agent(agent_options(data, controller));
    // With nothing to play the player looks at the store every second, the session too.
    REQUIRE(controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));

    break_store(data, true);
    std::this_thread::sleep_for(2500ms);
    CHECK_FALSE(agent.returned());
    CHECK_FALSE(agent.failed());
    break_store(data, false);

    const std::int64_t start = wall_now_us() + 6 * kSecondUs;
    controller.set_timeline(
        {make_slot("after-the-fault", hash, controller.size_of(hash), start, 1 * kSecondUs)},
        start + 3600 * kSecondUs);
    auto played = controller.wait_confirmation("after-the-fault", 15s);
    REQUIRE(played);
    CHECK(played->outcome() == wire::PLAYED);
    CHECK(controller.wait_heartbeat(
        [](const wire::Heartbeat& hb) { return hb.runway_end_us() > 0; }));
    CHECK_FALSE(agent.returned());
    CHECK(agent.error().empty());
}

TEST_CASE("a thread that keeps failing stops the agent cleanly, saying why", "[agent][fault]") {
    TempDir dir;
    FakeController controller(dir.path());
    const fs::path data = dir / "node";
    auto options = agent_options(data, controller);
    options.give_up_after_us = 1 * kSecondUs;
    RunningAgent agent(options);
    REQUIRE(controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));

    break_store(data, true);
    REQUIRE(loa::test::wait_until([&] { return agent.returned(); }, 15s));
    CHECK(agent.failed());
    CHECK(agent.error().empty());  // run() returned: nothing escaped it
    CHECK_THAT(agent.failure(), Catch::Matchers::Contains("no such table"));
    CHECK((agent.failure().starts_with("player: ") || agent.failure().starts_with("session: ")));
    CHECK_FALSE(agent.restart_requested());
}
