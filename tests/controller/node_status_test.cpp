// What nodes say of themselves: heartbeats stored, the status table, and the runway list.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/fleet/node_status.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr std::int64_t kHourUs = 3600 * kSecondUs;

wire::Heartbeat heartbeat(std::int64_t runway_end_us) {
    wire::Heartbeat h;
    h.set_node_time_us(kNow);
    h.set_state("idle");
    h.set_volume_percent(60);
    h.set_storage_free_bytes(2'500'000'000ULL);
    h.set_link_interface("wlan0");
    h.set_link_type("wifi");
    h.set_agent_version("loa-node 0.2.0");
    h.set_schedule_horizon_end_us(kNow + 7 * 24 * kHourUs);
    h.set_runway_end_us(runway_end_us);
    h.set_last_seq(10);
    return h;
}

}  // namespace

TEST_CASE("a heartbeat replaces the node's last one, absent readings stay unknown") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto first = heartbeat(kNow + 50 * kHourUs);
    first.set_cpu_temp_millicelsius(51'000);
    first.set_link_signal_dbm(-60);
    first.set_clock_offset_us(1'500);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, "ta-van-01", first, kNow);
            }).has_value());
    auto second = heartbeat(kNow + 40 * kHourUs);  // no temperature, signal or clock this time
    second.set_volume_percent(0);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, "ta-van-01", second, kNow + 30 * kSecondUs);
            }).has_value());
    CHECK(f.count("node_status") == 1);

    auto s = lc::node_statuses(*f.db, "ta-van-01");
    REQUIRE(s.has_value());
    REQUIRE(s->size() == 1);
    const auto& h = s->at(0).heartbeat.value();
    CHECK(h.received_us == kNow + 30 * kSecondUs);
    CHECK(h.volume_percent == 0);
    CHECK_FALSE(h.cpu_temp_millicelsius.has_value());
    CHECK_FALSE(h.link_signal_dbm.has_value());
    CHECK_FALSE(h.clock_offset_us.has_value());
    CHECK(h.runway_end_us == kNow + 40 * kHourUs);
    CHECK(s->at(0).last_seen_us == kNow + 30 * kSecondUs);
    CHECK(lc::find_node(*f.db, "ta-van-01")->agent_version == "loa-node 0.2.0");
}

TEST_CASE("a heartbeat field out of range is kept as unknown, with a note, and the rest stands") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto h = heartbeat(kNow + kHourUs);
    std::string why;
    SECTION("volume over 100") {
        h.set_volume_percent(101);
        why = "volume_percent: 101 is not within 0..100";
    }
    SECTION("an unknown state") {
        h.set_state("dancing");
        why = "state: 'dancing' is not idle, playing or emergency";
    }
    SECTION("a link type that is no link type") {
        h.set_link_type("carrier pigeon");
        why = "link_type: 'carrier pigeon' is not cellular";
    }
    SECTION("a temperature no board reaches") {
        h.set_cpu_temp_millicelsius(900'000);
        why = "cpu_temp_millicelsius: 900000 is not within -60000..200000";
    }
    auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "ta-van-01", h, kNow);
    });
    REQUIRE(r.has_value());
    auto statuses = lc::node_statuses(*f.db, "ta-van-01");
    REQUIRE(statuses.has_value());
    const auto& stored = statuses->at(0).heartbeat.value();
    INFO(stored.problems);
    CHECK(stored.problems.find(why) != std::string::npos);
    // The rest of the heartbeat is kept, and the node was heard.
    CHECK(stored.runway_end_us == kNow + kHourUs);
    CHECK(lc::find_node(*f.db, "ta-van-01")->last_seen_us == kNow);
    if (h.volume_percent() > 100) {
        CHECK_FALSE(stored.volume_percent.has_value());
    } else {
        CHECK(stored.volume_percent.has_value());
    }
    if (h.state() == "dancing") {
        CHECK(stored.state.empty());
    }
    if (h.link_type() == "carrier pigeon") {
        CHECK(stored.link_type.empty());
    }
    if (h.cpu_temp_millicelsius() > 200'000) {
        CHECK_FALSE(stored.cpu_temp_millicelsius.has_value());
    }
    // JSON says unknown as null and lists what was wrong.
    auto json = lc::node_status_json(*statuses, kNow, lc::kClockOffsetWarnUs);
    CHECK(json[0]["heartbeat"]["problems"].get<std::string>().find(why) != std::string::npos);
}

TEST_CASE("the runway list holds nodes below the threshold or never reported, shortest first") {
    ControllerFixture f;
    f.node("a-long", "vn/x");
    f.node("b-short", "vn/x");
    f.node("c-shorter", "vn/x");
    f.node("d-silent", "vn/x");
    f.node("e-unknown", "vn/x");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "a-long", heartbeat(kNow + 100 * kHourUs), kNow);
    }));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "b-short", heartbeat(kNow + 20 * kHourUs), kNow);
    }));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "c-shorter", heartbeat(kNow + 2 * kHourUs), kNow);
    }));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "e-unknown", heartbeat(0), kNow);
    }));  // not worked out

    auto below = lc::short_runway(*f.db, 48, kNow);
    REQUIRE(below.has_value());
    std::vector<std::string> ids;
    for (const auto& s : *below) {
        ids.push_back(s.node_id);
    }
    CHECK(ids == std::vector<std::string>{"d-silent", "e-unknown", "c-shorter", "b-short"});
    CHECK(lc::runway_hours(below->at(2), kNow) == Approx(2.0));
    CHECK(lc::short_runway(*f.db, 150, kNow)->size() == 5);
    // An hour later the runway is an hour shorter.
    CHECK(lc::short_runway(*f.db, 1.5, kNow + kHourUs)->size() == 3);

    const std::string table = lc::render_runway(*below, kNow, lc::Language::vi);
    CHECK(table.find("chưa báo cáo") != std::string::npos);
    CHECK(table.find("2.0") != std::string::npos);
    CHECK(lc::render_runway(*below, kNow, lc::Language::en).find("not reported") !=
          std::string::npos);
}

TEST_CASE("the status table marks clocks off by more than the threshold") {
    ControllerFixture f;
    f.node("lech-gio", "vn/x");
    f.node("dung-gio", "vn/x");
    f.node("im-lang", "vn/x");
    auto off = heartbeat(kNow + 30 * kHourUs);
    off.set_clock_offset_us(-120'000);
    off.set_cpu_temp_millicelsius(61'300);
    auto fine = heartbeat(kNow + 30 * kHourUs);
    fine.set_clock_offset_us(20'000);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "lech-gio", off, kNow);
    }));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "dung-gio", fine, kNow);
    }));
    auto all = lc::node_statuses(*f.db);
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 3);

    const std::string vi =
        lc::render_node_status(*all, kNow + 5 * kSecondUs, 50'000, lc::Language::vi);
    INFO(vi);
    CHECK(vi.find("-120.0 ms !") != std::string::npos);
    CHECK(vi.find("+20.0 ms !") == std::string::npos);
    CHECK(vi.find("lệch quá 50 ms") != std::string::npos);
    CHECK(vi.find("61.3 °C") != std::string::npos);
    CHECK(vi.find("5 s trước") != std::string::npos);
    CHECK(vi.find("chưa bao giờ") != std::string::npos);
    CHECK(vi.find("2.5 GB") != std::string::npos);
    // A wider threshold marks nothing.
    CHECK(lc::render_node_status(*all, kNow, 200'000, lc::Language::en).find(" !") ==
          std::string::npos);

    auto json = lc::node_status_json(*all, kNow, 50'000);
    REQUIRE(json.size() == 3);
    auto row = [&](const std::string& id) {
        for (const auto& r : json) {
            if (r["node"] == id) {
                return r;
            }
        }
        FAIL("no row for " << id);
        return nlohmann::json{};
    };
    CHECK(row("lech-gio")["heartbeat"]["clock_offset_flagged"] == true);
    CHECK(row("lech-gio")["heartbeat"]["clock_offset_us"] == -120'000);
    CHECK(row("dung-gio")["heartbeat"]["clock_offset_flagged"] == false);
    CHECK(row("dung-gio")["heartbeat"]["cpu_temp_celsius"].is_null());
    CHECK(row("dung-gio")["heartbeat"]["runway_hours"].get<double>() == Approx(30.0));
    CHECK(row("im-lang")["heartbeat"].is_null());
    CHECK_FALSE(lc::node_statuses(*f.db, "ke-la").has_value());
}

TEST_CASE("a node's full disk and rebuilt store show in its status, and older agents say nothing") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    f.node("ta-van-02", "vn/lao-cai/sa-pa/ta-van");
    auto full = heartbeat(kNow + kHourUs);
    full.set_store_full(true);
    full.set_confirmations_held(3);
    full.set_store_rebuilt_us(kNow - kHourUs);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, "ta-van-01", full, kNow);
            }).has_value());
    // An agent older than issue 18 does not send the fields: a store that is fine.
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, "ta-van-02", heartbeat(kNow + kHourUs), kNow);
            }).has_value());
    auto s = lc::node_statuses(*f.db);
    REQUIRE(s.has_value());
    REQUIRE(s->size() == 2);
    const auto& h = s->at(0).heartbeat.value();
    CHECK(h.store_full);
    CHECK(h.confirmations_held == 3);
    CHECK(h.store_rebuilt_us == kNow - kHourUs);
    CHECK_FALSE(s->at(1).heartbeat->store_full);
    CHECK(s->at(1).heartbeat->store_rebuilt_us == 0);

    const auto json = lc::node_status_json(*s, kNow, lc::kClockOffsetWarnUs);
    CHECK(json.at(0).at("heartbeat").at("store_full") == true);
    CHECK(json.at(0).at("heartbeat").at("confirmations_held") == 3);
    CHECK_FALSE(json.at(0).at("heartbeat").at("store_rebuilt").get<std::string>().empty());
    CHECK(json.at(1).at("heartbeat").at("store_full") == false);
    CHECK(json.at(1).at("heartbeat").at("store_rebuilt") == "");
    const auto vi = lc::render_node_status(*s, kNow, lc::kClockOffsetWarnUs, lc::Language::vi);
    CHECK_THAT(vi, Catch::Matchers::Contains("! đĩa đầy, giữ 3, dựng lại"));
    CHECK_THAT(vi, Catch::Matchers::Contains("đĩa đầy: nút vẫn phát"));
    const auto en = lc::render_node_status(*s, kNow, lc::kClockOffsetWarnUs, lc::Language::en);
    CHECK_THAT(en, Catch::Matchers::Contains("! disk full, held 3, rebuilt"));

    // A rebuild time that is no time is stored as unknown, with a note.
    auto odd = heartbeat(kNow + kHourUs);
    odd.set_store_rebuilt_us(-5);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, "ta-van-02", odd, kNow);
            }).has_value());
    auto again = lc::node_statuses(*f.db, "ta-van-02");
    REQUIRE(again.has_value());
    CHECK(again->at(0).heartbeat->store_rebuilt_us == 0);
    CHECK_THAT(again->at(0).heartbeat->problems,
               Catch::Matchers::Contains("store_rebuilt_us: -5 is negative"));
}
