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
# The node agent as a field device builds it: only protocol, the media store and the node, with
# no FFmpeg looked for (LOA_NODE_ONLY). A controller-only dependency creeping into the node
# fails here.
cmake -S . -B "$build-node" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOA_WERROR="$werror" -DLOA_NODE_ONLY=ON
cmake --build "$build-node" -j"$(nproc)" --target loa-node
cd "$build"
# One test at a time: the end-to-end scenarios are timed by the wall clock (plays start on
# schedule), and two cores shared with parallel tests would make them flaky.
ctest --output-on-failure --timeout 300 "$@"
