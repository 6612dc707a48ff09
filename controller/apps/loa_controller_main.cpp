// loa-controller: serves node agents from a data directory until SIGINT or SIGTERM.
#include <atomic>
#include <csignal>
#include <cstdlib>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "loa/controller/api/http_api.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/gateway/node_gateway.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/envelope.hpp"

namespace {
std::atomic<bool> g_stop{false};
}

int main(int argc, char** argv) {
    // Everything the controller creates (database, keys, media, uploads) is its own alone.
    ::umask(077);
    // Media chunks come and go as 64 KiB buffers: keep freed heap instead of giving it back to
    // the kernel after every chunk and faulting it in again for the next (half the serving
    // thread's time otherwise; docs/benchmarks.md).
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    CLI::App app{"loa controller: schedules, media and confirmations for loa node agents"};
    std::string data = std::getenv("LOA_DATA") ? std::getenv("LOA_DATA") : "loa-data";
    loa::controller::GatewayOptions options;
    app.add_option("--data", data, "data directory (database and media); env LOA_DATA");
    app.add_option("--bind", options.endpoint, "ZeroMQ endpoint for node agents (CURVE)");
    std::string enroll_bind;
    app.add_option("--enroll-bind", enroll_bind,
                   "ZeroMQ endpoint where new devices enroll with a token (default: the node "
                   "endpoint's port + 1; 'none': no enrollment)");
    app.add_option("--heartbeat-ms", options.heartbeat_interval_ms,
                   "heartbeat interval told to nodes");
    std::string http_bind = "127.0.0.1:5610";
    loa::controller::ApiOptions api;
    app.add_option("--http-bind", http_bind,
                   "HOST:PORT of the HTTP API ('none': no API); beyond loopback, serve it over "
                   "TLS (--http-tls-*) or behind a TLS reverse proxy (docs/api.md)");
    app.add_option("--http-tls-cert", api.tls_certificate, "serve the API over HTTPS: PEM cert");
    app.add_option("--http-tls-key", api.tls_key, "… and its PEM key");
    app.add_flag("--metrics-open", api.metrics_open,
                 "phục vụ /metrics không cần mã truy cập (cho Prometheus trên máy này) / serve "
                 "/metrics without a token (a Prometheus on this host); by default a scrape needs "
                 "a token like every request");
    int max_token_days = 365;
    app.add_option("--max-token-days", max_token_days,
                   "số ngày dài nhất một mã truy cập API được dùng: xin dài hơn (hoặc 'never') bị "
                   "từ chối, mã cũ hơn cũng vậy / the longest an API token may last, in days: a "
                   "login or token asking for longer (or 'never') is refused, an older token too")
        ->check(CLI::Range(1, 3650))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    // Under systemd, log to the journal with each line's priority (journalctl -p warning).
    if (std::getenv("JOURNAL_STREAM") != nullptr) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>(
            "loa-controller", std::make_shared<spdlog::sinks::systemd_sink_mt>()));
    }
    loa::protocol::silence_protobuf_log();
    // One descriptor per connected node: thousands of nodes need more than the usual 1024.
    if (rlimit files{};
        ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }

    // The controller's identity: nodes pin its public key (it travels in enrollment tokens).
    auto keys = loa::protocol::load_or_create_key_file(loa::controller::controller_key_file(data));
    if (!keys) {
        spdlog::critical("{}", keys.error());
        return 1;
    }
    options.curve_keys = *keys;
    options.enroll_endpoint =
        loa::controller::default_enroll_endpoint(options.endpoint, enroll_bind);
    // The one writer of the database is opened here; the node gateway and the API read through
    // connections of their own and queue every change to it.
    auto store = loa::controller::Store::open(std::filesystem::path(data) / "controller.db");
    if (!store) {
        spdlog::critical("{}", store.error().message);
        return 1;
    }
    loa::media::ContentStore content(std::filesystem::path(data) / "media");
    loa::controller::NodeGateway server(**store, content, options);
    if (auto bound = server.bind(); !bound) {
        spdlog::critical("{}", bound.error().message);
        return 1;
    }
    std::unique_ptr<loa::controller::ApiServer> api_server;
    if (http_bind != "none") {
        const auto colon = http_bind.rfind(':');
        api.host = http_bind.substr(0, colon);
        try {
            api.port = colon == std::string::npos ? -1 : std::stoi(http_bind.substr(colon + 1));
        } catch (const std::exception&) {
            api.port = -1;
        }
        if (api.port < 0 || api.port > 65535 || api.host.empty()) {
            spdlog::critical("--http-bind {}: expected HOST:PORT, e.g. 127.0.0.1:5610", http_bind);
            return 1;
        }
        api.data_dir = data;
        api.max_token_lifetime_us = static_cast<std::int64_t>(max_token_days) * 86'400'000'000;
        api.heartbeat_interval_ms = options.heartbeat_interval_ms;
        api_server = std::make_unique<loa::controller::ApiServer>(api, store->get(), &server);
        if (auto started = api_server->start(); !started) {
            spdlog::critical("{}", started.error().message);
            return 1;
        }
    }
    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    server.run(g_stop);
    if (api_server) {
        api_server->stop();
    }
    spdlog::info("controller stopped");
    return 0;
}
