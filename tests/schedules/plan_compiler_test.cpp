// The engine's rules, one test each: caps, priority, separation, spreading, languages, calendar
// periods, time zones, shortfalls, determinism, sharing and incremental compiles.
#include <catch2/catch.hpp>

#include <set>

#include "plan_fixture.hpp"

using namespace loa::schedules;
using namespace loa::schedules::testing;

namespace {

// 2026-11-30 is a Monday. Asia/Ho_Chi_Minh is UTC+7: local 05:00 is 22:00 UTC the day before.
const Date kMonday = day(2026, 11, 30);

/// A one-area plan ("vn") with one speaker per node id.
Plan one_area(std::vector<Window> windows, std::vector<std::string> node_ids = {"n1"}) {
    Plan plan;
    plan.areas.push_back(area("vn", std::move(windows)));
    for (auto& id : node_ids) {
        plan.nodes.push_back(speaker(id, "vn"));
    }
    return plan;
}

/// Local date (UTC+7) of a UTC instant.
int local_day(std::int64_t utc_us) {
    return static_cast<int>((utc_us / kSec + 7 * 3600) / 86400);
}

}  // namespace

TEST_CASE("caps: minutes per session cut the session and beat the quota") {
    Plan plan = one_area({window("sang", 5, 0, 7, 0)});
    plan.areas[0].minutes_per_session = 15;
    plan.items.push_back(audio("a", 60));
    plan.campaigns.push_back(campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 20));

    const auto out = compile(plan, kMonday, 1);
    // 15 minutes hold 14 plays of 60 s with 2 s between them (14·60 + 13·2 = 866 s ≤ 900 s).
    const auto plays = plays_of(timeline_of(out, "n1"), "c");
    REQUIRE(plays.size() == 14);
    CHECK(plays.front().start_us == utc(day(2026, 11, 29), 22, 0));
    CHECK(plays.back().end_us <= utc(day(2026, 11, 29), 22, 15));
    CHECK_FALSE(out.feasible);
    const auto* row = summary(out, "c", "plays_per_day");
    REQUIRE(row);
    CHECK(row->required == 20);
    CHECK(row->scheduled == 14);
    CHECK(row->shortfall == 6);
}

TEST_CASE("caps: sessions per day keep the earliest windows") {
    Plan plan = one_area({window("sang", 5, 0, 5, 30), window("trua", 11, 0, 11, 30),
                          window("chieu", 17, 0, 17, 30)});
    plan.areas[0].sessions_per_day = 2;
    plan.items.push_back(audio("a", 60));
    auto c = campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 3);
    c.quotas.separation_minutes = 60;  // at most one play of "a" per session
    plan.campaigns.push_back(c);

    const auto out = compile(plan, kMonday, 1);
    const auto plays = plays_of(timeline_of(out, "n1"), "c");
    REQUIRE(plays.size() == 2);
    CHECK(plays[0].start_us == utc(day(2026, 11, 29), 22, 0));  // 05:00 local
    CHECK(plays[1].start_us == utc(kMonday, 4, 0));             // 11:00 local; 17:00 is cut
    CHECK(summary(out, "c", "plays_per_day")->shortfall == 1);
}

TEST_CASE("caps: days per week keep the first broadcast days of the week") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.areas[0].days_per_week = 5;
    plan.items.push_back(audio("a", 60));
    plan.campaigns.push_back(campaign("c", {"vn"}, {"a"}, kMonday, day(2026, 12, 6), 1));

    const auto out = compile(plan, kMonday, 7);
    const auto plays = plays_of(timeline_of(out, "n1"), "c");
    REQUIRE(plays.size() == 5);
    std::set<int> days;
    for (const auto& p : plays) {
        days.insert(local_day(p.start_us));
    }
    const int monday = static_cast<int>(std::chrono::sys_days{kMonday}.time_since_epoch().count());
    CHECK(days == std::set<int>{monday, monday + 1, monday + 2, monday + 3, monday + 4});
    // Plays per day are asked on broadcast days only: the weekend asks nothing.
    CHECK(out.feasible);
    CHECK(summary(out, "c", "plays_per_day")->required == 5);
}

TEST_CASE("priority: priority plays go first inside a session, even when booked later") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.items = {audio("n1", 60), audio("n2", 60), audio("p1", 30)};
    plan.campaigns.push_back(
        campaign("normal", {"vn"}, {"n1", "n2"}, kMonday, day(2026, 12, 1), 2));
    auto p = campaign("urgent", {"vn"}, {"p1"}, kMonday, day(2026, 12, 1), 1);
    p.priority = Priority::priority;
    plan.campaigns.push_back(p);

    const auto out = compile(plan, kMonday, 2);
    REQUIRE(out.feasible);
    const auto& t = timeline_of(out, "n1");
    for (int d = 0; d < 2; ++d) {
        const auto session_start = utc(day(2026, 11, 29 + d), 22, 0);
        std::vector<Play> session;
        for (const auto& play : t.plays) {
            if (play.start_us >= session_start && play.start_us < session_start + 3600 * kSec) {
                session.push_back(play);
            }
        }
        REQUIRE(session.size() == 3);
        CHECK(session[0].campaign == "urgent");
        CHECK(session[0].start_us == session_start);
        CHECK(session[1].campaign == "normal");
        CHECK(session[1].start_us == session[0].end_us + 2 * kSec);
    }
}

TEST_CASE("separation: an item never plays twice within the separation") {
    Plan plan = one_area(
        {window("s1", 5, 30, 6, 0), window("s2", 6, 30, 7, 0), window("s3", 17, 0, 17, 30)});
    plan.items.push_back(audio("x", 60));
    auto c = campaign("c", {"vn"}, {"x"}, kMonday, day(2026, 12, 2), 2);
    c.quotas.separation_minutes = 120;
    plan.campaigns.push_back(c);

    SECTION("two plays a day fit: morning and evening") {
        const auto out = compile(plan, kMonday, 3);
        CHECK(out.feasible);
        const auto plays = plays_of(timeline_of(out, "n1"), "c");
        REQUIRE(plays.size() == 6);
        for (std::size_t i = 1; i < plays.size(); ++i) {
            CHECK(plays[i].start_us - plays[i - 1].start_us >= 120 * 60 * kSec);
        }
    }
    SECTION("three a day cannot: s1 and s2 are 30 minutes apart") {
        plan.campaigns[0].quotas.plays_per_day = 3;
        const auto out = compile(plan, kMonday, 3);
        CHECK_FALSE(out.feasible);
        const auto* row = summary(out, "c", "plays_per_day");
        CHECK(row->required == 9);
        CHECK(row->scheduled == 6);
    }
}

TEST_CASE("spreading: plays go to different sessions and days before bunching") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0), window("chieu", 17, 0, 18, 0)});
    plan.items = {audio("a", 60), audio("b", 60)};

    SECTION("two plays a day: one each session") {
        plan.campaigns.push_back(campaign("c", {"vn"}, {"a", "b"}, kMonday, day(2026, 12, 2), 2));
        const auto out = compile(plan, kMonday, 3);
        REQUIRE(out.feasible);
        const auto plays = plays_of(timeline_of(out, "n1"), "c");
        REQUIRE(plays.size() == 6);
        std::set<std::int64_t> sessions;
        for (const auto& p : plays) {
            sessions.insert((p.start_us / kSec) / 3600);  // the hour a session starts in
        }
        CHECK(sessions.size() == 6);
    }
    SECTION("five minutes a week: five different days") {
        auto c = campaign("c", {"vn"}, {"a"}, kMonday, day(2026, 12, 6), 0);
        c.quotas.airtime_us = 5 * 60 * kSec;
        c.quotas.airtime_per = AirtimePer::week;
        plan.campaigns.push_back(c);
        const auto out = compile(plan, kMonday, 7);
        REQUIRE(out.feasible);
        const auto plays = plays_of(timeline_of(out, "n1"), "c");
        REQUIRE(plays.size() == 5);
        std::set<int> days;
        for (const auto& p : plays) {
            days.insert(local_day(p.start_us));
        }
        CHECK(days.size() == 5);
        const auto* row = summary(out, "c", "airtime");
        CHECK(row->unit == "seconds");
        CHECK(row->required == 300);
        CHECK(row->scheduled == 300);
    }
}

TEST_CASE("airtime: a week partly inside the horizon asks its share by broadcast days") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.items.push_back(audio("a", 60));
    auto c = campaign("c", {"vn"}, {"a"}, kMonday, day(2026, 12, 31), 0);
    c.quotas.airtime_us = 7 * 60 * kSec;  // 7 minutes a week
    plan.campaigns.push_back(c);
    // Thursday to Saturday: 3 of the week's 7 broadcast days → 3 minutes.
    const auto out = compile(plan, day(2026, 12, 3), 3);
    CHECK(summary(out, "c", "airtime")->required == 180);
    CHECK(plays_of(timeline_of(out, "n1"), "c").size() == 3);
}

TEST_CASE("languages: one play is each language version back to back") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.areas[0].languages = {"vi", "hmn"};
    Item b = audio("b", 40, "vi");
    b.variants.push_back({"hmn", "media-b-hmn", 50 * kSec});
    b.variants.push_back({"dao", "media-b-dao", 45 * kSec});  // not spoken here
    plan.items = {b, audio("c", 30, "vi")};
    auto cb = campaign("cb", {"vn"}, {"b"}, kMonday, kMonday, 1);
    cb.quotas.airtime_us = 90 * kSec;
    cb.quotas.airtime_per = AirtimePer::day;
    plan.campaigns = {cb, campaign("cc", {"vn"}, {"c"}, kMonday, kMonday, 1)};

    const auto out = compile(plan, kMonday, 1);
    REQUIRE(out.feasible);
    const auto b_plays = plays_of(timeline_of(out, "n1"), "cb");
    REQUIRE(b_plays.size() == 2);
    CHECK(b_plays[0].language == "vi");
    CHECK(b_plays[0].media == "media-b");
    CHECK(b_plays[1].language == "hmn");
    CHECK(b_plays[1].media == "media-b-hmn");
    CHECK(b_plays[1].start_us == b_plays[0].end_us);  // back to back, no gap
    // One play counts once for plays per day, and every version counts as airtime.
    CHECK(summary(out, "cb", "plays_per_day")->scheduled == 1);
    CHECK(summary(out, "cb", "airtime")->scheduled == 90);
    const auto c_plays = plays_of(timeline_of(out, "n1"), "cc");
    REQUIRE(c_plays.size() == 1);
    CHECK(c_plays[0].language == "vi");
}

TEST_CASE("calendar: a period anchored on a lunar date in a leap-month year") {
    // 2023 had a leap 2nd month; Giỗ Tổ Hùng Vương (10/3 lunar) fell on Saturday 29 April 2023.
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.items.push_back(audio("a", 60));
    plan.events.push_back(Event{"gio-to", "Giỗ Tổ Hùng Vương", true, 3, 10, false, {}});
    auto c = campaign("c", {"vn"}, {"a"}, {}, {}, 1);
    c.period = Period{};
    c.period.event = "gio-to";
    c.period.days_before = 2;
    plan.campaigns.push_back(c);

    const auto out = compile(plan, day(2023, 4, 25), 7);
    REQUIRE(out.feasible);
    std::set<int> days;
    for (const auto& p : plays_of(timeline_of(out, "n1"), "c")) {
        days.insert(local_day(p.start_us));
    }
    const int d29 =
        static_cast<int>(std::chrono::sys_days{day(2023, 4, 29)}.time_since_epoch().count());
    CHECK(days == std::set<int>{d29 - 2, d29 - 1, d29});
    REQUIRE(event_dates(plan.events[0], day(2023, 1, 1), day(2023, 12, 31)) ==
            std::vector<Date>{day(2023, 4, 29)});
}

TEST_CASE("calendar: solar events recur every year") {
    Event independence{"quoc-khanh", "Quốc khánh", false, 9, 2, false, {}};
    CHECK(event_dates(independence, day(2025, 1, 1), day(2027, 12, 31)) ==
          std::vector<Date>{day(2025, 9, 2), day(2026, 9, 2), day(2027, 9, 2)});
}

TEST_CASE("time zones: windows follow local time across a daylight-saving change") {
    Plan plan;
    Area berlin = area("de", {window("morgen", 9, 0, 9, 30), window("nacht", 2, 30, 3, 30)});
    berlin.time_zone = "Europe/Berlin";
    plan.areas.push_back(berlin);
    plan.nodes.push_back(speaker("n1", "de"));
    plan.items.push_back(audio("a", 60));
    auto c = campaign("c", {"de"}, {"a"}, day(2026, 3, 28), day(2026, 3, 29), 1);
    c.windows = {"morgen"};
    plan.campaigns.push_back(c);
    auto night = campaign("night", {"de"}, {"a"}, day(2026, 3, 29), day(2026, 3, 29), 1);
    night.windows = {"nacht"};
    plan.campaigns.push_back(night);

    // Clocks go forward at 01:00 UTC on 29 March 2026: 09:00 is 08:00 UTC, then 07:00 UTC.
    const auto out = compile(plan, day(2026, 3, 28), 2);
    REQUIRE(out.feasible);
    const auto plays = plays_of(timeline_of(out, "n1"), "c");
    REQUIRE(plays.size() == 2);
    CHECK(plays[0].start_us == utc(day(2026, 3, 28), 8, 0));
    CHECK(plays[1].start_us == utc(day(2026, 3, 29), 7, 0));
    // 02:30 does not exist that night: the session starts at the jump.
    const auto nights = plays_of(timeline_of(out, "n1"), "night");
    REQUIRE(nights.size() == 1);
    CHECK(nights[0].start_us == utc(day(2026, 3, 29), 1, 0));
}

TEST_CASE("shortfall: an infeasible plan names each unmet quota with the right numbers") {
    // One 10-minute session a day. "a" needs 5 × 100 s, "b" 2 × 60 s: 632 s with the gaps.
    Plan plan = one_area({window("sang", 6, 0, 6, 10)}, {"n1", "n2"});
    plan.items = {audio("a", 100), audio("b", 60)};
    const Date last = day(2026, 12, 2);
    plan.campaigns = {campaign("ca", {"vn"}, {"a"}, kMonday, last, 5),
                      campaign("cb", {"vn"}, {"b"}, kMonday, last, 2)};

    SECTION("booking order: the later campaign falls short") {
        const auto out = compile(plan, kMonday, 3);
        CHECK_FALSE(out.feasible);
        CHECK(summary(out, "ca", "plays_per_day")->met);
        const auto* row = summary(out, "cb", "plays_per_day");
        CHECK_FALSE(row->met);
        CHECK(row->required == 12);  // 2 plays × 3 days × 2 nodes
        CHECK(row->scheduled == 6);
        CHECK(row->shortfall == 6);
        const auto rows = details(out, "cb");
        REQUIRE(rows.size() == 3);
        CHECK(rows[0].period == "2026-11-30");
        CHECK(rows[0].scope == "vn (speaker)");
        CHECK(rows[0].required == 2);
        CHECK(rows[0].scheduled == 1);
        CHECK(rows[0].shortfall == 1);
        CHECK(rows[0].nodes == 2);
        const auto* coverage = summary(out, "cb", "coverage");
        CHECK(coverage->required == 2);
        CHECK(coverage->scheduled == 0);
    }
    SECTION("priority: a priority campaign is served first whatever its booking") {
        plan.campaigns[1].priority = Priority::priority;
        const auto out = compile(plan, kMonday, 3);
        CHECK(summary(out, "cb", "plays_per_day")->met);
        const auto* row = summary(out, "ca", "plays_per_day");
        CHECK(row->required == 30);
        CHECK(row->scheduled == 24);
    }
}

TEST_CASE("share_max: a campaign takes at most its share of a session") {
    Plan plan = one_area({window("sang", 5, 0, 5, 10)});  // 600 s
    plan.items.push_back(audio("a", 60));
    auto c = campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 3);
    c.quotas.share_max = 0.25;  // 150 s: two plays
    plan.campaigns.push_back(c);
    const auto out = compile(plan, kMonday, 1);
    CHECK(plays_of(timeline_of(out, "n1"), "c").size() == 2);
    CHECK(summary(out, "c", "plays_per_day")->shortfall == 1);
}

TEST_CASE("coverage: a quota for a share of nodes is met when that share meets it") {
    Plan plan;
    plan.areas = {area("vn", {window("sang", 5, 0, 6, 0)}), area("vn/a"), area("vn/b")};
    plan.areas[2].windows = std::vector<Window>{};  // vn/b does not broadcast
    plan.nodes = {speaker("a1", "vn/a"), speaker("b1", "vn/b")};
    plan.items.push_back(audio("x", 60));
    auto c = campaign("c", {"vn"}, {"x"}, kMonday, kMonday, 1);
    c.quotas.coverage = 0.5;
    plan.campaigns.push_back(c);

    auto out = compile(plan, kMonday, 1);
    CHECK(out.feasible);
    CHECK(summary(out, "c", "coverage")->scheduled == 1);
    REQUIRE(details(out, "c").size() == 1);
    CHECK(details(out, "c")[0].scope == "vn/b (speaker)");
    CHECK(details(out, "c")[0].reason.find("no broadcast session") != std::string::npos);

    plan.campaigns[0].quotas.coverage = 1.0;
    out = compile(plan, kMonday, 1);
    CHECK_FALSE(out.feasible);
}

TEST_CASE("relays: a relay plays at its local time and other plays fit around it") {
    Plan plan = one_area({window("sang", 5, 30, 6, 30)});
    Item relay;
    relay.id = "vov1";
    relay.kind = ItemKind::relay;
    relay.relay_url = "http://example.invalid/vov1";
    relay.relay_start_minute = 6 * 60;
    relay.variants.push_back({"vi", "", 15 * 60 * kSec});
    plan.items = {relay, audio("a", 60)};
    plan.campaigns = {campaign("tiep-song", {"vn"}, {"vov1"}, kMonday, kMonday),
                      campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 0)};
    plan.campaigns[1].quotas.airtime_us = 45 * 60 * kSec;
    plan.campaigns[1].quotas.airtime_per = AirtimePer::day;

    const auto out = compile(plan, kMonday, 1);
    const auto& t = timeline_of(out, "n1");
    CHECK(no_overlap(t));
    const auto relays = plays_of(t, "tiep-song");
    REQUIRE(relays.size() == 1);
    CHECK(relays[0].start_us == utc(day(2026, 11, 29), 23, 0));
    CHECK(relays[0].kind == ItemKind::relay);
    // 60 minutes minus the 15-minute relay hold 29 + 14 plays of 60 s: 2,580 s, not 45 minutes.
    CHECK_FALSE(summary(out, "c", "airtime")->met);
    CHECK(summary(out, "c", "airtime")->scheduled == 2580);
    CHECK(summary(out, "tiep-song", "relay")->met);
}

TEST_CASE("determinism: the same plan gives byte-identical timelines, in any order") {
    Plan plan;
    plan.areas = {area("vn", {window("sang", 5, 0, 6, 0), window("chieu", 17, 0, 18, 0)}),
                  area("vn/x"), area("vn/y")};
    plan.areas[2].languages = {"vi", "hmn"};
    plan.nodes = {speaker("x1", "vn/x"), speaker("y1", "vn/y"), speaker("x2", "vn/x")};
    plan.items = {audio("a", 61), audio("b", 47), audio("c", 95)};
    plan.campaigns = {campaign("c1", {"vn"}, {"a", "b"}, kMonday, day(2026, 12, 6), 3),
                      campaign("c2", {"vn/y"}, {"c"}, kMonday, day(2026, 12, 6), 2)};

    const auto first = compile(plan, kMonday, 7);
    std::reverse(plan.nodes.begin(), plan.nodes.end());
    std::reverse(plan.areas.begin(), plan.areas.end());
    const auto second = compile(plan, kMonday, 7);
    REQUIRE(first.timelines.size() == second.timelines.size());
    for (std::size_t i = 0; i < first.timelines.size(); ++i) {
        CHECK(first.timelines[i]->hash == second.timelines[i]->hash);
        REQUIRE(first.timelines[i]->plays.size() == second.timelines[i]->plays.size());
        for (std::size_t k = 0; k < first.timelines[i]->plays.size(); ++k) {
            CHECK(first.timelines[i]->plays[k].slot_id == second.timelines[i]->plays[k].slot_id);
        }
    }
    CHECK(first.node_timeline == second.node_timeline);
    CHECK(first.timelines[0]->hash.size() == 64);
}

TEST_CASE("sharing: nodes with identical inputs share one timeline") {
    Plan plan;
    plan.areas = {area("vn", {window("sang", 5, 0, 6, 0)}), area("vn/x"), area("vn/y"),
                  area("vn/z")};
    for (const char* a : {"x", "y", "z"}) {
        for (int n = 0; n < 4; ++n) {
            plan.nodes.push_back(
                speaker(std::string(a) + std::to_string(n), std::string("vn/") + a));
        }
    }
    plan.items.push_back(audio("a", 60));
    plan.campaigns.push_back(campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 2));
    auto out = compile(plan, kMonday, 1);
    CHECK(out.timelines.size() == 1);
    CHECK(out.node_timeline.size() == 12);

    plan.campaigns.push_back(campaign("only-z", {"vn/z"}, {"a"}, kMonday, kMonday, 1));
    out = compile(plan, kMonday, 1);
    CHECK(out.timelines.size() == 2);
    CHECK(out.node_timeline.at("x0") == out.node_timeline.at("y3"));
    CHECK(out.node_timeline.at("x0") != out.node_timeline.at("z0"));
}

TEST_CASE("incremental: editing one campaign solves only the classes it targets") {
    Plan plan;
    plan.areas = {area("vn", {window("sang", 5, 0, 6, 0)}), area("vn/x"), area("vn/y"),
                  area("vn/z")};
    plan.nodes = {speaker("x1", "vn/x"), speaker("y1", "vn/y"), speaker("z1", "vn/z")};
    plan.items = {audio("a", 60), audio("b", 30)};
    plan.campaigns = {campaign("all", {"vn"}, {"a"}, kMonday, day(2026, 12, 6), 1),
                      campaign("on-x", {"vn/x"}, {"b"}, kMonday, day(2026, 12, 6), 1),
                      campaign("on-y", {"vn/y"}, {"b"}, kMonday, day(2026, 12, 6), 1)};
    PlanCompiler compiler;
    auto first = compiler.compile(plan, {kMonday, 7}, 1);
    REQUIRE(first);
    CHECK(first->classes_computed == 3);

    plan.campaigns[2].quotas.plays_per_day = 3;
    auto second = compiler.compile(plan, {kMonday, 7}, 1);
    REQUIRE(second);
    CHECK(second->classes_computed == 1);
    CHECK(second->classes_reused == 2);
    CHECK(plays_of(timeline_of(*second, "y1"), "on-y").size() == 21);

    const auto fresh = compile(plan, kMonday, 7);
    REQUIRE(fresh.timelines.size() == second->timelines.size());
    for (std::size_t i = 0; i < fresh.timelines.size(); ++i) {
        CHECK(fresh.timelines[i]->hash == second->timelines[i]->hash);
    }
}

TEST_CASE("determinism: the number of worker threads never shows in the output") {
    Plan plan;
    plan.areas = {area("vn", {window("sang", 5, 0, 6, 0), window("chieu", 17, 0, 18, 0)})};
    for (int a = 0; a < 12; ++a) {
        Area commune = area("vn/x" + std::to_string(a));
        if (a % 3 == 0) {
            commune.windows = std::vector<Window>{window("sang", 5, a, 6, 0)};
        }
        plan.areas.push_back(commune);
        plan.nodes.push_back(speaker("n" + std::to_string(a), commune.path));
        plan.items.push_back(audio("i" + std::to_string(a), 30 + a));
        plan.campaigns.push_back(campaign("c" + std::to_string(a), {commune.path},
                                          {"i" + std::to_string(a)}, kMonday, day(2026, 12, 6), 2));
    }
    PlanCompiler one;
    PlanCompiler two;
    auto a = one.compile(plan, {kMonday, 7}, 1);
    auto b = two.compile(plan, {kMonday, 7}, 2);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->timelines.size() == b->timelines.size());
    for (std::size_t i = 0; i < a->timelines.size(); ++i) {
        CHECK(a->timelines[i]->hash == b->timelines[i]->hash);
    }
    CHECK(a->node_timeline == b->node_timeline);
}

TEST_CASE("check: invalid plans are refused with the line and the reason") {
    Plan plan = one_area({window("sang", 5, 0, 6, 0)});
    plan.items.push_back(audio("a", 60));
    plan.campaigns.push_back(campaign("c", {"vn"}, {"a"}, kMonday, kMonday, 1));
    auto problems_of = [](const Plan& p) {
        std::string all;
        for (const auto& problem : check_plan(p)) {
            all += std::to_string(problem.line) + ": " + problem.what + "\n";
        }
        return all;
    };
    REQUIRE(problems_of(plan).empty());

    SECTION("a node in an unknown area") {
        plan.nodes.push_back(speaker("lost", "vn/nowhere"));
        plan.nodes.back().origin.line = 12;
        CHECK(problems_of(plan) == "12: node 'lost': unknown area 'vn/nowhere'\n");
    }
    SECTION("a window ending before it starts") {
        (*plan.areas[0].windows)[0] = window("sang", 7, 0, 6, 0);
        (*plan.areas[0].windows)[0].origin.line = 4;
        CHECK(problems_of(plan).find("4: area 'vn' window 'sang': it ends before it starts") == 0);
    }
    SECTION("a quota on a node kind that cannot play the items") {
        plan.campaigns[0].node_kinds = {NodeKind::panel};
        plan.campaigns[0].origin.line = 30;
        CHECK(problems_of(plan).find("30: campaign 'c': its quotas ask panel nodes for plays, but "
                                     "a panel cannot play any of its items (audio)") == 0);
    }
    SECTION("lunar day 31") {
        plan.events.push_back(Event{"x", "X", true, 3, 31, false, {40}});
        CHECK(problems_of(plan).find("40: event 'x': lunar day 31 does not exist") == 0);
    }
    SECTION("a campaign anchored on an unknown event, with no period") {
        plan.campaigns[0].period = Period{};
        plan.campaigns[0].period.event = "tet";
        CHECK(problems_of(plan).find("campaign 'c': unknown event 'tet'") != std::string::npos);
    }
}
