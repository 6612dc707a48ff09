// The ROUTER server over real loopback sockets: sessions, chunks, reports, and bad frames.
#include <catch2/catch.hpp>

#include <zmq.hpp>

#include "loa/controller/common/time_text.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;

TEST_CASE("an enrolled node is welcomed and sent its timeline") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    auto a = f.tone(2.0);
    auto spec = f.campaign("c1", {a}, {"vn/lao-cai"});
    spec.window_start_us = controller::now_us() + 60 * kSecondUs;
    spec.window_end_us = spec.window_start_us + 600 * kSecondUs;
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::add_campaign(tx, spec, controller::now_us());
    }));
    f.start();

    auto node = f.connect_as("ta-van-01");
    node->hello("");  // since version 2 the key says who it is
    auto welcome = node->receive(wire::Envelope::kWelcome);
    CHECK(welcome.welcome().heartbeat_interval_ms() == 1000);
    CHECK(welcome.welcome().node_id() == "ta-van-01");
    auto update = node->receive(wire::Envelope::kScheduleUpdate);
    REQUIRE(update.schedule_update().slots_size() == 1);
    CHECK(update.schedule_update().slots(0).media_hash() == a);
}

TEST_CASE("a message before hello is answered with NEED_HELLO") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    auto node = f.connect_as("ta-van-01");
    wire::Envelope e;
    e.mutable_heartbeat()->set_node_time_us(1);
    node->send(e);
    CHECK(node->receive(wire::Envelope::kError).error().code() == wire::NEED_HELLO);
}

TEST_CASE("media is served in chunks that reassemble to the stored file") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    auto a = f.tone(2.0);
    f.start();
    auto joined = f.connect_as("ta-van-01");
    RawNode& node = *joined;
    node.join("ta-van-01");
    std::string assembled;
    std::uint64_t total = 1;
    while (assembled.size() < total) {
        wire::Envelope e;
        e.mutable_chunk_request()->set_media_hash(a);
        e.mutable_chunk_request()->set_offset(assembled.size());
        e.mutable_chunk_request()->set_length(16 * 1024);
        node.send(e);
        auto chunk = node.receive(wire::Envelope::kChunk).chunk();
        CHECK(chunk.offset() == assembled.size());
        total = chunk.total_size();
        assembled += chunk.data();
    }
    CHECK(assembled == read_file(f.store.path_for(a)));

    wire::Envelope missing;
    missing.mutable_chunk_request()->set_media_hash("../../etc/passwd");
    node.send(missing);
    CHECK(node.receive(wire::Envelope::kError).error().code() == wire::NOT_FOUND);
}

TEST_CASE("a report is acked after commit, and a re-sent one is stored once") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.booked_slot("ta-van-01", "c1/1@1");
    f.start();
    auto joined = f.connect_as("ta-van-01");
    RawNode& node = *joined;
    node.join("ta-van-01");
    wire::Envelope report;
    auto* c = report.mutable_playback_report()->add_confirmations();
    c->set_seq(1);
    c->set_slot_id("c1/1@1");
    c->set_campaign_id("c1");
    c->set_outcome(wire::PLAYED);
    c->set_actual_start_us(1000);
    c->set_actual_end_us(2000);
    for (int attempt = 0; attempt < 2; ++attempt) {
        node.send(report);
        auto ack = node.receive(wire::Envelope::kReportAck);
        REQUIRE(ack.report_ack().seqs_size() == 1);
        CHECK(ack.report_ack().seqs(0) == 1);
        SQLite::Database reader((f.dir / "controller.db").string());
        SQLite::Statement q(reader, "SELECT count(*) FROM confirmations WHERE node_id = ?");
        q.bind(1, "ta-van-01");
        q.executeStep();
        CHECK(q.getColumn(0).getInt() == 1);
    }
}

TEST_CASE("an empty report is acked with an empty REPORT-ACK") {
    // Found by fuzz_controller_handlers: the ack had no body, which a node refuses.
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    auto joined = f.connect_as("ta-van-01");
    RawNode& node = *joined;
    node.join("ta-van-01");
    wire::Envelope report;
    report.mutable_playback_report();
    node.send(report);
    CHECK(node.receive(wire::Envelope::kReportAck).report_ack().seqs_size() == 0);
}

TEST_CASE("malformed frames are refused and the controller keeps serving other nodes") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    auto good_node = f.connect_as("ta-van-01");
    auto bad_node = f.connect_as("ta-van-01");
    RawNode& good = *good_node;
    RawNode& bad = *bad_node;
    good.join("ta-van-01");

    bad.send_raw(std::string("\x0a\xff\xff\xff garbage", 12));
    CHECK(bad.receive(wire::Envelope::kError).error().code() == wire::MALFORMED);
    bad.send_raw("");
    CHECK(bad.receive(wire::Envelope::kError).error().code() == wire::MALFORMED);
    bad.socket.send(zmq::str_buffer("part one"), zmq::send_flags::sndmore);
    bad.socket.send(zmq::str_buffer("part two"));
    CHECK(bad.receive(wire::Envelope::kError).error().message().find("one frame") !=
          std::string::npos);
    wire::Envelope welcome_from_node;  // a message only a controller sends
    welcome_from_node.mutable_welcome();
    bad.join("ta-van-01");
    bad.send(welcome_from_node);
    CHECK(bad.receive(wire::Envelope::kError).error().code() == wire::MALFORMED);

    good.hello("ta-van-01");  // still served
    CHECK(good.receive(wire::Envelope::kWelcome).welcome().accepted_version() ==
          protocol::kProtocolVersion);
}
