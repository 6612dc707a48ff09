// Confirmations from the fleet: measured levels, plays cut short by an emergency, emergency plays
// without a booked slot, numbers accounted for, and sequence gaps.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/booking/node_timeline.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/fleet/sequence_gaps.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

struct Fleet : ControllerFixture {
    std::string hash;
    Fleet() {
        node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
        hash = tone(4.0);
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::add_campaign(tx, campaign("thien-tai", {hash}, {"vn/lao-cai"}), kNow);
        }));
    }

    /// The booked play of ta-van-01, confirmed as `outcome` under `seq`.
    wire::Confirmation booked(std::uint64_t seq, wire::Outcome outcome) {
        auto timeline = lc::node_timeline(*db, "ta-van-01", kNow);
        REQUIRE(timeline.has_value());
        REQUIRE(timeline->slots_size() == 1);
        const auto& s = timeline->slots(0);
        wire::Confirmation c;
        c.set_seq(seq);
        c.set_slot_id(s.slot_id());
        c.set_campaign_id(s.campaign_id());
        c.set_item_id(s.item_id());
        c.set_media_hash(s.media_hash());
        c.set_planned_start_us(s.start_us());
        c.set_outcome(outcome);
        c.set_actual_start_us(s.start_us());
        c.set_actual_end_us(s.start_us() + s.duration_us());
        return c;
    }

    std::vector<std::uint64_t> ingest(std::vector<wire::Confirmation> confirmations,
                                      std::int64_t received_us = kNow) {
        wire::PlaybackReport report;
        for (auto& c : confirmations) {
            *report.add_confirmations() = std::move(c);
        }
        auto acked = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::ingest_confirmations(tx, "ta-van-01", report, received_us);
        });
        REQUIRE(acked.has_value());
        return *acked;
    }

    /// A heartbeat of ta-van-01 saying it has numbered up to `last_seq`, heard at `received_us`.
    void heartbeat(std::uint64_t last_seq, std::int64_t received_us) {
        wire::Heartbeat hb;
        hb.set_last_seq(last_seq);
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::record_heartbeat(tx, "ta-van-01", hb, received_us);
        }));
    }

    /// An emergency of `repeat` plays sent to ta-van-01; its id.
    std::string send_emergency(int repeat) {
        lc::EmergencySpec spec;
        spec.media_hash = hash;
        spec.node_ids = {"ta-van-01"};
        spec.repeat = repeat;
        spec.expires_us = kNow + 3600 * kSecondUs;
        auto sent = loa::controller::write_directly(
            *db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
        REQUIRE(sent.has_value());
        return sent->emergency_id;
    }

    lc::SequenceGaps gaps() {
        auto all = lc::sequence_gaps(*db, "ta-van-01");
        REQUIRE(all.has_value());
        REQUIRE(all->size() == 1);
        return all->at(0);
    }

    lc::AirtimeReport report() {
        auto r = lc::airtime_report(*db, {.campaign_id = "thien-tai",
                                          .from_us = kNow - 3600 * kSecondUs,
                                          .to_us = kNow + 86400 * kSecondUs,
                                          .now_us = kNow + 7200 * kSecondUs});
        REQUIRE(r.has_value());
        return *r;
    }

    /// A confirmation of play `n` of emergency `id`, which aired `seconds`.
    wire::Confirmation emergency_play(std::uint64_t seq, const std::string& id, int n,
                                      double seconds) {
        wire::Confirmation c;
        c.set_seq(seq);
        c.set_slot_id("emergency:" + id + ":" + std::to_string(n));
        c.set_emergency_id(id);
        c.set_item_id(hash);
        c.set_media_hash(hash);
        c.set_planned_start_us(kNow + 10 * kSecondUs);
        c.set_actual_start_us(kNow + 10 * kSecondUs);
        c.set_actual_end_us(kNow + 10 * kSecondUs + static_cast<std::int64_t>(seconds * 1e6));
        c.set_outcome(wire::PLAYED);
        return c;
    }
};

}  // namespace

TEST_CASE("a confirmation keeps what the node measured") {
    Fleet f;
    auto c = f.booked(1, wire::PLAYED);
    auto* levels = c.mutable_levels();
    levels->set_rms_dbfs(-23.5);
    levels->set_peak_dbfs(-3.25);
    levels->set_silent_seconds(0.5);
    levels->set_measured_seconds(4.0);
    levels->set_silence_threshold_dbfs(-50);
    c.set_frames_rendered(100);
    c.set_offset_us(250'000);
    CHECK(f.ingest({c}) == std::vector<std::uint64_t>{1});
    SQLite::Statement q(*f.db,
                        "SELECT rms_dbfs, peak_dbfs, silent_seconds, measured_seconds, "
                        "silence_threshold_dbfs, frames_rendered, offset_us, emergency_id "
                        "FROM confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getDouble() == -23.5);
    CHECK(q.getColumn(1).getDouble() == -3.25);
    CHECK(q.getColumn(2).getDouble() == 0.5);
    CHECK(q.getColumn(3).getDouble() == 4.0);
    CHECK(q.getColumn(4).getDouble() == -50);
    CHECK(q.getColumn(5).getInt64() == 100);
    CHECK(q.getColumn(6).getInt64() == 250'000);
    CHECK(q.getColumn(7).getString().empty());

    // Without levels (a panel, or nothing aired) they stay unknown rather than 0 dBFS.
    Fleet g;
    g.ingest({g.booked(1, wire::PLAYED)});
    SQLite::Statement none(*g.db, "SELECT rms_dbfs IS NULL FROM confirmations");
    REQUIRE(none.executeStep());
    CHECK(none.getColumn(0).getInt() == 1);
}

TEST_CASE("a play cut short by an emergency counts the seconds that aired, flagged") {
    Fleet f;
    auto c = f.booked(1, wire::INTERRUPTED);
    c.set_actual_end_us(c.actual_start_us() + 1'500'000);  // 1.5 s of 4 s aired
    c.set_reason("emergency");
    CHECK(f.ingest({c}) == std::vector<std::uint64_t>{1});
    CHECK(f.count("refused_confirmations") == 0);
    auto r = f.report();
    CHECK(r.total.bucket(lc::Bucket::interrupted).plays == 1);
    CHECK(r.total.confirmed_plays == 0);
    CHECK(r.total.confirmed_us == 1'500'000);
    CHECK(r.total.unconfirmed() == 0);
    CHECK(lc::to_json(r)["total"]["interrupted"] == 1);
    CHECK(lc::render_table(r, lc::Language::vi).find("Bị ngắt") != std::string::npos);

    // An interruption needs a start and an end like any play that aired.
    Fleet g;
    auto bad = g.booked(1, wire::INTERRUPTED);
    bad.set_actual_start_us(0);
    CHECK(g.ingest({bad}) == std::vector<std::uint64_t>{1});
    CHECK(g.count("confirmations") == 0);
    CHECK(g.count("refused_confirmations") == 1);
}

TEST_CASE("an emergency play has no booked slot and counts for its emergency's campaign") {
    Fleet f;
    lc::EmergencySpec spec;
    spec.media_hash = f.hash;
    spec.node_ids = {"ta-van-01"};
    spec.repeat = 2;
    spec.expires_us = kNow + 3600 * kSecondUs;
    spec.campaign_id = "thien-tai";
    auto sent = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE(sent.has_value());

    auto first = f.emergency_play(1, sent->emergency_id, 1, 4.0);
    first.set_campaign_id("whatever-the-node-says");
    auto second = f.emergency_play(2, sent->emergency_id, 2, 2.0);
    second.set_outcome(wire::INTERRUPTED);  // cut short by the next emergency
    CHECK(f.ingest({first, second}) == std::vector<std::uint64_t>{1, 2});
    CHECK(f.count("confirmations") == 2);
    CHECK(f.count("refused_confirmations") == 0);
    SQLite::Statement q(*f.db, "SELECT DISTINCT campaign_id, emergency_id FROM confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString() == "thien-tai");
    CHECK(q.getColumn(1).getString() == sent->emergency_id);

    // Emergencies are not booked: their plays are the campaign's unplanned airtime.
    auto r = f.report();
    CHECK(r.total.unplanned_plays == 2);
    CHECK(r.total.unplanned_us == 6 * kSecondUs);
    CHECK(r.total.airtime_us() == 6 * kSecondUs);
    CHECK(r.total.confirmed_plays == 0);
    CHECK(r.total.planned_plays == 1);  // the booked play, not confirmed yet
    CHECK(r.total.bucket(lc::Bucket::not_yet_reported).plays == 1);
}

TEST_CASE("a play of an emergency never sent to that node is no campaign's airtime") {
    Fleet f;
    // One the controller does not know, naming a campaign: acked, kept apart, not counted.
    auto c = f.emergency_play(1, "kc-unknown", 1, 3.0);
    c.set_campaign_id("thien-tai");
    CHECK(f.ingest({c}) == std::vector<std::uint64_t>{1});
    CHECK(f.count("confirmations") == 0);
    CHECK(f.report().total.unplanned_us == 0);
    SQLite::Statement q(*f.db, "SELECT seq, reason FROM refused_confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt() == 1);
    CHECK(q.getColumn(1).getString().find("never sent to node") != std::string::npos);
}

TEST_CASE("an emergency slot id that does not add up is kept apart with the reason") {
    Fleet f;
    auto c = f.emergency_play(1, "kc-1", 1, 3.0);
    std::string why;
    SECTION("another emergency in the slot id") {
        c.set_slot_id("emergency:kc-2:1");
        why = "names 'kc-1'";
    }
    SECTION("play number 0") {
        c.set_slot_id("emergency:kc-1:0");
        why = "play number from 1";
    }
    SECTION("an emergency play with an ordinary slot id") {
        c.set_slot_id("thien-tai/1@1");
        why = "not emergency:kc-1:<n>";
    }
    CHECK(f.ingest({c}) == std::vector<std::uint64_t>{1});
    CHECK(f.count("confirmations") == 0);
    SQLite::Statement q(*f.db, "SELECT reason FROM refused_confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString().find(why) != std::string::npos);
}

TEST_CASE("a slot confirmed under two numbers counts once and both numbers are accounted for") {
    Fleet f;
    CHECK(f.ingest({f.booked(1, wire::PLAYED), f.booked(2, wire::PLAYED)}) ==
          std::vector<std::uint64_t>{1, 2});
    CHECK(f.count("confirmations") == 1);
    SQLite::Statement q(*f.db, "SELECT seq, reason FROM refused_confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt() == 2);
    CHECK(q.getColumn(1).getString().find("already confirmed as number 1") != std::string::npos);
    CHECK(f.report().total.confirmed_plays == 1);
    auto gaps = lc::sequence_gaps(*f.db, "ta-van-01");
    REQUIRE(gaps.has_value());
    CHECK(gaps->at(0).received == 2);
    CHECK(gaps->at(0).missing.empty());
}

TEST_CASE("sequence gaps: missing from the record below the highest, and not yet reported") {
    Fleet f;
    f.node("a-mu-sung-01", "vn/lao-cai/bat-xat/a-mu-sung");
    // ta-van-01 sends 1, 2, 5, 9 (refused: nonsense), 10-11; its heartbeat says it numbered 14.
    auto refused = f.emergency_play(9, "kc-1", 1, 1.0);
    refused.set_slot_id("emergency:kc-2:1");
    std::vector<wire::Confirmation> sent = {f.booked(1, wire::PLAYED), refused};
    for (std::uint64_t seq : {2, 5, 10, 11}) {
        sent.push_back(f.emergency_play(seq, "kc-1", static_cast<int>(seq), 1.0));
    }
    f.ingest(sent);
    wire::Heartbeat hb;
    hb.set_last_seq(14);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "ta-van-01", hb, kNow);
    }));

    auto gaps = lc::sequence_gaps(*f.db);
    REQUIRE(gaps.has_value());
    REQUIRE(gaps->size() == 2);
    const auto& quiet = gaps->at(0);  // by node id: a-mu-sung-01 first
    CHECK(quiet.node_id == "a-mu-sung-01");
    CHECK(quiet.received == 0);
    CHECK(quiet.missing.empty());
    CHECK_FALSE(quiet.last_seq.has_value());
    CHECK_FALSE(quiet.not_yet_reported.has_value());

    const auto& g = gaps->at(1);
    CHECK(g.received == 6);
    CHECK(g.highest_received == 11);
    REQUIRE(g.missing.size() == 2);
    CHECK(g.missing[0].first == 3);
    CHECK(g.missing[0].last == 4);
    CHECK(g.missing[1].first == 6);
    CHECK(g.missing[1].last == 8);
    CHECK(g.missing_count == 5);
    REQUIRE(g.not_yet_reported.has_value());
    CHECK(g.not_yet_reported->first == 12);
    CHECK(g.not_yet_reported->last == 14);

    const std::string vi = lc::render_sequence_gaps(*gaps, lc::Language::vi);
    INFO(vi);
    CHECK(vi.find("3–4, 6–8 (5 số)") != std::string::npos);
    CHECK(vi.find("12–14 (3)") != std::string::npos);
    auto json = lc::sequence_gaps_json(*gaps);
    CHECK(json[1]["missing_from_record"][1]["first"] == 6);
    CHECK(json[1]["not_yet_reported_count"] == 3);

    // The rest arrives: no gap, nothing outstanding.
    std::vector<wire::Confirmation> rest;
    for (std::uint64_t seq : {3, 4, 6, 7, 8, 12, 13, 14}) {
        rest.push_back(f.emergency_play(seq, "kc-1", static_cast<int>(seq), 1.0));
    }
    f.ingest(rest);
    auto after = lc::sequence_gaps(*f.db, "ta-van-01");
    REQUIRE(after.has_value());
    REQUIRE(after->size() == 1);
    CHECK(after->at(0).missing.empty());
    CHECK_FALSE(after->at(0).not_yet_reported.has_value());
    CHECK_FALSE(lc::sequence_gaps(*f.db, "ke-la").has_value());
}

TEST_CASE(
    "sequence gaps: a heartbeat older than the last report is no sign of a wiped store, one "
    "heard after it is") {
    Fleet f;
    const std::string kc = f.send_emergency(3);
    // The node heartbeats (numbered up to 1), then plays and reports 2 and 3: the heartbeat
    // stored predates the report, so its number is lower than the highest received.
    f.ingest({f.emergency_play(1, kc, 1, 1.0)}, kNow);
    f.heartbeat(1, kNow + 5 * kSecondUs);
    f.ingest({f.emergency_play(2, kc, 2, 1.0), f.emergency_play(3, kc, 3, 1.0)},
             kNow + 10 * kSecondUs);
    auto healthy = f.gaps();
    CHECK(healthy.highest_received == 3);
    CHECK(healthy.last_seq == 1u);
    CHECK_FALSE(healthy.behind_received.has_value());
    CHECK(healthy.reused_count == 0);
    CHECK_FALSE(healthy.store_wiped());
    for (auto language : {lc::Language::vi, lc::Language::en}) {
        const std::string text = lc::render_sequence_gaps({healthy}, language);
        INFO(text);
        CHECK(text.find('!') == std::string::npos);
    }
    CHECK(lc::sequence_gaps_json({healthy})[0]["store_wiped"] == false);
    // A report and a heartbeat heard at the same moment (one poll round) prove nothing either.
    f.heartbeat(1, kNow + 10 * kSecondUs);
    CHECK_FALSE(f.gaps().store_wiped());

    // Wiped: the store numbers from 0 again, and its next heartbeat, heard after the report of
    // 3, says so.
    f.heartbeat(0, kNow + 20 * kSecondUs);
    auto wiped = f.gaps();
    CHECK(wiped.behind_received == 3u);
    CHECK(wiped.reused_count == 0);
    CHECK(wiped.store_wiped());
    const std::string vi = lc::render_sequence_gaps({wiped}, lc::Language::vi);
    INFO(vi);
    CHECK(vi.find("0 !") != std::string::npos);
    CHECK(vi.find("kho dữ liệu của nút đã bị xoá hoặc thay") != std::string::npos);
    const std::string en = lc::render_sequence_gaps({wiped}, lc::Language::en);
    CHECK(en.find("store was wiped or replaced") != std::string::npos);
    auto json = lc::sequence_gaps_json({wiped});
    CHECK(json[0]["behind_received"] == 3);
    CHECK(json[0]["store_wiped"] == true);

    // Once the node numbers past what it had sent, its heartbeat is healthy again.
    f.heartbeat(3, kNow + 30 * kSecondUs);
    CHECK_FALSE(f.gaps().store_wiped());
}

TEST_CASE("sequence gaps: numbers a node used twice are shown as reused, each confirmation kept") {
    Fleet f;
    const std::string kc = f.send_emergency(5);
    // First life: 1 (the booked play), 2 and 3 (an emergency). Second life, numbering from 1
    // again: 1 and 2 are other plays of the emergency, 4 is new.
    f.ingest({f.booked(1, wire::PLAYED), f.emergency_play(2, kc, 1, 1.0),
              f.emergency_play(3, kc, 2, 1.0)},
             kNow);
    auto again_1 = f.emergency_play(1, kc, 3, 1.0);
    auto again_2 = f.emergency_play(2, kc, 4, 1.0);
    auto fresh_4 = f.emergency_play(4, kc, 5, 1.0);
    CHECK(f.ingest({again_1, again_2, fresh_4}, kNow + 10 * kSecondUs) ==
          std::vector<std::uint64_t>{1, 2, 4});
    // Nothing acked is lost: the reused numbers are kept apart with their reason.
    CHECK(f.count("confirmations") == 4);
    CHECK(f.count("refused_confirmations") == 2);
    // Sent again (the ack was lost), the same reuse adds nothing.
    CHECK(f.ingest({again_1}, kNow + 11 * kSecondUs) == std::vector<std::uint64_t>{1});
    CHECK(f.count("refused_confirmations") == 2);

    auto g = f.gaps();
    CHECK(g.received == 4);
    CHECK(g.highest_received == 4);
    CHECK(g.missing.empty());
    REQUIRE(g.reused.size() == 1);
    CHECK(g.reused[0].first == 1);
    CHECK(g.reused[0].last == 2);
    CHECK(g.reused_count == 2);
    CHECK(g.store_wiped());
    const std::string vi = lc::render_sequence_gaps({g}, lc::Language::vi);
    INFO(vi);
    CHECK(vi.find("Số bị dùng lại") != std::string::npos);
    CHECK(vi.find("1–2 (2 số)") != std::string::npos);
    CHECK(vi.find("? !") != std::string::npos);  // no heartbeat yet, and still flagged
    const std::string en = lc::render_sequence_gaps({g}, lc::Language::en);
    CHECK(en.find("1–2 (2 numbers)") != std::string::npos);
    auto json = lc::sequence_gaps_json({g});
    CHECK(json[0]["reused"] == nlohmann::json::parse(R"([{"first":1,"last":2}])"));
    CHECK(json[0]["reused_count"] == 2);
}

TEST_CASE("a version 5 database keeps its confirmations and then takes interrupted ones") {
    TempDir dir;
    const auto file = dir / "controller.db";
    {
        // The confirmations table as migration 1 made it, with one play confirmed.
        SQLite::Database v5(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        v5.exec(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);"
            "INSERT INTO schema_version VALUES (5);"
            // Migration 7 alters the nodes and media tables of migration 1; migration 8 reads
            // nodes, slots, campaigns and refused confirmations into the airtime rollup.
            "CREATE TABLE nodes (node_id TEXT PRIMARY KEY, area_path TEXT NOT NULL, "
            "time_zone TEXT NOT NULL);"
            "INSERT INTO nodes VALUES ('ta-van-01', 'vn/x', 'Asia/Ho_Chi_Minh');"
            // Migration 8 rebuilds the slots table of migration 1.
            "CREATE TABLE slots (node_id TEXT NOT NULL, slot_id TEXT NOT NULL, campaign_id TEXT "
            "NOT NULL, item_id TEXT NOT NULL, media_hash TEXT NOT NULL, title TEXT NOT NULL, "
            "start_us INTEGER NOT NULL, duration_us INTEGER NOT NULL, "
            "PRIMARY KEY (node_id, slot_id));"
            "INSERT INTO slots VALUES ('ta-van-01', 'c1/1@1', 'c1', 'i', 'h', 'Bản tin', 1, 5);"
            "CREATE TABLE campaigns (campaign_id TEXT PRIMARY KEY, name TEXT NOT NULL);"
            // Migration 10 watches campaigns' items and areas, tables of migration 1.
            "CREATE TABLE campaign_items (campaign_id TEXT NOT NULL, position INTEGER NOT NULL, "
            "media_hash TEXT NOT NULL);"
            "CREATE TABLE campaign_areas (campaign_id TEXT NOT NULL, area_path TEXT NOT NULL);"
            "CREATE TABLE refused_confirmations (node_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "reason TEXT NOT NULL, confirmation BLOB NOT NULL, received_us INTEGER NOT NULL, "
            "PRIMARY KEY (node_id, seq));"
            // Migration 12 makes each media row a record, stamped with its import time.
            "CREATE TABLE media (media_hash TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', "
            "imported_us INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE confirmations (node_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "slot_id TEXT NOT NULL, campaign_id TEXT NOT NULL, item_id TEXT NOT NULL, "
            "media_hash TEXT NOT NULL, area_path TEXT NOT NULL, planned_start_us INTEGER NOT "
            "NULL, actual_start_us INTEGER NOT NULL, actual_end_us INTEGER NOT NULL, outcome "
            "TEXT NOT NULL CHECK (outcome IN ('played', 'failed', 'skipped')), reason TEXT NOT "
            "NULL, received_us INTEGER NOT NULL, PRIMARY KEY (node_id, seq), "
            "UNIQUE (node_id, slot_id));"
            "INSERT INTO confirmations VALUES ('ta-van-01', 7, 'c1/1@1', 'c1', 'i', 'h', "
            "'vn/x', 1, 2, 3, 'played', '', 4);");
    }
    auto db = lc::open_database(file);
    REQUIRE(db.has_value());
    CHECK(lc::schema_version(**db) == lc::kSchemaVersion);
    SQLite::Statement q(**db,
                        "SELECT seq, slot_id, outcome, actual_end_us, frames_rendered, "
                        "emergency_id, rms_dbfs IS NULL FROM confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt() == 7);
    CHECK(q.getColumn(1).getString() == "c1/1@1");
    CHECK(q.getColumn(2).getString() == "played");
    CHECK(q.getColumn(3).getInt() == 3);
    CHECK(q.getColumn(4).getInt() == 0);
    CHECK(q.getColumn(5).getString().empty());
    CHECK(q.getColumn(6).getInt() == 1);
    CHECK_FALSE(q.executeStep());
    // Migration 8 counted the booked play and its confirmation in the airtime rollup.
    SQLite::Statement rollup(**db,
                             "SELECT node_id, area_path, local_day, planned_plays, planned_us, "
                             "played, played_us, aired_us FROM airtime_rollup");
    REQUIRE(rollup.executeStep());
    CHECK(rollup.getColumn(0).getString() == "ta-van-01");
    CHECK(rollup.getColumn(1).getString() == "vn/x");
    CHECK(rollup.getColumn(2).getString() == "1970-01-01");
    CHECK(rollup.getColumn(3).getInt() == 1);
    CHECK(rollup.getColumn(4).getInt() == 5);
    CHECK(rollup.getColumn(5).getInt() == 1);
    CHECK(rollup.getColumn(6).getInt() == 5);
    CHECK(rollup.getColumn(7).getInt() == 1);
    CHECK_FALSE(rollup.executeStep());
    SQLite::Statement marks(
        **db, "SELECT received, highest_seq, reported_through_us FROM confirmation_marks");
    REQUIRE(marks.executeStep());
    CHECK(marks.getColumn(0).getInt() == 1);
    CHECK(marks.getColumn(1).getInt() == 7);
    CHECK(marks.getColumn(2).getInt() == 1);
    (*db)->exec(
        "INSERT INTO confirmations (node_id, seq, slot_id, campaign_id, item_id, media_hash, "
        "area_path, planned_start_us, actual_start_us, actual_end_us, outcome, reason, "
        "received_us) VALUES ('ta-van-01', 8, 'c1/2@1', 'c1', 'i', 'h', 'vn/x', 1, 2, 3, "
        "'interrupted', 'emergency', 4)");
    CHECK_THROWS((*db)->exec(
        "INSERT INTO confirmations (node_id, seq, slot_id, campaign_id, item_id, media_hash, "
        "area_path, planned_start_us, actual_start_us, actual_end_us, outcome, reason, "
        "received_us) VALUES ('ta-van-01', 9, 'c1/3@1', 'c1', 'i', 'h', 'vn/x', 1, 2, 3, "
        "'lost', '', 4)"));
}
