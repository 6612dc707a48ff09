// Parsing the times operators type, and formatting them back in Vietnam's time.
#include <catch2/catch.hpp>

#include "loa/controller/common/time_text.hpp"

using namespace loa::controller;

TEST_CASE("instants in ISO 8601, dates and relative forms") {
    const std::int64_t s = 1'000'000;
    auto utc = parse_instant("2026-11-23T22:30:00Z", 0);
    REQUIRE(utc.has_value());
    CHECK(*utc == 1'795'473'000LL * s);
    CHECK(*parse_instant("2026-11-24T05:30:00+07:00", 0) == *utc);
    CHECK(*parse_instant("2026-11-24T05:30", 0) == *utc);  // no zone: Vietnam's
    CHECK(*parse_instant("2026-11-24", 0) == *utc - (5 * 3600 + 1800) * s);
    CHECK(*parse_instant("2026-11-24", 0, true) == *utc + (18 * 3600 + 1800) * s);
    CHECK(*parse_instant("now+20s", 100 * s) == 120 * s);
    CHECK(*parse_instant("now-1h", 7200 * s) == 3600 * s);
    CHECK(format_local(*utc) == "2026-11-24T05:30:00+07:00");
}

TEST_CASE("bad times say what is wrong") {
    for (const char* bad :
         {"", "tomorrow", "2026-02-30", "2026-11-24T25:00", "now+5x", "2026-11-24T05:30+7"}) {
        auto r = parse_instant(bad, 0);
        INFO(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message.find("is not a time") != std::string::npos);
    }
}
