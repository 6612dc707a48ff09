// loactl plan check/compile and calendar: exit codes 0/3/2, JSON, timeline files, conversions.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace loa::test;

namespace {

const std::string kLoactl = LOA_LOACTL_BIN;

std::string sample_plan() {
    return (std::filesystem::path(__FILE__).parent_path() / "../../docs/examples/lao-cai.toml")
        .lexically_normal()
        .string();
}

/// One area with one 10-minute session a day and two campaigns that need 632 s of it.
const char* kTightPlan = R"(
[[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "06:10"

[[nodes]]
id = "loa"
area = "vn"
count = 2

[[items]]
id = "a"
title = "Bản tin A"
duration = "100s"

[[items]]
id = "b"
title = "Bản tin B"
duration = "60s"

[[campaigns]]
id = "ca"
areas = ["vn"]
items = ["a"]
from = 2026-11-30
until = 2026-12-02
  [campaigns.quotas]
  plays_per_day = 5

[[campaigns]]
id = "cb"
areas = ["vn"]
items = ["b"]
from = 2026-11-30
until = 2026-12-02
  [campaigns.quotas]
  plays_per_day = 2
)";

}  // namespace

TEST_CASE("plan check: the Lào Cai sample meets every quota, exit 0") {
    int status = -1;
    const auto out = capture_shell(
        kLoactl + " plan check " + sample_plan() + " --from 2026-12-01 --days 7 --json", &status);
    CHECK(status == 0);
    const auto json = nlohmann::json::parse(out);
    CHECK(json["feasible"] == true);
    CHECK(json["timelines"].get<int>() >= 2);
    REQUIRE_FALSE(json["quotas"].empty());
    for (const auto& q : json["quotas"]) {
        CHECK(q["met"] == true);
        CHECK(q["shortfall"] == 0);
        CHECK((q["unit"] == "plays" || q["unit"] == "seconds" || q["unit"] == "nodes"));
    }
    // The table for people is Vietnamese by default, English on request.
    CHECK(capture_shell(kLoactl + " plan check " + sample_plan() + " --from 2026-12-01")
              .find("Mọi chỉ tiêu đều đáp ứng được") != std::string::npos);
    CHECK(capture_shell(kLoactl + " plan check " + sample_plan() + " --from 2026-12-01 --lang en")
              .find("Every quota can be met") != std::string::npos);
}

TEST_CASE("plan check: an infeasible plan exits 3 and reports each shortfall") {
    TempDir dir;
    write_file(dir.path() / "tight.toml", kTightPlan);
    int status = -1;
    const auto out = capture_shell(kLoactl + " plan check " + (dir.path() / "tight.toml").string() +
                                       " --from 2026-11-30 --days 3 --json",
                                   &status);
    CHECK(status == 3);
    const auto json = nlohmann::json::parse(out);
    CHECK(json["feasible"] == false);
    bool summary = false;
    int detail_rows = 0;
    for (const auto& q : json["quotas"]) {
        if (q["campaign"] == "cb" && q["quota"] == "plays_per_day") {
            if (q["scope"] == "all targeted nodes") {
                summary = true;
                CHECK(q["required"] == 12);
                CHECK(q["scheduled"] == 6);
                CHECK(q["shortfall"] == 6);
                CHECK(q["met"] == false);
            } else {
                ++detail_rows;
                CHECK(q["scope"] == "vn (speaker)");
                CHECK(q["required"] == 2);
                CHECK(q["scheduled"] == 1);
                CHECK(q["nodes"] == 2);
            }
        }
        if (q["campaign"] == "ca") {
            CHECK(q["met"] == true);
        }
    }
    CHECK(summary);
    CHECK(detail_rows == 3);
}

TEST_CASE("plan check: invalid plans exit 2 naming file, line and reason") {
    TempDir dir;
    const auto path = dir.path() / "plan.toml";
    auto check = [&](const std::string& text, const std::string& expected) {
        write_file(path, text);
        int status = -1;
        const auto err = capture_shell(
            kLoactl + " plan check " + path.string() + " --from 2026-11-30 2>&1 >/dev/null",
            &status);
        CHECK(status == 2);
        INFO(err);
        CHECK(err.find(path.string() + ":") != std::string::npos);
        CHECK(err.find(expected) != std::string::npos);
    };
    std::string base = kTightPlan;
    SECTION("unknown area") {
        check(base + "\n[[nodes]]\nid = \"x\"\narea = \"vn/nowhere\"\n",
              "unknown area 'vn/nowhere'");
    }
    SECTION("a window ending before it starts") {
        std::string text = base;
        text.replace(text.find("end = \"06:10\""), 13, "end = \"05:10\"");
        check(text, ":5: area 'vn' window 'sang': it ends before it starts");
    }
    SECTION("a quota on a node kind that cannot play the items") {
        std::string text = base;
        text.replace(text.find("items = [\"b\"]"), 13, "items = [\"b\"]\nkinds = [\"panel\"]");
        check(text, "a panel cannot play any of its items (audio)");
    }
    SECTION("lunar day 31") {
        check(base + "\n[[events]]\nid = \"x\"\nname = \"X\"\nlunar = \"31/3\"\n", "31");
    }
    SECTION("a date that does not exist on the command line") {
        write_file(path, base);
        int status = -1;
        const auto err = capture_shell(
            kLoactl + " plan check " + path.string() + " --from 2026-02-30 2>&1", &status);
        CHECK(status == 2);
        CHECK(err.find("2026-02-30 does not exist") != std::string::npos);
    }
}

TEST_CASE("plan compile: one file per shared timeline and an index, byte-identical twice") {
    TempDir dir;
    int status = -1;
    for (const char* out : {"one", "two"}) {
        capture_shell(kLoactl + " plan compile " + sample_plan() +
                          " --from 2026-12-01 --days 7 --out " + (dir.path() / out).string(),
                      &status);
        CHECK(status == 0);
    }
    const auto index = nlohmann::json::parse(read_file(dir.path() / "one" / "index.json"));
    CHECK(index["from"] == "2026-12-01");
    CHECK(index["days"] == 7);
    REQUIRE(index["nodes"].size() == 33);
    std::set<std::string> used;
    for (const auto& [node, hash] : index["nodes"].items()) {
        used.insert(hash.get<std::string>());
    }
    CHECK(used.size() == index["timelines"].size());
    for (const auto& hash : used) {
        const auto file = dir.path() / "one" / (hash + ".json");
        const auto timeline = nlohmann::json::parse(read_file(file));
        CHECK(timeline["hash"] == hash);
        CHECK_FALSE(timeline["plays"].empty());
        CHECK(read_file(file) == read_file(dir.path() / "two" / (hash + ".json")));
    }
    CHECK(read_file(dir.path() / "one" / "index.json") ==
          read_file(dir.path() / "two" / "index.json"));
}

TEST_CASE("calendar: conversions both ways, leap months, errors exit 2") {
    CHECK(capture_shell(kLoactl + " calendar lunar-to-solar 2023 3 10") == "2023-04-29\n");
    CHECK(capture_shell(kLoactl + " calendar lunar-to-solar 2023 2 1 --leap") == "2023-03-22\n");
    CHECK(capture_shell(kLoactl + " calendar solar-to-lunar 2023-03-22") == "1/2/2023 (leap)\n");
    CHECK(capture_shell(kLoactl + " calendar solar-to-lunar 2027-02-06") == "1/1/2027\n");
    int status = -1;
    const auto err = capture_shell(kLoactl + " calendar lunar-to-solar 2024 3 31 2>&1", &status);
    CHECK(status == 2);
    CHECK(err.find("lunar day 31 does not exist") != std::string::npos);
    capture_shell(kLoactl + " calendar lunar-to-solar 2024 3 1 --leap 2>&1", &status);
    CHECK(status == 2);
    const auto events =
        capture_shell(kLoactl + " calendar events --year 2027 --plan " + sample_plan());
    CHECK(events.find("2027-04-16  gio-to") != std::string::npos);
    CHECK(events.find("2027-02-06  tet") != std::string::npos);
}
