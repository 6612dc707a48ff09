// Scenario 16: a node's clock 90 s wrong (issue 18, point 12). A node agent whose clock reads 90 s
// fast or slow, against a real loa-controller, airs its play at the booked instant, and the
// controller stores its claim and the time corrected to its own clock; a play that aired 90 s
// off by the controller's clock is flagged "lệch giờ / off time" in the airtime report.
#include "scenario.hpp"

#include <atomic>
#include <thread>

#include "loa/node/node_agent.hpp"
#include "loa/protocol/envelope.hpp"

using namespace loa::e2e;
namespace wire = loa::wire;

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t k90s = 90 * kSecondUs;

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The node library's agent, in this process so that its clock can be shifted, with the
/// device's key as add_node() provisioned it.
class ShiftedAgent {
  public:
    ShiftedAgent(Scenario& s, const std::string& id, std::int64_t shift_us) {
        loa::node::AgentOptions o;
        o.node_id = id;
        o.controller = s.endpoint();
        auto keys = loa::protocol::read_key_file(s.node_data(id) / "node.key");
        auto controller = loa::protocol::read_key_file(s.controller_data() / "controller.key");
        REQUIRE(keys.has_value());
        REQUIRE(controller.has_value());
        o.keys = *keys;
        o.controller_key = controller->public_key;
        o.data_dir = s.node_data(id);
        o.min_free_bytes = 0;
        o.clock_shift_us = shift_us;
        agent_ = std::make_unique<loa::node::NodeAgent>(std::move(o));
        thread_ = std::thread([this] { agent_->run(stop_); });
    }
    ~ShiftedAgent() {
        stop_ = true;
        thread_.join();
    }
    ShiftedAgent(const ShiftedAgent&) = delete;
    ShiftedAgent& operator=(const ShiftedAgent&) = delete;

  private:
    std::atomic<bool> stop_{false};
    std::unique_ptr<loa::node::NodeAgent> agent_;
    std::thread thread_;
};

struct StoredPlay {
    std::string outcome;
    std::int64_t planned_us = 0, actual_us = 0, node_us = 0, offset_us = 0;
    int off_time = 0;
};

StoredPlay stored_play(Scenario& s, const std::string& node) {
    SQLite::Database db(s.controller_db().string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT outcome, planned_start_us, actual_start_us, node_start_us, "
                        "coalesce(clock_offset_us, 0), off_time FROM confirmations WHERE "
                        "node_id = ?");
    q.bind(1, node);
    REQUIRE(q.executeStep());
    return {q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64(),
            q.getColumn(3).getInt64(),  q.getColumn(4).getInt64(), q.getColumn(5).getInt()};
}

}  // namespace

TEST_CASE(
    "scenario 16: a node whose clock is 90 s off airs at the booked time and its confirmation "
    "is judged on the controller's clock",
    "[e2e][timing]") {
    const std::int64_t shift = GENERATE(as<std::int64_t>{}, k90s, -k90s);
    INFO("the node's clock reads " << shift / kSecondUs << " s off");
    Scenario s;
    s.add_node("lech-gio");
    s.start_controller();  // heartbeats every second
    const Bulletin tone = s.tone(2.0, 440.0);
    ShiftedAgent agent(s, "lech-gio", shift);
    // Once the controller has logged the offset a heartbeat measured.
    bool measured = loa::test::wait_until(
        [&] {
            return s.controller_scalar(
                        "SELECT count(*) FROM node_clock_offsets WHERE "
                        "round_trip_us IS NOT NULL")
                       .value_or(0) > 0;
        },
        15s);
    E2E_REQUIRE(s, measured);
    s.add_campaign("dung-gio", {tone}, 8);
    bool confirmed = loa::test::wait_until([&] { return s.confirmed("lech-gio", "") == 1; },
                                           confirm_deadline(s, "lech-gio"));
    E2E_REQUIRE(s, confirmed);
    const StoredPlay play = stored_play(s, "lech-gio");
    // 90 s fast, it skipped the play as late before; 90 s slow, it aired it 90 s late and the
    // controller took its word that it was on time.
    E2E_CHECK(s, play.outcome == "played");
    E2E_CHECK(s, std::llabs(play.actual_us - play.planned_us) < 300'000);  // controller's clock
    E2E_CHECK(s, std::llabs(play.node_us - play.planned_us - shift) < 300'000);  // its claim
    E2E_CHECK(s, std::llabs(play.offset_us + shift) < 50'000);
    E2E_CHECK(s, play.off_time == 0);
    auto report = s.report("dung-gio");
    E2E_CHECK(s, report["total"]["confirmed_plays"] == 1);
    E2E_CHECK(s, report["total"]["late"] == 0);
    E2E_CHECK(s, report["total"]["off_time"] == 0);
}

TEST_CASE(
    "scenario 16: a play a node aired 90 s off by the controller's clock is flagged off time in "
    "the airtime report",
    "[e2e]") {
    Scenario s;
    s.add_node("sai-gio");
    s.start_controller();
    const Bulletin tone = s.tone(2.0, 440.0);
    s.add_campaign("lech-gio", {tone}, 8);
    // A device that believes its clock (offset 0, as its heartbeat says) but aired the play 90 s
    // after the booked time: what a node without correction, or with a clock stepped under it,
    // reports.
    zmq::context_t context;
    zmq::socket_t node(context, zmq::socket_type::dealer);
    node.set(zmq::sockopt::linger, 0);
    node.set(zmq::sockopt::rcvtimeo, 5000);
    s.secure_as(node, "sai-gio");
    node.connect(s.endpoint());
    std::uint64_t id = 1;
    auto send = [&](wire::Envelope e) {
        e.set_message_id(id++);
        node.send(zmq::buffer(loa::protocol::encode(std::move(e))));
    };
    auto receive = [&](wire::Envelope::BodyCase type) {
        for (int i = 0; i < 20; ++i) {
            zmq::message_t frame;
            REQUIRE(node.recv(frame));
            auto decoded = loa::protocol::decode(frame.to_string_view());
            REQUIRE(decoded.has_value());
            if (decoded->body_case() == type) {
                return *decoded;
            }
        }
        FAIL("never came");
        return wire::Envelope();
    };
    wire::Envelope hello;
    hello.mutable_hello()->set_node_id("sai-gio");
    hello.mutable_hello()->set_node_time_us(now_us());
    send(hello);
    receive(wire::Envelope::kWelcome);
    const wire::ScheduleUpdate timeline =
        receive(wire::Envelope::kScheduleUpdate).schedule_update();
    REQUIRE(timeline.slots_size() == 1);
    wire::Envelope hb;
    hb.mutable_heartbeat()->set_node_time_us(now_us());
    hb.mutable_heartbeat()->set_clock_offset_us(0);
    hb.mutable_heartbeat()->set_clock_round_trip_us(1'000);
    hb.mutable_heartbeat()->set_clock_state(wire::CLOCK_CORRECTED);
    send(hb);
    receive(wire::Envelope::kHeartbeatAck);
    const wire::Slot& slot = timeline.slots(0);
    wire::Envelope report;
    auto* c = report.mutable_playback_report()->add_confirmations();
    c->set_seq(1);
    c->set_slot_id(slot.slot_id());
    c->set_campaign_id(slot.campaign_id());
    c->set_item_id(slot.item_id());
    c->set_media_hash(slot.media_hash());
    c->set_planned_start_us(slot.start_us());
    c->set_outcome(wire::PLAYED);
    c->set_actual_start_us(slot.start_us() + k90s);
    c->set_actual_end_us(slot.start_us() + k90s + slot.duration_us());
    send(report);
    receive(wire::Envelope::kReportAck);
    const StoredPlay play = stored_play(s, "sai-gio");
    E2E_CHECK(s, play.actual_us == slot.start_us() + k90s);
    E2E_CHECK(s, play.off_time == 1);
    auto json = s.report("lech-gio");
    E2E_CHECK(s, json["total"]["confirmed_plays"] == 1);
    E2E_CHECK(s, json["total"]["off_time"] == 1);
    E2E_CHECK(s, json["rows"][0]["off_time"] == 1);
}
