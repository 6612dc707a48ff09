// The exact solver's crash path: a real GLPK error injected into a compile that needs the exact
// search becomes a reported solver error with the fast path's allocation, never an abort, and
// the next compile in the same process solves the class again and works.
#include <catch2/catch.hpp>

#include "loa/schedules/fault_injection.hpp"
#include "plan_fixture.hpp"

using namespace loa::schedules;
using namespace loa::schedules::testing;

namespace {

const Date kMonday = day(2026, 11, 30);

/// Two one-minute sessions a day in each area (at other hours in each, so that each area is a
/// node class of its own). "ca" asks two 29 s plays a day, "cb" one 50 s play. The fast path
/// spreads "ca" over both sessions and then has no room for "cb"; only the exact search finds
/// the answer (both "ca" plays in one session, "cb" in the other).
Plan needs_the_exact_search(const std::vector<std::string>& areas) {
    Plan plan;
    plan.areas.push_back(area("vn"));
    int hour = 6;
    for (const auto& path : areas) {
        plan.areas.push_back(area(
            path, {window("sang", hour, 0, hour, 1), window("chieu", hour + 11, 0, hour + 11, 1)}));
        plan.nodes.push_back(speaker(path + "-1", path));
        ++hour;
    }
    plan.items = {audio("a", 29), audio("b", 50)};
    plan.campaigns = {campaign("ca", {"vn"}, {"a"}, kMonday, kMonday, 2),
                      campaign("cb", {"vn"}, {"b"}, kMonday, kMonday, 1)};
    return plan;
}

}  // namespace

TEST_CASE("the test plan fits only through the exact search") {
    PlanCompiler compiler;
    auto out = compiler.compile(needs_the_exact_search({"vn/x"}), {kMonday, 1}, 1);
    REQUIRE(out);
    CHECK(out->feasible);
    CHECK(out->classes_searched == 1);
    CHECK(out->solver_errors.empty());
}

TEST_CASE("a GLPK error in a compile becomes a solver error and the next compile works") {
    const unsigned threads = GENERATE(1u, 2u);
    INFO("threads: " << threads);
    const Plan plan = needs_the_exact_search({"vn/x", "vn/y"});
    PlanCompiler compiler;

    fail_next_exact_solve();
    auto failed = compiler.compile(plan, {kMonday, 1}, threads);
    REQUIRE(failed);
    // One class hit the error (the fault is for one solve); it says where and what GLPK said.
    REQUIRE(failed->solver_errors.size() == 1);
    const std::string& error = failed->solver_errors.front();
    CHECK((error.starts_with("vn/x (speaker): ") || error.starts_with("vn/y (speaker): ")));
    CHECK_THAT(error, Catch::Matchers::Contains("glp_add_cols"));
    // Its plays are the fast path's: "cb" did not fit there, and the report says why.
    CHECK_FALSE(failed->feasible);
    const auto rows = details(*failed, "cb");
    REQUIRE(rows.size() == 1);
    CHECK(error.starts_with(rows[0].scope));
    CHECK(rows[0].shortfall == 1);
    CHECK_THAT(rows[0].reason, Catch::Matchers::Contains("the exact solver (GLPK) failed") &&
                                   Catch::Matchers::Contains("glp_add_cols"));
    CHECK(rows[0].reason.find("bộ giải chính xác") < rows[0].reason.find("the exact solver"));
    for (const auto& timeline : failed->timelines) {
        CHECK(no_overlap(*timeline));
    }

    // Same compiler, same process: the failed class is solved again, not taken from the cache.
    auto again = compiler.compile(plan, {kMonday, 1}, threads);
    REQUIRE(again);
    CHECK(again->feasible);
    CHECK(again->solver_errors.empty());
    CHECK(again->classes_computed == 1);
    CHECK(again->classes_reused == 1);
    CHECK(again->classes_searched == 1);
    const auto fresh = compile(plan, kMonday, 1);
    REQUIRE(fresh.timelines.size() == again->timelines.size());
    for (std::size_t i = 0; i < fresh.timelines.size(); ++i) {
        CHECK(fresh.timelines[i]->hash == again->timelines[i]->hash);
    }
}
