// Routing ids a node chooses itself (ZMQ_ROUTING_ID): a node reconnecting with its own while the
// old connection lingers half-open is served on the new one, and another node taking it gets
// nothing of the first one's session — over real CURVE sockets and a real TCP relay on loopback.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <SQLiteCpp/Statement.h>
#include <zmq.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/people/action_log.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
using namespace std::chrono_literals;

namespace {

/// A TCP relay between a node and the controller whose link can die without a word: freeze()
/// stops moving bytes both ways and keeps both sockets open, as a 3G link that drops leaves the
/// controller's end of the connection (half-open: no FIN, no RST).
class FreezableRelay {
  public:
    explicit FreezableRelay(int target_port) : target_port_(target_port) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        socklen_t length = sizeof(address);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
        REQUIRE(::listen(listener_, 4) == 0);
        thread_ = std::thread([this] { run(); });
    }
    ~FreezableRelay() {
        stop_ = true;
        thread_.join();
        for (int fd : {listener_, client_.load(), upstream_.load()}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }
    FreezableRelay(const FreezableRelay&) = delete;
    FreezableRelay& operator=(const FreezableRelay&) = delete;

    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
    void freeze() { frozen_ = true; }
    /// Whether the controller has closed its end of the relayed connection.
    bool closed_by_controller() const {
        const int fd = upstream_.load();
        if (fd < 0) {
            return false;
        }
        tcp_info info{};
        socklen_t length = sizeof(info);
        return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
               info.tcpi_state != TCP_ESTABLISHED;
    }

  private:
    void run() {
        while (!stop_ && client_ < 0) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) == 1) {
                client_ = ::accept(listener_, nullptr, nullptr);
            }
        }
        if (stop_) {
            return;
        }
        const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(target_port_));
        if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
            ::close(upstream);
            return;
        }
        upstream_ = upstream;
        char buffer[16384];
        bool open = true;
        while (!stop_ && open) {
            if (frozen_) {
                std::this_thread::sleep_for(20ms);
                continue;
            }
            pollfd p[2] = {{client_, POLLIN, 0}, {upstream_, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0) {
                continue;
            }
            for (int i = 0; i < 2 && open; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                    continue;
                }
                const ssize_t n = ::recv(p[i].fd, buffer, sizeof(buffer), 0);
                if (n <= 0) {
                    open = false;
                    break;
                }
                const int to = i == 0 ? upstream_.load() : client_.load();
                for (ssize_t sent = 0; sent < n;) {
                    const ssize_t s =
                        ::send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
                    if (s <= 0) {
                        open = false;
                        break;
                    }
                    sent += s;
                }
            }
        }
    }

    int target_port_;
    int port_ = 0;
    int listener_ = -1;
    std::atomic<int> client_{-1};
    std::atomic<int> upstream_{-1};
    std::atomic<bool> frozen_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

int port_of(const std::string& endpoint) {
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

/// A DEALER that, like a device whose link died, never reconnects by itself once cut.
std::unique_ptr<RawNode> lingering_node(const std::string& endpoint, const std::string& server_key,
                                        const protocol::CurveKeyPair& keys,
                                        const std::string& routing_id) {
    return std::make_unique<RawNode>(endpoint, server_key, keys, routing_id,
                                     RawNode::Reconnect::never);
}

/// Watches a socket's connection for its end (ZMQ_EVENT_DISCONNECTED), through libzmq's monitor.
struct DisconnectWatch {
    zmq::socket_t monitor;
    DisconnectWatch(RawNode& node, const std::string& name)
        : monitor(node.context, zmq::socket_type::pair) {
        const std::string endpoint = "inproc://watch-" + name;
        REQUIRE(zmq_socket_monitor(node.socket.handle(), endpoint.c_str(),
                                   ZMQ_EVENT_DISCONNECTED) == 0);
        monitor.connect(endpoint);
    }
    /// Whether the connection ended within `timeout`.
    bool ended_within(std::chrono::milliseconds timeout) {
        zmq::pollitem_t items[] = {{monitor.handle(), 0, ZMQ_POLLIN, 0}};
        return zmq::poll(items, 1, timeout) > 0;
    }
};

std::int64_t count(SQLite::Database& db, const std::string& sql) {
    SQLite::Statement q(db, sql);
    q.executeStep();
    return q.getColumn(0).getInt64();
}

/// Queues SET-VOLUME for `node_id` as an operator would (another connection to the database).
void queue_volume(RunningServer& f, const std::string& node_id, std::uint32_t percent) {
    wire::Command c;
    c.mutable_set_volume()->set_percent(percent);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::queue_command(tx, node_id, c, controller::now_us());
    }));
}

std::unique_ptr<RawNode> enrolled(RunningServer& f, const protocol::CurveKeyPair& keys,
                                  const std::string& routing_id,
                                  RawNode::Reconnect reconnect = RawNode::Reconnect::libzmq) {
    return std::make_unique<RawNode>(f.endpoint, f.options.curve_keys.public_key, keys, routing_id,
                                     reconnect);
}

protocol::CurveKeyPair enroll(RunningServer& f, const std::string& node_id) {
    const auto keys = protocol::generate_curve_key_pair();
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::enroll_key(tx, node_id, keys.public_key, kNow);
    }));
    return keys;
}

wire::Envelope heartbeat() {
    wire::Envelope e;
    e.mutable_heartbeat()->set_node_time_us(controller::now_us());
    return e;
}

}  // namespace

TEST_CASE(
    "a node reconnecting with its routing id while the old connection lingers half-open is "
    "served on the new one") {
    RunningServer f;
    f.options.heartbeat_interval_ms = 30'000;  // no session is dropped for silence here
    f.node("ta-van-01", "vn/x");
    f.start();
    const auto keys = enroll(f, "ta-van-01");
    FreezableRelay link(port_of(f.endpoint));
    auto old = lingering_node(link.endpoint(), f.options.curve_keys.public_key, keys, "ta-van-01");
    old->join("ta-van-01");
    old->receive(wire::Envelope::kScheduleUpdate);
    link.freeze();  // the 3G link drops: the controller still holds the old connection

    auto fresh = enrolled(f, keys, "ta-van-01");
    fresh->hello("ta-van-01");
    auto welcome = fresh->receive_within(wire::Envelope::kWelcome, 5000);
    REQUIRE(welcome.has_value());
    CHECK(welcome->welcome().node_id() == "ta-van-01");
    // Served: its commands reach it, its heartbeats are answered.
    queue_volume(f, "ta-van-01", 60);
    auto command = fresh->receive_within(wire::Envelope::kCommand, 3000);
    REQUIRE(command.has_value());
    CHECK(command->command().set_volume().percent() == 60);
    fresh->send(heartbeat());
    CHECK(fresh->receive_within(wire::Envelope::kHeartbeatAck, 3000).has_value());
    // And the controller lets go of the dead connection instead of holding its descriptor for
    // ever (nothing would ever be written to it again).
    CHECK(wait_until([&] { return link.closed_by_controller(); }, 5s));
}

TEST_CASE(
    "a node reconnecting with its routing id takes the session over, and the old "
    "connection gets nothing more") {
    RunningServer f;
    f.options.heartbeat_interval_ms = 30'000;  // no session is dropped for silence here
    f.node("ta-van-01", "vn/x");
    f.start();
    const auto keys = enroll(f, "ta-van-01");
    auto old = lingering_node(f.endpoint, f.options.curve_keys.public_key, keys, "ta-van-01");
    DisconnectWatch old_link(*old, "old");
    old->join("ta-van-01");
    old->receive(wire::Envelope::kScheduleUpdate);

    auto fresh = enrolled(f, keys, "ta-van-01");
    fresh->join("ta-van-01");
    queue_volume(f, "ta-van-01", 55);
    REQUIRE(fresh->receive_within(wire::Envelope::kCommand, 3000).has_value());
    // The old connection is closed by the controller (so nothing it would send can arrive), and
    // nothing of the session went to it after the takeover.
    CHECK(old_link.ended_within(3s));
    CHECK_FALSE(old->receive_within(wire::Envelope::kCommand, 1000).has_value());
    fresh->send(heartbeat());
    CHECK(fresh->receive_within(wire::Envelope::kHeartbeatAck, 3000).has_value());
}

TEST_CASE("another node taking a node's routing id gets nothing of that node's session") {
    RunningServer f;
    f.options.heartbeat_interval_ms = 30'000;  // no session is dropped for silence here
    f.node("ta-van-01", "vn/x");
    f.node("ban-khoang-01", "vn/y");
    f.start();
    const auto victim_keys = enroll(f, "ta-van-01");
    const auto thief_keys = enroll(f, "ban-khoang-01");
    auto victim = enrolled(f, victim_keys, "shared-routing-id");
    victim->join("ta-van-01");
    victim->receive(wire::Envelope::kScheduleUpdate);

    auto thief = enrolled(f, thief_keys, "shared-routing-id");
    SECTION("a frame on the victim's session is refused, logged, and ends that session") {
        thief->send(heartbeat());
        auto refused = thief->receive_within(wire::Envelope::kError, 3000);
        REQUIRE(refused.has_value());
        CHECK(refused->error().code() == wire::NOT_ALLOWED);
        CHECK(count(*f.db, "SELECT count(*) FROM node_status") == 0);
        // What the operator then sends the victim does not go to the thief.
        queue_volume(f, "ta-van-01", 70);
        CHECK_FALSE(thief->receive_within(wire::Envelope::kCommand, 1500).has_value());
        REQUIRE(wait_until(
            [&] {
                controller::ActionFilter filter;
                filter.action = "node.heartbeat";
                auto rows = controller::list_actions(*f.db, filter);
                return rows && rows->size() == 1 && rows->at(0).actor == "node:ban-khoang-01" &&
                       rows->at(0).target == "ta-van-01";
            },
            5s));
        // The victim gets its session back: its old connection is let go, libzmq reconnects it
        // (taking its routing id back), it is asked to say hello, and its command comes.
        auto need_hello = wait_until(
            [&] {
                victim->send(heartbeat());
                auto e = victim->receive_within(wire::Envelope::kError, 200);
                return e && e->error().code() == wire::NEED_HELLO;
            },
            10s);
        REQUIRE(need_hello);
        victim->join("ta-van-01");
        auto command = victim->receive_within(wire::Envelope::kCommand, 3000);
        REQUIRE(command.has_value());
        CHECK(command->command().set_volume().percent() == 70);
    }
    SECTION("a hello opens the thief's own session, with its own identity and nothing else") {
        thief->hello("");
        auto welcome = thief->receive_within(wire::Envelope::kWelcome, 3000);
        REQUIRE(welcome.has_value());
        CHECK(welcome->welcome().node_id() == "ban-khoang-01");
        queue_volume(f, "ta-van-01", 70);
        CHECK_FALSE(thief->receive_within(wire::Envelope::kCommand, 1500).has_value());
    }
}

TEST_CASE(
    "a session ends with its connection, so a later one taking its routing id gets none "
    "of it") {
    RunningServer f;
    f.options.heartbeat_interval_ms = 30'000;  // no session is dropped for silence here
    f.node("ta-van-01", "vn/x");
    f.node("ban-khoang-01", "vn/y");
    f.start();
    const auto victim_keys = enroll(f, "ta-van-01");
    const auto thief_keys = enroll(f, "ban-khoang-01");
    {
        auto victim = enrolled(f, victim_keys, "shared-routing-id");
        victim->join("ta-van-01");
        victim->receive(wire::Envelope::kScheduleUpdate);
    }  // gone
    std::this_thread::sleep_for(300ms);
    auto thief = enrolled(f, thief_keys, "shared-routing-id");
    queue_volume(f, "ta-van-01", 70);
    // Even silent, the thief is sent nothing of the departed session.
    CHECK_FALSE(thief->receive_within(wire::Envelope::kCommand, 1500).has_value());
    thief->send(heartbeat());
    auto answer = thief->receive_within(wire::Envelope::kError, 3000);
    REQUIRE(answer.has_value());
    CHECK(answer->error().code() == wire::NEED_HELLO);
    CHECK(count(*f.db, "SELECT count(*) FROM node_status") == 0);
}
