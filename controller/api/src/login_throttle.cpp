// Failed sign-ins per name and per address with a lockout window, and the cap on Argon2id hashes
// computed at once.
#include "login_throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>

#include <fmt/core.h>

namespace loa::controller::api {

std::string address_key(std::string_view address) {
    const std::string text(address);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1 || IN6_IS_ADDR_V4MAPPED(&v6)) {
        return text;
    }
    const auto* b = v6.s6_addr;
    return fmt::format("{:02x}{:02x}:{:02x}{:02x}:{:02x}{:02x}:{:02x}{:02x}::/64", b[0], b[1], b[2],
                       b[3], b[4], b[5], b[6], b[7]);
}

LoginThrottle::LoginThrottle(const LoginLimits& limits)
    : limits_(limits),
      window_us_(std::chrono::duration_cast<std::chrono::microseconds>(limits.window).count()),
      lockout_us_(std::chrono::duration_cast<std::chrono::microseconds>(limits.lockout).count()) {
    names_.capacity = std::max<std::size_t>(limits.names_tracked, 1);
    names_.threshold = std::max(limits.failures_per_name, 1);
    addresses_.capacity = std::max<std::size_t>(limits.addresses_tracked, 1);
    addresses_.threshold = std::max(limits.failures_per_address, 1);
}

std::optional<LoginThrottle::Lock> LoginThrottle::locked(std::string_view name,
                                                         std::string_view address,
                                                         std::int64_t now) {
    std::lock_guard lock(mutex_);
    std::optional<Lock> out;
    if (auto it = names_.entries.find(std::string(name));
        it != names_.entries.end() && it->second.locked_until_us > now) {
        out = Lock{true, it->second.locked_until_us};
    }
    if (auto it = addresses_.entries.find(address_key(address));
        it != addresses_.entries.end() && it->second.locked_until_us > now &&
        (!out || it->second.locked_until_us > out->until_us)) {
        out = Lock{false, it->second.locked_until_us};
    }
    return out;
}

std::optional<LoginThrottle::Lock> LoginThrottle::failed(std::string_view name,
                                                         std::string_view address,
                                                         std::int64_t now) {
    std::lock_guard lock(mutex_);
    const bool name_locked = count(names_, std::string(name), now);
    const bool address_locked = count(addresses_, address_key(address), now);
    lockouts_ += (name_locked ? 1 : 0) + (address_locked ? 1 : 0);
    if (address_locked) {
        return Lock{false, now + lockout_us_};
    }
    if (name_locked) {
        return Lock{true, now + lockout_us_};
    }
    return std::nullopt;
}

void LoginThrottle::succeeded(std::string_view name, std::int64_t now) {
    std::lock_guard lock(mutex_);
    auto it = names_.entries.find(std::string(name));
    if (it == names_.entries.end()) {
        return;
    }
    // A lock stays: a sign-in that raced it (checked before the lock began) does not lift it.
    if (it->second.locked_until_us > now) {
        it->second.failures = 0;
    } else {
        names_.entries.erase(it);
    }
}

std::size_t LoginThrottle::names_tracked() const {
    std::lock_guard lock(mutex_);
    return names_.entries.size();
}

std::size_t LoginThrottle::addresses_tracked() const {
    std::lock_guard lock(mutex_);
    return addresses_.entries.size();
}

std::uint64_t LoginThrottle::lockouts() const {
    std::lock_guard lock(mutex_);
    return lockouts_;
}

bool LoginThrottle::count(Table& table, const std::string& key, std::int64_t now) {
    auto it = table.entries.find(key);
    if (it == table.entries.end()) {
        make_room(table, now);
        it = table.entries.emplace(key, Entry{0, now, 0}).first;
    }
    Entry& e = it->second;
    if (now - e.window_start_us >= window_us_) {
        e.failures = 0;
        e.window_start_us = now;
    }
    if (++e.failures < table.threshold) {
        return false;
    }
    // Locked: counting starts again when the lock ends.
    e.failures = 0;
    e.window_start_us = now;
    e.locked_until_us = now + lockout_us_;
    return true;
}

void LoginThrottle::make_room(Table& table, std::int64_t now) {
    if (table.entries.size() < table.capacity) {
        return;
    }
    for (auto it = table.entries.begin(); it != table.entries.end();) {
        const Entry& e = it->second;
        const bool idle = e.locked_until_us <= now && now - e.window_start_us >= window_us_;
        it = idle ? table.entries.erase(it) : std::next(it);
    }
    if (table.entries.size() < table.capacity) {
        return;
    }
    // Every entry counts: forget the one that matters least — an unlocked one whose window began
    // first, else the lock that ends soonest. Forgetting a lock takes a stranger as many failures
    // as the table holds entries, each one a full password check.
    auto victim = table.entries.begin();
    auto rank = [&](const Entry& e) {
        return e.locked_until_us > now ? std::pair{1, e.locked_until_us}
                                       : std::pair{0, e.window_start_us};
    };
    for (auto it = table.entries.begin(); it != table.entries.end(); ++it) {
        if (rank(it->second) < rank(victim->second)) {
            victim = it;
        }
    }
    table.entries.erase(victim);
}

PasswordGate::PasswordGate(const LoginLimits& limits)
    : at_once_(std::max<std::size_t>(limits.passwords_at_once, 1)),
      max_waiting_(limits.passwords_waiting),
      wait_(limits.password_wait) {}

PasswordGate::Turn::~Turn() {
    if (gate_ != nullptr) {
        gate_->leave();
    }
}

std::optional<PasswordGate::Turn> PasswordGate::enter() {
    std::unique_lock lock(mutex_);
    if (running_ < at_once_) {
        ++running_;
        return Turn(this);
    }
    if (waiting_ >= max_waiting_) {
        ++refused_;
        return std::nullopt;
    }
    ++waiting_;
    const bool got = turn_free_.wait_for(lock, wait_, [&] { return running_ < at_once_; });
    --waiting_;
    if (!got) {
        ++refused_;
        return std::nullopt;
    }
    ++running_;
    return Turn(this);
}

std::uint64_t PasswordGate::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

void PasswordGate::leave() {
    {
        std::lock_guard lock(mutex_);
        --running_;
    }
    turn_free_.notify_one();
}

}  // namespace loa::controller::api
