#!/usr/bin/env bash
# Builds loa and runs every test with ctest. Installs what it needs first.
# CI=true: warnings are errors, and the tests' output is shown on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
build=${LOA_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOA_WERROR="$werror" -DLOA_BUILD_TESTS=ON
cmake --build "$build" -j"$(nproc)"
cd "$build"
# One test at a time: the end-to-end scenarios are timed by the wall clock (plays start on
# schedule), and two cores shared with parallel tests would make them flaky.
ctest --output-on-failure --timeout 300 "$@"
