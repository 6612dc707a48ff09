// Scenario 01: a controller and three node agents; every node plays and confirms every bulletin.
#include "scenario.hpp"

using namespace loa::e2e;

TEST_CASE("scenario 01: three nodes play and confirm every bulletin", "[e2e]") {
    Scenario s;
    const std::vector<std::string> nodes = {"ta-van-01", "ta-van-02", "ta-van-03"};
    for (const auto& id : nodes) {
        s.add_node(id);
    }
    const std::vector<Bulletin> bulletins = {s.tone(2.0, 440.0), s.tone(3.0, 660.0)};
    REQUIRE(bulletins[0].hash != bulletins[1].hash);
    CHECK(bulletins[0].seconds == Approx(2.0).margin(0.01));
    CHECK(bulletins[1].seconds == Approx(3.0).margin(0.01));
    const double total_seconds = bulletins[0].seconds + bulletins[1].seconds;

    s.start_controller();
    for (const auto& id : nodes) {
        s.start_node(id);
    }
    bool all_seen = loa::test::wait_until([&] { return s.seen(nodes); }, 10s);
    E2E_REQUIRE(s, all_seen);

    auto booked = s.add_campaign("ba-ban-tin", bulletins, 7);
    CHECK(booked["nodes_targeted"] == nodes.size());
    CHECK(booked["slots_booked"] == nodes.size() * bulletins.size());
    for (const auto& id : nodes) {
        E2E_REQUIRE(s, s.planned(id, "ba-ban-tin") == 2);
    }

    bool all_confirmed = loa::test::wait_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [&](const auto& id) { return s.confirmed(id, "") == 2; });
        },
        confirm_deadline(s, nodes.back()));
    E2E_REQUIRE(s, all_confirmed);
    for (const auto& id : nodes) {
        INFO("node " << id);
        E2E_CHECK(s, s.confirmed(id, "played") == 2);
    }

    auto report = s.report("ba-ban-tin");
    INFO("report: " << report.dump(2));
    REQUIRE(report["rows"].size() == nodes.size());
    for (const auto& row : report["rows"]) {
        INFO("node " << row["node"]);
        CHECK(row["planned_plays"] == 2);
        CHECK(row["confirmed_plays"] == row["planned_plays"]);
        CHECK(row["unconfirmed"] == 0);
        CHECK(row["failed"] == 0);
        CHECK(row["late"] == 0);
        CHECK(row["planned_seconds"].get<double>() == Approx(total_seconds).margin(0.01));
        CHECK(row["confirmed_seconds"].get<double>() == Approx(total_seconds).margin(0.2));
    }
    CHECK(report["total"]["planned_plays"] == 6);
    CHECK(report["total"]["confirmed_plays"] == 6);
    CHECK(report["total"]["confirmed_seconds"].get<double>() ==
          Approx(3 * total_seconds).margin(0.6));

    // The evidence sink: one WAV per bulletin, in play order, as long as the bulletin.
    for (const auto& id : nodes) {
        auto files = s.wavs(id);
        INFO("node " << id);
        REQUIRE(files.size() == bulletins.size());
        for (std::size_t i = 0; i < files.size(); ++i) {
            INFO("file " << files[i].filename().string());
            CHECK(probe_seconds(files[i]) == Approx(bulletins[i].seconds).margin(0.1));
        }
    }
}
