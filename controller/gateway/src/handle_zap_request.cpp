// ZAP (ZeroMQ RFC 27): libzmq asks who a connecting CURVE key is; only enrolled keys may open
// node sessions, and the answer (the node id) is what every later frame is attributed to.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "enrollment_gate.hpp"
#include "gateway_writes.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace loa::controller {

namespace {
constexpr std::int64_t kRefusalWindowUs = 60'000'000;
constexpr int kRefusalLinesPerWindow = 10;
}  // namespace

void NodeGateway::handle_zap_request() {
    // version, request id, domain, address, identity, mechanism, credentials...
    std::vector<zmq::message_t> request;
    do {
        zmq::message_t part;
        if (!zap_.recv(part, zmq::recv_flags::dontwait)) {
            break;
        }
        request.push_back(std::move(part));
    } while (request.back().more());
    if (request.size() < 6) {
        spdlog::error("ZAP: a request of {} frames ignored", request.size());
        return;
    }
    const std::string domain = request[2].to_string();
    const std::string address = request[3].to_string();
    const std::string mechanism = request[5].to_string();
    std::string status = "400";
    std::string status_text = "not enrolled";
    std::string user_id;
    if (mechanism != "CURVE" || request.size() < 7 || request[6].size() != 32) {
        status_text = "CURVE only";
        log_refusal({"address:" + address, "node.connect", std::string(domain),
                     mechanism + " connection: CURVE only"});
    } else {
        const std::string key = protocol::z85_key_text(request[6].data<std::uint8_t>());
        if (domain == kEnrollDomain) {
            // Any key may knock on the enrollment endpoint while a token is outstanding and the
            // endpoint's limits allow; only a valid token gets further.
            const std::string why = gate_ ? gate_->admit(address, token_outstanding()) : "";
            if (why.empty()) {
                status = "200";
                status_text = "OK";
                user_id = key;
            } else {
                status = "300";  // a temporary refusal: the device may try again later
                status_text = why;
                session_stats_.enrollment_connections_refused.fetch_add(1,
                                                                        std::memory_order_relaxed);
                log_refusal({"address:" + address, "node.enroll", "", why});
            }
        } else if (auto node = node_for_key(reader(), key); node && domain == kNodeDomain) {
            status = "200";
            status_text = "OK";
            user_id = *node;
        } else {
            session_stats_.keys_refused.fetch_add(1, std::memory_order_relaxed);
            log_refusal({"key:" + key, "node.connect", address,
                         "key not enrolled, retired, or its node revoked"});
        }
    }
    zap_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    zap_.send(request[1], zmq::send_flags::sndmore);  // request id
    zap_.send(zmq::buffer(status), zmq::send_flags::sndmore);
    zap_.send(zmq::buffer(status_text), zmq::send_flags::sndmore);
    zap_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
    zap_.send(zmq::message_t(), zmq::send_flags::none);  // no metadata
}

bool NodeGateway::token_outstanding() {
    const std::int64_t now = now_us();
    if (token_outstanding_until_us_ > now) {
        return true;
    }
    try {
        SQLite::Statement q(reader(),
                            "SELECT 1 FROM enrollment_tokens WHERE used_us IS NULL AND "
                            "expires_us > ? LIMIT 1");
        q.bind(1, static_cast<int64_t>(now));
        if (q.executeStep()) {
            token_outstanding_until_us_ = now + 1'000'000;  // tokens last hours: ask once a second
            return true;
        }
    } catch (const std::exception& e) {
        spdlog::error("enrollment: cannot read the tokens: {}", e.what());
    }
    return false;
}

void NodeGateway::log_refusal(const Refusal& refusal) {
    const std::int64_t now = now_us();
    auto record = [&](const Refusal& r, nlohmann::json detail) {
        detail["reason"] = r.reason;
        LoggedAction entry;
        entry.at_us = now;
        entry.actor = r.actor;
        entry.actor_role = r.actor.starts_with("node:") ? "node" : "unknown";
        entry.action = r.action;
        entry.target = r.target;
        entry.area = std::string(kEveryArea);
        entry.outcome = Outcome::refused;
        entry.detail = std::move(detail);
        pending_->actions.push_back(std::move(entry));
    };
    if (now - refusal_window_start_us_ >= kRefusalWindowUs) {
        if (refusals_suppressed_ > 0) {
            spdlog::warn("security: {} more refusals in the last minute were not logged one by one",
                         refusals_suppressed_);
            record({"system", "security.refusals", "", "more refusals than the log keeps"},
                   {{"count", refusals_suppressed_}});
        }
        refusal_window_start_us_ = now;
        refusals_logged_in_window_ = 0;
        refusals_suppressed_ = 0;
    }
    if (refusals_logged_in_window_ >= kRefusalLinesPerWindow) {
        ++refusals_suppressed_;
        return;
    }
    ++refusals_logged_in_window_;
    spdlog::warn("security: {} {} {} refused: {}", refusal.actor, refusal.action, refusal.target,
                 refusal.reason);
    record(refusal, nlohmann::json::object());
}

void NodeGateway::cut_off_revoked() {
    std::vector<std::string> revoked;
    try {
        revoked = revoked_nodes(reader());
    } catch (const std::exception& e) {
        spdlog::error("cannot read revoked nodes: {}", e.what());
        return;
    }
    for (const auto& node_id : revoked) {
        for (auto it = peers_.begin(); it != peers_.end();) {
            if (it->second.node_id != node_id) {
                ++it;
                continue;
            }
            const std::string routing_id = it->first;
            it = peers_.erase(it);
            spdlog::warn("node {}: revoked, session ended", node_id);
            send_error(routing_id, wire::REVOKED,
                       "this node was revoked: it is refused until it enrolls again", 0);
            it = peers_.lower_bound(routing_id);
        }
    }
}

}  // namespace loa::controller
