// The node agent runs on small field devices: its executable must not pull in the controller's
// media stack (FFmpeg, Pango/Cairo, libebur128) or planning libraries (GLPK, libsodium).
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace {

// The DT_NEEDED entries of an ELF file, as readelf prints them: "... Shared library: [libx.so.1]".
std::set<std::string> needed_libraries(const std::string& file) {
    int status = 0;
    std::string out = loa::test::capture_shell("readelf -d '" + file + "'", &status);
    REQUIRE(status == 0);
    std::set<std::string> libs;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        auto open = line.find("Shared library: [");
        if (open == std::string::npos) {
            continue;
        }
        auto start = open + 17;
        libs.insert(line.substr(start, line.find(']', start) - start));
    }
    return libs;
}

bool any_starts_with(const std::set<std::string>& libs, const std::string& prefix) {
    for (const auto& lib : libs) {
        if (lib.starts_with(prefix)) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE(
    "loa-node links GStreamer, ZeroMQ and SQLite, and nothing of the controller's media stack") {
    const auto libs = needed_libraries(LOA_NODE_BIN);
    INFO("NEEDED: " << [&] {
        std::string all;
        for (const auto& lib : libs) {
            all += lib + " ";
        }
        return all;
    }());
    CHECK(any_starts_with(libs, "libgstreamer-1.0.so"));
    CHECK(any_starts_with(libs, "libzmq.so"));
    CHECK(any_starts_with(libs, "libsqlite3.so"));
    for (const char* banned : {"libavformat", "libavcodec", "libavutil", "libswresample",
                               "libebur128", "libpango", "libcairo", "libglpk", "libsodium"}) {
        INFO("must not need " << banned);
        CHECK_FALSE(any_starts_with(libs, banned));
    }
}
