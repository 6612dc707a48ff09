// C:ENROLL on the enrollment endpoint — a new device trades a one-time token for the
// registration of its CURVE key; S:ENROLLED or S:ERROR ENROLLMENT_REFUSED once the writer has
// committed (or refused) it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "enrollment_gate.hpp"
#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/protocol/envelope.hpp"

namespace loa::controller {

void NodeGateway::handle_enroll(const std::string& routing_id, const std::string& public_key,
                                const zmq::message_t& frame) {
    const std::int64_t now = now_us();
    // The descriptor the frame came in on: the gate follows each connection by it.
    const int fd = static_cast<int>(zmq_msg_get(const_cast<zmq_msg_t*>(frame.handle()), ZMQ_SRCFD));
    auto refuse = [&](const std::string& why, std::uint64_t in_reply_to,
                      wire::ErrorCode code = wire::ENROLLMENT_REFUSED) {
        session_stats_.enrollments_refused.fetch_add(1, std::memory_order_relaxed);
        log_refusal({"key:" + public_key, "node.enroll", "", why});
        wire::Envelope out;
        out.mutable_error()->set_code(code);
        out.mutable_error()->set_message(why);
        send_enroll_reply(routing_id, std::move(out), in_reply_to);
        if (gate_) {
            gate_->answered(fd, now);
        }
    };
    if (gate_ && !gate_->take_message(fd, now)) {
        // Per connection: a flood of junk on one does not starve the others. BUSY, not a
        // refusal: the device tries again after a while (protocol/README.md).
        refuse(
            "quá nhiều yêu cầu đăng ký trên kết nối này, hãy thử lại sau vài giây / too many "
            "enrollments on this connection: try again in a few seconds",
            0, wire::BUSY);
        return;
    }
    auto decoded = protocol::decode(frame.to_string_view());
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
    if (decoded->enroll().public_key() != public_key) {
        refuse("the key in the message is not the key of this connection", decoded->message_id());
        return;
    }
    // Redeemed by the writer with the round; answered after the commit (run_completions).
    pending_->enrollments.push_back({routing_id, public_key, std::move(*decoded), now});
    if (gate_) {
        gate_->answered(fd, now);
    }
}

}  // namespace loa::controller
