// Test-only fault injection into the schedules engine: makes the failures that must never take a
// controller down happen on demand, inside the real code paths.
#pragma once

namespace loa::schedules::testing {

/// The next exact solve in this process (on any thread) hits a real GLPK error: GLPK itself
/// raises it, from an API call with an invalid argument, as an internal solver failure would.
void fail_next_exact_solve();

}  // namespace loa::schedules::testing
