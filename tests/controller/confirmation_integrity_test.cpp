// What a node's confirmation may claim: a slot never booked for it (naming a campaign of its
// commune, of another commune, or one created later) and a sequence number used before are acked
// and kept apart with their reason — no campaign's airtime, the node's last error — over a real
// CURVE session, read back through the airtime report and the HTTP API.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include <SQLiteCpp/Statement.h>

#include "api_fixture.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
using namespace std::chrono_literals;

namespace {

/// The HTTP API and the node gateway of one controller, over one scratch database.
struct ReportingController : ApiFixture {
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    controller::GatewayOptions options{.endpoint = endpoint,
                                       .heartbeat_interval_ms = 1000,
                                       .curve_keys = protocol::generate_curve_key_pair()};
    std::unique_ptr<controller::NodeGateway> gateway;
    std::atomic<bool> stop{false};
    std::thread thread;

    ReportingController() {
        node("ta-van-01", kCommune);
        node("ban-ho-01", kOtherCommune);
        media = tone(2.0);
        book("thien-tai", kCommune, "operator");
        book("ban-ho-rieng", kOtherCommune, "other-operator");
        gateway = std::make_unique<controller::NodeGateway>(shared_store(), store, options);
        REQUIRE(gateway->bind().has_value());
        thread = std::thread([this] { gateway->run(stop); });
    }
    ~ReportingController() {
        stop = true;
        thread.join();
    }

    void book(const std::string& campaign, const std::string& area, const std::string& who,
              const std::vector<std::string>& items = {}) {
        auto booked = post("/api/v1/campaigns", who,
                           {{"campaign", campaign},
                            {"name", "Phòng chống thiên tai"},
                            {"owner", "UBND xã"},
                            {"items", items.empty() ? std::vector<std::string>{media} : items},
                            {"areas", {area}},
                            {"start", "now+1m"},
                            {"end", "now+2h"}});
        INFO(booked.body);
        REQUIRE(booked.status == 201);
    }

    /// A device of `node_id` with a fresh enrolled key, in session.
    std::unique_ptr<RawNode> device(const std::string& node_id) {
        const auto keys = protocol::generate_curve_key_pair();
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::enroll_key(tx, node_id, keys.public_key, controller::now_us());
        }));
        auto node = std::make_unique<RawNode>(endpoint, options.curve_keys.public_key, keys);
        node->join(node_id);
        return node;
    }

    /// Slot ids booked for `node_id` in `campaign`, soonest first.
    std::vector<std::string> booked_slots(const std::string& node_id, const std::string& campaign) {
        SQLite::Statement q(*db,
                            "SELECT slot_id FROM slots WHERE node_id = ? AND campaign_id = ? "
                            "ORDER BY start_us");
        q.bind(1, node_id);
        q.bind(2, campaign);
        std::vector<std::string> out;
        while (q.executeStep()) {
            out.push_back(q.getColumn(0).getString());
        }
        return out;
    }

    /// Reports `confirmations` and returns the sequence numbers acked.
    std::vector<std::uint64_t> report(RawNode& node,
                                      std::vector<wire::Confirmation> confirmations) {
        wire::Envelope e;
        for (auto& c : confirmations) {
            *e.mutable_playback_report()->add_confirmations() = std::move(c);
        }
        node.send(e);
        auto ack = node.receive(wire::Envelope::kReportAck);
        return {ack.report_ack().seqs().begin(), ack.report_ack().seqs().end()};
    }

    /// Confirmed plays of `campaign` in the airtime report, read in-process and over HTTP.
    std::pair<std::int64_t, std::int64_t> confirmed_plays(const std::string& campaign) {
        const std::int64_t now = controller::now_us();
        auto direct = controller::airtime_report(*db, {.campaign_id = campaign,
                                                       .from_us = now - 3600 * kSecondUs,
                                                       .to_us = now + 3 * 3600 * kSecondUs,
                                                       .now_us = now});
        REQUIRE(direct.has_value());
        auto served =
            get("/api/v1/reports/airtime?campaign=" + campaign + "&from=now-1h&to=now%2B3h&by=node",
                "admin");
        INFO(served.body);
        REQUIRE(served.status == 200);
        return {direct->total.confirmed_plays,
                served.json().at("total").at("confirmed_plays").get<std::int64_t>()};
    }

    /// Rows kept apart for `node_id`: (seq, reason), by seq.
    std::vector<std::pair<std::int64_t, std::string>> kept_apart(const std::string& node_id) {
        SQLite::Statement q(*db,
                            "SELECT seq, reason FROM refused_confirmations WHERE node_id = ? "
                            "ORDER BY seq, received_us");
        q.bind(1, node_id);
        std::vector<std::pair<std::int64_t, std::string>> out;
        while (q.executeStep()) {
            out.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString());
        }
        return out;
    }

    /// The node's last error as the fleet view shows it over HTTP.
    nlohmann::json last_error(const std::string& node_id) {
        auto fleet = get("/api/v1/nodes", "admin");
        REQUIRE(fleet.status == 200);
        for (const auto& n : fleet.json()) {
            if (n.at("node") == node_id) {
                return n.at("last_error");
            }
        }
        FAIL("node " << node_id << " not in the fleet view");
        return {};
    }

    std::int64_t scalar(const std::string& sql) {
        SQLite::Statement q(*db, sql);
        q.executeStep();
        return q.getColumn(0).isNull() ? -1 : q.getColumn(0).getInt64();
    }

    std::string media;
};

/// A played confirmation of `slot_id` naming `campaign_id`, as a node sends it.
wire::Confirmation played(std::uint64_t seq, const std::string& slot_id,
                          const std::string& campaign_id, const std::string& media_hash) {
    const std::int64_t start = controller::now_us() - 10 * kSecondUs;
    wire::Confirmation c;
    c.set_seq(seq);
    c.set_slot_id(slot_id);
    c.set_campaign_id(campaign_id);
    c.set_item_id(media_hash);
    c.set_media_hash(media_hash);
    c.set_planned_start_us(start);
    c.set_actual_start_us(start);
    c.set_actual_end_us(start + 2 * kSecondUs);
    c.set_outcome(wire::PLAYED);
    return c;
}

}  // namespace

TEST_CASE(
    "a confirmation of a slot never booked for the node counts for no campaign, is acked "
    "and kept apart with its reason") {
    ReportingController f;
    const auto ours = f.booked_slots("ta-van-01", "thien-tai");
    const auto theirs = f.booked_slots("ban-ho-01", "ban-ho-rieng");
    REQUIRE(ours.size() >= 1);
    REQUIRE(theirs.size() >= 1);
    auto node = f.device("ta-van-01");
    const std::string later_slot =
        "sau-nay/" + f.media + "/vi@" + std::to_string(controller::now_us());

    const std::vector<wire::Confirmation> sent = {
        played(1, ours[0], "thien-tai", f.media),
        // Its own commune's campaign, a slot that campaign never booked.
        played(2, "thien-tai/" + f.media + "/vi@12345", "thien-tai", f.media),
        // Another commune's campaign and a slot booked there, not here.
        played(3, theirs[0], "ban-ho-rieng", f.media),
        // A campaign that does not exist yet.
        played(4, later_slot, "sau-nay", f.media)};
    const auto acked = f.report(*node, sent);
    CHECK(acked == std::vector<std::uint64_t>{1, 2, 3, 4});
    node->sync();
    // A campaign created afterwards, over the same commune, books plays of its own.
    f.book("sau-nay", ApiFixture::kCommune, "operator");

    const auto apart = f.kept_apart("ta-van-01");
    REQUIRE(apart.size() == 3);
    for (std::size_t i = 0; i < apart.size(); ++i) {
        CHECK(apart[i].first == static_cast<std::int64_t>(i) + 2);
        CHECK(apart[i].second.find("was never booked for node 'ta-van-01'") != std::string::npos);
    }
    CHECK(f.scalar("SELECT count(*) FROM confirmations") == 1);
    CHECK(f.confirmed_plays("thien-tai") == std::pair<std::int64_t, std::int64_t>{1, 1});
    CHECK(f.confirmed_plays("ban-ho-rieng") == std::pair<std::int64_t, std::int64_t>{0, 0});
    CHECK(f.confirmed_plays("sau-nay") == std::pair<std::int64_t, std::int64_t>{0, 0});
    // Every number is accounted for: none is a hole in the node's record.
    CHECK(f.scalar("SELECT highest_seq FROM confirmation_marks WHERE node_id = 'ta-van-01'") == 4);
    CHECK(f.scalar("SELECT received FROM confirmation_marks WHERE node_id = 'ta-van-01'") == 4);
    // The fleet view shows it as the node's last error.
    const auto error = f.last_error("ta-van-01");
    INFO(error.dump());
    REQUIRE(error.is_object());
    CHECK(error.at("source") == "refused-confirmation");
    CHECK(error.at("subject") == "seq 4");
    CHECK(error.at("reason").get<std::string>().find("never booked") != std::string::npos);

    // The same report sent again (its ack was lost) changes nothing.
    CHECK(f.report(*node, {sent[1], sent[2]}) == std::vector<std::uint64_t>{2, 3});
    node->sync();
    CHECK(f.kept_apart("ta-van-01").size() == 3);
    CHECK(f.confirmed_plays("ban-ho-rieng") == std::pair<std::int64_t, std::int64_t>{0, 0});
}

TEST_CASE(
    "an agent that numbers from 1 again has each reused number kept apart visibly, and its "
    "new numbers counted") {
    ReportingController f;
    f.book("bon-ban-tin", ApiFixture::kCommune, "operator",
           {f.tone(2.0, 550.0), f.tone(2.0, 660.0), f.tone(2.0, 770.0), f.tone(2.0, 880.0)});
    const auto ours = f.booked_slots("ta-van-01", "bon-ban-tin");
    REQUIRE(ours.size() >= 4);
    {
        auto before = f.device("ta-van-01");
        CHECK(f.report(*before, {played(1, ours[0], "bon-ban-tin", f.media),
                                 played(2, ours[1], "bon-ban-tin", f.media)}) ==
              std::vector<std::uint64_t>{1, 2});
    }
    // Re-imaged with an old agent: a new key, and numbers from 1 again.
    auto after = f.device("ta-van-01");
    const auto reused = played(1, ours[2], "bon-ban-tin", f.media);
    CHECK(f.report(*after, {reused, played(3, ours[3], "bon-ban-tin", f.media)}) ==
          std::vector<std::uint64_t>{1, 3});
    after->sync();

    const auto apart = f.kept_apart("ta-van-01");
    REQUIRE(apart.size() == 1);
    CHECK(apart[0].first == 1);
    CHECK(apart[0].second.find("number 1 was used before, for slot '" + ours[0] + "'") !=
          std::string::npos);
    const auto error = f.last_error("ta-van-01");
    INFO(error.dump());
    REQUIRE(error.is_object());
    CHECK(error.at("source") == "refused-confirmation");
    CHECK(error.at("subject") == "seq 1");
    // What was stored under the number stays; the reused one counts for nothing, the new one
    // counts.
    CHECK(f.scalar("SELECT count(*) FROM confirmations") == 3);
    CHECK(f.confirmed_plays("bon-ban-tin") == std::pair<std::int64_t, std::int64_t>{3, 3});
    CHECK(f.scalar("SELECT highest_seq FROM confirmation_marks WHERE node_id = 'ta-van-01'") == 3);

    // Sent again, the same reuse is kept once; another content under the same number is kept
    // too: each reuse is visible.
    CHECK(f.report(*after, {reused}) == std::vector<std::uint64_t>{1});
    auto third = reused;
    third.set_actual_end_us(third.actual_end_us() - kSecondUs);
    CHECK(f.report(*after, {third}) == std::vector<std::uint64_t>{1});
    after->sync();
    CHECK(f.kept_apart("ta-van-01").size() == 2);
}

TEST_CASE("a re-imaged device is not sent again the plays its node has confirmed") {
    ReportingController f;
    f.book("hai-ban-tin", ApiFixture::kCommune, "operator",
           {f.tone(2.0, 550.0), f.tone(2.0, 660.0)});
    const auto ours = f.booked_slots("ta-van-01", "hai-ban-tin");
    REQUIRE(ours.size() >= 2);
    auto slot_ids = [](const wire::Envelope& e) {
        std::vector<std::string> out;
        for (const auto& s : e.schedule_update().slots()) {
            out.push_back(s.slot_id());
        }
        return out;
    };
    {
        auto before = f.device("ta-van-01");
        const auto timeline = slot_ids(before->receive(wire::Envelope::kScheduleUpdate));
        CHECK(std::count(timeline.begin(), timeline.end(), ours[0]) == 1);
        CHECK(f.report(*before, {played(1, ours[0], "hai-ban-tin", f.media)}) ==
              std::vector<std::uint64_t>{1});
        before->sync();
    }
    // Its store wiped, the device knows nothing of that play: were it sent again, the device
    // would play it (late) or confirm it a second time.
    auto after = f.device("ta-van-01");
    const auto timeline = slot_ids(after->receive(wire::Envelope::kScheduleUpdate));
    CHECK(std::count(timeline.begin(), timeline.end(), ours[0]) == 0);
    CHECK(std::count(timeline.begin(), timeline.end(), ours[1]) == 1);
}
