// Upload memory (issue 16): a 1.5 GB WAV, generated as it is sent, uploaded over loopback either to
// the HTTP edge alone in a child process whose handler only checks the file, or (--controller) to
// a real loa-controller's media route, which probes, normalises and transcodes it; the server's
// peak RSS, upload and import included, must stay under 200 MB.
#include <poll.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <numbers>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "http_server.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace loa::bench;
namespace http = loa::controller::http;

namespace {

constexpr double kRssTargetBytes = 200e6;  // issue 16, acceptance 3
struct Options {
    std::uint64_t bytes = 1'500'000'000;
    fs::path dir = "/var/tmp";
    std::size_t piece = 256 * 1024;
    int rate = 48'000;
    int channels = 2;
    /// Upload to a real loa-controller's POST /api/v1/media (this executable) instead.
    std::string controller;
    std::string loactl;
};
int kRate = 48'000;
int kChannels = 2;

/// 44 bytes of RIFF header for 16-bit PCM of `data_bytes`.
std::string wav_header(std::uint32_t data_bytes) {
    std::string h;
    auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            h += static_cast<char>((v >> (8 * i)) & 0xff);
        }
    };
    auto u16 = [&](std::uint16_t v) {
        h += static_cast<char>(v & 0xff);
        h += static_cast<char>(v >> 8);
    };
    h += "RIFF";
    u32(36 + data_bytes);
    h += "WAVEfmt ";
    u32(16);
    u16(1);
    u16(kChannels);
    u32(kRate);
    u32(kRate * kChannels * 2);
    u16(kChannels * 2);
    u16(16);
    h += "data";
    u32(data_bytes);
    return h;
}

/// The server: runs until `stop_fd` closes; writes its port to `port_fd`.
[[noreturn]] void serve(const Options& options, int port_fd, int stop_fd) {
    http::HttpServerOptions server_options;
    server_options.upload_directory = options.dir;
    auto admit = [](const http::HttpRequest&) -> http::Admission {
        http::BodyPolicy policy;
        policy.max_bytes = 2ULL * 1024 * 1024 * 1024;
        policy.storage = http::BodyPolicy::Storage::file;
        policy.deadline = 60s;
        policy.min_bytes_per_second = 1024 * 1024;
        return policy;
    };
    auto handle = [](http::HttpRequest& request) -> http::HttpResponse {
        struct stat st {};
        ::stat(request.body_file.c_str(), &st);
        return {201,
                "text/plain",
                fmt::format("{} {} {}", request.body_bytes, st.st_size,
                            proc_status_value(::getpid(), "VmHWM")),
                {}};
    };
    http::HttpServer server(server_options, admit, handle);
    if (auto started = server.start(); !started) {
        std::cerr << "upload_bench: " << started.error().message << "\n";
        ::_exit(1);
    }
    const int port = server.port();
    if (::write(port_fd, &port, sizeof port) != sizeof port) {
        ::_exit(1);
    }
    char byte;
    while (::read(stop_fd, &byte, 1) > 0) {
    }
    server.stop();
    ::_exit(0);
}

struct Upload {
    double seconds = 0;
    std::uint64_t peak_rss_bytes = 0;  ///< sampled every 20 ms
    std::string answer;
};

/// Sends the WAV as fast as the server takes it, sampling the server's RSS meanwhile.
Upload upload(const Options& options, int port, pid_t server, const std::string& token = {}) {
    Upload out;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        throw std::runtime_error("cannot connect to the server");
    }
    const std::uint64_t data_bytes = options.bytes - 44;
    std::string head = fmt::format(
        "POST /api/v1/media?name=bench.wav HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        "audio/wav\r\nContent-Length: {}\r\n{}\r\n",
        options.bytes,
        token.empty() ? std::string() : fmt::format("Authorization: Bearer {}\r\n", token));
    head += wav_header(static_cast<std::uint32_t>(data_bytes));
    // One period of a 480 Hz tone is 100 frames at 48 kHz: a table, repeated.
    std::string period;
    for (int i = 0; i < 100; ++i) {
        const auto sample =
            static_cast<std::int16_t>(8000 * std::sin(2 * std::numbers::pi * i / 100.0));
        for (int c = 0; c < kChannels; ++c) {
            period += static_cast<char>(sample & 0xff);
            period += static_cast<char>((sample >> 8) & 0xff);
        }
    }
    std::string piece;
    while (piece.size() < options.piece) {
        piece += period;
    }
    piece.resize(options.piece - options.piece % period.size());
    auto sample_rss = [&] {
        out.peak_rss_bytes =
            std::max(out.peak_rss_bytes, proc_status_value(server, "VmRSS") * 1024);
    };
    const auto start = std::chrono::steady_clock::now();
    auto last_sample = start;
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    std::uint64_t sent = 0;
    while (sent < data_bytes) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), data_bytes - sent));
        const ssize_t w = ::send(fd, piece.data(), n, MSG_NOSIGNAL);
        if (w <= 0) {
            throw std::runtime_error("the server stopped taking the upload");
        }
        sent += static_cast<std::uint64_t>(w);
        if (std::chrono::steady_clock::now() - last_sample >= 20ms) {
            sample_rss();
            last_sample = std::chrono::steady_clock::now();
        }
    }
    // The answer: its head, then Content-Length bytes of body.
    std::string answer;
    char buffer[4096];
    auto complete = [&] {
        const auto end = answer.find("\r\n\r\n");
        const auto length = answer.find("Content-Length: ");
        return end != std::string::npos && length != std::string::npos &&
               answer.size() >= end + 4 + std::stoul(answer.substr(length + 16));
    };
    while (!complete()) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) == 0) {
            sample_rss();  // the server closes the file and runs the handler meanwhile
            continue;
        }
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            break;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    out.seconds = seconds_since(start);
    sample_rss();
    ::close(fd);
    const auto body = answer.find("\r\n\r\n");
    out.answer = body == std::string::npos ? answer : answer.substr(body + 4);
    if (answer.rfind("HTTP/1.1 201", 0) != 0 && answer.rfind("HTTP/1.1 200", 0) != 0) {
        throw std::runtime_error("the upload was not taken: " + answer);
    }
    return out;
}

/// The upload through a real loa-controller: its data directory in `--dir`, the first admin made
/// with loactl, the WAV sent to POST /api/v1/media and imported whole; its RSS sampled all along.
int against_controller(const Options& options) {
    std::string pattern = (options.dir / "loa-upload-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        std::cerr << "upload_bench: cannot create a directory under " << options.dir << "\n";
        return 1;
    }
    const fs::path dir = pattern;
    const fs::path data = dir / "controller";
    int status = 1;
    try {
        const std::string loactl = fmt::format("{} --data {}", options.loactl, data.string());
        run_or_throw(
            fmt::format("printf 'mat-khau-thu-tai\\n' | {} user add admin --role admin "
                        "--area / --password-stdin > /dev/null",
                        loactl));
        std::string token = capture_or_throw(
            fmt::format("printf 'mat-khau-thu-tai\\n' | {} login admin --password-stdin", loactl));
        token.erase(token.find_last_not_of('\n') + 1);
        const int port = free_tcp_port();
        Child controller({options.controller, "--data", data.string(), "--bind",
                          fmt::format("tcp://127.0.0.1:{}", free_tcp_port()), "--enroll-bind",
                          "none", "--http-bind", fmt::format("127.0.0.1:{}", port)},
                         dir / "controller.log");
        std::this_thread::sleep_for(1s);
        const std::uint64_t idle_rss = proc_status_value(controller.pid(), "VmRSS") * 1024;
        const Upload result = upload(options, port, controller.pid(), token);
        const auto answer = nlohmann::json::parse(result.answer, nullptr, false);
        const double peak = static_cast<double>(std::max<std::uint64_t>(
            result.peak_rss_bytes, proc_status_value(controller.pid(), "VmHWM") * 1024));
        fmt::print(
            "upload of {:.2f} GB (WAV, {} Hz, {} channels) to loa-controller's media route, "
            "data in {}\n",
            options.bytes / 1e9, kRate, kChannels, options.dir.string());
        fmt::print("  uploaded and imported in {:.1f} s: {} s of audio, {:.1f} → {:.1f} LUFS\n",
                   result.seconds, answer.value("duration_seconds", 0.0),
                   answer.value("loudness_before_lufs", 0.0),
                   answer.value("loudness_after_lufs", 0.0));
        fmt::print(
            "  controller RSS idle {:.1f} MB, peak {:.1f} MB (VmHWM {:.1f} MB)  target < "
            "200 MB: {}\n",
            idle_rss / 1e6, peak / 1e6, proc_status_value(controller.pid(), "VmHWM") * 1024 / 1e6,
            verdict(peak < kRssTargetBytes));
        status = peak < kRssTargetBytes ? 0 : 3;
    } catch (const std::exception& e) {
        std::cerr << "upload_bench: " << e.what() << "\n";
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app("Upload memory: a 1.5 GB WAV through the HTTP edge, the server's peak RSS");
    app.add_option("--bytes", options.bytes, "size of the generated WAV")->capture_default_str();
    app.add_option("--dir", options.dir, "where the server writes the upload (removed after)")
        ->capture_default_str();
    app.add_option("--rate", options.rate, "the WAV's sample rate")->capture_default_str();
    app.add_option("--channels", options.channels, "the WAV's channels")->capture_default_str();
    app.add_option("--controller", options.controller,
                   "upload to this loa-controller's media route (probed, normalised and "
                   "transcoded: keep the WAV under an hour, e.g. --channels 6)");
    app.add_option("--loactl", options.loactl, "loactl, to make the first admin (--controller)");
    CLI11_PARSE(app, argc, argv);
    kRate = options.rate;
    kChannels = options.channels;
    // Whole frames only: a WAV whose data ends inside a frame is a cut file, and the media
    // route rightly refuses it.
    const std::uint64_t frame = static_cast<std::uint64_t>(kChannels) * 2;
    options.bytes = 44 + (options.bytes - 44) / frame * frame;
    if (!options.controller.empty()) {
        return against_controller(options);
    }

    // Fork before any thread exists: the child is the server process, measured on its own.
    int port_pipe[2];
    int stop_pipe[2];
    if (::pipe(port_pipe) != 0 || ::pipe(stop_pipe) != 0) {
        return 1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(port_pipe[0]);
        ::close(stop_pipe[1]);
        serve(options, port_pipe[1], stop_pipe[0]);
    }
    ::close(port_pipe[1]);
    ::close(stop_pipe[0]);
    int port = 0;
    if (::read(port_pipe[0], &port, sizeof port) != sizeof port) {
        std::cerr << "upload_bench: the server did not start\n";
        return 1;
    }
    const std::uint64_t idle_rss = proc_status_value(child, "VmRSS") * 1024;
    int status = 1;
    try {
        const Upload result = upload(options, port, child);
        // The answer: body bytes taken, file size, the server's VmHWM (KiB) when it answered.
        std::uint64_t taken = 0, file = 0, hwm_kib = 0;
        std::sscanf(result.answer.c_str(), "%lu %lu %lu", &taken, &file, &hwm_kib);
        const double peak =
            static_cast<double>(std::max<std::uint64_t>(hwm_kib * 1024, result.peak_rss_bytes));
        fmt::print("upload of {:.2f} GB (WAV, 48 kHz stereo), spool {}\n", options.bytes / 1e9,
                   options.dir.string());
        fmt::print("  taken {} bytes, file {} bytes, in {:.1f} s ({:.0f} MB/s)\n", taken, file,
                   result.seconds, options.bytes / 1e6 / result.seconds);
        fmt::print(
            "  server RSS idle {:.1f} MB, peak {:.1f} MB (VmHWM {:.1f} MB, sampled {:.1f} "
            "MB)  target < 200 MB: {}\n",
            idle_rss / 1e6, peak / 1e6, hwm_kib * 1024 / 1e6, result.peak_rss_bytes / 1e6,
            verdict(peak < kRssTargetBytes && taken == options.bytes));
        status = peak < kRssTargetBytes && taken == options.bytes ? 0 : 3;
    } catch (const std::exception& e) {
        std::cerr << "upload_bench: " << e.what() << "\n";
    }
    ::close(stop_pipe[1]);
    ::waitpid(child, nullptr, 0);
    return status;
}
