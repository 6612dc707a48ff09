// The HTTP API attacked through its real edge on loopback: slow clients, cross-site requests,
// floods of bad tokens, password guessing from one address or many, parallel logins, tokens past
// their longest lifetime; what each costs and what reaches the action log.
#include <atomic>
#include <cstring>
#include <future>
#include <thread>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <catch2/catch.hpp>

#include "api_fixture.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/people/people.hpp"
#include "raw_http_client.hpp"

using namespace loa;
using namespace loa::test;
using namespace std::chrono_literals;
namespace lc = loa::controller;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

/// One request from the loopback address `source` on a connection of its own.
RawResponse raw_request(int port, const char* source, const std::string& method,
                        const std::string& path, const std::string& body = {},
                        const std::string& headers = {}) {
    RawClient client(port, source);
    std::string request =
        fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{}", method, path, port, headers);
    if (method != "GET") {
        request +=
            fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
    }
    request += "\r\n" + body;
    if (!client.send_all(request)) {
        return {};
    }
    return client.read_response(30s);
}

/// POST /api/v1/login from `source`.
RawResponse login(int port, const char* source, const std::string& name,
                  const std::string& password) {
    return raw_request(port, source, "POST", "/api/v1/login",
                       nlohmann::json{{"name", name}, {"password", password}}.dump());
}

std::string error_message(const RawResponse& answer) {
    auto j = nlohmann::json::parse(answer.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
}

std::string error_code(const RawResponse& answer) {
    auto j = nlohmann::json::parse(answer.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

/// A controller with no user yet, serving the API on 127.0.0.1.
struct EmptyApi : ControllerFixture {
    std::unique_ptr<lc::ApiServer> server;

    EmptyApi() {
        lc::ApiOptions options;
        options.port = 0;
        options.data_dir = dir.path();
        server = std::make_unique<lc::ApiServer>(options);
        REQUIRE(server->start());
    }
};

/// An ApiFixture whose limits a test chooses.
lc::ApiOptions with_limits(const lc::LoginLimits& limits) {
    lc::ApiOptions options;
    options.login_limits = limits;
    return options;
}

}  // namespace

TEST_CASE(
    "API attack: 200 slow clients dripping header bytes do not delay an authenticated request",
    "[api][attack][timing]") {
    ApiFixture api;
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 200; ++i) {
        slow.push_back(std::make_unique<RawClient>(api.server->port()));
    }
    const std::string head = "POST /api/v1/login HTTP/1.1\r\n";
    auto client = api.client();
    for (std::size_t round = 0; round < 3; ++round) {
        for (auto& s : slow) {
            CHECK(s->send_all(std::string(1, head[round])));
        }
        const auto start = std::chrono::steady_clock::now();
        auto me = client.Get("/api/v1/whoami", api.auth("operator"));
        const auto took = std::chrono::steady_clock::now() - start;
        REQUIRE(me);
        CHECK(me->status == 200);
        CHECK(took < 1s);
        if (round < 2) {
            std::this_thread::sleep_for(3s);  // one byte every 3 s, as the attack of issue 16
        }
    }
}

TEST_CASE("API attack: a cross-site POST cannot create the first admin, sign in or change anything",
          "[api][attack]") {
    EmptyApi c;
    const int port = c.server->port();
    const std::string first_admin = nlohmann::json{
        {"name", "quan-tri"},
        {"role", "admin"},
        {"area", "/"},
        {"password",
         "mat-khau-quan-tri"}}.dump();
    // A page on evil.example posting to the controller through a browser on its own machine.
    auto evil = raw_request(port, "127.0.0.1", "POST", "/api/v1/users", first_admin,
                            "Origin: http://evil.example\r\n");
    CHECK(evil.status == 403);
    CHECK_THAT(error_message(evil), Contains("cross-site") && Contains("evil.example"));
    auto fetch = raw_request(port, "127.0.0.1", "POST", "/api/v1/users", first_admin,
                             "Sec-Fetch-Site: cross-site\r\n");
    CHECK(fetch.status == 403);
    auto opaque =
        raw_request(port, "127.0.0.1", "POST", "/api/v1/users", first_admin, "Origin: null\r\n");
    CHECK(opaque.status == 403);
    CHECK(c.count("users") == 0);
    controller::ActionFilter filter;
    filter.action = "access.refused";
    auto refusals = lc::list_actions(*c.db, filter).value();
    REQUIRE(refusals.size() == 3);
    CHECK(refusals[0].detail.at("from") == "127.0.0.1");

    // The same request from the controller's own page (same origin) is a loactl-like request.
    auto same = raw_request(port, "127.0.0.1", "POST", "/api/v1/users", first_admin,
                            fmt::format("Origin: http://127.0.0.1:{}\r\n", port));
    CHECK(same.status == 201);
    CHECK(c.count("users") == 1);
    // A login forged by another site is refused too (login CSRF), before any password check.
    auto forged =
        raw_request(port, "127.0.0.1", "POST", "/api/v1/login",
                    nlohmann::json{{"name", "quan-tri"}, {"password", "mat-khau-quan-tri"}}.dump(),
                    "Origin: https://evil.example\r\n");
    CHECK(forged.status == 403);
    CHECK(c.count("api_tokens") == 0);
}

TEST_CASE("API attack: a flood of 500 bad tokens from one address adds at most 11 rows to the log",
          "[api][attack]") {
    ApiFixture api;
    const auto before = api.logged("access.refused").size();
    int refused = 0;
    for (int i = 0; i < 500; ++i) {
        auto answer = raw_request(api.server->port(), "127.0.0.7", "GET", "/api/v1/nodes", {},
                                  fmt::format("Authorization: Bearer loa_{:064x}\r\n", i));
        refused += answer.status == 401 ? 1 : 0;
    }
    CHECK(refused == 500);
    const auto rows = api.logged("access.refused").size() - before;
    CHECK(rows >= 1);
    CHECK(rows <= 11);
    // Another address is logged on its own: one flood does not hide other refusals.
    CHECK(api.get("/api/v1/nodes", "loa_" + std::string(64, '1')).status == 401);
    CHECK(api.logged("access.refused").size() - before == rows + 1);
}

TEST_CASE("API attack: five wrong passwords for a name lock it out for every address, with 429",
          "[api][attack][login]") {
    ApiFixture api;
    const int port = api.server->port();
    for (int i = 0; i < 5; ++i) {
        CHECK(login(port, "127.0.0.2", "operator", fmt::format("doan-sai-{}", i)).status == 403);
    }
    // Locked now: even the right password, even from elsewhere, is refused without being checked.
    auto locked = login(port, "127.0.0.3", "operator", "mật-khẩu-operator");
    CHECK(locked.status == 429);
    CHECK(error_code(locked) == "throttled");
    const int retry = std::atoi(locked.header("Retry-After").c_str());
    CHECK(retry > 14 * 60);
    CHECK(retry <= 15 * 60);
    const std::string message = error_message(locked);
    CHECK_THAT(message, Contains("quá nhiều lần đăng nhập sai") &&
                            Contains("too many failed sign-ins for 'operator'"));
    CHECK(message.find("quá nhiều") < message.find("too many"));  // Vietnamese first
    CHECK(api.logged("token.issue").empty());
    // The lockout is in the log, and the person's other ways in stay open: tokens, other names.
    auto refusals = api.logged("access.refused");
    REQUIRE(refusals.size() == 6);
    CHECK(refusals.back().actor == "operator");
    CHECK_THAT(refusals.back().detail.at("reason").get<std::string>(),
               Contains("too many failed sign-ins"));
    CHECK(api.get("/api/v1/whoami", "operator").status == 200);
    CHECK(login(port, "127.0.0.2", "approver", "mật-khẩu-approver").status == 201);
}

TEST_CASE("API attack: a success resets a name's failures, and a lockout ends after its window",
          "[api][attack][login]") {
    lc::LoginLimits limits;
    limits.lockout = 2s;
    ApiFixture api(with_limits(limits));
    const int port = api.server->port();
    for (int i = 0; i < 4; ++i) {
        CHECK(login(port, "127.0.0.2", "approver", "sai-mat-khau").status == 403);
    }
    CHECK(login(port, "127.0.0.2", "approver", "mật-khẩu-approver").status == 201);
    for (int i = 0; i < 4; ++i) {
        CHECK(login(port, "127.0.0.2", "approver", "sai-mat-khau").status == 403);
    }
    // Eight wrong and never locked: the success between cleared the count. Five in a row lock.
    CHECK(login(port, "127.0.0.2", "approver", "mật-khẩu-approver").status == 201);
    for (int i = 0; i < 5; ++i) {
        CHECK(login(port, "127.0.0.2", "approver", "sai-mat-khau").status == 403);
    }
    auto locked = login(port, "127.0.0.2", "approver", "mật-khẩu-approver");
    CHECK(locked.status == 429);
    CHECK(locked.header("Retry-After") == "2");
    std::this_thread::sleep_for(2100ms);
    CHECK(login(port, "127.0.0.2", "approver", "mật-khẩu-approver").status == 201);
}

TEST_CASE("API attack: twenty wrong passwords from one address lock that address out, not others",
          "[api][attack][login]") {
    ApiFixture api;
    const int port = api.server->port();
    // A different name each time: no name reaches its own limit.
    for (int i = 0; i < 20; ++i) {
        CHECK(login(port, "127.0.0.4", fmt::format("ai-do-{}", i), "mat-khau-doan").status == 403);
    }
    auto locked = login(port, "127.0.0.4", "operator", "mật-khẩu-operator");
    CHECK(locked.status == 429);
    CHECK_THAT(error_message(locked), Contains("127.0.0.4"));
    CHECK(login(port, "127.0.0.5", "operator", "mật-khẩu-operator").status == 201);
    // A login name that cannot be anyone's is refused at once and counts nothing.
    auto junk = login(port, "127.0.0.5", "Quản Trị\x1b[2J", "mat-khau-doan");
    CHECK(junk.status == 400);
    CHECK_THAT(error_message(junk), Contains("not a user name"));
}

TEST_CASE("API attack: parallel logins wait their turn for Argon2id, and memory stays bounded",
          "[api][attack][login]") {
    lc::LoginLimits limits;
    limits.password_wait = 300ms;
    ApiFixture api(with_limits(limits));
    const int port = api.server->port();
    RssSampler rss;
    constexpr int kLogins = 24;
    std::vector<std::future<RawResponse>> answers;
    for (int i = 0; i < kLogins; ++i) {
        // Three addresses, each below its limit; every name different.
        const char* source = i % 3 == 0 ? "127.0.0.8" : (i % 3 == 1 ? "127.0.0.9" : "127.0.0.10");
        answers.push_back(std::async(std::launch::async, [=] {
            return login(port, source, fmt::format("ai-do-{}", i), "mat-khau-doan");
        }));
    }
    int wrong = 0;
    int busy = 0;
    for (auto& f : answers) {
        auto answer = f.get();
        INFO(answer.head << answer.body);
        if (answer.status == 503) {
            ++busy;
            CHECK(answer.header("Retry-After") == "1");
            CHECK(error_code(answer) == "unavailable");
        } else {
            CHECK(answer.status == 403);
            ++wrong;
        }
    }
    rss.stop();
    CHECK(wrong + busy == kLogins);
    CHECK(busy > 0);  // 8 workers, 2 checking, 4 waiting at most: the rest are told to come back
    // Two checks at once cost 128 MiB; the 8 workers all checking would take 512 MiB.
    CHECK(rss.peak_growth() < 200 * kMiB);
    auto metrics = api.get("/metrics", "auditor");
    CHECK_THAT(metrics.body, Contains(fmt::format("loa_password_checks_refused_total {}\n", busy)));
}

TEST_CASE("API attack: a token past the longest lifetime is refused, and so is asking for one",
          "[api][attack][tokens]") {
    lc::ApiOptions options;
    options.max_token_lifetime_us = 7 * 86'400 * kSecondUs;
    ApiFixture api(options);
    // Made before the limit was lowered, or before there was one: "until revoked", 8 days old.
    auto operator_ = lc::find_user(*api.db, "operator").value();
    auto old = lc::write_directly(*api.db, [&](lc::WriteTx& tx) {
        return lc::issue_token(tx, operator_.user_id, "cũ", std::nullopt,
                               lc::now_us() - 8 * 86'400 * kSecondUs);
    });
    REQUIRE(old);
    auto refused = api.get("/api/v1/whoami", old->secret);
    CHECK(refused.status == 401);
    CHECK_THAT(refused.error(), Contains("7 ngày") && Contains("older than the longest"));
    auto listed = api.get("/api/v1/tokens?user=operator", "admin").json();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].at("state") == "expired");

    // Asking for longer, or for never, is refused with the limit named; nothing is issued.
    const auto issued_before = api.logged("token.issue").size();
    auto too_long =
        api.post("/api/v1/login", "",
                 {{"name", "operator"}, {"password", "mật-khẩu-operator"}, {"expires", "now+8d"}});
    CHECK(too_long.status == 400);
    CHECK_THAT(too_long.error(), Contains("7 ngày") && Contains("at most 7 days"));
    auto never = api.post("/api/v1/tokens", "operator", {{"expires", "never"}});
    CHECK(never.status == 400);
    CHECK_THAT(never.error(), Contains("never"));
    CHECK(api.logged("token.issue").size() == issued_before + 1);  // the refused issue, logged
    CHECK(api.logged("token.issue").back().outcome == lc::Outcome::refused);

    // Without an expiry a token lasts 30 days or the limit, whichever is shorter.
    auto default_login =
        api.post("/api/v1/login", "", {{"name", "operator"}, {"password", "mật-khẩu-operator"}});
    REQUIRE(default_login.status == 201);
    auto token = lc::find_token(*api.db, default_login.json().at("token_id").get<std::int64_t>());
    REQUIRE(token);
    REQUIRE(token->expires_us);
    CHECK(*token->expires_us - token->created_us == 7 * 86'400 * kSecondUs);
    auto within = api.post("/api/v1/tokens", "operator", {{"expires", "now+6d"}});
    CHECK(within.status == 201);
}

TEST_CASE("API: /metrics shows the HTTP edge's counters, the writer's and sign-in throttling",
          "[api][metrics]") {
    ApiFixture api;
    CHECK(api.get("/api/v1/nodes", "auditor").status == 200);
    CHECK(api.post("/api/v1/nodes", "operator",
                   {{"node", "ta-van-01"}, {"kind", "speaker"}, {"area", ApiFixture::kCommune}})
              .status == 201);
    RawClient big(api.server->port());
    auto too_big = big.blast(
        fmt::format("POST /api/v1/login HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                    2 * kMiB),
        2 * kMiB, [](std::uint64_t, char* out, std::size_t size) { std::memset(out, '[', size); });
    CHECK(too_big.status == 413);
    auto metrics = api.get("/metrics", "auditor");
    REQUIRE(metrics.status == 200);
    auto value = [&](const std::string& name) -> double {
        const auto at = metrics.body.find("\n" + name + " ");
        INFO(name << " in\n" << metrics.body);
        REQUIRE(at != std::string::npos);
        return std::stod(metrics.body.substr(at + name.size() + 2));
    };
    CHECK(value("loa_http_requests_total") >= 4);
    CHECK(value("loa_http_connections_open") >= 1);
    CHECK(value("loa_http_connections_accepted_total") >= 4);
    CHECK(value("loa_http_refused_total{reason=\"too_large\"}") == 1);
    CHECK(value("loa_http_refused_total{reason=\"busy\"}") == 0);
    CHECK(value("loa_http_timeouts_total") == 0);
    CHECK(value("loa_writer_commits_total") >= 1);
    CHECK(value("loa_writer_changes_total") >= 1);  // the node added, with its log row
    CHECK(value("loa_writer_largest_batch") >= 1);
    CHECK(value("loa_writer_queued") >= 0);
    CHECK(value("loa_sqlite_heap_bytes") > 0);  // at least the open connections' caches
    CHECK(value("loa_login_lockouts_total") == 0);
    CHECK(value("loa_password_checks_refused_total") == 0);
    CHECK_THAT(metrics.body, Contains("# TYPE loa_http_requests_total counter\n"));
}
