// Tests of the technician's hook commands (the amplifier's power): arguments, exit status,
// missing programs and the timeout that kills the hook's whole process group.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/core.h>

#include "hook_command.hpp"
#include "test_support.hpp"

using loa::node::detail::run_hook;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path script(const TempDir& tmp, const std::string& name, const std::string& body) {
    const fs::path file = tmp / name;
    loa::test::write_file(file, "#!/bin/sh\n" + body);
    fs::permissions(file, fs::perms::owner_all);
    return file;
}

// A process that is gone, or a zombie nobody reaped yet (in a container without an init).
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        return true;
    }
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string pid_text, name, state;
    stat >> pid_text >> name >> state;
    return !stat || state == "Z";
}

}  // namespace

TEST_CASE("a hook runs with its placeholders replaced, without a shell", "[node][hook]") {
    TempDir tmp;
    auto ran = run_hook(
        fmt::format("touch {}/amp-{{state}} {}/$HOME;", tmp.path().string(), tmp.path().string()),
        {{"state", "on"}}, 5s);
    INFO((ran ? "" : ran.error()));
    REQUIRE(ran);
    CHECK(fs::exists(tmp / "amp-on"));
    CHECK(fs::exists(tmp / "$HOME;"));  // no shell: nothing is expanded
}

TEST_CASE("a hook that exits non-zero or dies of a signal is an error saying how", "[node][hook]") {
    TempDir tmp;
    auto failed = run_hook("false {state}", {{"state", "off"}}, 5s);
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error(), Catch::Matchers::Contains("'false {state}'"));
    CHECK_THAT(failed.error(), Catch::Matchers::Contains("exited with status 1"));

    const fs::path killer = script(tmp, "killer.sh", "kill -9 $$\n");
    auto killed = run_hook(killer.string(), {}, 5s);
    REQUIRE_FALSE(killed);
    CHECK_THAT(killed.error(), Catch::Matchers::Contains("signal 9"));
}

TEST_CASE("a hook whose program does not exist is an error naming it", "[node][hook]") {
    auto missing = run_hook("/nonexistent/loa-amp {state}", {{"state", "on"}}, 5s);
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error(), Catch::Matchers::Contains("/nonexistent/loa-amp"));
    CHECK_THAT(missing.error(), Catch::Matchers::Contains("cannot run"));

    auto empty = run_hook("   ", {}, 5s);
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error(), Catch::Matchers::Contains("no command"));
}

TEST_CASE("a hung hook is killed at its timeout, with everything it started", "[node][hook]") {
    TempDir tmp;
    const fs::path pid_file = tmp / "child.pid";
    const fs::path hung = script(
        tmp, "hung.sh", fmt::format("sleep 30 &\necho $! > '{}'\nsleep 30\n", pid_file.string()));
    const auto begin = std::chrono::steady_clock::now();
    auto ran = run_hook(hung.string(), {}, 500ms);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    REQUIRE_FALSE(ran);
    CHECK_THAT(ran.error(), Catch::Matchers::Contains("killed after 500 ms"));
    CHECK(took >= 0.45);
    CHECK(took < 3.0);
    REQUIRE(loa::test::wait_until([&] { return fs::exists(pid_file); }, 2s));
    const pid_t child = std::stoi(loa::test::read_file(pid_file));
    CHECK(loa::test::wait_until([&] { return process_gone(child); }, 2s));
}
