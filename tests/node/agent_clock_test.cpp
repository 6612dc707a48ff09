// The agent plays on the controller's time: a node whose clock is 90 s wrong (either way) airs
// its plays at the booked instant, and one over an hour off holds them and says so.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include <fmt/core.h>

#include "agent_fixture.hpp"
#include "test_support.hpp"

using loa::test::agent_options;
using loa::test::FakeController;
using loa::test::make_slot;
using loa::test::make_wave;
using loa::test::RunningAgent;
using loa::test::seconds_of;
using loa::test::TempDir;
using loa::test::wall_now_us;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecondUs = 1'000'000;

struct ShiftedNode {
    TempDir dir;
    FakeController controller{dir.path()};
    std::string tone;

    ShiftedNode() {
        const fs::path file = dir / "tone.wav";
        make_wave(file, "0.1*sin(2*PI*440*t)", 1.0);
        tone = controller.add_media(file);
    }
    wire::Slot slot(const std::string& id, std::int64_t start_us) {
        return make_slot(id, tone, controller.size_of(tone), start_us, kSecondUs);
    }
    loa::node::AgentOptions options(std::int64_t shift_us) {
        auto o = agent_options(dir / "node", controller);
        o.clock_shift_us = shift_us;
        return o;
    }
};

}  // namespace

TEST_CASE("a node whose clock is 90 s off airs its plays at the controller's booked time",
          "[agent]") {
    const std::int64_t shift = GENERATE(as<std::int64_t>{}, 90 * kSecondUs, -90 * kSecondUs);
    INFO("node clock shifted by " << seconds_of(shift) << " s");
    ShiftedNode t;
    RunningAgent agent(t.options(shift));
    // Once the node has measured its clock against the controller's (heartbeats every 0.3 s).
    auto measured = t.controller.wait_heartbeat(
        [](const wire::Heartbeat& h) { return h.clock_state() == wire::CLOCK_CORRECTED; });
    REQUIRE(measured);
    CHECK(seconds_of(measured->clock_offset_us()) == Approx(-seconds_of(shift)).margin(0.05));
    // Booked on the controller's clock (the system's here): 90 s fast, the node would have
    // skipped both as late; 90 s slow, aired them 90 s late.
    const std::int64_t start = wall_now_us() + 3 * kSecondUs;
    t.controller.set_timeline({t.slot("dau", start), t.slot("sau", start + 2 * kSecondUs)},
                              start + 3600 * kSecondUs);
    for (auto [id, booked] : {std::pair{"dau", start}, std::pair{"sau", start + 2 * kSecondUs}}) {
        INFO(id);
        auto c = t.controller.wait_confirmation(id, 10s);
        REQUIRE(c);
        CHECK(c->outcome() == wire::PLAYED);
        CHECK(c->reason() == "");
        // It says what its own clock read: the booked instant, shifted.
        CHECK(seconds_of(c->actual_start_us() - shift - booked) == Approx(0).margin(0.15));
    }
    auto hb = t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; });
    REQUIRE(hb);
    CHECK(hb->clock_state() == wire::CLOCK_CORRECTED);
    CHECK(hb->clock_age_us() >= 0);
    CHECK(hb->clock_age_us() < 5 * kSecondUs);
}

TEST_CASE("a node over an hour off holds its booked plays and says so in its heartbeat",
          "[agent]") {
    ShiftedNode t;
    RunningAgent agent(t.options(2 * 3600 * kSecondUs));
    auto untrusted = t.controller.wait_heartbeat(
        [](const wire::Heartbeat& h) { return h.clock_state() == wire::CLOCK_UNTRUSTED; });
    REQUIRE(untrusted);
    const std::int64_t start = wall_now_us() + 2 * kSecondUs;
    t.controller.set_timeline({t.slot("giu", start)}, start + 3600 * kSecondUs);
    auto c = t.controller.wait_confirmation("giu", 10s);
    REQUIRE(c);
    CHECK(c->outcome() == wire::SKIPPED);
    CHECK(c->reason() == "clock-untrusted");
    CHECK(c->actual_start_us() == 0);
    // It never aired: not at the booked time, nor two hours off.
    CHECK(wall_now_us() > start + kSecondUs);
}
