// Scenario 02: plays made while the controller is down survive a SIGKILL of the node and arrive.
#include "scenario.hpp"

using namespace loa::e2e;

TEST_CASE("scenario 02: confirmations survive a controller outage and a killed node", "[e2e]") {
    Scenario s;
    const std::string node = "ta-van-01";
    s.add_node(node);
    const std::vector<Bulletin> bulletins = {s.tone(2.0, 523.25), s.tone(3.0, 784.0)};

    s.start_controller();
    s.start_node(node);
    bool hello = loa::test::wait_until([&] { return s.seen({node}); }, 10s);
    E2E_REQUIRE(s, hello);
    s.add_campaign("mat-dien", bulletins, 8);
    const std::int64_t planned = s.planned(node, "mat-dien");
    E2E_REQUIRE(s, planned == 2);

    // The node holds its timeline and both media files before the controller goes away.
    bool ready = loa::test::wait_until(
        [&] {
            return s.node_scalar(node, "SELECT count(*) FROM slots").value_or(0) == planned &&
                   fs::exists(s.node_data(node) / "media" / bulletins[0].hash) &&
                   fs::exists(s.node_data(node) / "media" / bulletins[1].hash);
        },
        6s);
    E2E_REQUIRE(s, ready);
    s.stop_controller();  // its exit status is scenario 05's business
    E2E_REQUIRE(
        s, s.node_scalar(node, "SELECT count(*) FROM slots WHERE state = 'pending'") == planned);

    // Alone, the node plays on time and keeps its confirmations in the outbox.
    bool played = loa::test::wait_until(
        [&] { return s.node_scalar(node, "SELECT count(*) FROM outbox").value_or(0) == planned; },
        confirm_deadline(s, node));
    E2E_REQUIRE(s, played);
    E2E_CHECK(s, s.wavs(node).size() == bulletins.size());
    E2E_CHECK(s, s.confirmed(node, "") == 0);  // nothing reached the controller

    s.kill_node(node);
    // SIGKILL loses nothing that was committed.
    E2E_REQUIRE(s, s.node_scalar(node, "SELECT count(*) FROM outbox WHERE outcome = 1") == planned);
    E2E_CHECK(s, s.node_scalar(node, "SELECT count(*) FROM slots WHERE state = 'done'") == planned);

    s.start_node(node);
    s.start_controller();
    bool delivered = loa::test::wait_until(
        [&] {
            return s.confirmed(node, "") == planned &&
                   s.node_scalar(node, "SELECT count(*) FROM outbox") == 0;
        },
        30s);
    E2E_REQUIRE(s, delivered);
    E2E_CHECK(s, s.confirmed(node, "played") == planned);
    // Exactly one confirmation per planned slot, each for a slot the controller booked.
    E2E_CHECK(s, s.controller_scalar("SELECT count(DISTINCT c.slot_id) FROM confirmations c JOIN "
                                     "slots s ON s.node_id = c.node_id AND s.slot_id = c.slot_id "
                                     "WHERE c.node_id = 'ta-van-01'") == planned);
    E2E_CHECK(s, s.controller_scalar("SELECT count(*) FROM confirmations WHERE reason <> '' OR "
                                     "actual_end_us <= actual_start_us") == 0);
    // The restarted node did not play anything again.
    E2E_CHECK(s, s.wavs(node).size() == bulletins.size());

    auto report = s.report("mat-dien");
    INFO("report: " << report.dump(2));
    CHECK(report["total"]["planned_plays"] == planned);
    CHECK(report["total"]["confirmed_plays"] == planned);
    CHECK(report["total"]["unconfirmed"] == 0);
    CHECK(report["total"]["confirmed_seconds"].get<double>() ==
          Approx(bulletins[0].seconds + bulletins[1].seconds).margin(0.2));

    // Once acked, confirmations are not delivered twice: a few more seconds change nothing.
    std::this_thread::sleep_for(2s);
    E2E_CHECK(s, s.confirmed(node, "") == planned);
}
