// Confirmations judged on the controller's clock: a node's claim corrected with the offset
// measured nearest the play, both kept, and plays aired over 30 s off their booked time flagged.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/clock_offsets.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/booking/node_timeline.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr std::int64_t k90s = 90 * kSecondUs;

struct Clocked : ControllerFixture {
    std::string a;
    Clocked() {
        node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
        a = tone(2.0, 440);
        REQUIRE(lc::write_directly(*db, [&](lc::WriteTx& tx) {
            return lc::add_campaign(tx, campaign("thien-tai", {a}, {"vn/lao-cai"}), kNow);
        }));
    }

    wire::Slot booked() {
        auto timeline = lc::node_timeline(*db, "ta-van-01", kNow);
        REQUIRE(timeline.has_value());
        REQUIRE(timeline->slots_size() == 1);
        return timeline->slots(0);
    }

    /// A confirmation of the booked play whose start the node's clock read as `node_start_us`.
    wire::PlaybackReport aired_at(std::int64_t node_start_us, std::uint64_t seq = 1) {
        const auto s = booked();
        wire::PlaybackReport report;
        auto* c = report.add_confirmations();
        c->set_seq(seq);
        c->set_slot_id(s.slot_id());
        c->set_campaign_id(s.campaign_id());
        c->set_item_id(s.item_id());
        c->set_media_hash(s.media_hash());
        c->set_planned_start_us(s.start_us());
        c->set_outcome(wire::PLAYED);
        c->set_actual_start_us(node_start_us);
        c->set_actual_end_us(node_start_us + s.duration_us());
        return report;
    }

    void measured(std::int64_t at_us, std::int64_t offset_us,
                  std::optional<std::int64_t> round_trip_us = 2'000) {
        REQUIRE(lc::write_directly(*db, [&](lc::WriteTx& tx) {
            return lc::record_clock_samples(tx, {{"ta-van-01", at_us, offset_us, round_trip_us}});
        }));
    }

    void ingest(const wire::PlaybackReport& report) {
        REQUIRE(lc::write_directly(*db, [&](lc::WriteTx& tx) {
            return lc::ingest_confirmations(tx, "ta-van-01", report, kNow + 3600 * kSecondUs);
        }));
    }

    struct Stored {
        std::int64_t actual_start_us, actual_end_us, node_start_us, node_end_us;
        std::optional<std::int64_t> clock_offset_us, clock_measured_us, off_by_us;
        bool off_time;
    };
    Stored stored() {
        SQLite::Statement q(*db,
                            "SELECT actual_start_us, actual_end_us, node_start_us, node_end_us, "
                            "clock_offset_us, clock_measured_us, off_by_us, off_time FROM "
                            "confirmations WHERE node_id = 'ta-van-01'");
        REQUIRE(q.executeStep());
        auto opt = [&](int i) {
            return q.getColumn(i).isNull() ? std::nullopt
                                           : std::optional(q.getColumn(i).getInt64());
        };
        return {q.getColumn(0).getInt64(),
                q.getColumn(1).getInt64(),
                q.getColumn(2).getInt64(),
                q.getColumn(3).getInt64(),
                opt(4),
                opt(5),
                opt(6),
                q.getColumn(7).getInt() == 1};
    }

    lc::AirtimeReport report() {
        auto r = lc::airtime_report(*db, {.campaign_id = "thien-tai",
                                          .from_us = kNow,
                                          .to_us = kNow + 86400 * kSecondUs,
                                          .now_us = kNow + 86400 * kSecondUs});
        REQUIRE(r.has_value());
        return *r;
    }
};

}  // namespace

TEST_CASE(
    "a play a node 90 s fast aired on time is stored on the controller's clock and not flagged") {
    Clocked f;
    const auto s = f.booked();
    // The node's clock reads 90 s ahead: offset (controller − node) is −90 s; it started the play
    // when its clock read booked start + 90 s, which was the booked start.
    f.measured(s.start_us() - 600 * kSecondUs, -k90s);
    f.ingest(f.aired_at(s.start_us() + k90s));
    const auto c = f.stored();
    CHECK(c.node_start_us == s.start_us() + k90s);  // the node's claim, kept
    CHECK(c.node_end_us == s.start_us() + k90s + s.duration_us());
    CHECK(c.actual_start_us == s.start_us());  // on the controller's clock
    CHECK(c.actual_end_us == s.start_us() + s.duration_us());
    CHECK(c.clock_offset_us == -k90s);
    CHECK(c.clock_measured_us == s.start_us() - 600 * kSecondUs);
    CHECK(c.off_by_us == 0);
    CHECK_FALSE(c.off_time);
    const auto r = f.report();
    CHECK(r.total.confirmed_plays == 1);
    CHECK(r.total.off_time == 0);
}

TEST_CASE(
    "a play that aired 90 s late by the controller's clock is flagged off time in the report") {
    Clocked f;
    const auto s = f.booked();
    // The controller measured the node's clock right (offset 0), and the node says it started
    // 90 s after the booked time: a clock the node thought right, or a node that does not
    // correct. Before, this was reported as an ordinary play.
    f.measured(s.start_us() - 60 * kSecondUs, 0);
    f.ingest(f.aired_at(s.start_us() + k90s));
    const auto c = f.stored();
    CHECK(c.actual_start_us == s.start_us() + k90s);
    CHECK(c.off_by_us == k90s);
    CHECK(c.off_time);
    const auto r = f.report();
    CHECK(r.total.confirmed_plays == 1);  // it aired: counted where it belongs, and flagged
    CHECK(r.total.off_time == 1);
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0].off_time == 1);
    auto json = lc::to_json(r);
    CHECK(json["total"]["off_time"] == 1);
    CHECK(lc::render_table(r, lc::Language::vi).find("Lệch giờ") != std::string::npos);
    CHECK(lc::render_table(r, lc::Language::en).find("Off time") != std::string::npos);
    CHECK(lc::render_csv(r, lc::Language::en).find("Off time") != std::string::npos);
}

TEST_CASE("a play 90 s early by the controller's clock is flagged, 20 s off is not") {
    auto off_by = GENERATE(as<std::int64_t>{}, -k90s, -20 * kSecondUs, 20 * kSecondUs);
    Clocked f;
    const auto s = f.booked();
    f.measured(s.start_us() - 60 * kSecondUs, 5 * kSecondUs);  // the node 5 s slow
    f.ingest(f.aired_at(s.start_us() + off_by - 5 * kSecondUs));
    const auto c = f.stored();
    CHECK(c.actual_start_us == s.start_us() + off_by);
    CHECK(c.off_by_us == off_by);
    CHECK(c.off_time == (off_by == -k90s));
    CHECK(f.report().total.off_time == (off_by == -k90s ? 1 : 0));
}

TEST_CASE("a confirmation is corrected with the offset measured nearest its play") {
    Clocked f;
    const auto s = f.booked();
    // Measured 0 ten hours before the play, −90 s one hour after it (the clock jumped while the
    // node was offline): the later measurement is nearer.
    f.measured(s.start_us() - 36'000 * kSecondUs, 0);
    f.measured(s.start_us() + 3'600 * kSecondUs, -k90s);
    f.measured(s.start_us() + 7'200 * kSecondUs, -k90s - 50'000);
    f.ingest(f.aired_at(s.start_us() + k90s));
    const auto c = f.stored();
    CHECK(c.clock_offset_us == -k90s);
    CHECK(c.clock_measured_us == s.start_us() + 3'600 * kSecondUs);
    CHECK(c.actual_start_us == s.start_us());
    CHECK_FALSE(c.off_time);
}

TEST_CASE("a node whose clock was never measured is taken at its word and judged by it") {
    Clocked f;
    const auto s = f.booked();
    f.ingest(f.aired_at(s.start_us() + k90s));
    const auto c = f.stored();
    CHECK_FALSE(c.clock_offset_us.has_value());
    CHECK_FALSE(c.clock_measured_us.has_value());
    CHECK(c.actual_start_us == s.start_us() + k90s);
    CHECK(c.node_start_us == s.start_us() + k90s);
    CHECK(c.off_time);
}

TEST_CASE("a one-way estimate from a hello counts only for a node never measured otherwise") {
    Clocked f;
    const auto s = f.booked();
    f.measured(s.start_us() - 600 * kSecondUs, -k90s, std::nullopt);
    f.measured(s.start_us() - 300 * kSecondUs, 0, std::nullopt);  // ignored: measured already
    CHECK(f.count("node_clock_offsets") == 1);
    f.measured(s.start_us() - 200 * kSecondUs, -k90s + 3'000);  // an exchange: always kept
    CHECK(f.count("node_clock_offsets") == 2);
    f.ingest(f.aired_at(s.start_us() + k90s));
    CHECK(f.stored().clock_offset_us == -k90s + 3'000);
}

TEST_CASE("a re-sent confirmation counts once although the offset moved since it was stored") {
    Clocked f;
    const auto s = f.booked();
    f.measured(s.start_us() - 600 * kSecondUs, -k90s);
    const auto report = f.aired_at(s.start_us() + k90s);
    f.ingest(report);
    f.measured(s.start_us() - 300 * kSecondUs, -k90s + 400'000);
    f.ingest(report);  // the ack was lost: the same confirmation again
    CHECK(f.count("confirmations") == 1);
    CHECK(f.count("refused_confirmations") == 0);
    CHECK(f.stored().clock_offset_us == -k90s);
}

TEST_CASE("offsets older than 90 days are forgotten but a node's newest is kept") {
    Clocked f;
    f.measured(kNow - 200LL * 86'400 * kSecondUs, 1'000);
    f.measured(kNow - 100LL * 86'400 * kSecondUs, 2'000);
    CHECK(f.count("node_clock_offsets") == 1);  // the 200-day-old one went
    f.measured(kNow, 3'000);
    CHECK(f.count("node_clock_offsets") == 1);  // so did the 100-day-old one
}

TEST_CASE("the gateway logs a node's measured offset and corrects its reports with it") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto media = f.tone(2.0, 440);
    REQUIRE(lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::add_campaign(tx, f.campaign("thien-tai", {media}, {"vn/lao-cai"}), kNow);
    }));
    auto timeline = lc::node_timeline(*f.db, "ta-van-01", kNow);
    REQUIRE(timeline.has_value());
    const auto s = timeline->slots(0);
    auto node = f.start_and_join("ta-van-01");
    wire::Envelope hb;
    hb.mutable_heartbeat()->set_node_time_us(lc::now_us() + k90s);
    hb.mutable_heartbeat()->set_clock_offset_us(-k90s);
    hb.mutable_heartbeat()->set_clock_round_trip_us(1'500);
    hb.mutable_heartbeat()->set_clock_state(wire::CLOCK_CORRECTED);
    hb.mutable_heartbeat()->set_clock_age_us(1'000'000);
    node->send(hb);
    node->receive(wire::Envelope::kHeartbeatAck);
    wire::Envelope again = hb;  // the same offset again: nothing new to log
    node->send(again);
    node->receive(wire::Envelope::kHeartbeatAck);
    node->sync();
    CHECK(f.count("node_clock_offsets") == 1);
    wire::Envelope report;
    auto* c = report.mutable_playback_report()->add_confirmations();
    c->set_seq(1);
    c->set_slot_id(s.slot_id());
    c->set_campaign_id(s.campaign_id());
    c->set_item_id(s.item_id());
    c->set_media_hash(s.media_hash());
    c->set_planned_start_us(s.start_us());
    c->set_outcome(wire::PLAYED);
    c->set_actual_start_us(s.start_us() + k90s);
    c->set_actual_end_us(s.start_us() + k90s + s.duration_us());
    node->send(report);
    node->receive(wire::Envelope::kReportAck);
    SQLite::Statement q(*f.db,
                        "SELECT actual_start_us, node_start_us, clock_offset_us, off_time FROM "
                        "confirmations WHERE node_id = 'ta-van-01'");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt64() == s.start_us());
    CHECK(q.getColumn(1).getInt64() == s.start_us() + k90s);
    CHECK(q.getColumn(2).getInt64() == -k90s);
    CHECK(q.getColumn(3).getInt() == 0);
    SQLite::Statement st(*f.db,
                         "SELECT clock_state, clock_age_us FROM node_status WHERE node_id = "
                         "'ta-van-01'");
    REQUIRE(st.executeStep());
    CHECK(st.getColumn(0).getInt() == wire::CLOCK_CORRECTED);
    CHECK(st.getColumn(1).getInt64() == 1'000'000);
}

TEST_CASE(
    "a heartbeat saying the clock is untrusted becomes the node's last error, in both languages") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto node = f.start_and_join("ta-van-01");
    wire::Envelope hb;
    hb.mutable_heartbeat()->set_node_time_us(lc::now_us() - 7'200 * kSecondUs);
    hb.mutable_heartbeat()->set_clock_offset_us(7'200 * kSecondUs);
    hb.mutable_heartbeat()->set_clock_state(wire::CLOCK_UNTRUSTED);
    node->send(hb);
    node->receive(wire::Envelope::kHeartbeatAck);
    node->sync();
    SQLite::Statement q(*f.db,
                        "SELECT source, reason FROM node_errors WHERE node_id = 'ta-van-01'");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString() == "clock");
    const std::string why = q.getColumn(1).getString();
    CHECK(why.find("đồng hồ của nút lệch +7200 s") != std::string::npos);
    CHECK(why.find("over 1 h: not corrected, booked plays are held") != std::string::npos);
}
