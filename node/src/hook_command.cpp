// posix_spawnp in its own process group, polled with waitpid, so a hung hook is killed whole.
#include "hook_command.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/core.h>

extern char** environ;

namespace loa::node::detail {

std::expected<void, std::string> run_hook(const std::string& command_template,
                                          const std::map<std::string, std::string>& values,
                                          std::chrono::milliseconds timeout,
                                          const std::atomic<bool>* cancel) {
    std::vector<std::string> args;
    std::istringstream words(command_template);
    for (std::string word; words >> word;) {
        for (const auto& [name, value] : values) {
            const std::string key = "{" + name + "}";
            for (auto at = word.find(key); at != std::string::npos; at = word.find(key, at)) {
                word.replace(at, key.size(), value);
                at += value.size();
            }
        }
        args.push_back(std::move(word));
    }
    if (args.empty()) {
        return std::unexpected(std::string("chưa cấu hình lệnh nào / no command configured"));
    }
    const std::string shown = fmt::format("'{}'", command_template);
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    if (spawned != 0) {
        return std::unexpected(fmt::format("{}: không chạy được {} / cannot run {}: {}", shown,
                                           args[0], args[0], std::strerror(spawned)));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            break;
        }
        if (done < 0 && errno != EINTR) {
            return std::unexpected(fmt::format("{}: mất dấu tiến trình / lost track of it: {}",
                                               shown, std::strerror(errno)));
        }
        if (cancel && cancel->load()) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return std::unexpected(fmt::format(
                "{}: dừng giữa chừng vì tác tử đang tắt / stopped: the agent is shutting down",
                shown));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return std::unexpected(fmt::format(
                "{}: bị dừng sau {} ms vì chưa xong / killed after {} ms without finishing", shown,
                timeout.count(), timeout.count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return {};
    }
    if (WIFEXITED(status)) {
        return std::unexpected(fmt::format("{}: kết thúc với mã {} / exited with status {}", shown,
                                           WEXITSTATUS(status), WEXITSTATUS(status)));
    }
    return std::unexpected(fmt::format("{}: bị dừng bởi tín hiệu {} / ended by signal {}", shown,
                                       WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                                       WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

}  // namespace loa::node::detail
