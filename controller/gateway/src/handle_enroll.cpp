// C:ENROLL on the enrollment endpoint — a new device trades a one-time token for the
// registration of its CURVE key; S:ENROLLED or S:ERROR ENROLLMENT_REFUSED.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "loa/controller/people/action_log.hpp"
#include "loa/controller/gateway/controller_server.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::controller {

namespace {

constexpr std::int64_t kEnrollWindowUs = 1'000'000;
/// Tokens hold 128 random bits, so this is about the database, not about guessing.
constexpr int kEnrollsPerWindow = 20;

std::uint16_t port_of(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) {
        return 0;
    }
    try {
        return static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1)));
    } catch (const std::exception&) {
        return 0;
    }
}

}  // namespace

void ControllerServer::handle_enroll(const std::string& routing_id, const std::string& public_key,
                                     std::string_view frame) {
    auto reply = [&](wire::Envelope out, std::uint64_t in_reply_to) {
        out.set_message_id(next_message_id_++);
        out.set_in_reply_to(in_reply_to);
        try {
            enroll_.send(zmq::buffer(routing_id),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            enroll_.send(zmq::buffer(protocol::encode(std::move(out))), zmq::send_flags::dontwait);
        } catch (const zmq::error_t& e) {
            spdlog::warn("enrollment: reply lost: {}", e.what());
        }
    };
    auto refuse = [&](const std::string& why, std::uint64_t in_reply_to,
                      const std::string& node_id = {}) {
        session_stats_.enrollments_refused.fetch_add(1, std::memory_order_relaxed);
        log_refusal({"key:" + public_key, "node.enroll", node_id, why});
        wire::Envelope out;
        out.mutable_error()->set_code(wire::ENROLLMENT_REFUSED);
        out.mutable_error()->set_message(why);
        reply(std::move(out), in_reply_to);
    };
    auto decoded = protocol::decode(frame);
    if (!decoded) {
        refuse(decoded.error().message, 0);
        return;
    }
    if (decoded->body_case() != wire::Envelope::kEnroll) {
        refuse(fmt::format("the enrollment endpoint takes only enroll, not {}",
                           protocol::message_type(*decoded)),
               decoded->message_id());
        return;
    }
    const auto& enroll = decoded->enroll();
    const std::int64_t now = now_us();
    if (now - enroll_window_start_us_ >= kEnrollWindowUs) {
        enroll_window_start_us_ = now;
        enrolls_in_window_ = 0;
    }
    if (++enrolls_in_window_ > kEnrollsPerWindow) {
        refuse("too many enrollments at once: try again in a few seconds", decoded->message_id());
        return;
    }
    if (enroll.public_key() != public_key) {
        refuse("the key in the message is not the key of this connection", decoded->message_id());
        return;
    }
    auto enrolled = redeem_enrollment_token(db_, enroll.token(), public_key, now);
    if (!enrolled) {
        refuse(enrolled.error().message, decoded->message_id());
        return;
    }
    session_stats_.enrollments.fetch_add(1, std::memory_order_relaxed);
    LoggedAction done;
    done.at_us = now;
    done.actor = "node:" + enrolled->node_id;
    done.actor_role = "node";
    done.action = "node.enroll";
    done.target = enrolled->node_id;
    done.area = enrolled->area_path;
    done.detail = {{"public_key", public_key},
                   {"rotated", enrolled->rotated},
                   {"agent_version", enroll.agent_version()},
                   {"hostname", enroll.hostname()}};
    if (auto recorded = record_action(db_, done); !recorded) {
        spdlog::error("action log: {}", recorded.error().message);
    }
    spdlog::info("node {} enrolled key {} ({}, agent {}, host '{}')", enrolled->node_id, public_key,
                 enrolled->rotated ? "replacing its old key" : "first key", enroll.agent_version(),
                 enroll.hostname());
    wire::Envelope out;
    auto* answer = out.mutable_enrolled();
    answer->set_node_id(enrolled->node_id);
    answer->set_kind(enrolled->kind);
    answer->set_area_path(enrolled->area_path);
    answer->set_controller_public_key(options_.curve_keys.public_key);
    answer->set_node_port(port_of(bound_endpoint()));
    reply(std::move(out), decoded->message_id());
}

}  // namespace loa::controller
