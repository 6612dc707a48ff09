// A node of protocol version 1, speaking only the frozen version 1 schema (tests/protocol/v1),
// against the current controller over real loopback sockets: it is served everything it needs and
// never receives anything version 1 does not know.
#include <catch2/catch.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/controller/common/time_text.hpp"
#include "loa/media/chunk_manifest.hpp"
#include "loa/protocol/limits.hpp"
#include "server_fixture.hpp"
#include "v1/loa_v1.pb.h"

using namespace loa;
using namespace loa::test;
namespace v1 = loa::wire::v1;

namespace {

/// Checks one frame the controller sent a version 1 node: stamped version 1, a message of the
/// version 1 schema, and none of what version 2 added (read with today's schema, those fields and
/// codes are unset). Returns it as version 1 reads it.
v1::Envelope as_version_1(std::string_view frame) {
    v1::Envelope old;
    REQUIRE(old.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
    CHECK(old.version() == 1);
    REQUIRE(old.body_case() != v1::Envelope::BODY_NOT_SET);
    auto current = protocol::decode(frame);
    REQUIRE(current.has_value());
    if (current->has_welcome()) {
        CHECK(current->welcome().node_id().empty());
    }
    if (current->has_error()) {
        CHECK(v1::ErrorCode_IsValid(static_cast<int>(current->error().code())));
    }
    return old;
}

/// A node built before version 2: encodes and decodes with the version 1 classes only. It speaks
/// on a connection the fixture made (so it is secured as the fixture secures every node).
class OldNode {
  public:
    explicit OldNode(RawNode& raw) : raw_(raw) {}

    /// Sends `e` as version 1 (or as `version`, to test refusals); returns its message id.
    std::uint64_t send(v1::Envelope e, std::uint32_t version = 1) {
        const std::uint64_t id = next_id_++;
        e.set_version(version);
        e.set_message_id(id);
        raw_.send_raw(e.SerializeAsString());
        return id;
    }

    /// The next message of type `type` within `timeout_ms`, skipping others; every message
    /// received on the way is checked by as_version_1.
    std::optional<v1::Envelope> receive_within(v1::Envelope::BodyCase type, int timeout_ms) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            zmq::pollitem_t items[] = {{raw_.socket.handle(), 0, ZMQ_POLLIN, 0}};
            if (left.count() <= 0 || zmq::poll(items, 1, left) == 0) {
                return std::nullopt;
            }
            zmq::message_t frame;
            REQUIRE(raw_.socket.recv(frame));
            ++received_;
            auto old = as_version_1(frame.to_string_view());
            if (old.body_case() == type) {
                return old;
            }
        }
    }
    v1::Envelope receive(v1::Envelope::BodyCase type) {
        auto received = receive_within(type, 5000);
        if (!received) {
            FAIL("expected message never came");
        }
        return *received;
    }
    int received() const { return received_; }

  private:
    RawNode& raw_;
    std::uint64_t next_id_ = 1;
    int received_ = 0;
};

v1::Envelope hello(const std::string& node_id, const std::string& timeline_hash = "") {
    v1::Envelope e;
    e.mutable_hello()->set_node_id(node_id);
    e.mutable_hello()->set_agent_version("loa-node 0.4.0");
    e.mutable_hello()->set_timeline_hash(timeline_hash);
    e.mutable_hello()->set_node_time_us(controller::now_us());
    return e;
}

}  // namespace

TEST_CASE("a version 1 node is served in version 1 by the current controller") {
    RunningServer f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto bulletin = f.tone(2.0);
    auto spec = f.campaign("c1", {bulletin}, {"vn/lao-cai"});
    spec.window_start_us = controller::now_us() + 60 * kSecondUs;
    spec.window_end_us = spec.window_start_us + 600 * kSecondUs;
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::add_campaign(tx, spec, controller::now_us());
    }));
    f.start();
    auto raw = f.connect_as("ta-van-01");
    OldNode node(*raw);

    // HELLO → WELCOME in version 1.
    const auto said = node.send(hello("ta-van-01"));
    auto welcome = node.receive(v1::Envelope::kWelcome);
    CHECK(welcome.in_reply_to() == said);
    CHECK(welcome.welcome().accepted_version() == 1);
    CHECK(welcome.welcome().heartbeat_interval_ms() == 1000);

    // SCHEDULE-UPDATE, read with the version 1 schema, then SCHEDULE-ACK.
    auto update = node.receive(v1::Envelope::kScheduleUpdate).schedule_update();
    REQUIRE(update.slots_size() == 1);
    const v1::Slot& play = update.slots(0);
    CHECK(play.campaign_id() == "c1");
    CHECK(play.media_hash() == bulletin);
    CHECK(play.media_size() == f.store.size_of(bulletin).value());
    CHECK(play.start_us() >= spec.window_start_us);
    CHECK(play.start_us() < spec.window_end_us);
    CHECK(play.duration_us() == Approx(2 * kSecondUs).margin(100'000));
    CHECK(play.kind() == v1::SLOT_AUDIO);
    CHECK(update.horizon_end_us() > play.start_us());
    v1::Envelope ack;
    ack.mutable_schedule_ack()->set_timeline_hash(update.timeline_hash());
    node.send(ack);
    SQLite::Database reader((f.dir / "controller.db").string());
    CHECK(wait_until(
        [&] {
            SQLite::Statement q(reader, "SELECT acked_timeline_hash FROM nodes WHERE node_id = ?");
            q.bind(1, "ta-van-01");
            return q.executeStep() && q.getColumn(0).getString() == update.timeline_hash();
        },
        std::chrono::seconds(5)));

    // HEARTBEAT → HEARTBEAT-ACK.
    v1::Envelope beat;
    beat.mutable_heartbeat()->set_node_time_us(123'456);
    beat.mutable_heartbeat()->set_state("idle");
    beat.mutable_heartbeat()->set_agent_version("loa-node 0.4.0");
    const auto beat_id = node.send(beat);
    auto beat_ack = node.receive(v1::Envelope::kHeartbeatAck);
    CHECK(beat_ack.in_reply_to() == beat_id);
    CHECK(beat_ack.heartbeat_ack().node_time_us() == 123'456);
    CHECK(beat_ack.heartbeat_ack().controller_receive_us() > 0);
    CHECK(beat_ack.heartbeat_ack().controller_send_us() >=
          beat_ack.heartbeat_ack().controller_receive_us());

    // MANIFEST-REQUEST → MANIFEST, then every CHUNK-REQUEST → a CHUNK matching its digest.
    v1::Envelope ask;
    ask.mutable_manifest_request()->set_media_hash(bulletin);
    node.send(ask);
    auto manifest = node.receive(v1::Envelope::kManifest).manifest();
    auto parsed = media::ChunkManifest::from_packed(
        bulletin, manifest.total_size(), manifest.chunk_size(), manifest.chunk_digests());
    REQUIRE(parsed.has_value());
    std::string assembled;
    for (std::uint32_t i = 0; i < parsed->chunk_count(); ++i) {
        v1::Envelope request;
        request.mutable_chunk_request()->set_media_hash(bulletin);
        request.mutable_chunk_request()->set_offset(parsed->offset_of(i));
        request.mutable_chunk_request()->set_length(parsed->length_of(i));
        node.send(request);
        auto chunk = node.receive(v1::Envelope::kChunk).chunk();
        CHECK(chunk.offset() == parsed->offset_of(i));
        CHECK(parsed->matches(i, chunk.data()));
        assembled += chunk.data();
    }
    CHECK(assembled == read_file(f.store.path_for(bulletin)));

    // PLAYBACK-REPORT → REPORT-ACK, and the confirmation is in the controller's database.
    v1::Envelope report;
    auto* c = report.mutable_playback_report()->add_confirmations();
    c->set_seq(1);
    c->set_slot_id(play.slot_id());
    c->set_campaign_id(play.campaign_id());
    c->set_item_id(play.item_id());
    c->set_media_hash(play.media_hash());
    c->set_planned_start_us(play.start_us());
    c->set_actual_start_us(play.start_us() + 1'000);
    c->set_actual_end_us(play.start_us() + play.duration_us());
    c->set_outcome(v1::PLAYED);
    c->mutable_levels()->set_rms_dbfs(-23.0);
    c->mutable_levels()->set_measured_seconds(2.0);
    const auto report_id = node.send(report);
    auto report_ack = node.receive(v1::Envelope::kReportAck);
    CHECK(report_ack.in_reply_to() == report_id);
    REQUIRE(report_ack.report_ack().seqs_size() == 1);
    CHECK(report_ack.report_ack().seqs(0) == 1);
    SQLite::Statement stored(reader,
                             "SELECT outcome, campaign_id FROM confirmations WHERE node_id = ? "
                             "AND slot_id = ?");
    stored.bind(1, "ta-van-01");
    stored.bind(2, play.slot_id());
    REQUIRE(stored.executeStep());
    CHECK(stored.getColumn(0).getString() == "played");
    CHECK(stored.getColumn(1).getString() == "c1");

    // A refusal that version 2 would call TOO_LARGE reaches it as MALFORMED, and the session
    // goes on.
    v1::Envelope chatty = beat;
    chatty.mutable_heartbeat()->set_current_title(std::string(protocol::kMaxTitleBytes + 1, 'x'));
    const auto chatty_id = node.send(chatty);
    auto refused = node.receive(v1::Envelope::kError);
    CHECK(refused.in_reply_to() == chatty_id);
    CHECK(refused.error().code() == v1::MALFORMED);
    CHECK_THAT(refused.error().message(), Catch::Matchers::Contains("Heartbeat.current_title"));
    node.send(beat);
    node.receive(v1::Envelope::kHeartbeatAck);

    CHECK(node.received() >= 8);  // every one of them checked to be version 1
}

TEST_CASE("envelopes of version 0 and of a version newer than the controller's are refused") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    auto raw = f.connect_as("ta-van-01");
    OldNode node(*raw);
    for (std::uint32_t version : {0u, protocol::kProtocolVersion + 1}) {
        INFO("version " << version);
        const auto id = node.send(hello("ta-van-01"), version);
        auto refused = node.receive(v1::Envelope::kError);  // in version 1: every node reads it
        CHECK(refused.error().code() == v1::UNSUPPORTED_VERSION);
        CHECK(refused.in_reply_to() == id);
        CHECK_THAT(refused.error().message(),
                   Catch::Matchers::Contains("protocol version " + std::to_string(version)));
    }
    // No session was opened by them: a version 1 hello still is.
    node.send(hello("ta-van-01"));
    CHECK(node.receive(v1::Envelope::kWelcome).welcome().accepted_version() == 1);
}

TEST_CASE("a version 2 node is welcomed in version 2 and told its node id") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    f.start();
    auto node = f.connect_as("ta-van-01");
    node->hello("ta-van-01");
    auto welcome = node->receive(wire::Envelope::kWelcome);
    CHECK(welcome.version() == protocol::kProtocolVersion);
    CHECK(welcome.welcome().accepted_version() == protocol::kProtocolVersion);
    CHECK(welcome.welcome().node_id() == "ta-van-01");
}
