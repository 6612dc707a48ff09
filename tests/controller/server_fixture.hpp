// A controller serving on a loopback port from a background thread, and a hand-driven node.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <zmq.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::test {

/// A hand-driven node: a raw DEALER speaking the wire protocol.
struct RawNode {
    zmq::context_t context{1};
    zmq::socket_t socket{context, zmq::socket_type::dealer};
    std::uint64_t next_id = 1;

    /// Whether libzmq connects again when the connection ends (as a device does), or never (as
    /// a device whose link died, leaving a half-open connection behind).
    enum class Reconnect { libzmq, never };

    /// Connects to `endpoint`; with the server's public key and a key pair, over CURVE (without,
    /// in plain text, which a loa controller refuses). `routing_id`: the one it claims, if any.
    explicit RawNode(const std::string& endpoint, const std::string& server_key = {},
                     const protocol::CurveKeyPair& keys = {}, const std::string& routing_id = {},
                     Reconnect reconnect = Reconnect::libzmq) {
        socket.set(zmq::sockopt::linger, 0);
        if (reconnect == Reconnect::never) {
            socket.set(zmq::sockopt::reconnect_ivl, -1);
        }
        socket.set(zmq::sockopt::rcvtimeo, 5000);
        if (!server_key.empty()) {
            socket.set(zmq::sockopt::curve_serverkey, server_key);
            socket.set(zmq::sockopt::curve_publickey, keys.public_key);
            socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
        }
        if (!routing_id.empty()) {
            socket.set(zmq::sockopt::routing_id, routing_id);
        }
        socket.connect(endpoint);
    }
    void send_raw(std::string_view bytes) { socket.send(zmq::buffer(bytes)); }
    /// Sends `e` with the next message id; returns that id.
    std::uint64_t send(wire::Envelope e) {
        const std::uint64_t id = next_id++;
        e.set_message_id(id);
        send_raw(protocol::encode(std::move(e)));
        return id;
    }
    /// The next message of the given type within 5 s, skipping others (e.g. schedule updates).
    wire::Envelope receive(wire::Envelope::BodyCase type) {
        auto received = receive_within(type, 5000);
        if (!received) {
            FAIL("expected message never came");
        }
        return *received;
    }
    void hello(const std::string& node_id) {
        wire::Envelope e;
        e.mutable_hello()->set_node_id(node_id);
        send(e);
    }
    /// The next message of the given type within `timeout_ms`, skipping others; none if it
    /// does not come.
    std::optional<wire::Envelope> receive_within(wire::Envelope::BodyCase type, int timeout_ms) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (true) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
            if (left.count() <= 0 || zmq::poll(items, 1, left) == 0) {
                return std::nullopt;
            }
            zmq::message_t frame;
            REQUIRE(socket.recv(frame));
            auto decoded = protocol::decode(frame.to_string_view());
            REQUIRE(decoded.has_value());
            if (decoded->body_case() == type) {
                return *decoded;
            }
        }
    }
    /// Waits until everything this node sent before is stored: an empty report is acked only
    /// after the change holding it (and every change before it) has committed.
    void sync() {
        wire::Envelope e;
        e.mutable_playback_report();
        send(e);
        receive(wire::Envelope::kReportAck);
    }
    /// Says hello as `node_id` and waits to be welcomed.
    void join(const std::string& node_id) {
        hello(node_id);
        receive(wire::Envelope::kWelcome);
    }
};

/// A controller serving on a free loopback port from a background thread.
struct RunningServer : ControllerFixture {
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
    /// What start() serves with; tests may change it before.
    controller::GatewayOptions options{.endpoint = endpoint,
                                       .heartbeat_interval_ms = 1000,
                                       .resend_after_ms = 5000,
                                       .curve_keys = protocol::generate_curve_key_pair()};
    std::unique_ptr<controller::NodeGateway> server;
    std::atomic<bool> stop{false};
    std::thread thread;

    void start() {
        server = std::make_unique<controller::NodeGateway>(shared_store(), store, options);
        REQUIRE(server->bind().has_value());
        thread = std::thread([this] { server->run(stop); });
    }
    /// A raw node connected over CURVE with a fresh key pair enrolled as `node_id` (registered
    /// beforehand); `routing_id`: the one it claims, if any.
    std::unique_ptr<RawNode> connect_as(const std::string& node_id,
                                        const std::string& routing_id = {}) {
        const auto keys = protocol::generate_curve_key_pair();
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
                    return controller::enroll_key(tx, node_id, keys.public_key, kNow);
                }).has_value());
        return std::make_unique<RawNode>(endpoint, options.curve_keys.public_key, keys, routing_id);
    }
    /// Starts serving; returns a node that joined as `node_id` (registered beforehand).
    std::unique_ptr<RawNode> start_and_join(const std::string& node_id) {
        start();
        auto joined = connect_as(node_id);
        joined->join(node_id);
        return joined;
    }
    ~RunningServer() {
        stop = true;
        if (thread.joinable()) {
            thread.join();
        }
    }
};

}  // namespace loa::test
