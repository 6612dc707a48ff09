// Enrollment of a device with the controller, and the node's configuration file.
#include "loa/node/enrollment.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/durable_file.hpp"
#include "loa/protocol/enrollment_token.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::node {

namespace {

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

std::filesystem::path pending_key_file(const std::filesystem::path& data_dir) {
    return data_dir / "node.key.pending";
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
    const std::string text =
        "# written by loa-node enroll; the key pair is in node.key\n"
        "node_id = " +
        config.node_id + "\nkind = " + config.kind + "\narea = " + config.area_path +
        "\ncontroller = " + config.controller + "\ncontroller_key = " + config.controller_key +
        "\n";
    using std::filesystem::perms;
    return protocol::write_file_durably(
        file, text,
        perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
}

std::chrono::milliseconds detail::enrollment_retry_delay(int attempt,
                                                         std::chrono::milliseconds first,
                                                         std::chrono::milliseconds max,
                                                         double jitter) {
    double wait = static_cast<double>(first.count());
    for (int i = 1; i < attempt && wait < static_cast<double>(max.count()); ++i) {
        wait *= 2;
    }
    wait = std::min(wait, static_cast<double>(max.count())) * std::clamp(jitter, 0.75, 1.25);
    return std::chrono::milliseconds(static_cast<std::int64_t>(wait));
}

namespace {

/// The key pair this enrollment registers: the one an earlier, unfinished run stored, or a new
/// one stored durably before it is ever sent.
std::expected<protocol::CurveKeyPair, std::string> enrollment_keys(
    const std::filesystem::path& data_dir) {
    const auto pending = pending_key_file(data_dir);
    std::error_code ec;
    if (std::filesystem::exists(pending, ec)) {
        auto keys = protocol::read_key_file(pending);
        if (!keys) {
            return std::unexpected(keys.error() +
                                   " (khoá của lần đăng ký trước bị hỏng; xoá tệp này rồi đăng ký "
                                   "bằng mã mới / the key of an earlier enrollment is damaged; "
                                   "delete this file and enroll with a new token)");
        }
        spdlog::info("enrolling with the key pair of an earlier, unfinished enrollment ({})",
                     pending.string());
        return keys;
    }
    auto keys = protocol::generate_curve_key_pair();
    if (keys.public_key.empty()) {
        return std::unexpected(
            "libzmq này không tạo được khoá CURVE / this libzmq cannot make CURVE keys");
    }
    if (auto written = protocol::write_key_file(pending, keys); !written) {
        return std::unexpected(written.error());
    }
    return keys;
}

/// Answers that mean "not now" rather than "no": the same ENROLL may succeed later.
bool worth_retrying(wire::ErrorCode code) {
    return code == wire::BUSY || code == wire::INTERNAL;
}

}  // namespace

std::expected<NodeConfig, std::string> enroll_device(const EnrollRequest& request) {
    auto token = protocol::parse_enrollment_token(request.token);
    if (!token) {
        return std::unexpected("--token: " + token.error());
    }
    std::error_code ec;
    std::filesystem::create_directories(request.data_dir, ec);
    auto stored_keys = enrollment_keys(request.data_dir);
    if (!stored_keys) {
        return std::unexpected(stored_keys.error());
    }
    const protocol::CurveKeyPair keys = *stored_keys;
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    // Nothing queued for a connection that is not there: an attempt is an ENROLL handed to a
    // controller, and tries do not pile up to arrive all at once.
    dealer.set(zmq::sockopt::immediate, 1);
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
    std::minstd_rand random{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto deadline = std::chrono::steady_clock::now() + request.timeout;
    auto next_send = std::chrono::steady_clock::now();
    int sent = 0;
    std::string last_busy;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto now = std::chrono::steady_clock::now();
        const bool due = now >= next_send;
        if (due && sent >= request.tries) {
            break;  // the last try went unanswered for its whole wait
        }
        // POLLOUT only while a try is due: with ZMQ_IMMEDIATE the socket is writable once the
        // CURVE handshake is done, so a controller that is not there yet costs no try.
        zmq::pollitem_t items[] = {
            {dealer.handle(), 0, static_cast<short>(ZMQ_POLLIN | (due ? ZMQ_POLLOUT : 0)), 0}};
        zmq::poll(items, 1, std::chrono::milliseconds(100));
        if (due && (items[0].revents & ZMQ_POLLOUT) &&
            dealer.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
            ++sent;
            const auto wait = detail::enrollment_retry_delay(sent, request.first_retry,
                                                             request.max_retry, jitter(random));
            next_send = std::chrono::steady_clock::now() + wait;
            if (sent > 1) {
                spdlog::warn("enrollment: try {} of {} sent (next in {:.1f} s if unanswered)", sent,
                             request.tries, static_cast<double>(wait.count()) / 1000);
            }
        }
        zmq::message_t reply;
        if (!(items[0].revents & ZMQ_POLLIN) || !dealer.recv(reply, zmq::recv_flags::dontwait)) {
            continue;
        }
        auto decoded = protocol::decode(reply.to_string_view());
        if (!decoded) {
            return std::unexpected(
                "không hiểu câu trả lời của máy chủ / the controller's answer is not understood: " +
                decoded.error().message);
        }
        if (decoded->has_error() && worth_retrying(decoded->error().code())) {
            // Another answer to an earlier try may still come and decide; if not, the next try
            // goes out after the back-off.
            last_busy = decoded->error().message();
            const auto wait = detail::enrollment_retry_delay(std::max(sent, 1), request.first_retry,
                                                             request.max_retry, jitter(random));
            next_send = std::chrono::steady_clock::now() + wait;
            spdlog::warn("enrollment: the controller is busy ({}); try {} of {} in {:.1f} s",
                         last_busy, sent + 1, request.tries,
                         static_cast<double>(wait.count()) / 1000);
            continue;
        }
        if (decoded->has_error()) {
            // Definitive (a bad, used or expired token): asking again cannot change it, and
            // this key will never be the node's.
            std::filesystem::remove(pending_key_file(request.data_dir), ec);
            return std::unexpected(
                "máy chủ từ chối đăng ký / the controller refused the "
                "enrollment: " +
                decoded->error().message());
        }
        if (!decoded->has_enrolled()) {
            return std::unexpected(std::string("máy chủ trả lời sai loại / the controller "
                                               "answered ") +
                                   std::string(protocol::message_type(*decoded)));
        }
        const auto& enrolled = decoded->enrolled();
        NodeConfig config{enrolled.node_id(), enrolled.kind(), enrolled.area_path(),
                          with_port(request.endpoint, enrolled.node_port()),
                          enrolled.controller_public_key()};
        if (config.controller_key != token->controller_key) {
            return std::unexpected(
                "máy chủ trả lời bằng khoá khác khoá trong mã / the controller answered with "
                "another key than the token's");
        }
        // node.conf first, the key last: until the rename, a crash leaves node.key.pending, and
        // running enroll again with the same token gets the same answer for the same key.
        if (auto written = write_node_config(node_config_file(request.data_dir), config);
            !written) {
            return std::unexpected(written.error());
        }
        if (auto renamed = protocol::rename_durably(pending_key_file(request.data_dir),
                                                    node_key_file(request.data_dir));
            !renamed) {
            return std::unexpected(renamed.error());
        }
        return config;
    }
    const std::string why =
        !last_busy.empty() ? "máy chủ vẫn bận / the controller stayed busy (" + last_busy + ")"
        : sent == 0 ? "không kết nối được (sai địa chỉ, mạng, hay máy chủ không nhận khoá?) / "
                      "no connection (wrong endpoint, no network, or handshake refused?)"
                    : "không có trả lời / no answer";
    return std::unexpected(fmt::format(
        "{}: {} sau {} lần gửi trong {} s; chạy lại đúng lệnh này để thử tiếp với cùng khoá / "
        "after {} tries in {} s; run the same command again to go on with the same key",
        request.endpoint, why, sent, request.timeout.count(), sent, request.timeout.count()));
}

}  // namespace loa::node
