// Following the enrollment endpoint's connections through libzmq's socket monitor and ending
// those that overstay or come too many from one address.
#include "enrollment_gate.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "connection_peer.hpp"

namespace loa::controller {

EnrollmentGate::EnrollmentGate(zmq::context_t& context, zmq::socket_t& socket,
                               const EnrollmentLimits& limits, SessionStats& stats)
    : monitor_(context, zmq::socket_type::pair), limits_(limits), stats_(stats) {
    static std::atomic<int> next{0};
    const std::string endpoint = fmt::format("inproc://loa-enroll-monitor-{}", next++);
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED) != 0) {
        throw zmq::error_t();
    }
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(endpoint);
    // libzmq drops a connection that does not finish its handshake in time.
    socket.set(zmq::sockopt::handshake_ivl, limits_.handshake_ms);
}

void EnrollmentGate::take_events(std::int64_t now_us) {
    for (int i = 0; i < 10'000; ++i) {
        zmq::message_t event;
        if (!monitor_.recv(event, zmq::recv_flags::dontwait)) {
            return;
        }
        zmq::message_t address;
        if (event.more()) {
            (void)monitor_.recv(address);  // the local endpoint, not needed
        }
        if (event.size() < 6) {
            continue;
        }
        std::uint16_t kind = 0;
        std::uint32_t value = 0;
        std::memcpy(&kind, event.data<char>(), 2);
        std::memcpy(&value, event.data<char>() + 2, 4);
        const int fd = static_cast<int>(value);
        if (kind == ZMQ_EVENT_ACCEPTED) {
            auto [peer, ip] = peer_of(fd);
            if (peer.empty()) {
                continue;  // gone already
            }
            if (auto old = connections_.find(fd); old != connections_.end()) {
                --per_address_[old->second.address];  // its close event is still to come
                connections_.erase(old);
            }
            Connection c{ip, peer, now_us + (limits_.handshake_ms + limits_.idle_ms) * 1000LL,
                         static_cast<double>(limits_.burst_per_connection), now_us};
            connections_[fd] = c;
            const int from_address = ++per_address_[ip];
            if (from_address > limits_.max_per_address) {
                cut(fd, "too many enrollment connections from one address");
            } else if (static_cast<int>(connections_.size()) > limits_.max_connections) {
                cut(fd, "too many enrollment connections");
            }
        } else if (kind == ZMQ_EVENT_DISCONNECTED || kind == ZMQ_EVENT_CLOSED) {
            if (auto it = connections_.find(fd); it != connections_.end()) {
                if (--per_address_[it->second.address] <= 0) {
                    per_address_.erase(it->second.address);
                }
                connections_.erase(it);
            }
        }
    }
}

std::string EnrollmentGate::admit(const std::string& address, bool token_outstanding) const {
    if (!token_outstanding) {
        return "no enrollment token is outstanding";
    }
    if (auto it = per_address_.find(address);
        it != per_address_.end() && it->second > limits_.max_per_address) {
        return "too many enrollment connections from this address";
    }
    if (static_cast<int>(connections_.size()) > limits_.max_connections) {
        return "too many enrollment connections";
    }
    return {};
}

bool EnrollmentGate::take_message(int fd, std::int64_t now_us) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) {
        return true;  // not seen by the monitor yet: its first message is taken
    }
    Connection& c = it->second;
    c.deadline_us = now_us + limits_.idle_ms * 1000LL;
    c.tokens = std::min<double>(
        limits_.burst_per_connection,
        c.tokens + static_cast<double>(now_us - c.refilled_us) / (limits_.refill_ms * 1000.0));
    c.refilled_us = now_us;
    if (c.tokens < 1.0) {
        return false;
    }
    c.tokens -= 1.0;
    return true;
}

void EnrollmentGate::answered(int fd, std::int64_t now_us) {
    if (auto it = connections_.find(fd); it != connections_.end()) {
        it->second.deadline_us = now_us + limits_.linger_ms * 1000LL;
    }
}

void EnrollmentGate::sweep(std::int64_t now_us) {
    std::vector<int> overdue;
    for (const auto& [fd, c] : connections_) {
        if (c.deadline_us <= now_us) {
            overdue.push_back(fd);
        }
    }
    for (int fd : overdue) {
        cut(fd, "idle past its time");
    }
}

void EnrollmentGate::cut(int fd, const char* why) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) {
        return;
    }
    // Only if the descriptor still is that connection: its number may have been given to
    // another socket since libzmq closed it.
    if (cut_connection(fd, it->second.peer)) {
        spdlog::debug("enrollment: connection from {} cut: {}", it->second.peer, why);
        stats_.enrollment_connections_refused.fetch_add(1, std::memory_order_relaxed);
    }
    // Stays counted until its close event, so a flood cannot outrun the cap; but it is not
    // cut again.
    it->second.deadline_us = std::numeric_limits<std::int64_t>::max();
}

}  // namespace loa::controller
