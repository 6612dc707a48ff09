// The HTTP edge over real loopback sockets: what a stranger sends (huge bodies, slow headers, too
// many connections) keeps memory flat and never starves an authenticated request.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "http_server.hpp"
#include "raw_http_client.hpp"
#include "test_support.hpp"

using namespace loa;
using namespace loa::test;
using namespace loa::controller::http;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

/// Who may call what, as the API will decide it: "/open" takes anyone (a login), everything else
/// a Bearer token; "/upload" streams to disk.
Admission api_like_admit(const HttpRequest& request) {
    if (request.path.starts_with("/open")) {
        return BodyPolicy{};
    }
    if (request.header("Authorization") != "Bearer secret") {
        return HttpResponse{401, "text/plain", "sign in first\n", {}};
    }
    if (request.path == "/whoami") {
        return BodyPolicy{.context = std::string("quan-tri")};
    }
    if (request.path.starts_with("/upload")) {
        BodyPolicy policy;
        policy.max_bytes = 512 * kMiB;
        policy.storage = BodyPolicy::Storage::file;
        policy.deadline = 30s;
        policy.min_bytes_per_second = kMiB;
        return policy;
    }
    return BodyPolicy{};
}

HttpResponse echo(HttpRequest& request) {
    if (const auto* who = std::any_cast<std::string>(&request.context)) {
        return {200, "text/plain", "you are " + *who, {}};
    }
    return {200,
            "text/plain",
            fmt::format("{} {} {} bytes", request.method, request.path, request.body_bytes),
            {}};
}

/// A running server with a scratch upload directory.
struct Served {
    TempDir dir;
    std::unique_ptr<HttpServer> server;

    explicit Served(HttpServerOptions options = {}, AdmitFunction admit = api_like_admit,
                    HandleFunction handle = echo) {
        fs::create_directories(dir / "spool");
        options.upload_directory = dir / "spool";
        server =
            std::make_unique<HttpServer>(std::move(options), std::move(admit), std::move(handle));
        auto started = server->start();
        REQUIRE(started);
    }
    int port() const { return server->port(); }
    HttpServerStats stats() const { return server->stats(); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port());
        c.set_read_timeout(30, 0);
        c.set_write_timeout(30, 0);
        return c;
    }
    std::size_t spooled_files() const {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(dir / "spool"), fs::directory_iterator{}));
    }
};

std::string get(std::string_view path, std::string_view extra = "") {
    return fmt::format("GET {} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer secret\r\n{}\r\n", path,
                       extra);
}

/// Byte `at` of a generated upload: varies with the offset, so a lost or repeated piece shows.
char pattern(std::uint64_t at) {
    return static_cast<char>((at * 7 + at / 65'521) & 0xff);
}

void fill_pattern(std::uint64_t offset, char* out, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = pattern(offset + i);
    }
}

}  // namespace

TEST_CASE(
    "20 MB of opening brackets is answered 413 whether announced or chunked, and memory stays "
    "flat") {
    Served served;
    const bool chunked = GENERATE(false, true);
    CAPTURE(chunked);
    constexpr std::uint64_t kAttack = 20 * kMiB;
    RssSampler rss;
    RawClient attacker(served.port());
    RawResponse answer;
    if (!chunked) {
        answer = attacker.blast(
            fmt::format("POST /open/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Content-Length: {}\r\n\r\n",
                        kAttack),
            kAttack,
            [](std::uint64_t, char* out, std::size_t size) { std::memset(out, '[', size); });
    } else {
        // 64 KiB chunks of '[' framed as HTTP chunks, 320 of them.
        const std::string frame = fmt::format("{:x}\r\n", 65'536 - 8);
        answer = attacker.blast(
            "POST /open/login HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", kAttack,
            [&](std::uint64_t, char* out, std::size_t size) {
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
    CHECK(served.stats().refused_too_large == 1);
    if (!chunked) {
        CHECK(served.stats().body_bytes_read == 0);  // refused on its Content-Length alone
    } else {
        CHECK(served.stats().body_bytes_read <= kMiB + 1);  // read only up to the limit
    }
    CHECK(rss.peak_growth() < 50 * kMiB);
}

TEST_CASE("JSON nested deeper than the limit is found by a scan, brackets in strings not counted") {
    CHECK(json_nesting_problem(R"({"a": [1, {"b": [[]]}], "c": "x"})").empty());
    CHECK(json_nesting_problem(std::string(64, '[') + std::string(64, ']')).empty());
    const std::string problem = json_nesting_problem(std::string(65, '['));
    CHECK_THAT(problem, Contains("64") && Contains("byte 64"));
    // Depth is not the count of brackets: siblings close before the next opens.
    std::string siblings;
    for (int i = 0; i < 1000; ++i) {
        siblings += "[[]],";
    }
    CHECK(json_nesting_problem("[" + siblings + "0]").empty());
    // Brackets inside strings, and escaped quotes inside strings, are text.
    CHECK(json_nesting_problem(R"({"name": ")" + std::string(100, '[') + R"(\"[["})").empty());
    CHECK_FALSE(json_nesting_problem(R"({"a": "\\", "b": )" + std::string(100, '{')).empty());
    CHECK(json_nesting_problem(std::string(3, '{'), 2) != "");
    // 20 MB of '[' costs one pass and no memory.
    CHECK_FALSE(json_nesting_problem(std::string(20 * kMiB, '[')).empty());
}

TEST_CASE("200 slow clients dripping headers or bodies do not delay an authenticated request",
          "[timing]") {
    Served served;
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 200; ++i) {
        slow.push_back(std::make_unique<RawClient>(served.port()));
    }
    // Half drip their headers; half send a complete head to the open route and drip its body,
    // which waits in the I/O threads, not in a worker.
    auto drip = [&](int round) {
        for (std::size_t i = 0; i < slow.size(); ++i) {
            if (i % 2 == 0) {
                slow[i]->send_all(std::string(1, "GET /x HTTP/1.1\r\n"[round]));
            } else if (round == 0) {
                slow[i]->send_all(
                    "POST /open/login HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                    "\r\n{");
            } else {
                slow[i]->send_all(" ");
            }
        }
    };
    drip(0);
    REQUIRE(wait_until([&] { return served.stats().connections_open == 200; }, 10s));
    auto client = served.client();
    auto timed_request = [&] {
        const auto start = std::chrono::steady_clock::now();
        auto result = client.Get("/whoami", {{"Authorization", "Bearer secret"}});
        const auto took = std::chrono::steady_clock::now() - start;
        REQUIRE(result);
        CHECK(result->status == 200);
        CHECK(result->body == "you are quan-tri");  // what admit learnt reached handle
        CHECK(took < 1s);
    };
    timed_request();
    for (int round = 1; round <= 2; ++round) {
        std::this_thread::sleep_for(3s);  // the drip rate of the attack: one byte every 3 s
        drip(round);
        timed_request();
    }
    // All still there: the answer did not come from cutting them.
    CHECK(served.stats().connections_open >= 200);
    CHECK(served.stats().timeouts == 0);
    CHECK(served.stats().refused_busy == 0);
}

TEST_CASE("a client that never finishes its headers is cut at the header deadline") {
    HttpServerOptions options;
    options.header_timeout = 1s;
    Served served(options);
    RawClient dripper(served.port());
    const auto start = std::chrono::steady_clock::now();
    bool cut = false;
    for (char c :
         std::string("GET /x HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) {
        if (!dripper.send_all(std::string(1, c)) || dripper.closed_within(100ms)) {
            cut = true;
            break;
        }
    }
    if (!cut) {
        cut = dripper.closed_within(5s);
    }
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(cut);
    CHECK(took >= 900ms);  // not before its deadline
    CHECK(wait_until([&] { return served.stats().timeouts == 1; }, 1s));
    CHECK(served.stats().requests == 0);
}

TEST_CASE("a body slower than its route's minimum rate is cut, and one in time is taken") {
    auto admit = [](const HttpRequest&) -> Admission {
        BodyPolicy policy;
        policy.deadline = 500ms;
        policy.min_bytes_per_second = 100 * 1024;
        return policy;
    };
    Served served({}, admit);
    RawClient slow(served.port());
    slow.send_all("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" +
                  std::string(1000, 'a'));
    CHECK(slow.closed_within(10s));
    CHECK(wait_until([&] { return served.stats().timeouts == 1; }, 1s));

    RawClient fast(served.port());
    fast.send_all("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n" +
                  std::string(1'000'000, 'a'));
    const auto answer = fast.read_response();
    CHECK(answer.status == 200);
    CHECK(answer.body == "POST /x 1000000 bytes");
}

TEST_CASE("a streamed 256 MB upload lands whole in a 0600 file with memory flat, then is removed",
          "[timing]") {
    std::mutex mutex;
    std::string seen;
    auto handle = [&](HttpRequest& request) -> HttpResponse {
        std::lock_guard lock(mutex);
        struct stat st {};
        ::stat(request.body_file.c_str(), &st);
        std::ifstream in(request.body_file, std::ios::binary);
        std::vector<char> piece(1 << 20);
        std::uint64_t at = 0;
        std::uint64_t wrong = 0;
        while (in.read(piece.data(), static_cast<std::streamsize>(piece.size())) ||
               in.gcount() > 0) {
            for (std::streamsize i = 0; i < in.gcount(); ++i, ++at) {
                wrong += piece[static_cast<std::size_t>(i)] != pattern(at) ? 1 : 0;
            }
        }
        seen = fmt::format("mode {:o}, {} bytes read, {} in request, {} wrong, in memory {}",
                           st.st_mode & 0777, at, request.body_bytes, wrong, request.body.size());
        return {201, "text/plain", "stored", {}};
    };
    Served served({}, api_like_admit, handle);
    auto client = served.client();
    const bool chunked = GENERATE(false, true);
    CAPTURE(chunked);
    const std::uint64_t size = chunked ? 32 * kMiB : 256 * kMiB;
    RssSampler rss;
    auto provide = [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        std::string piece(std::min<std::size_t>(length, 256 * 1024), '\0');
        fill_pattern(offset, piece.data(), piece.size());
        sink.write(piece.data(), piece.size());
        return true;
    };
    std::uint64_t offset = 0;
    auto provide_chunked = [&](std::size_t, httplib::DataSink& sink) {
        if (offset == size) {
            sink.done();
            return true;
        }
        std::string piece(100'000, '\0');
        piece.resize(std::min<std::uint64_t>(piece.size(), size - offset));
        fill_pattern(offset, piece.data(), piece.size());
        offset += piece.size();
        sink.write(piece.data(), piece.size());
        return true;
    };
    httplib::Result result = chunked ? client.Post("/upload", {{"Authorization", "Bearer secret"}},
                                                   provide_chunked, "application/octet-stream")
                                     : client.Post("/upload", {{"Authorization", "Bearer secret"}},
                                                   size, provide, "application/octet-stream");
    rss.stop();
    REQUIRE(result);
    CHECK(result->status == 201);
    CHECK(seen ==
          fmt::format("mode 600, {} bytes read, {} in request, 0 wrong, in memory 0", size, size));
    CHECK(rss.peak_growth() < 50 * kMiB);
    CHECK(wait_until([&] { return served.spooled_files() == 0; }, 5s));
}

TEST_CASE("admit refuses before the body is read: no byte of it is taken, nothing is handled") {
    std::atomic<int> handled{0};
    std::mutex mutex;
    HttpRequest admitted;
    auto admit = [&](const HttpRequest& request) -> Admission {
        std::lock_guard lock(mutex);
        admitted = request;
        return api_like_admit(request);
    };
    auto handle = [&](HttpRequest& request) {
        ++handled;
        return echo(request);
    };
    Served served({}, admit, handle);
    RawClient stranger(served.port());
    // A 1 GB upload without a token: the head only, then the answer is awaited.
    stranger.send_all("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n");
    const auto answer = stranger.read_response();
    CHECK(answer.status == 401);
    CHECK(answer.header("Connection") == "close");
    CHECK(stranger.closed_within(5s));
    CHECK(served.stats().body_bytes_read == 0);
    CHECK(handled == 0);
    std::lock_guard lock(mutex);
    CHECK(admitted.content_length == 1'000'000'000);
    CHECK(admitted.body.empty());
    CHECK(admitted.body_file.empty());
}

TEST_CASE("admit sees the decoded path, query and headers, and Expect: 100-continue is honoured") {
    std::mutex mutex;
    HttpRequest admitted;
    auto admit = [&](const HttpRequest& request) -> Admission {
        std::lock_guard lock(mutex);
        admitted = request;
        return BodyPolicy{};
    };
    auto handle = [](HttpRequest& request) {
        return HttpResponse{200, "text/plain", "got " + request.body, {}};
    };
    Served served({}, admit, handle);
    RawClient client(served.port());
    client.send_all(
        "POST /api/v1/media/b%E1%BA%A3n%20tin?name=b%E1%BA%A3n+tin.wav&area=a&area=b&flag "
        "HTTP/1.1\r\nHost: t\r\nX-Thing: value\r\nContent-Length: 5\r\nExpect: "
        "100-continue\r\n\r\n");
    const auto go_on = client.read_response();
    CHECK(go_on.status == 100);
    client.send_all("hello");
    const auto answer = client.read_response();
    CHECK(answer.status == 200);
    CHECK(answer.body == "got hello");
    std::lock_guard lock(mutex);
    CHECK(admitted.method == "POST");
    CHECK(admitted.path == "/api/v1/media/bản tin");
    CHECK(admitted.query_value("name") == "bản tin.wav");
    auto [from, to] = admitted.query.equal_range("area");
    CHECK(std::distance(from, to) == 2);
    CHECK(from->second == "a");
    CHECK(admitted.has_query("flag"));
    CHECK(admitted.header("x-thing") == "value");
    CHECK(admitted.remote_address == "127.0.0.1");
    CHECK(admitted.content_length == 5);
}

TEST_CASE(
    "connections over the cap per source and in all are refused with 503, and a freed slot is "
    "taken") {
    HttpServerOptions options;
    options.max_connections = 4;
    options.max_connections_per_source = 2;
    Served served(options);
    RawClient a1(served.port(), "127.0.0.1");
    RawClient a2(served.port(), "127.0.0.1");
    REQUIRE(wait_until([&] { return served.stats().connections_open == 2; }, 5s));
    RawClient a3(served.port(), "127.0.0.1");
    const auto per_source = a3.read_response();
    CHECK(per_source.status == 503);
    CHECK_THAT(per_source.body, Contains("127.0.0.1"));
    RawClient b1(served.port(), "127.0.0.2");
    RawClient b2(served.port(), "127.0.0.2");
    REQUIRE(wait_until([&] { return served.stats().connections_open == 4; }, 5s));
    RawClient c1(served.port(), "127.0.0.3");
    CHECK(c1.read_response().status == 503);
    CHECK(served.stats().connections_refused == 2);

    a1.close();
    REQUIRE(wait_until([&] { return served.stats().connections_open == 3; }, 5s));
    RawClient c2(served.port(), "127.0.0.3");
    c2.send_all(get("/x"));
    CHECK(c2.read_response().status == 200);
    b1.send_all(get("/y"));
    CHECK(b1.read_response().status == 200);
}

TEST_CASE("a full worker queue answers 503 with Retry-After, and what it took is answered") {
    HttpServerOptions options;
    options.workers = 1;
    options.worker_queue = 1;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> blocking{false};
    auto handle = [&](HttpRequest& request) {
        if (request.path == "/block") {
            blocking = true;
            released.wait();
        }
        return echo(request);
    };
    Served served(options, api_like_admit, handle);
    auto blocked = std::async(std::launch::async, [&] {
        auto client = served.client();
        auto result = client.Get("/block", {{"Authorization", "Bearer secret"}});
        return result ? result->status : 0;
    });
    REQUIRE(wait_until([&] { return blocking.load(); }, 5s));
    RawClient queued(served.port());
    queued.send_all(get("/queued"));
    REQUIRE(wait_until([&] { return served.stats().requests == 2; }, 5s));
    std::this_thread::sleep_for(100ms);  // from its count to its place in the queue: microseconds
    RawClient refused(served.port());
    refused.send_all(get("/refused"));
    const auto busy = refused.read_response();
    CHECK(busy.status == 503);
    CHECK(busy.header("Retry-After") == "1");
    CHECK(served.stats().refused_busy == 1);
    release.set_value();
    CHECK(blocked.get() == 200);
    const auto later = queued.read_response();
    CHECK(later.status == 200);
    CHECK(later.body == "GET /queued 0 bytes");
}

TEST_CASE("bodies kept in memory share one budget, and over it the answer is 503") {
    HttpServerOptions options;
    options.max_memory_bodies_bytes = 100 * 1024;
    Served served(options);
    RawClient big(served.port());
    big.send_all(
        "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer secret\r\n"
        "Content-Length: 200000\r\n\r\n");
    CHECK(big.read_response().status == 503);
    RawClient small(served.port());
    small.send_all(
        "POST /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer secret\r\n"
        "Content-Length: 50000\r\n\r\n" +
        std::string(50'000, 'x'));
    CHECK(small.read_response().status == 200);
}

TEST_CASE("two requests share a kept-alive connection, pipelined too, and an idle one is closed") {
    HttpServerOptions options;
    options.idle_timeout = 1s;
    Served served(options);
    RawClient client(served.port());
    client.send_all(get("/one"));
    CHECK(client.read_response().body == "GET /one 0 bytes");
    client.send_all(get("/two"));
    CHECK(client.read_response().body == "GET /two 0 bytes");
    client.send_all(get("/three") + get("/four"));
    CHECK(client.read_response().body == "GET /three 0 bytes");
    CHECK(client.read_response().body == "GET /four 0 bytes");
    CHECK(served.stats().connections_accepted == 1);
    CHECK(client.closed_within(5s));

    auto httplib_client = served.client();
    httplib_client.set_keep_alive(true);
    for (int i = 0; i < 3; ++i) {
        auto result = httplib_client.Get("/again", {{"Authorization", "Bearer secret"}});
        REQUIRE(result);
        CHECK(result->status == 200);
    }
    CHECK(served.stats().connections_accepted == 2);
}

TEST_CASE("headers over the limit are answered 431, something not HTTP 400, no body allowed 413") {
    Served served;
    RawClient big(served.port());
    big.send_all("GET / HTTP/1.1\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n");
    CHECK(big.read_response().status == 431);
    CHECK(big.closed_within(5s));
    RawClient garbage(served.port());
    garbage.send_all("HELLO THERE\r\n\r\n");
    CHECK(garbage.read_response().status == 400);
    RawClient relative(served.port());
    relative.send_all("GET http://elsewhere/ HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(relative.read_response().status == 400);

    auto no_body = [](const HttpRequest&) -> Admission { return BodyPolicy{.max_bytes = 0}; };
    Served strict({}, no_body);
    RawClient poster(strict.port());
    poster.send_all("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    CHECK(poster.read_response().status == 413);
}

TEST_CASE("a callback that throws is answered 500 and the worker goes on") {
    auto handle = [](HttpRequest& request) -> HttpResponse {
        if (request.path == "/boom") {
            throw std::runtime_error("boom");
        }
        return echo(request);
    };
    HttpServerOptions options;
    options.workers = 1;
    Served served(options, api_like_admit, handle);
    RawClient client(served.port());
    client.send_all(get("/boom"));
    const auto failed = client.read_response();
    CHECK(failed.status == 500);
    CHECK_THAT(failed.body, Contains("boom"));
    client.send_all(get("/fine"));
    CHECK(client.read_response().status == 200);
}

TEST_CASE(
    "HTTPS with a certificate made by openssl serves, and a client that never handshakes is cut") {
    TempDir keys;
    const auto cert = keys / "cert.pem";
    const auto key = keys / "key.pem";
    REQUIRE(run_shell(fmt::format("openssl req -x509 -newkey rsa:2048 -nodes -keyout '{}' -out "
                                  "'{}' -days 2 -subj /CN=localhost -addext "
                                  "subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null",
                                  key.string(), cert.string())) == 0);
    HttpServerOptions options;
    options.tls_certificate = cert;
    options.tls_key = key;
    options.tls_handshake_timeout = 1s;
    Served served(options);
    CHECK(served.server->tls());

    httplib::SSLClient client("localhost", served.port());
    client.set_ca_cert_path(cert.c_str());
    client.enable_server_certificate_verification(true);
    auto got = client.Get("/over-tls", {{"Authorization", "Bearer secret"}});
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(got->body == "GET /over-tls 0 bytes");
    auto posted = client.Post("/x", {{"Authorization", "Bearer secret"}}, std::string(100'000, 'z'),
                              "text/plain");
    REQUIRE(posted);
    CHECK(posted->body == "POST /x 100000 bytes");

    RawClient silent(served.port());
    CHECK(silent.closed_within(5s));
    // The deadline closes the socket, then the session counts it.
    CHECK(wait_until([&] { return served.stats().timeouts == 1; }, 1s));

    // A key that is not the certificate's: refused at start, saying which file.
    REQUIRE(run_shell(fmt::format("openssl genrsa -out '{}' 2048 2>/dev/null",
                                  (keys / "other.pem").string())) == 0);
    HttpServerOptions wrong;
    wrong.tls_certificate = cert;
    wrong.tls_key = keys / "other.pem";
    HttpServer mismatched(wrong, api_like_admit, echo);
    auto started = mismatched.start();
    REQUIRE_FALSE(started);
    CHECK_THAT(started.error().message, Contains("other.pem") && Contains("TLS"));
}

TEST_CASE("stop lets a request under way finish, cuts idle clients and accepts no more") {
    std::atomic<bool> inside{false};
    auto handle = [&](HttpRequest& request) {
        inside = true;
        std::this_thread::sleep_for(300ms);
        return echo(request);
    };
    Served served({}, api_like_admit, handle);
    const int port = served.port();
    RawClient idle(port);
    RawClient working(port);
    working.send_all(get("/slow"));
    REQUIRE(wait_until([&] { return inside.load(); }, 5s));
    served.server->stop();
    CHECK(working.read_response().status == 200);
    CHECK(idle.closed_within(1s));
    CHECK_THROWS(RawClient(port));
    CHECK(served.stats().connections_open == 0);
}
