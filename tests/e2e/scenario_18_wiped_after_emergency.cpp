// Scenario 18: a node's store is wiped after an emergency has played. A real node plays an
// emergency and a booked play, its data directory is wiped, and the new store plays another
// emergency and play: every play of both lives counts once, no number collides, and
// `loactl node gaps` shows nothing missing and no alarm. Then a device that numbers from 1
// again (an agent that ignores where WELCOME says to continue) reuses a number: the
// confirmation is acked and kept apart, and `node gaps` shows the reuse and the wipe.
#include "loa/protocol/envelope.hpp"
#include "scenario.hpp"

using namespace loa::e2e;
namespace wire = loa::wire;

namespace {

/// Sends emergency `title` of `bulletin` to node `id`, `repeat` plays; its id.
std::string send_emergency(Scenario& s, const std::string& id, const Bulletin& bulletin,
                           int repeat) {
    auto sent =
        s.loactl(fmt::format("emergency send --media {} --nodes {} --repeat {} "
                             "--expires now+10m",
                             bulletin.hash, id, repeat));
    const std::string emergency_id = sent.at("emergency_id").get<std::string>();
    REQUIRE_FALSE(emergency_id.empty());
    return emergency_id;
}

/// Confirmations the controller holds for `id`'s plays of emergency `emergency_id`.
std::int64_t emergency_plays(Scenario& s, const std::string& id, const std::string& emergency_id) {
    return s
        .controller_scalar(fmt::format("SELECT count(*) FROM confirmations WHERE node_id = '{}' "
                                       "AND emergency_id = '{}' AND outcome = 'played'",
                                       id, emergency_id))
        .value_or(-1);
}

/// Whether node `id` has answered every command and emptied its outbox, and the controller
/// holds `confirmations` of it.
bool settled(Scenario& s, const std::string& id, std::int64_t confirmations) {
    return s.confirmed(id, "") == confirmations &&
           s.node_scalar(id, "SELECT count(*) FROM outbox") == 0 &&
           s.controller_scalar(fmt::format("SELECT count(*) FROM commands WHERE node_id = '{}' "
                                           "AND result_received_us IS NULL",
                                           id)) == 0;
}

/// A device speaking the protocol by hand with node `id`'s key.
class Device {
  public:
    Device(const Scenario& s, const std::string& id)
        : context_(1), dealer_(context_, zmq::socket_type::dealer) {
        dealer_.set(zmq::sockopt::linger, 0);
        s.secure_as(dealer_, id);
        dealer_.connect(s.endpoint());
    }

    void send(wire::Envelope envelope) {
        envelope.set_message_id(next_id_++);
        REQUIRE(dealer_
                    .send(zmq::buffer(loa::protocol::encode(std::move(envelope))),
                          zmq::send_flags::none)
                    .has_value());
    }

    /// The next message of type `body`, skipping others, within `timeout`.
    std::optional<wire::Envelope> receive(wire::Envelope::BodyCase body,
                                          std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::pollitem_t items[] = {{dealer_.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 1, 100ms);
            if (!(items[0].revents & ZMQ_POLLIN)) {
                continue;
            }
            zmq::message_t frame;
            REQUIRE(dealer_.recv(frame).has_value());
            auto decoded = loa::protocol::decode(frame.to_string_view());
            if (decoded && decoded->body_case() == body) {
                return *decoded;
            }
        }
        return std::nullopt;
    }

  private:
    zmq::context_t context_;
    zmq::socket_t dealer_;
    std::uint64_t next_id_ = 1;
};

}  // namespace

TEST_CASE(
    "scenario 18: a node wiped after an emergency counts every play of both lives once, and a "
    "number it reuses is kept and shown by node gaps",
    "[e2e]") {
    Scenario s;
    s.start_controller();
    const std::string id = "ta-van-14";
    std::vector<std::int64_t> highest;  // confirmation_marks.highest_seq, each time it is read
    auto highest_seq = [&] {
        highest.push_back(
            s.controller_scalar(
                 fmt::format("SELECT highest_seq FROM confirmation_marks WHERE node_id = '{}'", id))
                .value_or(0));
        return highest.back();
    };
    const Bulletin alert_1 = s.tone(1.0, 880.0);
    const Bulletin alert_2 = s.tone(1.0, 990.0);

    // First life: an emergency of 2 plays, then a booked play (after it: nothing is cut).
    s.add_node(id);
    s.start_node(id);
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({id}); }, 15s));
    const std::string kc_1 = send_emergency(s, id, alert_1, 2);
    bool aired = loa::test::wait_until([&] { return emergency_plays(s, id, kc_1) == 2; }, 30s);
    E2E_REQUIRE(s, aired);
    s.add_campaign("truoc", {s.tone(1.0, 440.0)}, 8);
    const std::int64_t first_booked = s.planned(id, "truoc");
    REQUIRE(first_booked >= 1);
    const std::int64_t first_life = first_booked + 2;
    bool done =
        loa::test::wait_until([&] { return settled(s, id, first_life); }, confirm_deadline(s, id));
    E2E_REQUIRE(s, done);
    CHECK(emergency_plays(s, id, kc_1) == 2);
    const std::int64_t first_highest = highest_seq();
    CHECK(first_highest == first_life);
    REQUIRE(s.stop_node(id) == 0);

    // Wiped: the data directory gone, a new key registered for the node.
    fs::remove_all(s.node_data(id));
    s.add_node(id);
    s.start_node(id);
    bool welcomed = loa::test::wait_until(
        [&] {
            return loa::test::read_file(s.logs() / (id + ".log"))
                       .find(fmt::format("confirmations are numbered from {}",
                                         first_highest + 1)) != std::string::npos;
        },
        20s);
    E2E_REQUIRE(s, welcomed);
    // Second life: another emergency of 2 plays and another booked play.
    const std::string kc_2 = send_emergency(s, id, alert_2, 2);
    aired = loa::test::wait_until([&] { return emergency_plays(s, id, kc_2) == 2; }, 30s);
    E2E_REQUIRE(s, aired);
    s.add_campaign("sau", {s.tone(1.0, 660.0)}, 8);
    const std::int64_t second_booked = s.planned(id, "sau");
    REQUIRE(second_booked >= 1);
    const std::int64_t both_lives = first_life + second_booked + 2;
    done =
        loa::test::wait_until([&] { return settled(s, id, both_lives); }, confirm_deadline(s, id));
    E2E_REQUIRE(s, done);

    // Every play of both lives once, under numbers above the first life's; nothing kept apart.
    CHECK(s.confirmed(id, "played") == both_lives);
    CHECK(emergency_plays(s, id, kc_1) == 2);
    CHECK(emergency_plays(s, id, kc_2) == 2);
    CHECK(s.controller_scalar(fmt::format(
              "SELECT count(DISTINCT seq) FROM confirmations WHERE node_id = '{}'", id)) ==
          both_lives);
    CHECK(s.controller_scalar(fmt::format("SELECT min(seq) FROM confirmations WHERE node_id = "
                                          "'{}' AND (emergency_id = '{}' OR campaign_id = 'sau')",
                                          id, kc_2)) == first_highest + 1);
    CHECK(s.controller_scalar(fmt::format("SELECT max(seq) FROM confirmations WHERE node_id = "
                                          "'{}' AND (emergency_id = '{}' OR campaign_id = 'truoc')",
                                          id, kc_1)) == first_highest);
    CHECK(s.controller_scalar(fmt::format(
              "SELECT count(*) FROM refused_confirmations WHERE node_id = '{}'", id)) == 0);
    CHECK(highest_seq() == both_lives);
    for (const std::string campaign : {"truoc", "sau"}) {
        auto report = s.report(campaign);
        INFO(campaign << ": " << report.dump(2));
        CHECK(report["total"]["unconfirmed"] == 0);
    }
    // node gaps: nothing missing, nothing reused, no alarm (a heartbeat sent before the last
    // report is older than it, which is no sign of anything).
    auto gaps = s.loactl(fmt::format("node gaps --node {}", id));
    INFO(gaps.dump(2));
    REQUIRE(gaps.size() == 1);
    CHECK(gaps[0]["received"] == both_lives);
    CHECK(gaps[0]["missing_count"] == 0);
    CHECK(gaps[0]["reused_count"] == 0);
    CHECK(gaps[0]["store_wiped"] == false);
    REQUIRE(s.stop_node(id) == 0);

    // A device that numbers from 1 again, whatever WELCOME says, and reports a third play of
    // the second emergency as number 1.
    Device device(s, id);
    wire::Envelope hello;
    hello.mutable_hello()->set_node_id(id);
    hello.mutable_hello()->set_agent_version("cu-0.1");
    device.send(hello);
    auto welcome = device.receive(wire::Envelope::kWelcome, 10s);
    REQUIRE(welcome);
    CHECK(welcome->welcome().highest_seq() == static_cast<std::uint64_t>(both_lives));
    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    wire::Envelope report;
    auto* c = report.mutable_playback_report()->add_confirmations();
    c->set_seq(1);
    c->set_slot_id(fmt::format("emergency:{}:3", kc_2));
    c->set_emergency_id(kc_2);
    c->set_media_hash(alert_2.hash);
    c->set_planned_start_us(now - 2'000'000);
    c->set_actual_start_us(now - 2'000'000);
    c->set_actual_end_us(now - 1'000'000);
    c->set_outcome(wire::PLAYED);
    device.send(report);
    auto ack = device.receive(wire::Envelope::kReportAck, 10s);
    REQUIRE(ack);
    REQUIRE(ack->report_ack().seqs_size() == 1);
    CHECK(ack->report_ack().seqs(0) == 1u);
    // Acked, so the device forgets it: the controller keeps it apart, with the reason.
    CHECK(s.controller_scalar(fmt::format("SELECT count(*) FROM refused_confirmations WHERE "
                                          "node_id = '{}' AND seq = 1 AND reason LIKE "
                                          "'number 1 was used before%'",
                                          id)) == 1);
    CHECK(s.confirmed(id, "played") == both_lives);  // the first number 1 still counts
    wire::Envelope heartbeat;
    heartbeat.mutable_heartbeat()->set_last_seq(1);
    heartbeat.mutable_heartbeat()->set_node_time_us(now);
    device.send(heartbeat);
    REQUIRE(device.receive(wire::Envelope::kHeartbeatAck, 10s));
    bool heard = loa::test::wait_until(
        [&] {
            return s.controller_scalar(fmt::format(
                       "SELECT last_seq FROM node_status WHERE node_id = '{}'", id)) == 1;
        },
        10s);
    E2E_REQUIRE(s, heard);

    gaps = s.loactl(fmt::format("node gaps --node {}", id));
    INFO(gaps.dump(2));
    REQUIRE(gaps.size() == 1);
    CHECK(gaps[0]["reused"] == nlohmann::json::parse(R"([{"first":1,"last":1}])"));
    CHECK(gaps[0]["reused_count"] == 1);
    CHECK(gaps[0]["behind_received"] == both_lives);
    CHECK(gaps[0]["store_wiped"] == true);
    CHECK(gaps[0]["missing_count"] == 0);
    int status = -1;
    const std::string table = loa::test::capture_shell(
        fmt::format("{}{} --controller {} node gaps --node {} 2>&1", as_admin(s.controller_data()),
                    LOA_LOACTL_BIN, s.api_url(), id),
        &status);
    INFO(table);
    CHECK(status == 0);
    CHECK(table.find("1 !") != std::string::npos);
    CHECK(table.find("kho dữ liệu của nút đã bị xoá hoặc thay") != std::string::npos);
}
