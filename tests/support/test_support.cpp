// Implementation of the shared test helpers.
#include "test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

namespace loa::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
    const char* base = std::getenv("LOA_TEST_TMP");
    fs::path root = base ? fs::path(base) : fs::temp_directory_path();
    fs::create_directories(root);
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        fs::path candidate = root / fmt::format("loa-test-{:08x}", rd());
        if (fs::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("could not create a temporary directory under " + root.string());
}

TempDir::~TempDir() {
    // LOA_KEEP_TEST_DIRS=1 keeps every scratch directory, logs and databases, to look into.
    if (const char* keep = std::getenv("LOA_KEEP_TEST_DIRS"); keep != nullptr && *keep == '1') {
        return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
}

int run_shell(const std::string& command) {
    int status = std::system(command.c_str());
    if (status == -1) {
        throw std::runtime_error("could not run: " + command);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string capture_shell(const std::string& command, int* status) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) {
        throw std::runtime_error("could not run: " + command);
    }
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        out.append(buffer, n);
    }
    int rc = pclose(pipe);
    if (status) {
        *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    }
    return out;
}

void make_tone(const fs::path& out, double seconds, int rate, double frequency) {
    std::string cmd = fmt::format(
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i "
        "'sine=frequency={}:sample_rate={}:duration={}' "
        "-ac 1 -c:a pcm_s16le '{}'",
        frequency, rate, seconds, out.string());
    if (run_shell(cmd) != 0) {
        throw std::runtime_error("ffmpeg could not make the fixture " + out.string());
    }
}

void write_file(const fs::path& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) {
        throw std::runtime_error("could not write " + file.string());
    }
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return condition();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

int free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error("could not bind a loopback port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

Process::Process(std::vector<std::string> argv, const fs::path& log_file) {
    pid_ = ::fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        _exit(127);
    }
}

Process::~Process() {
    if (!reaped_) {
        kill_hard();
    }
}

bool Process::running() {
    if (reaped_) {
        return false;
    }
    pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
        reaped_ = true;
        return false;
    }
    return true;
}

void Process::kill_hard() {
    if (reaped_) {
        return;
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
}

int Process::terminate(std::chrono::milliseconds timeout) {
    if (!reaped_) {
        ::kill(pid_, SIGTERM);
        wait_until([this] { return !running(); }, timeout);
        if (!reaped_) {
            kill_hard();
            return -1;
        }
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

}  // namespace loa::test
