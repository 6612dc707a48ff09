#!/usr/bin/env bash
# Installs every Debian 12 package loa needs to build, test and run its quickstart. Idempotent.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git clang-format
  # deploy/test.sh builds with Ninja: it keeps both cores busy across targets, where make's
  # per-directory recursion leaves one idle at each library's link
  ninja-build
  # fuzzing (deploy/fuzz.sh): libFuzzer with ASan/UBSan. clang 19, not Debian's default clang 14:
  # 14 cannot compile libstdc++ 12's std::expected (it needs __cpp_concepts 202002 and
  # conditionally trivial destructors); libclang-rt-19-dev holds libclang_rt.fuzzer, llvm-19 the
  # llvm-symbolizer that puts file and line into the sanitizers' stack traces.
  clang-19 libclang-rt-19-dev llvm-19
  # media: GStreamer 1.22 and FFmpeg 5.1
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-alsa gstreamer1.0-tools
  # the node decodes panel video (gstreamer1.0-libav) and drives LED boards by KMS (plugins-bad)
  gstreamer1.0-libav gstreamer1.0-plugins-bad
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libebur128-dev
  # AMR-NB phone recordings with DTX (silence frames FFmpeg's own decoder refuses)
  libopencore-amrnb-dev
  # text slides for LED boards: Pango/Cairo and a font with every Vietnamese diacritic
  libpango1.0-dev libcairo2-dev fonts-dejavu-core
  # messaging, storage, crypto, serialisation
  libzmq3-dev cppzmq-dev libsqlite3-dev libsqlitecpp-dev sqlite3 libsodium-dev libssl-dev
  protobuf-compiler libprotobuf-dev
  # support libraries
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  # the controller's HTTP API (and loactl's client of it); daemons log to journald
  libcpp-httplib-dev libsystemd-dev
  # the controller's HTTP server: Boost.Beast on Asio (header-only), because cpp-httplib 0.11 has
  # no whole-request deadline and one thread per connection (docs/http-edge.md); openssl makes the
  # TLS test's certificate
  libboost-dev openssl
  # scheduling: time zones (IANA tz database), integer programming
  libhowardhinnant-date-dev tzdata libglpk-dev
  # tests and fixtures
  catch2 ffmpeg sox espeak-ng
  mosquitto libmosquitto-dev
  # the OpenAPI test (tests/controller/openapi_test.cpp): docs/openapi.json checked against the
  # official OpenAPI 3.0 JSON Schema, and real answers against it, with Debian's python3-jsonschema
  openapi-specification python3-jsonschema
  # the quickstart reads loactl --json output with python3
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
