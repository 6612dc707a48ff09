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
