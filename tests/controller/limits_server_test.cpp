// Size limits at the controller over real loopback sockets: a field over its limit is refused
// with TOO_LARGE and the session goes on; a frame over ZMQ_MAXMSGSIZE never reaches a handler.
#include <catch2/catch.hpp>

#include <zmq.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loa/protocol/limits.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
using Catch::Matchers::Contains;

namespace {

wire::Envelope heartbeat(std::int64_t t1) {
    wire::Envelope e;
    e.mutable_heartbeat()->set_node_time_us(t1);
    e.mutable_heartbeat()->set_state("idle");
    return e;
}

}  // namespace

TEST_CASE("a field over its limit gets ERROR TOO_LARGE naming it, and the session goes on") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    auto node = f.start_and_join("ta-van-01");

    wire::Envelope report;
    for (std::size_t i = 0; i < protocol::kMaxConfirmations + 1; ++i) {
        report.mutable_playback_report()->add_confirmations()->set_seq(i + 1);
    }
    const auto asked = node->send(report);
    auto refused = node->receive(wire::Envelope::kError);
    CHECK(refused.error().code() == wire::TOO_LARGE);
    CHECK(refused.in_reply_to() == asked);
    CHECK_THAT(refused.error().message(),
               Contains("PlaybackReport.confirmations") && Contains("201") && Contains("200"));
    CHECK(f.count("confirmations") == 0);  // nothing of it was stored

    wire::Envelope chatty = heartbeat(1);
    chatty.mutable_heartbeat()->set_agent_version(
        std::string(protocol::kMaxAgentVersionBytes + 1, 'v'));
    node->send(chatty);
    CHECK_THAT(node->receive(wire::Envelope::kError).error().message(),
               Contains("Heartbeat.agent_version"));

    // Same session: no NEED_HELLO, the heartbeat is answered.
    node->send(heartbeat(42));
    CHECK(node->receive(wire::Envelope::kHeartbeatAck).heartbeat_ack().node_time_us() == 42);
}

TEST_CASE("a frame over the ROUTER's maxmsgsize never reaches the handler, one under it does") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    auto node = f.start_and_join("ta-van-01");

    // Over kMaxFrameBytes but within what libzmq lets through: the decoder refuses it.
    node->send_raw(std::string(protocol::kMaxFrameBytes + 1, 'x'));
    auto refused = node->receive(wire::Envelope::kError);
    CHECK(refused.error().code() == wire::TOO_LARGE);
    CHECK_THAT(refused.error().message(), Contains(std::to_string(protocol::kMaxFrameBytes)));

    // Over ZMQ_MAXMSGSIZE: libzmq drops the connection before allocating the frame, so no
    // handler sees it and nothing answers.
    node->send_raw(
        std::string(protocol::kMaxFrameBytes + protocol::kTransportOverheadBytes + 1, 'x'));
    CHECK_FALSE(node->receive_within(wire::Envelope::kError, 1500).has_value());

    // The DEALER reconnects on its own; the controller goes on serving it after a new hello.
    REQUIRE(wait_until(
        [&] {
            node->hello("ta-van-01");
            return node->receive_within(wire::Envelope::kWelcome, 500).has_value();
        },
        std::chrono::seconds(10)));
    node->send(heartbeat(7));
    CHECK(node->receive(wire::Envelope::kHeartbeatAck).heartbeat_ack().node_time_us() == 7);
}
