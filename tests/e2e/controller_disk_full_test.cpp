// A real loa-controller on a small tmpfs of its own (a private mount namespace) whose disk fills
// and empties again: reads and sign-in go on, changes are refused with 507, nodes' reports wait
// in their outboxes and are stored once when space returns (issue 18, point 10).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <httplib.h>

#include "scenario.hpp"

using namespace loa::e2e;

namespace {

/// Fills the file system holding `file` until it refuses with ENOSPC; the bytes written.
std::uint64_t fill_until_full(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> block(1 << 20, 'x');
    std::uint64_t written = 0;
    // Big pieces first, then small ones: the last page of the file system is taken too.
    for (std::size_t piece : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{1}}) {
        for (;;) {
            const ssize_t n = ::write(fd, block.data(), piece);
            if (n <= 0) {
                REQUIRE(errno == ENOSPC);
                break;
            }
            written += static_cast<std::uint64_t>(n);
        }
    }
    ::close(fd);
    return written;
}

/// Counts `needle` in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

/// First column of the first row of `sql`, read-only on the database `db` as the process `pid`
/// sees it (in its mount namespace); nullopt when it cannot be read. Not through
/// /proc/<pid>/root: SQLite resolves that link to this namespace's root, and would read the
/// directory under the tmpfs.
std::optional<std::int64_t> scalar_in(pid_t pid, const fs::path& db, const std::string& sql) {
    const std::string script =
        "import sqlite3, sys\n"
        "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=2)\n"
        "r = c.execute(sys.argv[2]).fetchone()\n"
        "print('' if r is None or r[0] is None else r[0])\n";
    int status = -1;
    const std::string out = loa::test::capture_shell(
        fmt::format("/usr/bin/nsenter --target {} --mount python3 -c {} {} {} 2>/dev/null", pid,
                    shell_quote(script), shell_quote(db.string()), shell_quote(sql)),
        &status);
    if (status != 0 || out.empty() || out == "\n") {
        return std::nullopt;
    }
    return std::stoll(out);
}

}  // namespace

TEST_CASE(
    "A controller whose disk is full answers reads and sign-in and refuses changes with 507 "
    "and stores the reports it refused once space returns",
    "[e2e]") {
    // A tmpfs mounted in a mount namespace of the controller's own: nothing of the host changes.
    INFO("this test mounts a tmpfs in a private mount namespace: run it as root");
    REQUIRE(::geteuid() == 0);

    Scenario s;
    const std::string node = "ta-van-01";
    s.add_node(node);
    const std::vector<Bulletin> bulletins = {s.tone(2.0, 523.25), s.tone(2.0, 659.25),
                                             s.tone(2.0, 784.0)};
    const std::string token = admin_token(s.controller_data());
    const fs::path data = s.controller_data();

    // The data directory as it is now is copied onto a 24 MiB tmpfs mounted over it, inside the
    // controller's namespace; the test reaches that file system through /proc/<pid>/root.
    s.start_controller({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                        "cp -a \"$0\" \"$0.seed\" && mount -t tmpfs -o size=24m,mode=0700 "
                        "loa-disk-full \"$0\" && cp -a \"$0.seed/.\" \"$0/\" && rm -rf "
                        "\"$0.seed\" && exec \"$@\"",
                        data.string()});
    const fs::path inside =
        fs::path("/proc") / std::to_string(s.controller_pid()) / "root" / data.relative_path();
    const pid_t pid = s.controller_pid();
    auto controller_scalar = [&](const std::string& sql) {
        return scalar_in(pid, data / "controller.db", sql);
    };
    E2E_REQUIRE(s, controller_scalar("SELECT count(*) FROM nodes") == 1);

    s.start_node(node);
    bool hello = loa::test::wait_until(
        [&] {
            return controller_scalar("SELECT count(*) FROM nodes WHERE last_seen_us IS NOT NULL") ==
                   1;
        },
        10s);
    E2E_REQUIRE(s, hello);
    s.add_campaign("truoc-khi-day", bulletins, 12);
    const std::int64_t planned =
        controller_scalar("SELECT count(*) FROM slots WHERE campaign_id = 'truoc-khi-day'")
            .value_or(-1);
    E2E_REQUIRE(s, planned == 3);
    bool ready = loa::test::wait_until(
        [&] {
            bool media = true;
            for (const auto& b : bulletins) {
                media = media && fs::exists(s.node_data(node) / "media" / b.hash);
            }
            return media && s.node_scalar(node, "SELECT count(*) FROM slots") == planned;
        },
        10s);
    E2E_REQUIRE(s, ready);

    // ---- the disk fills
    const std::uint64_t ballast = fill_until_full(inside / "ballast");
    INFO("ballast: " << ballast << " bytes");
    // The controller's own small file system was filled, not the host's directory under it.
    E2E_REQUIRE(s, ballast < 24u * 1024 * 1024);
    E2E_REQUIRE(s, !fs::exists(data / "ballast"));
    const std::string log_file = (s.logs() / "controller.log").string();

    httplib::Client api("127.0.0.1", std::stoi(s.api_url().substr(s.api_url().rfind(':') + 1)));
    api.set_read_timeout(30, 0);
    const httplib::Headers admin{{"Authorization", "Bearer " + token}};

    // Reads answer as before; a token's last use waits for room and refuses nobody.
    for (const std::string& path : std::vector<std::string>{
             "/api/v1/nodes", "/api/v1/nodes/" + node, "/api/v1/node-status", "/api/v1/campaigns",
             "/api/v1/reports/airtime?campaign=truoc-khi-day&from=now-1h&to=now%2B1h"}) {
        auto got = api.Get(path, admin);
        E2E_REQUIRE(s, got);
        INFO(path << ": " << got->body);
        E2E_CHECK(s, got->status == 200);
    }
    int status = -1;
    std::string out =
        loa::test::capture_shell(fmt::format("LOA_TOKEN={} {} --controller {} node status 2>&1",
                                             shell_quote(token), LOA_LOACTL_BIN, s.api_url()),
                                 &status);
    INFO("loactl node status: " << out);
    E2E_CHECK(s, status == 0);
    E2E_CHECK(s, out.find(node) != std::string::npos);

    // Sign-in works: the token is held in memory until it can be written.
    auto login = api.Post("/api/v1/login",
                          nlohmann::json{{"name", "admin"}, {"password", kAdminPassword}}.dump(),
                          "application/json");
    E2E_REQUIRE(s, login);
    INFO("login: " << login->body);
    E2E_REQUIRE(s, login->status == 201);
    const std::string held = nlohmann::json::parse(login->body).at("token").get<std::string>();
    auto whoami = api.Get("/api/v1/whoami", {{"Authorization", "Bearer " + held}});
    E2E_REQUIRE(s, whoami);
    E2E_CHECK(s, whoami->status == 200);
    const auto tokens_before = controller_scalar("SELECT count(*) FROM api_tokens");

    // A change is refused with 507 and its reason, and changes nothing.
    const auto campaigns_before = controller_scalar("SELECT count(*) FROM campaigns");
    const auto slots_before = controller_scalar("SELECT count(*) FROM slots");
    out = loa::test::capture_shell(
        fmt::format("LOA_TOKEN={} {} --controller {} campaign add trong-khi-day --name {} "
                    "--owner {} --item {} --area {} --start now+60s --end now+10m 2>&1",
                    shell_quote(token), LOA_LOACTL_BIN, s.api_url(), shell_quote("Đĩa đầy"),
                    shell_quote("UBND xã Tả Van"), bulletins[0].hash, kArea),
        &status);
    INFO("loactl campaign add: " << out);
    E2E_CHECK(s, status == 4);
    E2E_CHECK(s, out.find("đĩa của máy điều khiển đã đầy") != std::string::npos);
    E2E_CHECK(s, out.find("the controller's disk is full") != std::string::npos);
    E2E_CHECK(s, out.find("trong-khi-day") != std::string::npos);
    E2E_CHECK(s, out.find("nothing changed") != std::string::npos);
    auto added =
        api.Post("/api/v1/nodes", admin,
                 nlohmann::json{{"node", "ta-van-02"}, {"kind", "speaker"}, {"area", kArea}}.dump(),
                 "application/json");
    E2E_REQUIRE(s, added);
    INFO("POST /api/v1/nodes: " << added->body);
    E2E_CHECK(s, added->status == 507);
    auto refusal = nlohmann::json::parse(added->body, nullptr, false);
    E2E_CHECK(s, refusal["error"]["code"] == "storage_full");
    // An upload is refused from its headers, before its bytes are taken.
    const std::string wav(64 * 1024, '\0');
    auto upload = api.Post("/api/v1/media?name=day.wav", admin, wav, "audio/wav");
    E2E_REQUIRE(s, upload);
    INFO("upload: " << upload->body);
    E2E_CHECK(s, upload->status == 507);
    E2E_CHECK(s, upload->body.find("storage_full") != std::string::npos);
    E2E_CHECK(s, controller_scalar("SELECT count(*) FROM campaigns") == campaigns_before);
    E2E_CHECK(s, controller_scalar("SELECT count(*) FROM slots") == slots_before);
    E2E_CHECK(s, controller_scalar("SELECT count(*) FROM nodes") == 1);

    // The node plays on; its reports are refused, not acked: they stay in its outbox.
    bool played = loa::test::wait_until(
        [&] { return s.node_scalar(node, "SELECT count(*) FROM outbox").value_or(0) == planned; },
        40s);
    E2E_REQUIRE(s, played);
    std::this_thread::sleep_for(7s);  // two report retries (3 s each) and more
    E2E_CHECK(s, s.node_scalar(node, "SELECT count(*) FROM outbox") == planned);
    E2E_CHECK(s, controller_scalar("SELECT count(*) FROM confirmations") == 0);
    E2E_REQUIRE(s, s.controller_running());
    std::string log = loa::test::read_file(log_file);
    E2E_CHECK(s, occurrences(log, "is full: every change is refused") == 1);

    // ---- space returns: no restart
    fs::remove(inside / "ballast");
    bool delivered = loa::test::wait_until(
        [&] {
            return controller_scalar("SELECT count(*) FROM confirmations") == planned &&
                   s.node_scalar(node, "SELECT count(*) FROM outbox") == 0;
        },
        30s);
    E2E_REQUIRE(s, delivered);
    // Once each, for the slots booked.
    E2E_CHECK(s, controller_scalar("SELECT count(DISTINCT seq) FROM confirmations") == planned);
    E2E_CHECK(s, controller_scalar("SELECT count(DISTINCT c.slot_id) FROM confirmations c JOIN "
                                   "slots s ON s.node_id = c.node_id AND s.slot_id = c.slot_id") ==
                     planned);
    // Changes work again; the token held in memory was written and still works.
    auto report = s.loactl(fmt::format(
        "campaign add sau-khi-day --name {} --owner {} --item {} --area {} --start "
        "now+60s --end now+10m",
        shell_quote("Đĩa đã có chỗ"), shell_quote("UBND xã Tả Van"), bulletins[1].hash, kArea));
    E2E_CHECK(s, report["campaign"] == "sau-khi-day");
    bool written = loa::test::wait_until(
        [&] {
            (void)api.Get("/api/v1/whoami", {{"Authorization", "Bearer " + held}});
            return controller_scalar("SELECT count(*) FROM api_tokens") ==
                   tokens_before.value_or(0) + 1;
        },
        15s);
    E2E_CHECK(s, written);
    whoami = api.Get("/api/v1/whoami", {{"Authorization", "Bearer " + held}});
    E2E_REQUIRE(s, whoami);
    E2E_CHECK(s, whoami->status == 200);
    log = loa::test::read_file(log_file);
    E2E_CHECK(s, occurrences(log, "is full: every change is refused") == 1);
    E2E_CHECK(s, occurrences(log, "changes are stored again") == 1);
    E2E_CHECK(s, s.controller_running());
}
