// The executables' command lines: bad input gets a clear message and a non-zero exit.
#include <catch2/catch.hpp>

#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;

TEST_CASE("loactl refuses a bad node with the reason, exit 1, and registers nothing") {
    TempDir dir;
    const auto data = dir / "data";
    std::string loactl =
        loa::e2e::as_admin(data) + std::string(LOA_LOACTL_BIN) + " --data " + data.string();
    int status = 0;
    std::string out =
        capture_shell(loactl + " node add ta-van-01 --kind radio --area vn/x 2>&1", &status);
    CHECK(status == 1);
    CHECK(out.find("'radio' is neither 'speaker' nor 'panel'") != std::string::npos);
    CHECK(capture_shell(loactl + " --json node list") == "[]\n");
}

TEST_CASE("loa-node refuses an unknown sink with exit 2") {
    int status = 0;
    std::string out = capture_shell(
        std::string(LOA_NODE_BIN) + " --id n1 --sink speakers --data /nonexistent 2>&1", &status);
    CHECK(status == 2);
    CHECK(out.find("speakers") != std::string::npos);
}
