// Tests of the skeleton scheduler: order, windows, gaps, targeting and stable slot ids.
#include <catch2/catch.hpp>

#include "loa/schedules/area_path.hpp"
#include "loa/schedules/sequential_timeline.hpp"

using namespace loa::schedules;
using namespace loa::schedules::sequential;

namespace {
constexpr std::int64_t kSecond = 1'000'000;

Item item(const std::string& id, double seconds) {
    return Item{id, std::string(64, 'a'), 1000, static_cast<std::int64_t>(seconds * kSecond), id};
}
}  // namespace

TEST_CASE("items play once each, in order, inside the window, separated by the gap") {
    Campaign c{"lao-dong-gioi",
               {100 * kSecond, 200 * kSecond},
               {item("a", 10), item("b", 5)},
               {"vn/lao-cai"}};
    auto t = sequential_timeline({"n1", "vn/lao-cai/sa-pa/ta-van"}, {c}, 2 * kSecond);
    REQUIRE(t.slots.size() == 2);
    CHECK(t.slots[0].item.item_id == "a");
    CHECK(t.slots[0].start_us == 100 * kSecond);
    CHECK(t.slots[1].item.item_id == "b");
    CHECK(t.slots[1].start_us == 112 * kSecond);
    CHECK(t.unplaced.empty());
}

TEST_CASE("an item that does not fit the window is reported, not placed") {
    Campaign c{"c", {0, 20 * kSecond}, {item("a", 15), item("b", 10)}, {"vn"}};
    auto t = sequential_timeline({"n1", "vn/x"}, {c}, kSecond);
    REQUIRE(t.slots.size() == 1);
    REQUIRE(t.unplaced.size() == 1);
    CHECK(t.unplaced[0].item_id == "b");
}

TEST_CASE("campaigns outside the node's area are ignored") {
    Campaign c{"c", {0, 100 * kSecond}, {item("a", 5)}, {"vn/lao-cai/bat-xat"}};
    CHECK(sequential_timeline({"n1", "vn/lao-cai/sa-pa"}, {c}, 0).slots.empty());
    CHECK(sequential_timeline({"n1", "vn/lao-cai/bat-xat-2"}, {c}, 0).slots.empty());
    CHECK(sequential_timeline({"n1", "vn/lao-cai/bat-xat/a-mu-sung"}, {c}, 0).slots.size() == 1);
}

TEST_CASE("overlapping campaigns never overlap on a node; booking order decides") {
    Campaign first{"first", {0, 100 * kSecond}, {item("a", 10)}, {"vn"}};
    Campaign second{"second", {5 * kSecond, 100 * kSecond}, {item("b", 10)}, {"vn"}};
    auto t = sequential_timeline({"n1", "vn/x"}, {first, second}, kSecond);
    REQUIRE(t.slots.size() == 2);
    CHECK(t.slots[0].campaign_id == "first");
    CHECK(t.slots[1].start_us == 11 * kSecond);
    for (std::size_t i = 1; i < t.slots.size(); ++i) {
        CHECK(t.slots[i - 1].end_us() <= t.slots[i].start_us);
    }
}

TEST_CASE("a later item fills a hole left before an earlier booking") {
    Campaign late{"late", {50 * kSecond, 100 * kSecond}, {item("a", 10)}, {"vn"}};
    Campaign early{"early", {0, 100 * kSecond}, {item("b", 10), item("c", 10)}, {"vn"}};
    auto t = sequential_timeline({"n1", "vn"}, {late, early}, 0);
    REQUIRE(t.slots.size() == 3);
    CHECK(t.slots[0].item.item_id == "b");
    CHECK(t.slots[1].item.item_id == "c");
    CHECK(t.slots[2].item.item_id == "a");
}

TEST_CASE("the same inputs give the same slot ids") {
    Campaign c{"c", {0, 100 * kSecond}, {item("a", 5), item("b", 5)}, {"vn"}};
    auto one = sequential_timeline({"n1", "vn"}, {c}, kSecond);
    auto two = sequential_timeline({"n1", "vn"}, {c}, kSecond);
    REQUIRE(one.slots.size() == 2);
    CHECK(one.slots[0].slot_id == two.slots[0].slot_id);
    CHECK(one.slots[0].slot_id != one.slots[1].slot_id);
}

TEST_CASE("area paths are validated with a reason") {
    CHECK(area_path_problem("vn/lao-cai/sa-pa/ta-van").empty());
    CHECK_FALSE(area_path_problem("").empty());
    CHECK_FALSE(area_path_problem("vn//sa-pa").empty());
    CHECK_FALSE(area_path_problem("/vn").empty());
    CHECK(area_path_problem("vn/Tả Van").find("character 4") != std::string::npos);
}

TEST_CASE("booked plays are kept clear and not returned again") {
    PlannedSlot booked{"old/1@0", "old", item("x", 10), 0};
    Campaign c{"c", {0, 100 * kSecond}, {item("a", 5)}, {"vn"}};
    auto t = sequential_timeline({"n1", "vn"}, {c}, kSecond, {booked});
    REQUIRE(t.slots.size() == 1);
    CHECK(t.slots[0].campaign_id == "c");
    CHECK(t.slots[0].start_us == 11 * kSecond);
}
