// A real loa-controller attacked over HTTP as a stranger would: 20 MB of '[' at the login, 1 MiB of
// nesting at the open routes, a 4 MiB login name, names that drive a terminal; its memory measured
// from /proc, its action log read back with loactl. And the flags that open /metrics and bound
// tokens' lifetime.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <fstream>
#include <thread>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "raw_http_client.hpp"
#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using namespace std::chrono_literals;
using loa::e2e::shell_quote;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

/// The resident set of process `pid` in bytes (0 when it is gone).
std::uint64_t resident_bytes_of(pid_t pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stoull(line.substr(6)) * 1024;
        }
    }
    return 0;
}

/// Samples another process's resident set every 5 ms until stop().
class ChildRss {
  public:
    explicit ChildRss(pid_t pid) : pid_(pid), baseline_(resident_bytes_of(pid)), peak_(baseline_) {
        thread_ = std::thread([this] {
            while (!done_) {
                peak_ = std::max<std::uint64_t>(peak_, resident_bytes_of(pid_));
                std::this_thread::sleep_for(5ms);
            }
        });
    }
    ~ChildRss() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::uint64_t peak_growth() const { return peak_ - baseline_; }

  private:
    pid_t pid_;
    std::uint64_t baseline_;
    std::atomic<std::uint64_t> peak_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

/// A loa-controller process over a data directory whose first admin exists, with its HTTP API on
/// a free loopback port.
class Daemon {
  public:
    explicit Daemon(const std::vector<std::string>& extra = {}) {
        admin_ = loa::e2e::admin_token(data());
        std::vector<std::string> argv{LOA_CONTROLLER_BIN,
                                      "--data",
                                      data().string(),
                                      "--bind",
                                      fmt::format("tcp://127.0.0.1:{}", free_tcp_port()),
                                      "--enroll-bind",
                                      "none",
                                      "--http-bind",
                                      fmt::format("127.0.0.1:{}", port_)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process_ = std::make_unique<Process>(argv, log());
        const bool up = wait_until(
            [&] {
                return read_file(log()).find("HTTP API on") != std::string::npos ||
                       !process_->running();
            },
            10s);
        INFO(read_file(log()));
        REQUIRE(up);
        REQUIRE(process_->running());
    }

    int port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    fs::path data() const { return dir_ / "data"; }
    fs::path log() const { return dir_ / "controller.log"; }
    const std::string& admin() const { return admin_; }
    std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

    /// One request on a connection of its own; the answer (status 0: none).
    RawResponse request(const std::string& method, const std::string& path,
                        const std::string& body = {}, const std::string& headers = {}) const {
        RawClient client(port_);
        std::string head =
            fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}", method, path, headers);
        if (method != "GET") {
            head += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n",
                                body.size());
        }
        // Sent as fast as the server takes it, the answer read as soon as it comes: a refusal
        // may come before the body is sent, and the connection then closes.
        return client.blast(head + "\r\n", body.size(),
                            [&](std::uint64_t at, char* out, std::size_t size) {
                                std::memcpy(out, body.data() + at, size);
                            });
    }

    /// Rows of the action log, and the bytes their fields hold.
    std::pair<std::int64_t, std::int64_t> log_size() const {
        SQLite::Database db((data() / "controller.db").string(), SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        SQLite::Statement q(db,
                            "SELECT count(*), coalesce(sum(length(CAST(actor AS BLOB)) + "
                            "length(CAST(actor_role AS BLOB)) + length(CAST(action AS BLOB)) + "
                            "length(CAST(target AS BLOB)) + length(CAST(area_path AS BLOB)) + "
                            "length(CAST(detail AS BLOB))), 0) FROM action_log");
        q.executeStep();
        return {q.getColumn(0).getInt64(), q.getColumn(1).getInt64()};
    }

    /// Runs loactl against the daemon with `token`; its exit status and stdout (stderr in `err`).
    std::string loactl(const std::string& token, const std::string& args, int* status,
                       std::string* err = nullptr, const std::string& input = {}) const {
        const fs::path errors = dir_ / "loactl.err";
        const std::string feed =
            input.empty() ? "" : fmt::format("printf '%s\\n' {} | ", shell_quote(input));
        std::string out =
            capture_shell(fmt::format("{}env -u LOA_TOKEN {}{} --controller {} {} 2>{}", feed,
                                      token.empty() ? "" : "LOA_TOKEN=" + shell_quote(token) + " ",
                                      LOA_LOACTL_BIN, url(), args, shell_quote(errors.string())),
                          status);
        if (err != nullptr) {
            *err = read_file(errors);
        }
        return out;
    }

  private:
    TempDir dir_;
    int port_ = free_tcp_port();
    std::string admin_;
    std::unique_ptr<Process> process_;
};

void fill_brackets(std::uint64_t, char* out, std::size_t size) {
    std::memset(out, '[', size);
}

}  // namespace

TEST_CASE(
    "a real controller answers 20 MB of open brackets at the login with 413 and its memory "
    "stays flat") {
    Daemon daemon;
    const bool chunked = GENERATE(false, true);
    CAPTURE(chunked);
    constexpr std::uint64_t kAttack = 20 * kMiB;
    ChildRss rss(daemon.pid());
    RawClient attacker(daemon.port());
    RawResponse answer;
    if (!chunked) {
        answer = attacker.blast(
            fmt::format("POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        "application/json\r\nContent-Length: {}\r\n\r\n",
                        kAttack),
            kAttack, fill_brackets);
    } else {
        const std::string frame = fmt::format("{:x}\r\n", 65'536 - 8);
        answer = attacker.blast(
            "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            kAttack, [&](std::uint64_t, char* out, std::size_t size) {
                std::memset(out, '[', size);
                if (size == 65'536) {
                    std::memcpy(out, frame.data(), frame.size());
                    std::memcpy(out + size - 2, "\r\n", 2);
                }
            });
    }
    rss.stop();
    CHECK(answer.status == 413);
    CHECK_THAT(answer.body, Contains("1048576"));
    INFO("peak RSS growth " << rss.peak_growth() / 1024 << " KiB");
    CHECK(rss.peak_growth() < 50 * kMiB);
    // Still serving.
    CHECK(daemon
              .request("GET", "/api/v1/whoami", {},
                       "Authorization: Bearer " + daemon.admin() + "\r\n")
              .status == 200);
}

TEST_CASE("a real controller refuses 1 MiB of nesting at its open routes with 400, cheaply",
          "[timing]") {
    Daemon daemon;
    const std::string path = GENERATE(std::string("/api/v1/login"), std::string("/api/v1/users"));
    CAPTURE(path);
    ChildRss rss(daemon.pid());
    const auto start = std::chrono::steady_clock::now();
    auto answer = daemon.request("POST", path, std::string(kMiB, '['));
    const auto took = std::chrono::steady_clock::now() - start;
    rss.stop();
    CHECK(answer.status == 400);
    CHECK_THAT(answer.body, Contains("64"));
    CHECK(took < 1s);
    INFO("peak RSS growth " << rss.peak_growth() / 1024 << " KiB");
    // The body itself is 1 MiB; parsing it would have cost about 75 bytes a level.
    CHECK(rss.peak_growth() < 16 * kMiB);
}

TEST_CASE(
    "a real controller keeps a 4 MiB login name or one that drives a terminal out of its log") {
    Daemon daemon;
    const auto before = daemon.log_size();
    // Larger than any JSON body: refused from its length, nothing read, nothing logged.
    auto huge = daemon.request(
        "POST", "/api/v1/login",
        nlohmann::json{{"name", std::string(4 * kMiB, 'a')}, {"password", "mat-khau"}}.dump());
    CHECK(huge.status == 413);
    // Under the body limit: refused as no possible user name, logged in a few hundred bytes.
    auto long_name = daemon.request(
        "POST", "/api/v1/login",
        nlohmann::json{{"name", std::string(1'000'000, 'a')}, {"password", "mat-khau"}}.dump());
    CHECK(long_name.status == 400);
    const std::string forged = "admin\x1b[2J\x1b[H\nFORGED | admin | user.add\r\x07";
    auto terminal = daemon.request(
        "POST", "/api/v1/login", nlohmann::json{{"name", forged}, {"password", "mat-khau"}}.dump());
    CHECK(terminal.status == 400);
    const auto after = daemon.log_size();
    CHECK(after.first - before.first == 2);
    CHECK(after.second - before.second < 4 * 1024);

    // The auditor's terminal gets the name escaped, never the bytes.
    int status = -1;
    std::string err;
    const std::string table =
        daemon.loactl(daemon.admin(), "log list --action access --lang en", &status, &err);
    INFO(table << err);
    CHECK(status == 0);
    CHECK_THAT(table, Contains("admin\\x1b[2J"));
    CHECK(table.find('\x1b') == std::string::npos);
    CHECK(table.find('\r') == std::string::npos);
    CHECK(table.find('\x07') == std::string::npos);
    CHECK(table.find("\nFORGED") == std::string::npos);
}

TEST_CASE(
    "loa-controller --metrics-open serves /metrics without a token, --max-token-days bounds "
    "tokens") {
    Daemon daemon({"--metrics-open", "--max-token-days", "7"});
    auto metrics = daemon.request("GET", "/metrics");
    CHECK(metrics.status == 200);
    CHECK_THAT(metrics.body, Contains("loa_http_requests_total"));

    int status = -1;
    std::string err;
    daemon.loactl("", "login admin --password-stdin --expires now+30d", &status, &err,
                  loa::e2e::kAdminPassword);
    CHECK(status == 1);
    CHECK_THAT(err, Contains("at most 7 days"));
    const std::string token =
        daemon.loactl("", "login admin --password-stdin", &status, &err, loa::e2e::kAdminPassword);
    INFO(err);
    REQUIRE(status == 0);
    CHECK_THAT(err, Contains("hết hạn"));
    SQLite::Database db((daemon.data() / "controller.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT expires_us - created_us FROM api_tokens ORDER BY token_id DESC "
                        "LIMIT 1");
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getInt64() == 7LL * 86'400'000'000);
}

TEST_CASE("loa-controller refuses a --max-token-days out of range") {
    TempDir dir;
    int status = -1;
    const std::string out =
        capture_shell(fmt::format("{} --data {} --max-token-days 0 2>&1", LOA_CONTROLLER_BIN,
                                  shell_quote((dir / "data").string())),
                      &status);
    CHECK(status != 0);
    CHECK_THAT(out, Contains("--max-token-days"));
}
