#!/usr/bin/env bash
# Builds loa and runs every test with ctest. Installs what it needs first.
# CI=true: warnings are errors, the tests' output is shown on failure, and the fuzz targets run
# briefly (deploy/fuzz.sh; also when LOA_FUZZ_SECONDS is set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
build=${LOA_BUILD_DIR:-build}
# Line tables only (-g1): backtraces keep file and line, and a file compiles in a fifth to two
# fifths less time than with full debug information (build by hand with -g for a debugger).
# A new build directory uses Ninja; one made before keeps its generator.
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
  -DLOA_WERROR="$werror")
generator() { [ -f "$1/CMakeCache.txt" ] || echo "-GNinja"; }
cmake $(generator "$build") -S . -B "$build" "${flags[@]}" -DLOA_BUILD_TESTS=ON
cmake --build "$build" -j"$(nproc)"
# The node agent as a field device builds it: only protocol, the media store and the node, with
# no FFmpeg looked for (LOA_NODE_ONLY). A controller-only dependency creeping into the node
# fails here.
cmake $(generator "$build-node") -S . -B "$build-node" "${flags[@]}" -DLOA_NODE_ONLY=ON
cmake --build "$build-node" -j"$(nproc)" --target loa-node
# In parallel: two slots per core, a test that computes takes two and an end-to-end scenario,
# which mostly waits, one. Tests that play on the wall clock, bound a time or load the whole
# machine are tagged so and run alone (tests/CMakeLists.txt, PROCESSORS and RUN_SERIAL).
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$((2 * $(nproc)))" "$@")
# Short fuzz runs (docs/security.md): each libFuzzer target for LOA_FUZZ_SECONDS (45 s in CI),
# in its own clang build (build-fuzz); any finding fails.
if [ "${CI:-}" = "true" ] || [ -n "${LOA_FUZZ_SECONDS:-}" ]; then
  bash deploy/fuzz.sh --seconds "${LOA_FUZZ_SECONDS:-45}"
fi
