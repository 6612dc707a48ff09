// loa-node: the node agent on a loudspeaker cluster or LED board, until SIGINT or SIGTERM.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "loa/node/enrollment.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/protocol/envelope.hpp"

namespace {

std::atomic<bool> g_stop{false};

// stderr for the service manager, and a file whose tail the controller can ask for (SendLog).
void log_to(const std::filesystem::path& file) {
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    std::vector<spdlog::sink_ptr> sinks{err};
    if (!file.empty()) {
        // 1 MiB × 3 files: a week of a busy node's log on a small SD card.
        sinks.push_back(
            std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.string(), 1 << 20, 3));
    }
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("loa-node", sinks.begin(), sinks.end()));
    spdlog::flush_every(std::chrono::seconds(2));
}

}  // namespace

int main(int argc, char** argv) {
    // Everything the agent creates (its key, store, media, logs) is its own alone.
    ::umask(077);
    CLI::App app{"loa node agent: plays its controller's schedule and confirms every play"};
    loa::node::AgentOptions options;
    std::string sink = "auto";
    std::string display = "kms";
    app.add_option("--id", options.node_id,
                   "this node's id (default: from <data>/node.conf, written by enroll)");
    app.add_option("--controller", options.controller,
                   "controller endpoint (default: from <data>/node.conf)");
    app.add_option("--data", options.data_dir, "data directory (store and media cache)");
    app.add_option("--sink", sink, "loudspeakers: auto, alsa[:device], file:<dir> or fake");
    app.add_option("--display", display,
                   "panels: kms (an LED board, default), auto (a desktop window) or fake");
    double prefetch_days = 7;
    app.add_option("--prefetch-days", prefetch_days,
                   "fetch media for plays this many days ahead (default 7)")
        ->check(CLI::Range(0.01, 60.0));
    app.add_option("--max-window", options.fetch.max_window,
                   "most chunk requests in flight (default 16)")
        ->check(CLI::Range(1, 64));
    double max_kbps = 0;
    app.add_option("--max-kbps", max_kbps,
                   "metered links: fetch media at most this many kbit/s (default: no limit)")
        ->check(CLI::Range(1.0, 1e7));
    double reverify_s = 3600;
    app.add_option("--reverify-every", reverify_s,
                   "seconds between checks of each cached file against its hash (default 3600)")
        ->check(CLI::Range(0.1, 1e7));
    app.add_option("--resume-share", options.resume_share,
                   "a late play still airs, from where it should be, if more than this share of "
                   "it is left (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--silence-threshold", options.silence_threshold_dbfs,
                   "evidence: audio quieter than this many dBFS counts as silence (default -50)")
        ->check(CLI::Range(-120.0, 0.0));
    double loop_gap_min = 15;
    app.add_option("--loop-gap-minutes", loop_gap_min,
                   "panels: between booked plays at most this far apart, loop the session's "
                   "items instead of going blank (default 15; 0: never)")
        ->check(CLI::Range(0.0, 1440.0));
    double clock_warn_ms = 50;
    app.add_option("--clock-warn-ms", clock_warn_ms,
                   "warn when the clock is further than this from the controller's (default 50)")
        ->check(CLI::Range(1.0, 1e6));
    double max_media_mb = 0;
    app.add_option("--max-media-mb", max_media_mb,
                   "cap on the media cache; media no play needs is removed first (default: none)")
        ->check(CLI::Range(1.0, 1e7));
    double min_free_mb = 256;
    app.add_option("--min-free-mb", min_free_mb,
                   "free space kept on the data disk by removing unneeded media (default 256)")
        ->check(CLI::Range(0.0, 1e7));
    app.add_option("--amplifier-command", options.amplifier_command,
                   "powers the amplifier; {state} becomes on or off, e.g. '/usr/local/bin/amp "
                   "{state}'");
    double hook_timeout_s = 10;
    app.add_option("--hook-timeout", hook_timeout_s,
                   "giây tối đa cho một lần chạy hook (bộ khuếch đại), quá thì bị dừng và báo "
                   "lỗi / seconds a hook (the amplifier's) may run before it is killed and "
                   "reported failed (default 10)")
        ->check(CLI::Range(0.1, 3600.0));
    std::string log_file = "default";
    app.add_option("--log-file", log_file,
                   "the agent's log, rotated at 1 MiB (default <data>/agent.log; '' for none)");
    auto* enroll = app.add_subcommand(
        "enroll",
        "đăng ký thiết bị này với máy chủ: tạo cặp khoá, đổi mã dùng một lần của `loactl node "
        "enroll` lấy danh tính của nút, ghi <data>/node.conf và <data>/node.key / register this "
        "device with a controller: make its key pair, trade the one-time token from `loactl node "
        "enroll` for the node's identity, and write <data>/node.conf and <data>/node.key");
    enroll->fallthrough();  // --data and the logging options may follow `enroll`
    loa::node::EnrollRequest enroll_request;
    enroll
        ->add_option("--controller", enroll_request.endpoint,
                     "cổng đăng ký của máy chủ / the controller's enrollment endpoint, e.g. "
                     "tcp://loa.example.vn:5600")
        ->required();
    enroll
        ->add_option("--token", enroll_request.token,
                     "mã đăng ký, nguyên như in ra (loa1.…) / the token, as printed (loa1.…)")
        ->required();
    enroll
        ->add_option("--tries", enroll_request.tries,
                     "gửi ENROLL tối đa ngần này lần khi không có trả lời hoặc máy chủ bận, cách "
                     "nhau 5 s, 10 s, 20 s … tối đa 60 s (±25 % ngẫu nhiên); mã sai hoặc đã dùng "
                     "thì dừng ngay (mặc định 10) / send ENROLL at most this many times while "
                     "unanswered or busy, 5 s, 10 s, 20 s … up to 60 s apart (±25 % at random); a "
                     "bad or used token stops at once (default 10)")
        ->check(CLI::Range(1, 1000));
    int enroll_timeout_s = 600;
    enroll
        ->add_option("--timeout", enroll_timeout_s,
                     "bỏ cuộc sau ngần này giây (mặc định 600) / give up after this many seconds "
                     "(default 600)")
        ->check(CLI::Range(1, 86'400));
    CLI11_PARSE(app, argc, argv);
    loa::protocol::silence_protobuf_log();
    if (enroll->parsed()) {
        enroll_request.data_dir = options.data_dir;
        enroll_request.timeout = std::chrono::seconds(enroll_timeout_s);
        enroll_request.agent_version = loa::node::kAgentVersion;
        auto enrolled = loa::node::enroll_device(enroll_request);
        if (!enrolled) {
            spdlog::critical("đăng ký thất bại / enrollment failed: {}", enrolled.error());
            return 1;
        }
        spdlog::info("enrolled as node {} ({}, {}); controller {}; configuration in {}",
                     enrolled->node_id, enrolled->kind, enrolled->area_path, enrolled->controller,
                     loa::node::node_config_file(options.data_dir).string());
        return 0;
    }
    options.fetch.max_bytes_per_s = static_cast<std::uint64_t>(max_kbps * 1000 / 8);
    options.fetch.reverify_interval_us = static_cast<std::int64_t>(reverify_s * 1e6);
    options.prefetch_horizon_us = static_cast<std::int64_t>(prefetch_days * 86'400e6);
    options.clock_warn_us = static_cast<std::int64_t>(clock_warn_ms * 1000);
    options.hook_timeout_ms = static_cast<std::int64_t>(hook_timeout_s * 1000);
    options.panel_loop_gap_us = static_cast<std::int64_t>(loop_gap_min * 60e6);
    options.max_media_bytes = static_cast<std::uint64_t>(max_media_mb * 1024 * 1024);
    options.min_free_bytes = static_cast<std::uint64_t>(min_free_mb * 1024 * 1024);
    options.log_file =
        log_file == "default" ? options.data_dir / "agent.log" : std::filesystem::path(log_file);

    auto parsed = loa::node::SinkSpec::parse(sink);
    if (!parsed) {
        spdlog::critical("--sink: {}", parsed.error());
        return 2;
    }
    options.sink = *parsed;
    auto parsed_display = loa::node::DisplaySpec::parse(display);
    if (!parsed_display) {
        spdlog::critical("--display: {}", parsed_display.error());
        return 2;
    }
    options.display = *parsed_display;
    // Identity and keys come from enrollment; --id and --controller may override (a relay).
    auto config = loa::node::read_node_config(loa::node::node_config_file(options.data_dir));
    auto keys = loa::protocol::read_key_file(loa::node::node_key_file(options.data_dir));
    std::error_code ec;
    if (!keys && std::filesystem::exists(loa::node::node_key_file(options.data_dir), ec)) {
        // Never replaced silently: a new key is a new enrollment the operator must allow.
        spdlog::critical(
            "khoá của thiết bị không dùng được / this device's key cannot be used: {} (enroll "
            "again with a new token: loa-node enroll --controller tcp://HOST:PORT --token TOKEN)",
            keys.error());
        return 2;
    }
    if (!config || !keys) {
        spdlog::critical(
            "this device is not enrolled: {} (run loa-node enroll --controller "
            "tcp://HOST:PORT --token TOKEN)",
            !config ? config.error() : keys.error());
        return 2;
    }
    if (options.node_id.empty()) {
        options.node_id = config->node_id;
    }
    if (app.count("--controller") == 0) {
        options.controller = config->controller;
    }
    options.controller_key = config->controller_key;
    options.keys = *keys;
    try {
        std::filesystem::create_directories(options.data_dir);
        log_to(options.log_file);
    } catch (const std::exception& e) {
        spdlog::critical("cannot open the log {}: {}", options.log_file.string(), e.what());
        return 1;
    }
    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    bool restart = false;
    try {
        loa::node::NodeAgent agent(options);
        agent.run(g_stop);
        if (agent.failed()) {
            // Both threads are stopped and the store closed: a clean exit the service manager
            // answers with a fresh start (deploy/loa-node.service: Restart=always).
            spdlog::critical(
                "tác tử dừng vì một luồng lỗi liên tục / the agent stopped: a thread kept "
                "failing: {}",
                agent.failure());
            spdlog::default_logger()->flush();
            return 3;
        }
        restart = agent.restart_requested() && !g_stop;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    if (restart) {
        // The same program with the same arguments and pid: a service manager sees no exit.
        spdlog::warn("node {} restarting on the controller's command", options.node_id);
        spdlog::default_logger()->flush();
        ::execv("/proc/self/exe", argv);
        spdlog::critical("restart failed: {}", std::strerror(errno));
        return 1;
    }
    spdlog::info("node {} stopped", options.node_id);
    return 0;
}
