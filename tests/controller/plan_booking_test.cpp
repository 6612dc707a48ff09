// Applying plan files to the controller: nodes registered, plays booked, the previous plan's
// future plays taken back; refusals change nothing.
#include <catch2/catch.hpp>

#include <fmt/core.h>

#include "controller_fixture.hpp"
#include "loa/controller/booking/plan_booking.hpp"
#include "loa/schedules/fault_injection.hpp"

using namespace loa;
using namespace loa::test;

namespace {

const schedules::Date kToday{std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{24}};

/// Windows 06:00–07:00 and 17:00–18:00 local; ta-van-01 and ta-van-02; one campaign.
std::string plan_text(const std::string& media_a, const std::string& media_b, int plays_per_day,
                      const std::string& node2_area = "vn/lao-cai/sa-pa/ta-van") {
    return fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "07:00"
  [[areas.windows]]
  name = "chieu"
  start = "17:00"
  end = "18:00"

[[areas]]
path = "vn/lao-cai"
name = "Lào Cai"

[[areas]]
path = "vn/lao-cai/sa-pa"
name = "Sa Pa"

[[areas]]
path = "vn/lao-cai/sa-pa/ta-van"
name = "Tả Van"

[[areas]]
path = "vn/lao-cai/bat-xat"
name = "Bát Xát"

[[nodes]]
id = "ta-van-01"
area = "vn/lao-cai/sa-pa/ta-van"

[[nodes]]
id = "ta-van-02"
area = "{}"

[[items]]
id = "bao-lu"
title = "Phòng chống bão lũ"
duration = "3s"
media = "{}"

[[items]]
id = "sat-lo"
title = "Cảnh báo sạt lở"
duration = "4s"
media = "{}"

[[campaigns]]
id = "thien-tai"
title = "Phòng chống thiên tai"
owner = "UBND huyện Sa Pa"
areas = ["vn/lao-cai/sa-pa"]
items = ["bao-lu", "sat-lo"]
from = 2026-11-24
until = 2026-11-30
  [campaigns.quotas]
  plays_per_day = {}
)",
                       node2_area, media_a, media_b, plays_per_day);
}

}  // namespace

TEST_CASE("plan apply: registers the plan's nodes and books its timelines") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto a = f.tone(3.0, 440);
    const auto b = f.tone(4.0, 660);
    const auto file = f.dir / "plan.toml";
    write_file(file, plan_text(a, b, 2));

    auto applied = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::apply_plan(tx, file, kToday, 2, kNow, false);
    });
    REQUIRE(applied.has_value());
    CHECK(applied->applied);
    CHECK(applied->compiled.feasible);
    CHECK(applied->nodes_registered == 1);
    // 2 nodes × 2 days × 2 plays.
    CHECK(applied->slots_booked == 8);
    CHECK(f.count("slots") == 8);
    CHECK(f.count("nodes") == 2);
    SQLite::Statement early(*f.db, "SELECT min(start_us), sum(duration_us) FROM slots");
    early.executeStep();
    CHECK(early.getColumn(0).getInt64() >= kNow + 5 * kSecondUs);
    // The probed durations are what is booked: 4 × 3 s + 4 × 4 s, within a millisecond each.
    CHECK(std::abs(early.getColumn(1).getInt64() - 28 * kSecondUs) < 8'000);

    SECTION("applying an edited plan takes back the old plays not yet due") {
        write_file(file, plan_text(a, b, 1));
        auto again = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 2, kNow, false);
        });
        REQUIRE(again.has_value());
        CHECK(again->slots_replaced == 8);
        CHECK(again->slots_booked == 4);
        CHECK(f.count("slots") == 4);
        CHECK(f.count("plans") == 2);
    }
}

TEST_CASE("plan apply: refusals name the problem and change nothing") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto a = f.tone(3.0, 440);
    const auto b = f.tone(4.0, 660);
    const auto file = f.dir / "plan.toml";

    SECTION("media that was never imported") {
        write_file(file, plan_text(a, std::string(64, 'a'), 2));
        auto applied = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 2, kNow, false);
        });
        REQUIRE_FALSE(applied.has_value());
        CHECK(applied.error().code == controller::Error::Code::invalid_input);
        CHECK(applied.error().message.find("is not imported") != std::string::npos);
        CHECK(applied.error().message.find(file.string() + ":") != std::string::npos);
    }
    SECTION("a node registered in another area") {
        write_file(file, plan_text(a, b, 2));
        f.node("ta-van-02", "vn/lao-cai/bat-xat");
        auto applied = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 2, kNow, false);
        });
        REQUIRE_FALSE(applied.has_value());
        CHECK(applied.error().code == controller::Error::Code::conflict);
        CHECK(applied.error().message.find("'ta-van-02' is registered as a speaker in "
                                           "vn/lao-cai/bat-xat") != std::string::npos);
    }
    SECTION("quotas that cannot be met, unless accepted") {
        // 40 plays a day of 3–4 s items with a 2-hour separation cannot fit two sessions.
        std::string text = plan_text(a, b, 40);
        text += "  separation = \"120m\"\n";
        write_file(file, text);
        auto refused = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 2, kNow, false);
        });
        REQUIRE(refused.has_value());
        CHECK_FALSE(refused->applied);
        CHECK_FALSE(refused->compiled.feasible);
        CHECK(f.count("slots") == 0);
        CHECK(f.count("plans") == 0);
        CHECK(f.count("nodes") == 1);

        auto accepted = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 2, kNow, true);
        });
        REQUIRE(accepted.has_value());
        CHECK(accepted->applied);
        CHECK(f.count("slots") > 0);
    }
    CHECK(f.count("campaigns") <= 1);
}

TEST_CASE("plan apply: a still slide on a panel is booked for the duration the plan gives it") {
    ControllerFixture f;
    const auto png = f.dir / "slide.png";
    REQUIRE(run_shell("ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=navy:s=192x64 "
                      "-frames:v 1 '" +
                      png.string() + "'") == 0);
    controller::ImportOptions panel;
    panel.use = controller::MediaUse::panel;
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::import_media(tx, f.store, png, "Họp thôn", kNow, panel);
    });
    REQUIRE(imported.has_value());
    f.approve(imported->media.media_hash);
    REQUIRE(imported->media.duration_us == 0);  // a picture has no length of its own
    const auto file = f.dir / "plan.toml";
    write_file(file, fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "ban-ngay"
  start = "06:00"
  end = "20:00"

[[nodes]]
id = "bang-tin-01"
area = "vn"
kind = "panel"

[[items]]
id = "hop-thon"
title = "Họp thôn"
kind = "slide"
duration = "12s"
media = "{}"

[[campaigns]]
id = "thong-bao"
title = "Thông báo"
owner = "UBND xã"
areas = ["vn"]
items = ["hop-thon"]
from = 2026-11-24
until = 2026-11-24
  [campaigns.quotas]
  plays_per_day = 3
)",
                                 imported->media.media_hash));
    auto applied = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return controller::apply_plan(tx, file, kToday, 1, kNow, false);
    });
    REQUIRE(applied.has_value());
    REQUIRE(applied->applied);
    CHECK(applied->slots_booked == 3);
    SQLite::Statement q(*f.db, "SELECT min(duration_us), max(duration_us) FROM slots");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt64() == 12 * kSecondUs);
    CHECK(q.getColumn(1).getInt64() == 12 * kSecondUs);
}

TEST_CASE("plan apply: a GLPK failure is a shortfall in the report and the next apply works") {
    // One-minute sessions at 06:00 and 17:00: "ca" asks two 29 s plays a day, "cb" one 50 s
    // play. Only the exact search (GLPK) fits both, so an injected GLPK error must show.
    ControllerFixture f;
    const auto a = f.tone(29.0, 440);
    const auto b = f.tone(50.0, 660);
    const auto file = f.dir / "plan.toml";
    write_file(file, fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"

[[areas]]
path = "vn/x"
name = "Xã X"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "06:01"
  [[areas.windows]]
  name = "chieu"
  start = "17:00"
  end = "17:01"

[[nodes]]
id = "x-01"
area = "vn/x"

[[items]]
id = "a"
title = "Tin A"
duration = "29s"
media = "{}"

[[items]]
id = "b"
title = "Tin B"
duration = "50s"
media = "{}"

[[campaigns]]
id = "ca"
title = "Chiến dịch A"
owner = "UBND xã"
areas = ["vn"]
items = ["a"]
from = 2026-11-24
until = 2026-11-24
  [campaigns.quotas]
  plays_per_day = 2

[[campaigns]]
id = "cb"
title = "Chiến dịch B"
owner = "UBND xã"
areas = ["vn"]
items = ["b"]
from = 2026-11-24
until = 2026-11-24
  [campaigns.quotas]
  plays_per_day = 1
)",
                                 a, b));
    const auto apply = [&] {
        return loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::apply_plan(tx, file, kToday, 1, kNow, false);
        });
    };

    schedules::testing::fail_next_exact_solve();
    auto failed = apply();
    REQUIRE(failed.has_value());  // a report, not a crash and not an error
    CHECK_FALSE(failed->applied);
    CHECK_FALSE(failed->compiled.feasible);
    REQUIRE(failed->compiled.solver_errors.size() == 1);
    CHECK_THAT(failed->compiled.solver_errors.front(), Catch::Matchers::Contains("glp_"));
    bool reported = false;
    for (const auto& row : failed->compiled.quotas) {
        reported =
            reported || row.reason.find("the exact solver (GLPK) failed") != std::string::npos;
    }
    CHECK(reported);
    CHECK(f.count("slots") == 0);
    CHECK(f.count("plans") == 0);

    auto again = apply();
    REQUIRE(again.has_value());
    CHECK(again->applied);
    CHECK(again->compiled.feasible);
    CHECK(again->compiled.solver_errors.empty());
    CHECK(again->slots_booked == 3);
}
