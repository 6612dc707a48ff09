// The fleet over real loopback sockets: heartbeats stored and timed, commands delivered until
// answered, results stored once, expired emergencies never sent.
#include <catch2/catch.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

/// A second connection to the controller's database, as loactl has: its commits move
/// PRAGMA data_version for the server.
std::unique_ptr<SQLite::Database> other_connection(const RunningServer& f) {
    auto db = lc::open_database(f.dir / "controller.db");
    REQUIRE(db.has_value());
    return std::move(*db);
}

lc::CommandRecord queue_volume(SQLite::Database& db, const std::string& node, std::uint32_t pct) {
    wire::Command action;
    action.mutable_set_volume()->set_percent(pct);
    auto queued = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, node, action, lc::now_us());
    });
    REQUIRE(queued.has_value());
    return *queued;
}

wire::Envelope result_for(std::uint64_t command_id, bool ok, const std::string& message) {
    wire::Envelope e;
    auto* r = e.mutable_command_result();
    r->set_command_id(command_id);
    r->set_ok(ok);
    r->set_message(message);
    r->set_done_us(lc::now_us());
    return e;
}

}  // namespace

TEST_CASE(
    "a heartbeat is acked with when it arrived and when the ack left, and all of it is "
    "stored") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto node = f.start_and_join("ta-van-01");

    wire::Envelope e;
    auto* hb = e.mutable_heartbeat();
    hb->set_node_time_us(123'456);
    hb->set_state("playing");
    hb->set_current_slot_id("thien-tai/1@1");
    hb->set_current_title("Bản tin phòng chống thiên tai");
    hb->set_outbox_pending(3);
    hb->set_media_missing(1);
    hb->set_volume_percent(70);
    hb->set_storage_free_bytes(5'000'000'000ULL);
    hb->set_cpu_temp_millicelsius(48'500);
    hb->set_link_interface("wwan0");
    hb->set_link_type("cellular");
    hb->set_link_signal_dbm(-87);
    hb->set_clock_offset_us(-62'000);
    hb->set_clock_round_trip_us(180'000);
    hb->set_agent_version("loa-node 0.2.0");
    hb->set_schedule_horizon_end_us(kNow + 7 * 86400 * kSecondUs);
    hb->set_runway_end_us(kNow + 30 * 3600 * kSecondUs);
    hb->set_last_seq(42);
    hb->set_amplifier_on(true);
    const std::int64_t before = lc::now_us();
    const auto id = node->send(e);
    auto ack = node->receive(wire::Envelope::kHeartbeatAck);
    const std::int64_t after = lc::now_us();
    CHECK(ack.in_reply_to() == id);
    CHECK(ack.heartbeat_ack().node_time_us() == 123'456);
    const auto t2 = ack.heartbeat_ack().controller_receive_us();
    const auto t3 = ack.heartbeat_ack().controller_send_us();
    CHECK(before <= t2);
    CHECK(t2 <= t3);
    CHECK(t3 <= after);

    auto reader = other_connection(f);
    REQUIRE(wait_until(
        [&] {
            auto s = lc::node_statuses(*reader, "ta-van-01");
            return s && s->at(0).heartbeat.has_value();
        },
        std::chrono::seconds(5)));
    auto statuses = lc::node_statuses(*reader, "ta-van-01");
    REQUIRE(statuses.has_value());
    const auto& s = statuses->at(0);
    REQUIRE(s.heartbeat.has_value());
    const auto& h = *s.heartbeat;
    CHECK(h.received_us == t2);
    CHECK(h.node_time_us == 123'456);
    CHECK(h.state == "playing");
    CHECK(h.current_slot_id == "thien-tai/1@1");
    CHECK(h.current_title == "Bản tin phòng chống thiên tai");
    CHECK(h.outbox_pending == 3);
    CHECK(h.media_missing == 1);
    CHECK(h.volume_percent == 70);
    CHECK(h.storage_free_bytes == 5'000'000'000ULL);
    CHECK(h.cpu_temp_millicelsius == 48'500);
    CHECK(h.link_interface == "wwan0");
    CHECK(h.link_type == "cellular");
    CHECK(h.link_signal_dbm == -87);
    CHECK(h.clock_offset_us == -62'000);
    CHECK(h.clock_round_trip_us == 180'000);
    CHECK(h.agent_version == "loa-node 0.2.0");
    CHECK(h.schedule_horizon_end_us == kNow + 7 * 86400 * kSecondUs);
    CHECK(h.runway_end_us == kNow + 30 * 3600 * kSecondUs);
    CHECK(h.last_seq == 42);
    CHECK(h.amplifier_on);
    CHECK(s.last_seen_us == t2);

    // A field out of range is stored as unknown, the rest of the heartbeat stands, and the
    // node is acked as always (protocol/README.md, "Heartbeat").
    wire::Envelope bad = e;
    bad.mutable_heartbeat()->set_volume_percent(250);
    bad.mutable_heartbeat()->set_node_time_us(654'321);
    node->send(bad);
    CHECK(node->receive(wire::Envelope::kHeartbeatAck).heartbeat_ack().node_time_us() == 654'321);
    REQUIRE(wait_until(
        [&] {
            return lc::node_statuses(*reader, "ta-van-01")->at(0).heartbeat->node_time_us ==
                   654'321;
        },
        std::chrono::seconds(5)));
    const auto unknown = lc::node_statuses(*reader, "ta-van-01")->at(0).heartbeat.value();
    CHECK_FALSE(unknown.volume_percent.has_value());
    CHECK(unknown.problems.find("volume_percent: 250 is not within 0..100") != std::string::npos);
    CHECK(unknown.state == "playing");
}

TEST_CASE("pending commands follow the welcome and are sent again until the node answers") {
    RunningServer f;
    f.options.command_resend_ms = 300;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto queued = queue_volume(*f.db, "ta-van-01", 35);
    auto node = f.start_and_join("ta-van-01");

    auto first = node->receive(wire::Envelope::kCommand);
    CHECK(first.command().command_id() == queued.command_id);
    CHECK(first.command().issued_us() == queued.issued_us);
    CHECK(first.command().set_volume().percent() == 35);
    // Not answered: it comes again after the resend interval, not sooner.
    const auto sent_at = std::chrono::steady_clock::now();
    auto again = node->receive_within(wire::Envelope::kCommand, 3000);
    REQUIRE(again.has_value());
    CHECK(again->command().command_id() == queued.command_id);
    CHECK(std::chrono::steady_clock::now() - sent_at >= std::chrono::milliseconds(200));

    const auto result_id = node->send(result_for(queued.command_id, true, "volume 35 %"));
    auto ack = node->receive(wire::Envelope::kCommandAck);
    CHECK(ack.in_reply_to() == result_id);
    CHECK(ack.command_ack().command_id() == queued.command_id);
    // Answered: never sent again, in this session or the next.
    CHECK_FALSE(node->receive_within(wire::Envelope::kCommand, 900).has_value());
    node->join("ta-van-01");
    CHECK_FALSE(node->receive_within(wire::Envelope::kCommand, 600).has_value());

    auto reader = other_connection(f);
    auto stored = lc::find_command(*reader, queued.command_id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "done");
    CHECK(stored->ok == true);
    CHECK(stored->message == "volume 35 %");
}

TEST_CASE("a command queued by another connection reaches the connected node at once") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto node = f.start_and_join("ta-van-01");
    CHECK_FALSE(node->receive_within(wire::Envelope::kCommand, 300).has_value());

    auto loactl = other_connection(f);  // as loactl would
    wire::Command restart;
    restart.mutable_restart();
    auto queued = loa::controller::write_directly(*loactl, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "ta-van-01", restart, lc::now_us());
    });
    REQUIRE(queued.has_value());
    // Well before the 10 s resend: the server notices the database changed.
    auto command = node->receive_within(wire::Envelope::kCommand, 2000);
    REQUIRE(command.has_value());
    CHECK(command->command().command_id() == queued->command_id);
    CHECK(command->command().has_restart());
}

TEST_CASE(
    "a command result is stored once and acked, a stray one is acked and changes nothing, "
    "a malformed one is refused") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    f.node("a-mu-sung-01", "vn/lao-cai/bat-xat/a-mu-sung");
    const auto mine = queue_volume(*f.db, "ta-van-01", 80);
    const auto theirs = queue_volume(*f.db, "a-mu-sung-01", 60);
    auto node = f.start_and_join("ta-van-01");
    node->receive(wire::Envelope::kCommand);

    node->send(result_for(mine.command_id, false, "amplifier not answering"));
    CHECK(node->receive(wire::Envelope::kCommandAck).command_ack().command_id() == mine.command_id);
    // The same result again (its ack was lost), with other words: acked, the first one kept.
    node->send(result_for(mine.command_id, true, "changed my mind"));
    CHECK(node->receive(wire::Envelope::kCommandAck).command_ack().command_id() == mine.command_id);
    // Another node's command, and one that does not exist: acked, nothing stored.
    node->send(result_for(theirs.command_id, true, "not mine"));
    CHECK(node->receive(wire::Envelope::kCommandAck).command_ack().command_id() ==
          theirs.command_id);
    node->send(result_for(9999, true, "unknown"));
    CHECK(node->receive(wire::Envelope::kCommandAck).command_ack().command_id() == 9999);
    // Malformed: command id 0; a log tail over 1 MiB is refused by the decoder's field limits.
    node->send(result_for(0, true, ""));
    CHECK(node->receive(wire::Envelope::kError).error().code() == wire::MALFORMED);
    auto huge = result_for(mine.command_id, true, "");
    huge.mutable_command_result()->set_log_tail(std::string(lc::kMaxLogBytes + 1, 'x'));
    node->send(huge);
    auto refused = node->receive(wire::Envelope::kError);
    CHECK(refused.error().code() == wire::TOO_LARGE);
    CHECK(refused.error().message().find("log_tail") != std::string::npos);

    auto reader = other_connection(f);
    auto stored = lc::find_command(*reader, mine.command_id);
    REQUIRE(stored.has_value());
    CHECK(stored->state == "done");
    CHECK(stored->ok == false);
    CHECK(stored->message == "amplifier not answering");
    auto other = lc::find_command(*reader, theirs.command_id);
    REQUIRE(other.has_value());
    CHECK(other->state == "pending");
    CHECK_FALSE(other->answered_us.has_value());
}

TEST_CASE("an emergency whose expiry has passed is never sent, it is marked expired") {
    RunningServer f;
    f.options.command_resend_ms = 300;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto hash = f.tone(2.0);
    lc::EmergencySpec spec;
    spec.media_hash = hash;
    spec.node_ids = {"ta-van-01"};
    spec.expires_us = lc::now_us() + 400'000;
    auto sent = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::send_emergency(tx, spec, lc::now_us());
    });
    REQUIRE(sent.has_value());
    const auto volume = queue_volume(*f.db, "ta-van-01", 50);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    auto node = f.start_and_join("ta-van-01");
    // The volume command comes; the emergency never does, even after resends.
    auto command = node->receive(wire::Envelope::kCommand);
    CHECK(command.command().command_id() == volume.command_id);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
    while (std::chrono::steady_clock::now() < deadline) {
        auto more = node->receive_within(wire::Envelope::kCommand, 200);
        if (more) {
            CHECK_FALSE(more->command().has_emergency());
        }
    }
    auto reader = other_connection(f);
    auto stored = lc::find_command(*reader, sent->command_ids.at(0));
    REQUIRE(stored.has_value());
    CHECK(stored->state == "expired");
    CHECK(stored->message.find("expired at") != std::string::npos);
}

TEST_CASE("an emergency sent in time carries what the node needs to play it") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto hash = f.tone(2.0);
    auto node = f.start_and_join("ta-van-01");
    lc::EmergencySpec spec;
    spec.media_hash = hash;
    spec.all = true;
    spec.repeat = 3;
    spec.title = "Lũ quét";
    spec.expires_us = lc::now_us() + 3600 * kSecondUs;
    auto loactl = other_connection(f);
    auto sent = loa::controller::write_directly(*loactl, [&](loa::controller::WriteTx& tx) {
        return lc::send_emergency(tx, spec, lc::now_us());
    });
    REQUIRE(sent.has_value());
    auto command = node->receive_within(wire::Envelope::kCommand, 2000);
    REQUIRE(command.has_value());
    REQUIRE(command->command().has_emergency());
    const auto& e = command->command().emergency();
    CHECK(e.emergency_id() == sent->emergency_id);
    CHECK(e.media_hash() == hash);
    CHECK(e.media_size() == f.store.size_of(hash).value());
    CHECK(e.duration_us() > 1'900'000);
    CHECK(e.title() == "Lũ quét");
    CHECK(e.repeat() == 3);
    CHECK_FALSE(e.until_expiry());
    CHECK(e.expires_us() == spec.expires_us);
    CHECK(e.kind() == wire::SLOT_AUDIO);
}
