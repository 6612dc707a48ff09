// Tests of the session driven by a host's own loop (what loa-sim does for thousands of nodes):
// socket(), receive(), tick(), set_link() and stats(), against a plain ROUTER as the controller.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <fmt/core.h>
#include <zmq.hpp>

#include "loa/media/content_store.hpp"
#include "loa/node/node_store.hpp"
#include "loa/node/session.hpp"
#include "loa/protocol/envelope.hpp"
#include "test_support.hpp"

namespace node = loa::node;
namespace wire = loa::wire;
using namespace std::chrono_literals;

namespace {

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// A player side that plays nothing.
class Idle final : public node::AgentControl {
  public:
    node::NowPlaying now_playing() override { return {}; }
    void timeline_changed() override {}
    void preempt() override {}
    void apply_volume(int) override {}
    std::expected<std::string, std::string> set_amplifier(bool) override { return "done"; }
    void request_restart() override {}
    bool restart_requested() override { return false; }
    std::string log_tail(std::size_t) override { return {}; }
    void give_up(const std::string&) override {}
    bool given_up() override { return false; }
};

/// The controller's side: a ROUTER that welcomes, answers heartbeats and acks reports.
struct Controller {
    zmq::context_t& context;
    zmq::socket_t router{context, zmq::socket_type::router};
    std::string endpoint;
    int hellos = 0;
    int heartbeats = 0;
    int reports = 0;

    explicit Controller(zmq::context_t& c) : context(c) {
        router.set(zmq::sockopt::linger, 0);
        endpoint = fmt::format("tcp://127.0.0.1:{}", loa::test::free_tcp_port());
        router.bind(endpoint);
    }

    void reply(const zmq::message_t& who, wire::Envelope out) {
        router.send(zmq::buffer(who.to_string()), zmq::send_flags::sndmore);
        router.send(zmq::buffer(loa::protocol::encode(std::move(out))), zmq::send_flags::none);
    }

    /// Answers whatever arrived.
    void serve() {
        while (true) {
            zmq::message_t who, frame;
            if (!router.recv(who, zmq::recv_flags::dontwait)) {
                return;
            }
            (void)router.recv(frame);
            auto in = loa::protocol::decode(frame.to_string_view());
            REQUIRE(in);
            wire::Envelope out;
            if (in->has_hello()) {
                ++hellos;
                out.mutable_welcome()->set_accepted_version(loa::protocol::kProtocolVersion);
                out.mutable_welcome()->set_heartbeat_interval_ms(200);
                out.mutable_welcome()->set_node_id("host-01");
            } else if (in->has_heartbeat()) {
                ++heartbeats;
                auto* ack = out.mutable_heartbeat_ack();
                ack->set_node_time_us(in->heartbeat().node_time_us());
                ack->set_controller_receive_us(now_us());
                ack->set_controller_send_us(now_us());
            } else if (in->has_playback_report()) {
                ++reports;
                for (const auto& c : in->playback_report().confirmations()) {
                    out.mutable_report_ack()->add_seqs(c.seq());
                }
            } else {
                continue;  // schedule acks, media status: nothing to answer
            }
            reply(who, std::move(out));
        }
    }
};

struct Host {
    loa::test::TempDir tmp;
    zmq::context_t context{1};
    Controller controller{context};
    node::AgentOptions options;
    node::NodeStore store{":memory:"};
    loa::media::ContentStore media{tmp / "media"};
    Idle idle;
    std::unique_ptr<node::Session> session;

    Host() {
        options.node_id = "host-01";
        options.controller = controller.endpoint;
        options.data_dir = tmp.path();
        session = std::make_unique<node::Session>(options, store, media, idle, &context);
    }

    /// The host's loop: its own poll on the socket, then the session's timers.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            zmq::pollitem_t items[] = {{session->socket().handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 1, 10ms);
            session->receive();
            session->tick();
            controller.serve();
            if (done()) {
                return true;
            }
        }
        return false;
    }
};

}  // namespace

TEST_CASE(
    "a session driven step by step from the host's loop is welcomed, heartbeats and has "
    "its outbox acked",
    "[node][session]") {
    Host host;
    wire::Slot slot;
    slot.set_slot_id("c/i/vi@1");
    slot.set_campaign_id("c");
    slot.set_start_us(now_us() - 5'000'000);
    slot.set_duration_us(2'000'000);
    host.store.confirm(slot, wire::PLAYED, "", now_us() - 5'000'000, now_us() - 3'000'000);

    bool done = host.run_until(
        [&] {
            const auto& s = host.session->stats();
            return host.session->welcomed() && s.heartbeat_acks >= 3 &&
                   host.store.outbox_size() == 0;
        },
        10s);
    const auto& s = host.session->stats();
    INFO("hellos " << s.hellos << ", heartbeats " << s.heartbeats << "/" << s.heartbeat_acks
                   << ", acked " << s.confirmations_acked);
    REQUIRE(done);
    CHECK(s.welcomes == 1);
    CHECK(s.sessions_lost == 0);
    CHECK(s.heartbeats >= 3);
    CHECK(s.reports >= 1);
    CHECK(s.confirmations_sent >= 1);
    CHECK(s.confirmations_acked >= 1);
    CHECK(s.errors == 0);
    CHECK(host.controller.heartbeats >= 3);
}

TEST_CASE("a session's link decides which frames reach the socket and which the session sees",
          "[node][session]") {
    Host host;
    int dropped = 0;
    // A link that loses everything the node says: the controller never hears a HELLO.
    host.session->set_link(
        [&](std::string) {
            ++dropped;
            return true;
        },
        {});
    CHECK_FALSE(host.run_until([&] { return host.controller.hellos > 0; }, 2500ms));
    CHECK(dropped >= 1);
    CHECK(host.session->stats().hellos >= 1);

    // One that passes frames on, and holds back what the controller answers until told.
    std::vector<std::string> held;
    host.session->set_link([&](std::string frame) { return host.session->transmit(frame); },
                           [&](std::string frame) { held.push_back(std::move(frame)); });
    REQUIRE(host.run_until([&] { return !held.empty(); }, 10s));
    CHECK_FALSE(host.session->welcomed());  // the WELCOME is on the link, not delivered
    for (const auto& frame : held) {
        host.session->deliver(frame);
    }
    CHECK(host.session->welcomed());
    CHECK(host.session->stats().welcomes == 1);
}
