// Fuzzes the TOML plan file parser (controller::parse_plan), then the plan checker on what parses.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "loa/controller/plans/plan_file.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "fuzz_plan_file: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace loa;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto plan = controller::parse_plan(text, "fuzz.toml");
    if (plan) {
        // Operators run `loactl plan check` on whatever parses: it must not fall over either.
        (void)schedules::check_plan(*plan);
        return 0;
    }
    // A refusal names at least one problem, each at a place inside the text.
    if (plan.error().empty()) {
        broken("a plan refused without a problem");
    }
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& problem : plan.error()) {
        if (problem.what.empty() || problem.line < 0 || problem.column < 0 ||
            problem.line > lines) {
            broken("a problem without a reason or outside the text");
        }
    }
    return 0;
}
