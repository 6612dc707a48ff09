// Confirmation ingest (validated, idempotent) and the airtime report built from it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/booking/node_timeline.hpp"

using namespace loa;
using namespace loa::test;

namespace {

struct Booked : ControllerFixture {
    std::string a, b;
    Booked() {
        node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
        node("a-mu-sung-01", "vn/lao-cai/bat-xat/a-mu-sung");
        a = tone(2.0, 440);
        b = tone(3.0, 660);
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, campaign("thien-tai", {a, b}, {"vn/lao-cai"}),
                                            kNow);
        }));
    }

    /// A report confirming the node's plays: the first played (with `extra_us` more than
    /// planned), the rest as `rest`.
    wire::PlaybackReport played(const std::string& node_id, std::int64_t extra_us,
                                wire::Outcome rest = wire::PLAYED) {
        auto timeline = controller::node_timeline(*db, node_id, kNow);
        REQUIRE(timeline.has_value());
        wire::PlaybackReport report;
        std::uint64_t seq = 1;
        for (const auto& s : timeline->slots()) {
            auto* c = report.add_confirmations();
            c->set_seq(seq);
            c->set_slot_id(s.slot_id());
            c->set_campaign_id(s.campaign_id());
            c->set_item_id(s.item_id());
            c->set_media_hash(s.media_hash());
            c->set_planned_start_us(s.start_us());
            wire::Outcome outcome = seq == 1 ? wire::PLAYED : rest;
            c->set_outcome(outcome);
            if (outcome == wire::PLAYED) {
                c->set_actual_start_us(s.start_us());
                c->set_actual_end_us(s.start_us() + s.duration_us() + (seq == 1 ? extra_us : 0));
            } else {
                c->set_reason("media-missing");
            }
            ++seq;
        }
        return report;
    }

    controller::AirtimeReport report(const std::string& area = "") {
        auto r = controller::airtime_report(*db, {.campaign_id = "thien-tai",
                                                  .area = area,
                                                  .from_us = kNow,
                                                  .to_us = kNow + 86400 * kSecondUs,
                                                  .now_us = kNow + 7200 * kSecondUs});
        REQUIRE(r.has_value());
        return *r;
    }
};

}  // namespace

TEST_CASE("the same report ingested twice counts once") {
    Booked f;
    auto report = f.played("ta-van-01", 0);
    auto first = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", report, kNow);
    });
    REQUIRE(first.has_value());
    CHECK(*first == std::vector<std::uint64_t>{1, 2});
    auto second = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", report, kNow);
    });
    REQUIRE(second.has_value());
    CHECK(*second == std::vector<std::uint64_t>{1, 2});  // acked again, stored once
    CHECK(f.count("confirmations") == 2);
    auto r = f.report();
    CHECK(r.total.confirmed_plays == 2);
    CHECK(r.total.confirmed_us == 5 * kSecondUs);
}

TEST_CASE("a nonsensical confirmation is kept apart with its reason, and the rest stored") {
    Booked f;
    auto report = f.played("ta-van-01", 0);
    report.mutable_confirmations(1)->set_actual_end_us(1);  // a play ending before it starts
    auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", report, kNow);
    });
    REQUIRE(r.has_value());
    CHECK(*r == std::vector<std::uint64_t>{1, 2});  // both acked: the outbox is not blocked
    CHECK(f.count("confirmations") == 1);
    CHECK(f.count("refused_confirmations") == 1);
    SQLite::Statement q(*f.db, "SELECT seq, reason FROM refused_confirmations");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt() == 2);
    CHECK(q.getColumn(1).getString().find("ending before it starts") != std::string::npos);
    CHECK(f.report().total.confirmed_plays == 1);
}

TEST_CASE("a report with sequence number 0 is refused whole and stores nothing") {
    Booked f;
    auto report = f.played("ta-van-01", 0);
    report.mutable_confirmations(1)->set_seq(0);
    auto r = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", report, kNow);
    });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("sequence number 0") != std::string::npos);
    CHECK(f.count("confirmations") == 0);
    CHECK(f.count("refused_confirmations") == 0);
}

TEST_CASE("the report compares planned and confirmed airtime per node and in total") {
    Booked f;
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", f.played("ta-van-01", 100'000),
                                                kNow);
    }));
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "a-mu-sung-01",
                                                f.played("a-mu-sung-01", 0, wire::FAILED), kNow);
    }));
    auto r = f.report();
    REQUIRE(r.rows.size() == 2);
    const auto& bat_xat = r.rows[0];  // sorted by area
    const auto& sa_pa = r.rows[1];
    CHECK(bat_xat.node_id == "a-mu-sung-01");
    CHECK(bat_xat.planned_plays == 2);
    CHECK(bat_xat.confirmed_plays == 1);
    CHECK(bat_xat.bucket(controller::Bucket::media_missing).plays == 1);
    CHECK(bat_xat.unconfirmed() == 0);
    CHECK(sa_pa.planned_us == 5 * kSecondUs);
    CHECK(sa_pa.confirmed_us == 5 * kSecondUs + 100'000);
    CHECK(r.total.planned_plays == 4);
    CHECK(r.total.confirmed_plays == 3);

    auto only_sa_pa = f.report("vn/lao-cai/sa-pa");
    REQUIRE(only_sa_pa.rows.size() == 1);
    CHECK(only_sa_pa.rows[0].node_id == "ta-van-01");

    auto json = controller::to_json(r);
    CHECK(json["total"]["confirmed_plays"] == 3);
    CHECK(json["rows"][1]["confirmed_seconds"].get<double>() == Approx(5.1));
}

TEST_CASE("plays not yet confirmed are counted apart") {
    Booked f;
    auto r = f.report();
    CHECK(r.total.planned_plays == 4);
    CHECK(r.total.unconfirmed() == 4);
    CHECK(r.total.confirmed_plays == 0);
}

TEST_CASE("the table aligns Vietnamese text and speaks either language") {
    Booked f;
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::ingest_confirmations(tx, "ta-van-01", f.played("ta-van-01", 0), kNow);
    }));
    auto r = f.report();
    std::string vi = controller::render_table(r, controller::Language::vi);
    std::string en = controller::render_table(r, controller::Language::en);
    CHECK(vi.find("Báo cáo thời lượng phát") != std::string::npos);
    CHECK(vi.find("Tổng") != std::string::npos);
    CHECK(en.find("Airtime report") != std::string::npos);
    CHECK(en.find("Total") != std::string::npos);
    // The header row and the total row line up: same number of columns on screen.
    auto width = [](const std::string& line) {
        std::size_t w = 0;
        for (unsigned char c : line) {
            w += (c & 0xc0) != 0x80;
        }
        return w;
    };
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t end; (end = vi.find('\n', start)) != std::string::npos; start = end + 1) {
        lines.push_back(vi.substr(start, end - start));
    }
    auto header = std::find_if(lines.begin(), lines.end(),
                               [](const auto& l) { return l.rfind("Nút", 0) == 0; });
    REQUIRE(header != lines.end());
    auto total = std::find_if(lines.begin(), lines.end(),
                              [](const auto& l) { return l.rfind("Tổng", 0) == 0; });
    REQUIRE(total != lines.end());
    CHECK(width(*header) == width(*total));
}

TEST_CASE("an unknown campaign or an empty period is refused") {
    Booked f;
    auto r = controller::airtime_report(
        *f.db, {.campaign_id = "khong-co", .from_us = kNow, .to_us = kNow + 1});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("khong-co") != std::string::npos);
    CHECK_FALSE(controller::airtime_report(
                    *f.db, {.campaign_id = "thien-tai", .from_us = kNow, .to_us = kNow})
                    .has_value());
}
