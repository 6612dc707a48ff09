// Plans read from TOML files: every key lands in the Plan, every problem is found and located.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "loa/controller/plans/plan_file.hpp"
#include "loa/schedules/plan_compiler.hpp"
#include "test_support.hpp"

using namespace loa;
using namespace std::chrono;

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;

// The 1-based line of the first line of `text` containing `marker`.
int line_of(std::string_view text, std::string_view marker) {
    const auto at = text.find(marker);
    REQUIRE(at != std::string_view::npos);
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

std::filesystem::path sample_plan() {
#ifdef LOA_SOURCE_DIR
    return std::filesystem::path(LOA_SOURCE_DIR) / "docs/examples/lao-cai.toml";
#else
    return std::filesystem::path(__FILE__).parent_path() / "../../docs/examples/lao-cai.toml";
#endif
}

std::string all_problems(const std::vector<controller::PlanFileProblem>& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += p.text() + "\n";
    }
    return out;
}

// Parses `text`, expecting it to fail; returns its problems.
std::vector<controller::PlanFileProblem> problems_of(std::string_view text) {
    auto plan = controller::parse_plan(text, "plan.toml");
    REQUIRE_FALSE(plan.has_value());
    INFO(all_problems(plan.error()));
    for (const auto& p : plan.error()) {
        CHECK(p.file == "plan.toml");
    }
    return plan.error();
}

bool mentions(const controller::PlanFileProblem& problem, std::string_view phrase) {
    return problem.what.find(phrase) != std::string::npos;
}

constexpr std::string_view kSmallPlan = R"(# A small plan using every key.
[[areas]]  # area-vn
path = "vn"
name = "Việt Nam"
level = "country"
time_zone = "Asia/Ho_Chi_Minh"
languages = ["vi"]

[[areas]]  # area-lao-cai
path = "vn/lao-cai"
name = "Lào Cai"
level = "province"
sessions_per_day = 2
minutes_per_session = 45
days_per_week = 0

  [[areas.windows]]  # window-sang
  name = "sang"
  start = "05:30"
  end = "06:30"
  weekdays = ["mon-wed", "Fri", "sun"]
  from = 2026-01-01
  until = "2026-12-31"
  kinds = ["speaker"]

  [[areas.windows]]  # window-toi
  name = "toi"
  start = 20:00:00
  end = "24:00"
  weekdays = ["sat-mon"]

[[areas]]  # area-ta-van
path = "vn/lao-cai/ta-van"
name = "Tả Van"
level = "commune"
languages = ["vi", "hmn"]
windows = []

[[nodes]]  # node-speaker
id = "ta-van-01"
area = "vn/lao-cai/ta-van"

[[nodes]]  # node-panel
id = "bang-tin-lao-cai"
area = "vn/lao-cai"
kind = "panel"

[[items]]  # item-bao-lu
id = "bao-lu"
kind = "audio"
title = "Phòng chống bão lũ"
duration = "1m02s"
media = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
  [[items.variants]]
  language = "hmn"
  duration = 70
  media = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
  [[items.variants]]
  language = "dao"
  duration = 2.5

[[items]]  # item-vov1
id = "vov1"
kind = "relay"
title = "Tiếp sóng VOV1"
duration = "15m"
url = "http://relay.example/vov1"
start = "06:00"

[[items]]  # item-slide
id = "slide"
kind = "slide"
language = "en"
duration = "1h"

[[events]]  # event-gio-to
id = "gio-to"
name = "Giỗ Tổ Hùng Vương"
lunar = "10/3"
leap = false

[[events]]  # event-19-5
id = "sinh-nhat-bac"
name = "Ngày sinh Chủ tịch Hồ Chí Minh"
solar = "19/5"

[[campaigns]]  # campaign-thien-tai
id = "thien-tai"
title = "Phòng chống thiên tai"
owner = "Sở VHTTDL Lào Cai"
priority = "priority"
areas = ["vn/lao-cai"]
kinds = ["speaker"]
items = ["bao-lu"]
windows = ["sang", "toi"]
from = 2026-11-01
until = "2026-12-31"
  [campaigns.quotas]
  plays_per_day = 2
  airtime = "30m"
  airtime_per = "month"
  coverage = "90%"
  share_max = 0.5
  separation = "1h30m"

[[campaigns]]  # campaign-gio-to
id = "gio-to-2027"
areas = ["vn/lao-cai/ta-van"]
items = ["bao-lu"]
event = "gio-to"
days_before = 7
days_after = 1
quotas = { coverage = 1, airtime = 90 }
)";

}  // namespace

TEST_CASE("plan file: every key of a small plan lands in the Plan") {
    auto parsed = controller::parse_plan(kSmallPlan, "small.toml");
    INFO((parsed ? std::string() : all_problems(parsed.error())));
    REQUIRE(parsed.has_value());
    const schedules::Plan& plan = *parsed;
    const std::string_view text = kSmallPlan;

    REQUIRE(plan.areas.size() == 3);
    const auto& vn = plan.areas[0];
    CHECK(vn.path == "vn");
    CHECK(vn.name == "Vi\xe1\xbb\x87t Nam");  // byte-exact UTF-8
    CHECK(vn.level == "country");
    CHECK(vn.time_zone == "Asia/Ho_Chi_Minh");
    CHECK(vn.languages == std::vector<std::string>{"vi"});
    CHECK_FALSE(vn.windows.has_value());
    CHECK_FALSE(vn.sessions_per_day.has_value());
    CHECK(vn.origin.line == line_of(text, "# area-vn"));

    const auto& lc = plan.areas[1];
    CHECK(lc.name == "L\xc3\xa0o Cai");
    CHECK(lc.time_zone.empty());
    CHECK(lc.languages.empty());
    CHECK(lc.sessions_per_day == 2);
    CHECK(lc.minutes_per_session == 45);
    CHECK(lc.days_per_week == 0);
    CHECK(lc.origin.line == line_of(text, "# area-lao-cai"));
    REQUIRE(lc.windows.has_value());
    REQUIRE(lc.windows->size() == 2);
    const auto& sang = (*lc.windows)[0];
    CHECK(sang.name == "sang");
    CHECK(sang.start_minute == 5 * 60 + 30);
    CHECK(sang.end_minute == 6 * 60 + 30);
    CHECK(sang.weekdays == 0b1010111);  // Mon, Tue, Wed, Fri, Sun
    CHECK(sang.first_date == year{2026} / January / 1);
    CHECK(sang.last_date == year{2026} / December / 31);
    CHECK(sang.kinds == std::vector{schedules::NodeKind::speaker});
    CHECK(sang.origin.line == line_of(text, "# window-sang"));
    const auto& toi = (*lc.windows)[1];
    CHECK(toi.start_minute == 20 * 60);
    CHECK(toi.end_minute == 24 * 60);
    CHECK(toi.weekdays == 0b1100001);  // Sat, Sun, Mon: a range may wrap
    CHECK_FALSE(toi.first_date.has_value());
    CHECK(toi.kinds.empty());
    CHECK(toi.origin.line == line_of(text, "# window-toi"));

    const auto& ta_van = plan.areas[2];
    CHECK(ta_van.name == "T\xe1\xba\xa3 Van");
    CHECK(ta_van.languages == std::vector<std::string>{"vi", "hmn"});
    REQUIRE(ta_van.windows.has_value());  // an explicit empty list replaces the inherited ones
    CHECK(ta_van.windows->empty());

    REQUIRE(plan.nodes.size() == 2);
    CHECK(plan.nodes[0].id == "ta-van-01");
    CHECK(plan.nodes[0].area == "vn/lao-cai/ta-van");
    CHECK(plan.nodes[0].kind == schedules::NodeKind::speaker);
    CHECK(plan.nodes[0].origin.line == line_of(text, "# node-speaker"));
    CHECK(plan.nodes[1].kind == schedules::NodeKind::panel);
    CHECK(plan.nodes[1].origin.line == line_of(text, "# node-panel"));

    REQUIRE(plan.items.size() == 3);
    const auto& bao_lu = plan.items[0];
    CHECK(bao_lu.id == "bao-lu");
    CHECK(bao_lu.kind == schedules::ItemKind::audio);
    CHECK(bao_lu.title == "Ph\xc3\xb2ng ch\xe1\xbb\x91ng b\xc3\xa3o l\xc5\xa9");
    CHECK(bao_lu.origin.line == line_of(text, "# item-bao-lu"));
    REQUIRE(bao_lu.variants.size() == 3);
    CHECK(bao_lu.variants[0].language == "vi");  // the default language
    CHECK(bao_lu.variants[0].duration_us == 62 * kSecondUs);
    CHECK(bao_lu.variants[0].media ==
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    CHECK(bao_lu.variants[1].language == "hmn");
    CHECK(bao_lu.variants[1].duration_us == 70 * kSecondUs);
    CHECK(bao_lu.variants[1].media ==
          "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
    CHECK(bao_lu.variants[2].language == "dao");
    CHECK(bao_lu.variants[2].duration_us == 2'500'000);
    CHECK(bao_lu.variants[2].media.empty());
    const auto& vov1 = plan.items[1];
    CHECK(vov1.kind == schedules::ItemKind::relay);
    CHECK(vov1.relay_url == "http://relay.example/vov1");
    CHECK(vov1.relay_start_minute == 6 * 60);
    CHECK(vov1.variants.at(0).duration_us == 15 * 60 * kSecondUs);
    CHECK(vov1.origin.line == line_of(text, "# item-vov1"));
    const auto& slide = plan.items[2];
    CHECK(slide.kind == schedules::ItemKind::slide);
    CHECK(slide.variants.at(0).language == "en");
    CHECK(slide.variants.at(0).duration_us == 3600 * kSecondUs);

    REQUIRE(plan.events.size() == 2);
    CHECK(plan.events[0].id == "gio-to");
    CHECK(plan.events[0].name == "Gi\xe1\xbb\x97 T\xe1\xbb\x95 H\xc3\xb9ng V\xc6\xb0\xc6\xa1ng");
    CHECK(plan.events[0].lunar);
    CHECK(plan.events[0].day == 10);
    CHECK(plan.events[0].month == 3);
    CHECK_FALSE(plan.events[0].leap_month);
    CHECK(plan.events[0].origin.line == line_of(text, "# event-gio-to"));
    CHECK_FALSE(plan.events[1].lunar);
    CHECK(plan.events[1].day == 19);
    CHECK(plan.events[1].month == 5);
    CHECK(plan.events[1].origin.line == line_of(text, "# event-19-5"));

    REQUIRE(plan.campaigns.size() == 2);
    const auto& thien_tai = plan.campaigns[0];
    CHECK(thien_tai.id == "thien-tai");
    CHECK(thien_tai.title == "Ph\xc3\xb2ng ch\xe1\xbb\x91ng thi\xc3\xaan tai");
    CHECK(thien_tai.owner == "S\xe1\xbb\x9f VHTTDL L\xc3\xa0o Cai");
    CHECK(thien_tai.priority == schedules::Priority::priority);
    CHECK(thien_tai.areas == std::vector<std::string>{"vn/lao-cai"});
    CHECK(thien_tai.node_kinds == std::vector{schedules::NodeKind::speaker});
    CHECK(thien_tai.items == std::vector<std::string>{"bao-lu"});
    CHECK(thien_tai.windows == std::vector<std::string>{"sang", "toi"});
    CHECK(thien_tai.period.first == year{2026} / November / 1);
    CHECK(thien_tai.period.last == year{2026} / December / 31);
    CHECK(thien_tai.period.event.empty());
    CHECK(thien_tai.quotas.plays_per_day == 2);
    CHECK(thien_tai.quotas.airtime_us == 30 * 60 * kSecondUs);
    CHECK(thien_tai.quotas.airtime_per == schedules::AirtimePer::month);
    CHECK(thien_tai.quotas.coverage == Approx(0.9));
    CHECK(thien_tai.quotas.share_max == Approx(0.5));
    CHECK(thien_tai.quotas.separation_minutes == 90);
    CHECK(thien_tai.origin.line == line_of(text, "# campaign-thien-tai"));
    const auto& gio_to = plan.campaigns[1];
    CHECK(gio_to.priority == schedules::Priority::normal);
    CHECK(gio_to.node_kinds.empty());
    CHECK(gio_to.windows.empty());
    CHECK_FALSE(gio_to.period.first.has_value());
    CHECK(gio_to.period.event == "gio-to");
    CHECK(gio_to.period.days_before == 7);
    CHECK(gio_to.period.days_after == 1);
    CHECK(gio_to.quotas.plays_per_day == 0);
    CHECK(gio_to.quotas.airtime_us == 90 * kSecondUs);
    CHECK(gio_to.quotas.airtime_per == schedules::AirtimePer::week);  // the default
    CHECK(gio_to.quotas.coverage == 1.0);
    CHECK(gio_to.quotas.share_max == 1.0);
    CHECK(gio_to.origin.line == line_of(text, "# campaign-gio-to"));

    const auto checked = schedules::check_plan(plan);
    for (const auto& p : checked) {
        INFO(p.line << ": " << p.what);
        CHECK(false);
    }
}

TEST_CASE("plan file: count declares numbered nodes, zero-padded to two digits or more") {
    auto plan = controller::parse_plan(R"([[nodes]]
id = "ta-van"
area = "vn/lao-cai/sa-pa/ta-van"
count = 3

[[nodes]]
id = "y-ty"
area = "vn/lao-cai/bat-xat/y-ty"
kind = "panel"
count = 120
)",
                                       "nodes.toml");
    REQUIRE(plan.has_value());
    REQUIRE(plan->nodes.size() == 123);
    CHECK(plan->nodes[0].id == "ta-van-01");
    CHECK(plan->nodes[2].id == "ta-van-03");
    CHECK(plan->nodes[2].area == "vn/lao-cai/sa-pa/ta-van");
    CHECK(plan->nodes[2].origin.line == 1);
    CHECK(plan->nodes[3].id == "y-ty-001");
    CHECK(plan->nodes[3].kind == schedules::NodeKind::panel);
    CHECK(plan->nodes[3].origin.line == 6);
    CHECK(plan->nodes[122].id == "y-ty-120");

    auto zero = problems_of("[[nodes]]\nid = \"x\"\narea = \"vn\"\ncount = 0\n");
    REQUIRE(zero.size() == 1);
    CHECK(zero[0].line == 4);
    CHECK(mentions(zero[0], "count = 0"));
}

TEST_CASE("plan file: the sample plan docs/examples/lao-cai.toml parses and checks clean") {
    auto plan = controller::read_plan_file(sample_plan());
    INFO((plan ? std::string() : all_problems(plan.error())));
    REQUIRE(plan.has_value());
    CHECK(plan->areas.size() >= 10);
    CHECK(plan->nodes.size() >= 20);
    CHECK(plan->campaigns.size() >= 5);
    const auto problems = schedules::check_plan(*plan);
    for (const auto& p : problems) {
        INFO(sample_plan().string() << ":" << p.line << ": " << p.what);
        CHECK(false);
    }
}

TEST_CASE("plan file: the sample plan meets its quotas in December and before Giỗ Tổ 2027") {
    auto plan = controller::read_plan_file(sample_plan());
    REQUIRE(plan.has_value());
    auto gio_to = std::find_if(plan->events.begin(), plan->events.end(),
                               [](const schedules::Event& e) { return e.id == "gio-to"; });
    REQUIRE(gio_to != plan->events.end());
    const auto day = schedules::event_dates(*gio_to, year{2027} / 1 / 1, year{2027} / 12 / 31);
    REQUIRE(day.size() == 1);
    const schedules::Date week_before{sys_days(day[0]) - days(7)};

    schedules::PlanCompiler compiler;
    for (const schedules::Horizon horizon :
         {schedules::Horizon{year{2026} / December / 1, 7}, schedules::Horizon{week_before, 8}}) {
        auto compiled = compiler.compile(*plan, horizon);
        REQUIRE(compiled.has_value());
        for (const auto& q : compiled->quotas) {
            INFO(q.campaign << " " << q.quota << " " << q.scope << " " << q.period << ": "
                            << q.scheduled << "/" << q.required << " " << q.unit << " "
                            << q.reason);
            CHECK(q.met);
        }
        CHECK(compiled->feasible);
    }
}

TEST_CASE("plan file: a TOML syntax error is reported at its line") {
    auto problems = problems_of(R"([[areas]]
path = "vn"
name = "Việt Nam
level = "country"
)");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 3);
    CHECK(mentions(problems[0], "not valid TOML"));
    CHECK(problems[0].text().starts_with("plan.toml:3:"));
}

TEST_CASE("plan file: an unknown key names its table and the known keys") {
    auto problems = problems_of(R"([[campaigns]]
id = "c"
  [campaigns.quotas]
  play_per_day = 2
)");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 4);
    CHECK(problems[0].column == 3);
    CHECK(problems[0].what ==
          "unknown key 'play_per_day' in [campaigns.quotas]; known keys: plays_per_day, airtime, "
          "airtime_per, coverage, share_max, separation");

    auto top = problems_of("[[area]]\npath = \"vn\"\n");
    REQUIRE(top.size() == 1);
    CHECK(top[0].line == 1);
    CHECK(mentions(top[0], "unknown key 'area' at the top level"));
}

TEST_CASE("plan file: bad values name the key and say what is expected") {
    SECTION("a time of day past 24:00") {
        auto problems = problems_of(R"([[areas]]
path = "vn"
  [[areas.windows]]
  name = "sang"
  start = "25:00"
  end = "06:30"
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 5);
        CHECK(problems[0].column == 11);
        CHECK(problems[0].what ==
              "start = \"25:00\": a time of day is HH:MM between 00:00 and 24:00");
    }
    SECTION("a negative duration") {
        auto problems = problems_of(R"([[items]]
id = "bao-lu"
duration = "-5m"
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 3);
        CHECK(mentions(problems[0], "duration = \"-5m\": a duration cannot be negative"));
    }
    SECTION("an unknown weekday") {
        auto problems = problems_of(R"([[areas]]
path = "vn"
  [[areas.windows]]
  name = "sang"
  start = "05:30"
  end = "06:30"
  weekdays = ["mon-fri",
              "funday"]
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 8);
        CHECK(mentions(problems[0], "\"funday\" is not a weekday"));
    }
    SECTION("an event with both a lunar and a solar date") {
        auto problems = problems_of(R"([[events]]
id = "gio-to"
lunar = "10/3"
solar = "19/5"
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 4);
        CHECK(mentions(problems[0], "either a lunar or a solar date, not both"));
    }
    SECTION("an emergency campaign") {
        auto problems = problems_of(R"([[campaigns]]
id = "lu-quet"
priority = "emergency"
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 3);
        CHECK(mentions(problems[0], "emergencies are sent, not scheduled"));
    }
    SECTION("text where a whole number belongs") {
        auto problems = problems_of(R"([[areas]]
path = "vn"
sessions_per_day = "2"
)");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 3);
        CHECK(problems[0].what == "sessions_per_day = \"2\": expected a whole number, not text");
    }
    SECTION("a separation that is not whole minutes") {
        auto problems =
            problems_of("[[campaigns]]\nid = \"c\"\nquotas = { separation = \"90s\" }\n");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 3);
        CHECK(mentions(problems[0], "whole minutes"));
    }
    SECTION("a share above 100%") {
        auto problems =
            problems_of("[[campaigns]]\nid = \"c\"\nquotas = { coverage = \"150%\" }\n");
        REQUIRE(problems.size() == 1);
        CHECK(mentions(problems[0], "a share is above 0 and at most 1"));
    }
    SECTION("a missing key") {
        auto problems = problems_of("[[nodes]]\nid = \"x\"\n");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 1);
        CHECK(mentions(problems[0], "missing key 'area' in [[nodes]]"));
    }
    SECTION("a malformed area path") {
        auto problems = problems_of("[[areas]]\npath = \"VN/Lào Cai\"\n");
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].line == 2);
        CHECK(mentions(problems[0], "not an area path"));
    }
}

TEST_CASE("plan file: several problems in one file are all reported, in file order") {
    auto problems = problems_of(R"([[areas]]
path = "vn"
days_per_week = 8
  [[areas.windows]]
  name = "sang"
  start = "5h30"
  end = "24:00"
  weekdays = ["mon", "someday"]

[[items]]
id = "bao-lu"
kind = "podcast"
duration = "0s"
colour = "red"

[[events]]
id = "tet"
lunar = "1/13"
leap = "no"

[[campaigns]]
id = "c"
priority = "emergency"
from = "2026-02-30"
  [campaigns.quotas]
  airtime_per = "year"
)");
    const std::vector<int> lines = {3, 6, 8, 12, 13, 14, 18, 19, 23, 24, 26};
    REQUIRE(problems.size() == lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        INFO(problems[i].text());
        CHECK(problems[i].line == lines[i]);
    }
    CHECK(mentions(problems[0], "days_per_week is between 0 and 7"));
    CHECK(mentions(problems[3], "an item is \"audio\", \"slide\", \"video\" or \"relay\""));
    CHECK(mentions(problems[4], "more than zero"));
    CHECK(mentions(problems[5], "unknown key 'colour' in [[items]]"));
    CHECK(mentions(problems[8], "emergencies are sent"));
}

TEST_CASE("plan file: read_plan_file reads a file and names one it cannot read") {
    test::TempDir dir;
    test::write_file(dir / "plan.toml", "[[areas]]\npath = \"vn\"\nname = \"Việt Nam\"\n");
    auto plan = controller::read_plan_file(dir / "plan.toml");
    REQUIRE(plan.has_value());
    CHECK(plan->areas.at(0).name == "Vi\xe1\xbb\x87t Nam");

    test::write_file(dir / "bad.toml", "[[areas]]\npath = 3\n");
    auto bad = controller::read_plan_file(dir / "bad.toml");
    REQUIRE_FALSE(bad.has_value());
    REQUIRE(bad.error().size() == 1);
    CHECK(bad.error()[0].text() == (dir / "bad.toml").string() +
                                       ":2:8: path = 3: expected text in double quotes, not a "
                                       "whole number");

    auto missing = controller::read_plan_file(dir / "missing.toml");
    REQUIRE_FALSE(missing.has_value());
    REQUIRE(missing.error().size() == 1);
    CHECK(missing.error()[0].file == (dir / "missing.toml").string());
    CHECK(missing.error()[0].line == 0);
    CHECK(missing.error()[0].text() ==
          (dir / "missing.toml").string() +
              ": cannot read the plan file: No such file or directory");
}

TEST_CASE("plan file: a file over 16 MiB is refused by its size, before it is read") {
    test::TempDir dir;
    const auto big = dir / "big.toml";
    {
        // Sparse: nothing of it is on disk, and read whole it would take a while to parse.
        std::ofstream out(big);
    }
    std::filesystem::resize_file(big, controller::kMaxPlanFileBytes + 1);
    auto refused = controller::read_plan_file(big);
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error().size() == 1);
    CHECK(refused.error()[0].text() == big.string() +
                                           ": the plan file is 16777217 bytes, over the limit of "
                                           "16777216 bytes (16 MiB)");

    // A file at the limit is read (and then parsed: these zeros are no TOML).
    std::filesystem::resize_file(big, controller::kMaxPlanFileBytes);
    auto read = controller::read_plan_text(big);
    REQUIRE(read.has_value());
    CHECK(read->size() == controller::kMaxPlanFileBytes);
}

TEST_CASE("plan file: a stream with no size is read only up to the limit") {
    // /dev/zero never ends: without the limit this would read until memory runs out.
    auto refused = controller::read_plan_text("/dev/zero");
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error()[0].text(),
               Catch::Matchers::Contains("more than 16777216 bytes, over the limit"));
}

TEST_CASE("plan file: a problem reads FILE:LINE:COLUMN: what") {
    CHECK(controller::PlanFileProblem{"p.toml", 3, 9, "bad"}.text() == "p.toml:3:9: bad");
    CHECK(controller::PlanFileProblem{"p.toml", 3, 0, "bad"}.text() == "p.toml:3: bad");
    CHECK(controller::PlanFileProblem{"p.toml", 0, 0, "bad"}.text() == "p.toml: bad");
}
