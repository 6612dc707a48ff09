// Enrollment of a device with the controller, and the node's configuration file.
#include "loa/node/enrollment.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/enrollment_token.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::node {

namespace {

constexpr auto kResendEvery = std::chrono::seconds(5);

/// `tcp://host:5600` with port 5599 → `tcp://host:5599`.
std::string with_port(const std::string& endpoint, std::uint32_t port) {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos || port == 0) {
        return endpoint;
    }
    return endpoint.substr(0, colon + 1) + std::to_string(port);
}

std::string host_name() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

}  // namespace

std::filesystem::path node_config_file(const std::filesystem::path& data_dir) {
    return data_dir / "node.conf";
}

std::filesystem::path node_key_file(const std::filesystem::path& data_dir) {
    return data_dir / "node.key";
}

std::expected<NodeConfig, std::string> read_node_config(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return std::unexpected(file.string() +
                               ": cannot read (is this device enrolled? loa-node enroll)");
    }
    NodeConfig config;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto equals = line.find(" = ");
        if (equals == std::string::npos) {
            return std::unexpected(file.string() + ":" + std::to_string(number) +
                                   ": expected 'name = value'");
        }
        const std::string name = line.substr(0, equals);
        const std::string value = line.substr(equals + 3);
        if (name == "node_id") {
            config.node_id = value;
        } else if (name == "kind") {
            config.kind = value;
        } else if (name == "area") {
            config.area_path = value;
        } else if (name == "controller") {
            config.controller = value;
        } else if (name == "controller_key") {
            config.controller_key = value;
        } else {
            return std::unexpected(file.string() + ":" + std::to_string(number) +
                                   ": unknown setting '" + name + "'");
        }
    }
    if (config.node_id.empty() || config.controller.empty() ||
        !protocol::is_z85_key(config.controller_key)) {
        return std::unexpected(file.string() +
                               ": needs node_id, controller and a 40-character controller_key");
    }
    return config;
}

std::expected<void, std::string> write_node_config(const std::filesystem::path& file,
                                                   const NodeConfig& config) {
    const auto temporary = std::filesystem::path(file.string() + ".tmp");
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << "# written by loa-node enroll; the key pair is in node.key\n"
            << "node_id = " << config.node_id << "\n"
            << "kind = " << config.kind << "\n"
            << "area = " << config.area_path << "\n"
            << "controller = " << config.controller << "\n"
            << "controller_key = " << config.controller_key << "\n";
        out.flush();
        if (!out) {
            return std::unexpected(temporary.string() + ": cannot write");
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, file, ec);
    if (ec) {
        return std::unexpected(file.string() + ": " + ec.message());
    }
    return {};
}

std::expected<NodeConfig, std::string> enroll_device(const EnrollRequest& request) {
    auto token = protocol::parse_enrollment_token(request.token);
    if (!token) {
        return std::unexpected("--token: " + token.error());
    }
    std::error_code ec;
    std::filesystem::create_directories(request.data_dir, ec);
    const auto keys = protocol::generate_curve_key_pair();
    if (keys.public_key.empty()) {
        return std::unexpected("this libzmq cannot make CURVE keys");
    }
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::curve_serverkey, token->controller_key);
    dealer.set(zmq::sockopt::curve_publickey, keys.public_key);
    dealer.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    dealer.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(64 * 1024));
    try {
        dealer.connect(request.endpoint);
    } catch (const zmq::error_t& e) {
        return std::unexpected("--controller " + request.endpoint + ": " + e.what());
    }
    wire::Envelope out;
    auto* enroll = out.mutable_enroll();
    enroll->set_token(token->secret_hex);
    enroll->set_public_key(keys.public_key);
    enroll->set_agent_version(request.agent_version);
    enroll->set_hostname(host_name());
    const std::string frame = protocol::encode(out);
    const auto deadline = std::chrono::steady_clock::now() + request.timeout;
    auto next_send = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
        if (std::chrono::steady_clock::now() >= next_send) {
            // Sent again until answered: on a flaky link the first may never arrive. A token
            // is used once, so a second answer to a repeat can only be "already used" — the
            // first answer that arrives decides.
            (void)dealer.send(zmq::buffer(frame), zmq::send_flags::dontwait);
            next_send = std::chrono::steady_clock::now() + kResendEvery;
        }
        zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, std::chrono::milliseconds(200));
        zmq::message_t reply;
        if (!(items[0].revents & ZMQ_POLLIN) || !dealer.recv(reply, zmq::recv_flags::dontwait)) {
            continue;
        }
        auto decoded = protocol::decode(reply.to_string_view());
        if (!decoded) {
            return std::unexpected("the controller's answer is not understood: " +
                                   decoded.error().message);
        }
        if (decoded->has_error()) {
            return std::unexpected("the controller refused the enrollment: " +
                                   decoded->error().message());
        }
        if (!decoded->has_enrolled()) {
            return std::unexpected(std::string("the controller answered ") +
                                   std::string(protocol::message_type(*decoded)));
        }
        const auto& enrolled = decoded->enrolled();
        NodeConfig config{enrolled.node_id(), enrolled.kind(), enrolled.area_path(),
                          with_port(request.endpoint, enrolled.node_port()),
                          enrolled.controller_public_key()};
        if (config.controller_key != token->controller_key) {
            return std::unexpected("the controller answered with another key than the token's");
        }
        if (auto written = protocol::write_key_file(node_key_file(request.data_dir), keys);
            !written) {
            return std::unexpected(written.error());
        }
        if (auto written = write_node_config(node_config_file(request.data_dir), config);
            !written) {
            return std::unexpected(written.error());
        }
        return config;
    }
    return std::unexpected("no answer from " + request.endpoint + " within " +
                           std::to_string(request.timeout.count()) +
                           " s (is it the enrollment endpoint, and reachable?)");
}

}  // namespace loa::node
