// loactl media import streams the file: a real loactl process uploads 300 MB to a controller's
// HTTP edge and its peak RSS stays far below the file; a refused upload shows the refusal.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "http_server.hpp"
#include "test_support.hpp"

using namespace loa::test;
using namespace loa::controller::http;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct Finished {
    int status = -1;
    long max_rss_kib = 0;
    std::string output;  ///< stdout and stderr
};

/// Runs loactl with `args` to its end; its exit status and peak RSS as the kernel counted it.
Finished run_loactl(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv = {LOA_LOACTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) {
        raw.push_back(a.data());
    }
    raw.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    Finished out;
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out.max_rss_kib = usage.ru_maxrss;
    out.output = read_file(log);
    return out;
}

}  // namespace

TEST_CASE(
    "loactl media import streams a 300 MB file: the server gets it whole, loactl stays small") {
    TempDir dir;
    fs::create_directories(dir / "spool");
    // A sparse file: 300 MB to read, nothing to store.
    const fs::path big = dir / "ban-tin-dai.wav";
    { std::ofstream(big, std::ios::binary).put('R'); }
    fs::resize_file(big, 300'000'000);

    std::mutex mutex;
    std::string seen;
    auto admit = [](const HttpRequest& request) -> Admission {
        if (request.header("Authorization") != "Bearer dung") {
            return HttpResponse{401,
                                "application/json",
                                R"({"error": {"code": "unauthenticated", "message": )"
                                R"("mã truy cập không hợp lệ / the token is not valid"}})",
                                {}};
        }
        BodyPolicy policy;
        policy.max_bytes = 2ULL << 30;
        policy.storage = BodyPolicy::Storage::file;
        policy.min_bytes_per_second = 1 << 20;
        return policy;
    };
    auto handle = [&](HttpRequest& request) -> HttpResponse {
        std::lock_guard lock(mutex);
        seen = fmt::format("{} {} name={} file={}", request.method, request.path,
                           request.query_value("name"), fs::file_size(request.body_file));
        return {201, "application/json", R"({"hash": "abc"})", {}};
    };
    HttpServerOptions options;
    options.upload_directory = dir / "spool";
    HttpServer server(options, admit, handle);
    REQUIRE(server.start());
    const std::string url = fmt::format("http://127.0.0.1:{}", server.port());

    auto done = run_loactl(
        {"--controller", url, "--token", "dung", "--json", "media", "import", big.string()},
        dir / "loactl.log");
    CHECK(done.status == 0);
    CHECK_THAT(done.output, Contains("abc"));
    {
        std::lock_guard lock(mutex);
        CHECK(seen == "POST /api/v1/media name=ban-tin-dai.wav file=300000000");
    }
    // Before loactl streamed its uploads it held the file in memory: over 300 MB here.
    CHECK(done.max_rss_kib < 100 * 1024);

    // Refused from its headers: the controller never reads the 300 MB, and loactl says why.
    auto refused =
        run_loactl({"--controller", url, "--token", "sai", "media", "import", big.string()},
                   dir / "refused.log");
    CHECK(refused.status == 1);
    CHECK_THAT(refused.output, Contains("the token is not valid"));
    CHECK(server.stats().body_bytes_read == 300'000'000);  // the first upload's, no more
}
