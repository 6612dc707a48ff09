// Scenario 10: virtual nodes (loa_sim: the node library's session, store and outbox, a virtual
// player on the clock) enroll with tokens of their own against a real loa-controller, heartbeat,
// play what it books and confirm synthetic plays; each confirmation is stored exactly once.
#include "scenario.hpp"
#include "sim_fleet.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loa/sim/simulator.hpp"

using namespace loa::e2e;
namespace sim = loa::sim;

namespace {

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string describe(const sim::SimTotals& t) {
    return fmt::format(
        "welcomed {} of {}, heartbeats {}/{} acked, confirmations produced {} (booked {}, "
        "played {}, synthetic {}), acked {}, waiting {}, errors {} ({}), failures {} ({})",
        t.welcomed, t.nodes, t.heartbeat_acks, t.heartbeats, t.produced, t.booked, t.played,
        t.synthetic, t.confirmations_acked, t.outbox, t.errors, t.last_error, t.failures,
        t.last_failure);
}

}  // namespace

TEST_CASE(
    "scenario 10: fifty virtual nodes enroll, heartbeat, play their timelines and every "
    "confirmation is stored once",
    "[e2e][sim]") {
    spdlog::set_level(spdlog::level::warn);  // each virtual session logs its welcome at info
    Scenario s;
    constexpr int kNodes = 50;
    auto tickets = loa::test::issue_virtual_node_tokens(s.controller_data(), kNodes, "ao", kArea);
    s.start_controller();  // heartbeats every second
    const std::vector<Bulletin> bulletins = {s.tone(1.0, 440.0), s.tone(1.5, 660.0)};

    // Each node through the enrollment endpoint with its token and a key of its own.
    const auto root = s.root() / "virtual";
    auto enrolled = sim::enroll_nodes(tickets, s.enroll_endpoint(), root);
    INFO(fmt::format("{}", fmt::join(enrolled.failures, "\n")));
    E2E_REQUIRE(s, enrolled.enrolled.size() == static_cast<std::size_t>(kNodes));

    sim::SimOptions options;
    options.endpoint = s.endpoint();
    options.controller_key = loa::test::controller_public_key(s.controller_data());
    options.data_root = root;
    // A synthetic play about every 4 s per node besides the booked ones, for the first 16 s.
    options.plays_per_day = 5;
    options.day_seconds = 20;
    options.play_seconds = 2;
    options.synthetic_until_us = now_us() + 16'000'000;
    options.keep_confirmations = true;
    sim::Simulator simulator(options);
    for (auto& identity : enrolled.enrolled) {
        simulator.add_node(identity);
    }
    const auto started = std::chrono::steady_clock::now();
    simulator.start();
    bool welcomed =
        simulator.wait_until([&](const sim::SimTotals& t) { return t.welcomed == kNodes; }, 15s);
    INFO(describe(simulator.totals()));
    E2E_REQUIRE(s, welcomed);

    // Their real timelines: two bulletins booked for the area, so for every virtual node.
    auto booked = s.add_campaign("ao-thu", bulletins, 6);
    E2E_REQUIRE(s, booked["nodes_targeted"] == kNodes);
    E2E_REQUIRE(s, s.planned("ao-0001", "ao-thu") == 2);
    constexpr std::uint64_t kPlanned = kNodes * 2;

    // Played and acked, and at least 20 s of heartbeats.
    bool done = simulator.wait_until(
        [&](const sim::SimTotals& t) {
            return t.played == kPlanned && t.outbox == 0 &&
                   std::chrono::steady_clock::now() - started >= 20s;
        },
        std::chrono::milliseconds(
            static_cast<std::int64_t>((s.seconds_to_last_play_end("ao-0001") + 30.0) * 1000)));
    simulator.stop();
    const auto totals = simulator.totals();
    INFO(describe(totals));
    E2E_REQUIRE(s, done);
    CHECK(totals.failures == 0);
    CHECK(totals.errors == 0);
    CHECK(totals.bad_frames == 0);
    CHECK(totals.booked == totals.played);  // nothing late, skipped or failed
    CHECK(totals.synthetic >= kNodes * 2);

    for (const auto& node : simulator.nodes()) {
        INFO(node.node_id);
        CHECK(node.session.welcomes >= 1);
        CHECK(node.session.timelines >= 1);
        CHECK(node.session.heartbeat_acks >= 10);
        CHECK(node.played == 2);
        CHECK(node.outbox == 0);
        CHECK(node.last_seq == node.produced);  // numbered from 1, no gap
        CHECK(node.confirmations.size() == node.produced);
    }

    // The controller's record: every number once, every slot once, nothing else.
    auto check = loa::test::check_confirmations(s.controller_db(), simulator.nodes());
    INFO(fmt::format("{}", fmt::join(check.problems, "\n")));
    CHECK(check.problems.empty());
    CHECK(check.produced == totals.produced);
    CHECK(check.stored + check.kept_apart == totals.produced);
    // The booked plays count as the campaign's airtime, each once, as played.
    E2E_CHECK(s, s.controller_scalar(
                     "SELECT count(*) FROM confirmations c JOIN slots s ON s.node_id = c.node_id "
                     "AND s.slot_id = c.slot_id WHERE s.campaign_id = 'ao-thu' AND c.outcome = "
                     "'played' AND c.rms_dbfs IS NOT NULL") == kPlanned);
    auto report = s.report("ao-thu");
    INFO("report: " << report.dump(2));
    CHECK(report["total"]["confirmed_plays"] == kPlanned);
    CHECK(report["total"]["unconfirmed"] == 0);
}

TEST_CASE(
    "scenario 10: virtual nodes on a slow link losing a tenth of the frames lose no "
    "confirmation",
    "[e2e][sim]") {
    spdlog::set_level(spdlog::level::warn);
    Scenario s;
    constexpr int kNodes = 10;
    // Keys written straight into the controller's database: no enrollment round trip.
    auto identities = loa::test::register_virtual_nodes(s.controller_data(), kNodes, "xa", kArea);
    s.start_controller();

    sim::SimOptions options;
    options.endpoint = s.endpoint();
    options.controller_key = loa::test::controller_public_key(s.controller_data());
    options.data_root = s.root() / "virtual";
    options.link.delay_us = 150'000;
    options.link.jitter_us = 100'000;
    options.link.loss = 0.1;
    options.plays_per_day = 20;
    options.day_seconds = 20;  // a play a second per node
    options.play_seconds = 1;
    options.synthetic_until_us = now_us() + 12'000'000;
    options.keep_confirmations = true;
    sim::Simulator simulator(options);
    for (auto& identity : identities) {
        simulator.add_node(identity);
    }
    simulator.start();
    // Confirmations stop after 12 s; reports are sent again every 3 s until acked.
    bool drained = simulator.wait_until(
        [&](const sim::SimTotals& t) {
            return t.welcomed == kNodes && t.synthetic > 0 && t.outbox == 0 &&
                   now_us() > options.synthetic_until_us;
        },
        60s);
    simulator.stop();
    const auto totals = simulator.totals();
    INFO(describe(totals));
    E2E_REQUIRE(s, drained);
    CHECK(totals.dropped > 0);  // the link did lose frames
    CHECK(totals.failures == 0);
    CHECK(totals.synthetic >= kNodes * 8);

    auto check = loa::test::check_confirmations(s.controller_db(), simulator.nodes());
    INFO(fmt::format("{}", fmt::join(check.problems, "\n")));
    CHECK(check.problems.empty());
    CHECK(check.stored + check.kept_apart == totals.produced);
}
