// The sign-in throttle and the password gate on their own, on a clock the test sets: lockouts per
// name and per address, their windows, memory bounded whatever names arrive, turns to hash.
#include <future>
#include <thread>

#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "login_throttle.hpp"

using namespace loa::controller;
using namespace loa::controller::api;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kStart = 1'795'473'000'000'000;

}  // namespace

TEST_CASE("the throttle locks a name at its fifth failure in the window, for the lockout") {
    LoginThrottle throttle(LoginLimits{});
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(throttle.failed("op", fmt::format("10.0.0.{}", i), kStart + i));
    }
    auto lock = throttle.failed("op", "10.0.0.9", kStart + 5);
    REQUIRE(lock);
    CHECK(lock->by_name);
    CHECK(lock->until_us == kStart + 5 + 15 * kMinuteUs);
    CHECK(throttle.locked("op", "10.0.0.200", kStart + 10 * kMinuteUs));
    CHECK_FALSE(throttle.locked("other", "10.0.0.200", kStart + 10 * kMinuteUs));
    CHECK_FALSE(throttle.locked("op", "10.0.0.200", kStart + 5 + 15 * kMinuteUs));
    CHECK(throttle.lockouts() == 1);
}

TEST_CASE("the throttle forgets failures older than the window and a name's on success") {
    LoginThrottle throttle(LoginLimits{});
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(throttle.failed("op", "10.0.0.1", kStart));
    }
    // The window has passed: counting starts again.
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(throttle.failed("op", "10.0.0.1", kStart + 16 * kMinuteUs));
    }
    throttle.succeeded("op", kStart + 16 * kMinuteUs);
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(throttle.failed("op", "10.0.0.1", kStart + 17 * kMinuteUs));
    }
    CHECK(throttle.failed("op", "10.0.0.1", kStart + 17 * kMinuteUs));
}

TEST_CASE("the throttle locks an address at twenty failures, an IPv6 one by its /64") {
    LoginThrottle throttle(LoginLimits{});
    for (int i = 0; i < 19; ++i) {
        CHECK_FALSE(throttle.failed(fmt::format("ai-{}", i), fmt::format("2001:db8:1:2::{:x}", i),
                                    kStart + i));
    }
    auto lock = throttle.failed("ai-19", "2001:db8:1:2:ffff::1", kStart + 19);
    REQUIRE(lock);
    CHECK_FALSE(lock->by_name);
    CHECK(throttle.locked("op", "2001:db8:1:2::abcd", kStart + 20));
    CHECK_FALSE(throttle.locked("op", "2001:db8:1:3::1", kStart + 20));
    CHECK(address_key("203.0.113.7") == "203.0.113.7");
    CHECK(address_key("2001:db8:1:2::7") == "2001:0db8:0001:0002::/64");
}

TEST_CASE("the throttle's memory stays bounded whatever names and addresses a stranger tries") {
    LoginLimits limits;
    limits.names_tracked = 1000;
    limits.addresses_tracked = 500;
    LoginThrottle throttle(limits);
    // Five failures for a real name first: its lock must outlive the flood that follows.
    for (int i = 0; i < 5; ++i) {
        throttle.failed("quan-tri", "10.9.9.9", kStart);
    }
    for (int i = 0; i < 30'000; ++i) {
        throttle.failed(fmt::format("ai-do-{}", i),
                        fmt::format("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                        kStart + 1 + i);
    }
    CHECK(throttle.names_tracked() <= 1000);
    CHECK(throttle.addresses_tracked() <= 500);
    // Unlocked entries go first: the lock holds.
    CHECK(throttle.locked("quan-tri", "10.200.0.1", kStart + 100'000));
}

TEST_CASE("the password gate lets two hash at once, a few wait their turn, the rest are refused") {
    LoginLimits limits;
    limits.passwords_at_once = 2;
    limits.passwords_waiting = 1;
    limits.password_wait = 2s;
    PasswordGate gate(limits);
    auto first = gate.enter();
    auto second = gate.enter();
    REQUIRE(first);
    REQUIRE(second);
    // A third waits; a fourth, with the waiting list full, is turned away at once.
    auto waiter = std::async(std::launch::async, [&] { return gate.enter().has_value(); });
    std::this_thread::sleep_for(100ms);
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(gate.enter());
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
    first.reset();
    CHECK(waiter.get());
    CHECK(gate.refused() == 1);
    // Waiting ends at the deadline.
    limits.password_wait = 50ms;
    PasswordGate brief(limits);
    auto a = brief.enter();
    auto b = brief.enter();
    CHECK_FALSE(brief.enter());
    CHECK(brief.refused() == 1);
}
