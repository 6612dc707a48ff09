// Who a node is: CURVE keys checked by the ZAP handler, enrollment tokens, revocation, and a
// node that tries to speak as another — over real sockets on loopback.
#include <catch2/catch.hpp>

#include <SQLiteCpp/Statement.h>
#include <zmq.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/protocol/enrollment_token.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;

namespace {

/// Refusals the action log holds for `action` ("node.connect", "node.enroll" …).
std::vector<controller::LoggedAction> refusals(SQLite::Database& db, const std::string& action) {
    controller::ActionFilter filter;
    filter.action = action;
    auto rows = controller::list_actions(db, filter);
    REQUIRE(rows.has_value());
    std::erase_if(*rows,
                  [](const auto& row) { return row.outcome != controller::Outcome::refused; });
    return *rows;
}

int count(SQLite::Database& db, const std::string& sql) {
    SQLite::Statement q(db, sql);
    q.executeStep();
    return q.getColumn(0).getInt();
}

/// Sends ENROLL for `token` with `keys` to the enrollment endpoint; returns the answer.
wire::Envelope enroll(const std::string& endpoint, const std::string& server_key,
                      const protocol::CurveKeyPair& keys, const std::string& secret,
                      const std::string& claimed_key = {}) {
    RawNode device(endpoint, server_key, keys);
    wire::Envelope e;
    e.mutable_enroll()->set_token(secret);
    e.mutable_enroll()->set_public_key(claimed_key.empty() ? keys.public_key : claimed_key);
    device.send(e);
    zmq::message_t frame;
    REQUIRE(device.socket.recv(frame));
    auto decoded = protocol::decode(frame.to_string_view());
    REQUIRE(decoded.has_value());
    return *decoded;
}

struct EnrollingServer : RunningServer {
    std::string enroll_endpoint = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    EnrollingServer() {
        options.enroll_endpoint = enroll_endpoint;
        node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    }
    std::string issue(std::int64_t lifetime_us = controller::kDefaultTokenLifetimeUs) {
        auto issued = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return controller::issue_enrollment_token(tx, "ta-van-01",
                                                      options.curve_keys.public_key, "admin",
                                                      controller::now_us(), lifetime_us);
        });
        REQUIRE(issued.has_value());
        auto token = protocol::parse_enrollment_token(issued->token);
        REQUIRE(token.has_value());
        CHECK(token->controller_key == options.curve_keys.public_key);
        return token->secret_hex;
    }
};

}  // namespace

TEST_CASE("a key that is not enrolled gets no session, and the refusal is logged") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    RawNode stranger(f.endpoint, f.options.curve_keys.public_key,
                     protocol::generate_curve_key_pair());
    stranger.hello("ta-van-01");
    CHECK_FALSE(stranger.receive_within(wire::Envelope::kWelcome, 1500).has_value());
    RawNode plain(f.endpoint);  // no CURVE at all
    plain.hello("ta-van-01");
    CHECK_FALSE(plain.receive_within(wire::Envelope::kWelcome, 1000).has_value());
    CHECK(f.server->session_stats().keys_refused.load() >= 1);
    CHECK(f.server->session_stats().welcomes.load() == 0);
    auto logged = refusals(*f.db, "node.connect");
    REQUIRE_FALSE(logged.empty());
    CHECK(logged.front().actor.starts_with("key:"));
}

TEST_CASE("a node cannot say hello, report or heartbeat as another node") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.node("ban-khoang-01", "vn/y");
    f.start();

    SECTION("hello naming another node is refused") {
        auto impostor = f.connect_as("ban-khoang-01");
        impostor->hello("ta-van-01");
        auto refused = impostor->receive(wire::Envelope::kError);
        CHECK(refused.error().code() == wire::NOT_ALLOWED);
        CHECK(refused.error().message().find("ban-khoang-01") != std::string::npos);
        // The refusal is logged with the gateway's next change, not before the answer.
        CHECK(wait_until([&] { return refusals(*f.db, "node.hello").size() == 1; },
                         std::chrono::seconds(5)));
    }
    SECTION("a connection taking over another node's routing id gets none of its session") {
        {
            auto victim = f.connect_as("ta-van-01", "shared-routing-id");
            victim->join("ta-van-01");
            victim->receive(wire::Envelope::kScheduleUpdate);
        }  // gone: its session ends with its connection
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        auto impostor = f.connect_as("ban-khoang-01", "shared-routing-id");
        wire::Envelope report;
        auto* c = report.mutable_playback_report()->add_confirmations();
        c->set_seq(1);
        c->set_slot_id("c1/1@1");
        c->set_campaign_id("c1");
        c->set_outcome(wire::PLAYED);
        c->set_actual_start_us(1000);
        c->set_actual_end_us(2000);
        impostor->send(report);
        CHECK(impostor->receive(wire::Envelope::kError).error().code() == wire::NEED_HELLO);
        wire::Envelope heartbeat;
        heartbeat.mutable_heartbeat()->set_node_time_us(1);
        impostor->send(heartbeat);
        CHECK(impostor->receive(wire::Envelope::kError).error().code() == wire::NEED_HELLO);
        CHECK(count(*f.db, "SELECT count(*) FROM confirmations") == 0);
        CHECK(count(*f.db, "SELECT count(*) FROM node_status") == 0);
        // A connection that takes the routing id while the victim's lingers: routing_id_test.cpp.
    }
}

TEST_CASE("a revoked node is cut off at once and refused afterwards, its history stays") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    const auto keys = protocol::generate_curve_key_pair();
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::enroll_key(tx, "ta-van-01", keys.public_key, kNow);
    }));
    f.start();
    RawNode node(f.endpoint, f.options.curve_keys.public_key, keys);
    node.join("ta-van-01");

    // loactl node revoke: another connection to the database, as the daemon will see it.
    SQLite::Database operator_db((f.dir / "controller.db").string(), SQLite::OPEN_READWRITE);
    operator_db.setBusyTimeout(5000);
    REQUIRE(loa::controller::write_directly(operator_db, [&](loa::controller::WriteTx& tx) {
        return controller::revoke_node(tx, "ta-van-01", "stolen", controller::now_us());
    }));
    auto cut = node.receive_within(wire::Envelope::kError, 2000);  // well within a heartbeat
    REQUIRE(cut.has_value());
    CHECK(cut->error().code() == wire::REVOKED);

    node.hello("ta-van-01");  // the old connection: refused by the session
    CHECK(node.receive(wire::Envelope::kError).error().code() == wire::REVOKED);
    RawNode again(f.endpoint, f.options.curve_keys.public_key, keys);  // a new one: by ZAP
    again.hello("ta-van-01");
    CHECK_FALSE(again.receive_within(wire::Envelope::kWelcome, 1500).has_value());
    CHECK(count(*f.db, "SELECT count(*) FROM nodes WHERE node_id = 'ta-van-01'") == 1);
    auto history = controller::node_keys(*f.db, "ta-van-01");
    REQUIRE(history.has_value());
    REQUIRE(history->size() == 1);
    CHECK(history->at(0).retired_us.has_value());
    CHECK(history->at(0).retired_reason == "revoked: stolen");
    CHECK_FALSE(refusals(*f.db, "node.connect").empty());
}

TEST_CASE("an enrollment token works once, for one key, before it expires") {
    EnrollingServer f;
    f.start();
    const auto secret = f.issue();
    const auto device = protocol::generate_curve_key_pair();

    SECTION("enrolled, then the device is served; a replay by another key is refused") {
        auto answer = enroll(f.enroll_endpoint, f.options.curve_keys.public_key, device, secret);
        REQUIRE(answer.has_enrolled());
        CHECK(answer.enrolled().node_id() == "ta-van-01");
        CHECK(answer.enrolled().area_path() == "vn/lao-cai/sa-pa/ta-van");
        CHECK(answer.enrolled().controller_public_key() == f.options.curve_keys.public_key);
        CHECK(std::to_string(answer.enrolled().node_port()) ==
              f.endpoint.substr(f.endpoint.rfind(':') + 1));

        RawNode node(f.endpoint, f.options.curve_keys.public_key, device);
        node.hello("");
        CHECK(node.receive(wire::Envelope::kWelcome).welcome().node_id() == "ta-van-01");

        // The same device asking again (its answer lost): the same answer, nothing changes.
        CHECK(enroll(f.enroll_endpoint, f.options.curve_keys.public_key, device, secret)
                  .has_enrolled());
        const auto thief = protocol::generate_curve_key_pair();
        auto replay = enroll(f.enroll_endpoint, f.options.curve_keys.public_key, thief, secret);
        REQUIRE(replay.has_error());
        CHECK(replay.error().code() == wire::ENROLLMENT_REFUSED);
        CHECK(replay.error().message().find("already used") != std::string::npos);
        CHECK_FALSE(controller::node_for_key(*f.db, thief.public_key).has_value());
        CHECK(wait_until([&] { return refusals(*f.db, "node.enroll").size() == 1; },
                         std::chrono::seconds(5)));
    }
    SECTION("a message naming another key than the connection's is refused") {
        const auto other = protocol::generate_curve_key_pair();
        auto answer = enroll(f.enroll_endpoint, f.options.curve_keys.public_key, device, secret,
                             other.public_key);
        REQUIRE(answer.has_error());
        CHECK(answer.error().code() == wire::ENROLLMENT_REFUSED);
        CHECK_FALSE(controller::node_for_key(*f.db, other.public_key).has_value());
        CHECK_FALSE(controller::node_for_key(*f.db, device.public_key).has_value());
    }
    SECTION("an unknown or expired token is refused and changes nothing") {
        auto unknown = enroll(f.enroll_endpoint, f.options.curve_keys.public_key, device,
                              std::string(32, '0'));
        REQUIRE(unknown.has_error());
        CHECK(unknown.error().message().find("unknown enrollment token") != std::string::npos);
        const auto short_lived = f.issue(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        auto expired =
            enroll(f.enroll_endpoint, f.options.curve_keys.public_key, device, short_lived);
        REQUIRE(expired.has_error());
        CHECK(expired.error().message().find("expired") != std::string::npos);
        CHECK(count(*f.db, "SELECT count(*) FROM node_keys") == 0);
    }
}

TEST_CASE("enrolling again rotates the key: the old one is refused, the history stays") {
    EnrollingServer f;
    f.start();
    const auto first = protocol::generate_curve_key_pair();
    REQUIRE(enroll(f.enroll_endpoint, f.options.curve_keys.public_key, first, f.issue())
                .has_enrolled());
    const auto second = protocol::generate_curve_key_pair();
    REQUIRE(enroll(f.enroll_endpoint, f.options.curve_keys.public_key, second, f.issue())
                .has_enrolled());
    CHECK_FALSE(controller::node_for_key(*f.db, first.public_key).has_value());
    CHECK(controller::node_for_key(*f.db, second.public_key) == "ta-van-01");
    auto history = controller::node_keys(*f.db, "ta-van-01");
    REQUIRE(history.has_value());
    REQUIRE(history->size() == 2);
    CHECK(history->at(0).retired_reason == "rotated");
    RawNode old_key(f.endpoint, f.options.curve_keys.public_key, first);
    old_key.hello("");
    CHECK_FALSE(old_key.receive_within(wire::Envelope::kWelcome, 1500).has_value());
    RawNode new_key(f.endpoint, f.options.curve_keys.public_key, second);
    new_key.join("ta-van-01");
}
