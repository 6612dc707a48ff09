// Scenario 13 (issue 18): the controller is SIGKILLed twenty times while virtual nodes confirm
// plays every second; when the dust settles every confirmation is stored once: none lost, none
// twice, no gap in any node's numbers.
#include "scenario.hpp"
#include "sim_fleet.hpp"

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loa/sim/simulator.hpp"

using namespace loa::e2e;
namespace sim = loa::sim;

TEST_CASE(
    "scenario 13: twenty controller kills during ingest lose no confirmation and store none "
    "twice",
    "[e2e][sim]") {
    spdlog::set_level(spdlog::level::warn);
    Scenario s;
    constexpr int kNodes = 20;
    constexpr int kKills = 20;
    auto identities = loa::test::register_virtual_nodes(s.controller_data(), kNodes, "ki", kArea);
    s.start_controller();  // heartbeats every second

    sim::SimOptions options;
    options.endpoint = s.endpoint();
    options.controller_key = loa::test::controller_public_key(s.controller_data());
    options.data_root = s.root() / "virtual";
    options.plays_per_day = 20;
    options.day_seconds = 20;  // a play a second per node
    options.play_seconds = 1;
    const auto start_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    options.synthetic_until_us = start_us + 40'000'000;
    options.keep_confirmations = true;
    sim::Simulator simulator(options);
    for (auto& identity : identities) {
        simulator.add_node(identity);
    }
    simulator.start();
    REQUIRE(
        simulator.wait_until([&](const sim::SimTotals& t) { return t.welcomed == kNodes; }, 20s));

    // Kills at random moments: mid-commit, between a commit and its acks, during HELLOs.
    std::mt19937 random(18);
    std::uniform_int_distribution<int> pause_ms(300, 1800);
    for (int kill = 0; kill < kKills; ++kill) {
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
        s.kill_controller();
        s.start_controller();
    }
    const auto kills_done = simulator.totals();

    // The plays stop at 40 s; then every outbox drains into the last controller.
    bool drained = simulator.wait_until(
        [&](const sim::SimTotals& t) {
            const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            return t.outbox == 0 && now > options.synthetic_until_us + 2'000'000;
        },
        120s);
    simulator.stop();
    const auto totals = simulator.totals();
    INFO(fmt::format("produced {}, acked {}, waiting {}, sessions begun again {}, failures {} ({})",
                     totals.produced, totals.confirmations_acked, totals.outbox, totals.reconnects,
                     totals.failures, totals.last_failure));
    E2E_REQUIRE(s, drained);
    CHECK(totals.failures == 0);
    CHECK(kills_done.reconnects >= kNodes);  // the kills did cut sessions
    CHECK(totals.synthetic >= kNodes * 30);

    for (const auto& node : simulator.nodes()) {
        INFO(node.node_id);
        CHECK(node.last_seq == node.produced);  // numbered from 1, no gap
        CHECK(node.outbox == 0);
    }
    auto check = loa::test::check_confirmations(s.controller_db(), simulator.nodes());
    INFO(fmt::format("{}", fmt::join(check.problems, "\n")));
    CHECK(check.problems.empty());
    // Synthetic plays name no booked slot: the controller keeps them apart, each once too.
    CHECK(check.stored + check.kept_apart == totals.produced);
}
