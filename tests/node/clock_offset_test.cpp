// Tests of the node's NTP-style clock estimate from heartbeat exchanges (explicit timestamps).
#include <catch2/catch.hpp>

#include <cstdint>

#include "clock_offset.hpp"

using loa::node::detail::ClockOffset;

namespace {

constexpr std::int64_t kT1 = 1'795'473'000'000'000;  // 2026-11-24T05:30:00+07:00, node clock

/// One exchange where the controller's clock is `offset` ahead of the node's, the request takes
/// `out` and the answer `back` on the wire, and the controller holds it for `held`.
void exchange(ClockOffset& clock, std::int64_t t1, std::int64_t offset, std::int64_t out,
              std::int64_t back, std::int64_t held = 200) {
    const std::int64_t t2 = t1 + out + offset;
    const std::int64_t t3 = t2 + held;
    const std::int64_t t4 = t3 - offset + back;
    clock.add(t1, t2, t3, t4);
}

}  // namespace

TEST_CASE("no exchange, no estimate", "[node][clock]") {
    ClockOffset clock;
    CHECK_FALSE(clock.best());
}

TEST_CASE(
    "with the same delay both ways the offset is exact and the round trip excludes the "
    "controller's holding time",
    "[node][clock]") {
    for (std::int64_t offset : {0LL, 1'234'567LL, -80'000LL, -3'600'000'000LL}) {
        INFO("offset " << offset);
        ClockOffset clock;
        exchange(clock, kT1, offset, 40'000, 40'000, 5'000);
        auto best = clock.best();
        REQUIRE(best);
        CHECK(best->offset_us == offset);
        CHECK(best->round_trip_us == 80'000);
    }
}

TEST_CASE("an asymmetric delay errs by at most half the round trip", "[node][clock]") {
    ClockOffset clock;
    exchange(clock, kT1, 10'000, 300'000, 20'000);  // a 3G uplink queue
    auto best = clock.best();
    REQUIRE(best);
    CHECK(best->round_trip_us == 320'000);
    CHECK(std::abs(best->offset_us - 10'000) <= best->round_trip_us / 2);
    CHECK(best->offset_us == 10'000 + (300'000 - 20'000) / 2);
}

TEST_CASE("of the recent exchanges the one with the shortest round trip wins", "[node][clock]") {
    ClockOffset clock;
    exchange(clock, kT1, 5'000, 400'000, 10'000);
    exchange(clock, kT1 + 1'000'000, 5'000, 3'000, 3'000);  // quiet link: the good one
    exchange(clock, kT1 + 2'000'000, 5'000, 10'000, 250'000);
    auto best = clock.best();
    REQUIRE(best);
    CHECK(best->offset_us == 5'000);
    CHECK(best->round_trip_us == 6'000);

    // Once it is more than kSamples exchanges old, it no longer counts.
    for (std::size_t i = 0; i < ClockOffset::kSamples; ++i) {
        exchange(clock, kT1 + (3 + static_cast<std::int64_t>(i)) * 1'000'000, 7'000, 20'000,
                 20'000);
    }
    best = clock.best();
    REQUIRE(best);
    CHECK(best->offset_us == 7'000);
    CHECK(best->round_trip_us == 40'000);
}

TEST_CASE("impossible exchanges are ignored", "[node][clock]") {
    ClockOffset clock;
    // The answer arrives before the question left, as the controller's times go (a clock that
    // was stepped during the exchange): negative round trip.
    clock.add(kT1, kT1 + 50'000, kT1 + 200'000, kT1 + 100'000);
    CHECK_FALSE(clock.best());
    // No t1 echoed (an older controller): nothing to measure against.
    clock.add(0, kT1, kT1 + 10, kT1 + 20);
    CHECK_FALSE(clock.best());
    exchange(clock, kT1, -2'000, 1'000, 1'000);
    clock.add(kT1 + 10, kT1 + 50'000, kT1 + 200'000, kT1 + 100'000);
    auto best = clock.best();
    REQUIRE(best);
    CHECK(best->offset_us == -2'000);
    CHECK(best->round_trip_us == 2'000);
}

TEST_CASE("a stepped clock makes the exchanges before the step forgotten at once",
          "[node][clock]") {
    ClockOffset clock;
    exchange(clock, kT1, -90'000'000, 2'000, 2'000);  // 90 s fast, a quiet link
    exchange(clock, kT1 + 1'000'000, -90'000'000, 30'000, 30'000);
    // chrony steps the node's clock back by 90 s: the next exchange, on a slower link, cannot
    // agree with the best kept one (their errors are 2 ms and 30 ms), so it alone stands
    // instead of 8 heartbeats of the old offset.
    exchange(clock, kT1 + 2'000'000 - 90'000'000, 0, 30'000, 30'000);
    auto best = clock.best();
    REQUIRE(best);
    CHECK(best->offset_us == 0);
    CHECK(best->round_trip_us == 60'000);
}

TEST_CASE("what the node plays by follows how far off and how old its offset is", "[node][clock]") {
    using loa::node::detail::clock_use;
    namespace wire = loa::wire;
    const std::int64_t hour = 3'600'000'000;
    auto never = clock_use(std::nullopt, kT1);
    CHECK(never.state == wire::CLOCK_NOT_MEASURED);
    CHECK(never.applied_us == 0);
    auto fast = clock_use(std::pair{-90'000'000LL, kT1 - 30'000'000}, kT1);
    CHECK(fast.state == wire::CLOCK_CORRECTED);
    CHECK(fast.applied_us == -90'000'000);
    CHECK(fast.age_us == 30'000'000);
    auto old = clock_use(std::pair{90'000'000LL, kT1 - 25 * hour}, kT1);
    CHECK(old.state == wire::CLOCK_STALE);
    CHECK(old.applied_us == 90'000'000);  // still the best the node knows
    auto wild = clock_use(std::pair{hour + 1, kT1}, kT1);
    CHECK(wild.state == wire::CLOCK_UNTRUSTED);
    CHECK(wild.applied_us == 0);
    CHECK(clock_use(std::pair{-hour, kT1}, kT1).state == wire::CLOCK_CORRECTED);
}
