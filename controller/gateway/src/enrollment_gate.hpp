// The enrollment endpoint's door: which connections it lets in (none while no token is
// outstanding; a cap in all and per source address), how long each may stay (a deadline to send
// ENROLL, a short linger after the answer), and how many ENROLL messages each address may send.
// libzmq cannot close one connection of a ROUTER socket, so the gate follows every connection
// through the socket's monitor (accepted, handshake done, gone) and ends the ones past their
// time by shutting their descriptor down, after checking it is still the same peer.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <zmq.hpp>

#include "loa/controller/gateway/node_gateway.hpp"

namespace loa::controller {

class EnrollmentGate {
  public:
    /// Starts monitoring `socket` (before it is bound) through `context`.
    EnrollmentGate(zmq::context_t& context, zmq::socket_t& socket, const EnrollmentLimits& limits,
                   SessionStats& stats);

    /// The monitor socket, to poll with the others.
    zmq::socket_t& monitor() { return monitor_; }

    /// Takes the monitor's events (connections accepted, handshaken, gone); connections over a
    /// limit at accept time are cut at once.
    void take_events(std::int64_t now_us);

    /// The ZAP verdict for a handshake from `address`: empty to let it in, else why not.
    std::string admit(const std::string& address, bool token_outstanding) const;

    /// An ENROLL arrived on the connection whose descriptor is `fd`: false when that connection
    /// is over its rate (the message is answered BUSY, not stored).
    bool take_message(int fd, std::int64_t now_us);

    /// The connection `fd` was answered: it may stay only linger_ms more.
    void answered(int fd, std::int64_t now_us);

    /// Cuts connections past their deadline.
    void sweep(std::int64_t now_us);

    /// Connections open now (tests).
    std::size_t open_connections() const { return connections_.size(); }

  private:
    struct Connection {
        std::string address;  ///< the peer's IP
        std::string peer;     ///< IP:port, to know the descriptor still belongs to it
        std::int64_t deadline_us = 0;
        double tokens = 0;  ///< ENROLL messages it may still send now
        std::int64_t refilled_us = 0;
    };
    void cut(int fd, const char* why);

    zmq::socket_t monitor_;
    EnrollmentLimits limits_;
    SessionStats& stats_;
    std::map<int, Connection> connections_;
    std::map<std::string, int> per_address_;
};

}  // namespace loa::controller
