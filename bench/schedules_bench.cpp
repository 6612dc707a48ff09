// Nation-scale benchmark of the schedules engine: a synthetic plan of ~3,300 communes, ~100,000
// nodes and 200 campaigns compiled over 7 days, then recompiled after one campaign edit.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "loa/schedules/plan_compiler.hpp"

using namespace loa::schedules;

namespace {

constexpr std::int64_t kSec = 1'000'000;

struct Shape {
    int provinces = 63;
    int districts_per_province = 11;
    int communes_per_district = 5;  // 63 × 11 × 5 ≈ 3,465 communes
    int speakers_per_commune = 28;  // ≈ 97,000 speakers
    int panel_every = 3;            // a panel in every third commune
    int campaigns = 200;
    int load = 1;  ///< quota multiplier: 3 or more makes many classes infeasible
};

Window window(const char* name, int start, int end) {
    Window w;
    w.name = name;
    w.start_minute = start;
    w.end_minute = end;
    return w;
}

Item audio(const std::string& id, int seconds, bool hmong) {
    Item i;
    i.id = id;
    i.title = "Bản tin " + id;
    i.kind = ItemKind::audio;
    i.variants.push_back({"vi", "media-" + id, seconds * kSec});
    if (hmong) {
        i.variants.push_back({"hmn", "media-" + id + "-hmn", (seconds + 15) * kSec});
    }
    return i;
}

Plan make_plan(const Shape& shape, unsigned seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Plan plan;
    Area vn;
    vn.path = "vn";
    vn.name = "Việt Nam";
    vn.windows = std::vector<Window>{window("sang", 5 * 60 + 30, 6 * 60 + 30),
                                     window("chieu", 17 * 60, 18 * 60)};
    vn.sessions_per_day = 2;
    vn.minutes_per_session = 45;
    plan.areas.push_back(vn);
    std::vector<std::string> provinces, districts, communes;
    for (int p = 0; p < shape.provinces; ++p) {
        Area a;
        a.path = fmt::format("vn/p{:02}", p);
        a.name = fmt::format("Tỉnh {}", p);
        if (p % 7 == 0) {
            a.languages = {"vi", "hmn"};  // northern mountain provinces
        }
        provinces.push_back(a.path);
        plan.areas.push_back(a);
        for (int d = 0; d < shape.districts_per_province; ++d) {
            Area da;
            da.path = fmt::format("{}/d{:02}", a.path, d);
            da.name = fmt::format("Huyện {}", d);
            if (d % 4 == 3) {
                da.minutes_per_session = 30;  // a stricter local rule
            }
            districts.push_back(da.path);
            plan.areas.push_back(da);
            for (int c = 0; c < shape.communes_per_district; ++c) {
                Area ca;
                ca.path = fmt::format("{}/x{:02}", da.path, c);
                ca.name = fmt::format("Xã {}", c);
                if (c % 2 == 1) {
                    // Many commune stations keep their own session times.
                    const int shift = 15 * pick(1, 4);
                    ca.windows =
                        std::vector<Window>{window("sang", 5 * 60 + shift, 6 * 60 + 30 + shift),
                                            window("chieu", 17 * 60 + shift, 18 * 60 + shift)};
                }
                communes.push_back(ca.path);
                plan.areas.push_back(ca);
                for (int n = 0; n < shape.speakers_per_commune; ++n) {
                    plan.nodes.push_back(
                        {fmt::format("{}-{:02}", ca.path, n), ca.path, NodeKind::speaker, {}});
                }
                if (communes.size() % static_cast<std::size_t>(shape.panel_every) == 0) {
                    plan.nodes.push_back({ca.path + "-panel", ca.path, NodeKind::panel, {}});
                }
            }
        }
    }
    const Date first{std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{1}};
    const Date last{std::chrono::year{2027}, std::chrono::month{1}, std::chrono::day{31}};
    for (int k = 0; k < shape.campaigns; ++k) {
        Campaign c;
        c.id = fmt::format("camp-{:03}", k);
        c.title = fmt::format("Chiến dịch {}", k);
        c.owner = "Sở TT&TT";
        c.period.first = first;
        c.period.last = last;
        // 8 national, 62 provincial, 100 district and 30 commune campaigns.
        if (k < 8) {
            c.areas = {"vn"};
        } else if (k < 70) {
            c.areas = {provinces[static_cast<std::size_t>(k - 8) % provinces.size()]};
        } else if (k < 170) {
            c.areas = {districts[static_cast<std::size_t>(
                pick(0, static_cast<int>(districts.size()) - 1))]};
        } else {
            c.areas = {
                communes[static_cast<std::size_t>(pick(0, static_cast<int>(communes.size()) - 1))]};
        }
        if (k % 10 == 0) {
            c.priority = Priority::priority;
        }
        const int items = pick(1, 2);
        for (int i = 0; i < items; ++i) {
            const std::string id = fmt::format("{}-{}", c.id, i);
            plan.items.push_back(audio(id, pick(45, 150), k % 3 == 0));
            c.items.push_back(id);
        }
        if (k % 25 == 0) {
            Item slide;
            slide.id = c.id + "-slide";
            slide.kind = ItemKind::slide;
            slide.variants.push_back({"vi", "media-" + slide.id, 30 * kSec});
            plan.items.push_back(slide);
            c.items.push_back(slide.id);
        }
        if (k % 2 == 0) {
            c.quotas.plays_per_day = shape.load;
        } else {
            c.quotas.airtime_us = shape.load * pick(3, 8) * 60 * kSec;
            c.quotas.airtime_per = AirtimePer::week;
        }
        c.quotas.separation_minutes = k % 3 == 0 && k % 25 != 0 ? 120 : 0;
        plan.campaigns.push_back(c);
    }
    return plan;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

long peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Compile a nation-scale synthetic plan and report time and memory."};
    Shape shape;
    unsigned threads = 0;
    int days = 7;
    app.add_option("--provinces", shape.provinces, "provinces");
    app.add_option("--speakers-per-commune", shape.speakers_per_commune, "speakers per commune");
    app.add_option("--campaigns", shape.campaigns, "campaigns");
    app.add_option("--load", shape.load, "quota multiplier (3+: many classes cannot meet them)");
    app.add_option("--days", days, "horizon in days");
    app.add_option("--threads", threads, "worker threads (0: all cores)");
    CLI11_PARSE(app, argc, argv);

    const Plan plan = make_plan(shape, 2026);
    std::size_t communes = 0;
    for (const auto& a : plan.areas) {
        communes += std::count(a.path.begin(), a.path.end(), '/') == 3 ? 1 : 0;
    }
    fmt::print("plan: {} areas ({} communes), {} nodes, {} campaigns, {} items, {} days\n",
               plan.areas.size(), communes, plan.nodes.size(), plan.campaigns.size(),
               plan.items.size(), days);

    PlanCompiler compiler;
    const Horizon horizon{
        Date{std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{30}}, days};
    auto t0 = std::chrono::steady_clock::now();
    auto full = compiler.compile(plan, horizon, threads);
    const double full_s = seconds_since(t0);
    if (!full) {
        fmt::print(stderr, "plan invalid: {}\n", full.error().front().what);
        return 2;
    }
    std::size_t plays = 0;
    for (const auto& t : full->timelines) {
        plays += t->plays.size();
    }
    fmt::print(
        "full compile: {:.2f} s, {} node classes solved ({} by exact search), {} timelines "
        "({} plays), feasible: {}\n",
        full_s, full->classes_computed, full->classes_searched, full->timelines.size(), plays,
        full->feasible);

    int shown = 0;
    for (const auto& q : full->quotas) {
        if (!q.met && shown++ < 8) {
            fmt::print("  unmet: {} {} {} {} required {} scheduled {} {} ({})\n", q.campaign,
                       q.quota, q.scope, q.period, q.required, q.scheduled, q.unit, q.reason);
        }
    }

    // One edit of a district campaign, then one of a national campaign.
    for (int edited : {120, 3}) {
        Plan edit = plan;
        auto& q = edit.campaigns[static_cast<std::size_t>(edited)].quotas;
        q.plays_per_day += 1;
        t0 = std::chrono::steady_clock::now();
        auto again = compiler.compile(edit, horizon, threads);
        const double again_s = seconds_since(t0);
        fmt::print("incremental after editing {} ({}): {:.3f} s, {} classes solved, {} reused\n",
                   edit.campaigns[static_cast<std::size_t>(edited)].id,
                   edit.campaigns[static_cast<std::size_t>(edited)].areas.front(), again_s,
                   again->classes_computed, again->classes_reused);
        compiler.compile(plan, horizon, threads);  // back to the original for the next edit
    }
    fmt::print("peak memory: {} MB\n", peak_rss_mb());
    return full->feasible ? 0 : 3;
}
