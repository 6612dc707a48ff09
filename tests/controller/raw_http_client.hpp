// A raw TCP client for HTTP tests that behave as attackers do: drip bytes, never finish, send
// more than allowed, come from several loopback addresses; and a sampler of the process's RSS.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace loa::test {

/// One HTTP response as read off the socket; status 0 when none came.
struct RawResponse {
    int status = 0;
    std::string head;  ///< status line and headers
    std::string body;

    /// The value of a header (name matched without regard to case); "" when absent.
    std::string header(std::string_view name) const {
        std::string lower_head = head;
        std::transform(lower_head.begin(), lower_head.end(), lower_head.begin(), ::tolower);
        std::string key = "\r\n" + std::string(name) + ":";
        std::transform(key.begin(), key.end(), key.begin(), ::tolower);
        const auto at = lower_head.find(key);
        if (at == std::string::npos) {
            return {};
        }
        const auto start = head.find_first_not_of(' ', at + key.size());
        const auto end = head.find("\r\n", start);
        return head.substr(start, end - start);
    }
};

class RawClient {
  public:
    /// Connects to 127.0.0.1:port from `source` (any 127.x.y.z address works on Linux loopback).
    explicit RawClient(int port, const char* source = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            throw std::runtime_error("socket() failed");
        }
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &from.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
            throw std::runtime_error(std::string("bind to ") + source + " failed");
        }
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
            throw std::runtime_error("connect() failed");
        }
    }
    ~RawClient() { close(); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    int fd() const { return fd_; }

    /// Sends everything; false when the server closed or reset the connection.
    bool send_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return false;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads one response (Content-Length bodies) within `timeout`.
    RawResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        RawResponse out;
        std::size_t head_end;
        while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
            if (!receive(deadline)) {
                return out;
            }
        }
        out.head = pending_.substr(0, head_end + 2);
        pending_.erase(0, head_end + 4);
        if (out.head.size() > 12) {
            out.status = std::stoi(out.head.substr(9, 3));
        }
        const std::string length = out.header("Content-Length");
        const std::size_t size = length.empty() ? 0 : std::stoul(length);
        while (pending_.size() < size) {
            if (!receive(deadline)) {
                out.status = 0;
                return out;
            }
        }
        out.body = pending_.substr(0, size);
        pending_.erase(0, size);
        return out;
    }

    /// True when the server closes (or resets) the connection within `timeout`; what it sent
    /// before is dropped.
    bool closed_within(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  deadline - std::chrono::steady_clock::now())
                                                  .count());
            if (left <= 0) {
                return false;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0) {
                continue;
            }
            char buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return true;
            }
        }
    }

    /// Sends `head` and then `body_bytes` more bytes made by `fill` (offset, buffer, size), as
    /// fast as the server takes them, reading the answer as soon as one comes: what an attacker
    /// does who does not wait to be refused. Returns the answer (status 0: none).
    RawResponse blast(std::string_view head, std::uint64_t body_bytes,
                      const std::function<void(std::uint64_t, char*, std::size_t)>& fill,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        if (!send_all(head)) {
            return {};
        }
        std::string piece(64 * 1024, '\0');
        std::uint64_t sent = 0;
        std::size_t piece_at = piece.size();
        bool can_send = true;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_,
                     static_cast<short>(POLLIN | (can_send && sent < body_bytes ? POLLOUT : 0)), 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                return read_response(std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()));
            }
            if (p.revents & POLLOUT) {
                if (piece_at == piece.size()) {
                    const auto size = static_cast<std::size_t>(
                        std::min<std::uint64_t>(piece.size(), body_bytes - sent));
                    piece.resize(size);
                    fill(sent, piece.data(), size);
                    piece_at = 0;
                }
                const ssize_t n = ::send(fd_, piece.data() + piece_at, piece.size() - piece_at,
                                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    can_send = false;  // the server closed: its answer may still be readable
                } else if (n > 0) {
                    piece_at += static_cast<std::size_t>(n);
                    sent += static_cast<std::uint64_t>(n);
                    if (piece_at == piece.size()) {
                        piece.resize(64 * 1024);
                        piece_at = piece.size();
                    }
                }
            }
        }
        return {};
    }

  private:
    bool receive(std::chrono::steady_clock::time_point deadline) {
        const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              deadline - std::chrono::steady_clock::now())
                                              .count());
        if (left <= 0) {
            return false;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, left) <= 0) {
            return false;
        }
        char buffer[16 * 1024];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) {
            return false;
        }
        pending_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string pending_;
};

/// This process's resident set (VmRSS) in bytes.
inline std::uint64_t resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stoull(line.substr(6)) * 1024;
        }
    }
    return 0;
}

/// Samples the resident set every 5 ms from construction to stop(); peak_growth() is the highest
/// sample above the first.
class RssSampler {
  public:
    RssSampler() : baseline_(resident_bytes()), peak_(baseline_) {
        thread_ = std::thread([this] {
            while (!done_) {
                peak_ = std::max<std::uint64_t>(peak_, resident_bytes());
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
    }
    ~RssSampler() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        peak_ = std::max<std::uint64_t>(peak_, resident_bytes());
    }
    std::uint64_t peak_growth() const { return peak_ - baseline_; }

  private:
    std::uint64_t baseline_;
    std::atomic<std::uint64_t> peak_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace loa::test
