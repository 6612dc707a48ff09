// What guards the API's password checks: failed sign-ins counted per user name and per source
// address with a lockout window (LoginThrottle), and a cap on Argon2id hashes computed at once
// (PasswordGate). Both in memory and bounded whatever a stranger sends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "loa/controller/api/http_api.hpp"

namespace loa::controller::api {

/// The key a source address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber gets a
/// whole /64, so counting single addresses would count nothing).
std::string address_key(std::string_view address);

/// Failed sign-ins per user name and per source address. Every call takes `now` (µs), so tests
/// and the API share one clock. Thread-safe.
class LoginThrottle {
  public:
    struct Lock {
        bool by_name = false;  ///< the name is locked (else the address)
        std::int64_t until_us = 0;
    };

    explicit LoginThrottle(const LoginLimits& limits);

    /// The lock that holds `name` or `address` at `now`, the longer of the two; empty when neither
    /// is locked. A locked sign-in is refused before its password is checked.
    std::optional<Lock> locked(std::string_view name, std::string_view address, std::int64_t now);

    /// Counts a wrong password for `name` from `address`; the lock this failure started, if any.
    std::optional<Lock> failed(std::string_view name, std::string_view address, std::int64_t now);

    /// A right password: the name's failures are forgotten. The address's are not, or one good
    /// account would let its holder guess other people's passwords without end.
    void succeeded(std::string_view name, std::int64_t now);

    std::size_t names_tracked() const;
    std::size_t addresses_tracked() const;
    /// Locks started since construction.
    std::uint64_t lockouts() const;

  private:
    struct Entry {
        int failures = 0;
        std::int64_t window_start_us = 0;
        std::int64_t locked_until_us = 0;
    };
    struct Table {
        std::unordered_map<std::string, Entry> entries;
        std::size_t capacity = 0;
        int threshold = 0;
    };

    /// Counts one failure in `table` under `key`; true when it starts a lock.
    bool count(Table& table, const std::string& key, std::int64_t now);
    /// Makes room for one more key: forgets the idle first, then the stalest.
    void make_room(Table& table, std::int64_t now);

    LoginLimits limits_;
    std::int64_t window_us_;
    std::int64_t lockout_us_;
    mutable std::mutex mutex_;
    Table names_;
    Table addresses_;
    std::uint64_t lockouts_ = 0;
};

/// At most `at_once` password hashes at a time (Argon2id: 64 MiB each); `waiting` more may wait up
/// to `wait` for a turn; anyone else is turned away at once. Waiting holds an HTTP worker, so the
/// waiting list is short: sign-ins never take every worker from other requests.
class PasswordGate {
  public:
    explicit PasswordGate(const LoginLimits& limits);

    /// A turn to hash, released when destroyed.
    class Turn {
      public:
        explicit Turn(PasswordGate* gate) : gate_(gate) {}
        Turn(Turn&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
        Turn& operator=(Turn&&) = delete;
        Turn(const Turn&) = delete;
        ~Turn();

      private:
        PasswordGate* gate_;
    };

    /// A turn, after waiting if need be; empty when the gate is full (answer 503).
    std::optional<Turn> enter();

    /// Hashes turned away since construction.
    std::uint64_t refused() const;

  private:
    void leave();

    std::size_t at_once_;
    std::size_t max_waiting_;
    std::chrono::milliseconds wait_;
    mutable std::mutex mutex_;
    std::condition_variable turn_free_;
    std::size_t running_ = 0;
    std::size_t waiting_ = 0;
    std::uint64_t refused_ = 0;
};

}  // namespace loa::controller::api
