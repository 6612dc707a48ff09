// loa-sim: thousands of virtual nodes in one process against a real controller, each a real
// node session with its own CURVE key; prints what they did and what they cost.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/core.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "loa/node/enrollment.hpp"
#include "loa/sim/simulator.hpp"

namespace fs = std::filesystem;
using namespace loa;

namespace {

std::atomic<bool> g_stop{false};

double process_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
}

/// `tcp://host:5599` → `tcp://host:5600`: the enrollment endpoint's default, as the controller's.
std::string next_port(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) {
        return endpoint;
    }
    return endpoint.substr(0, colon + 1) +
           std::to_string(std::atoi(endpoint.c_str() + colon + 1) + 1);
}

nlohmann::json to_json(const sim::SimTotals& t) {
    return {{"nodes", t.nodes},
            {"welcomed", t.welcomed},
            {"in_session", t.in_session},
            {"hellos", t.hellos},
            {"welcomes", t.welcomes},
            {"reconnects", t.reconnects},
            {"sessions_lost", t.sessions_lost},
            {"heartbeats_sent", t.heartbeats},
            {"heartbeats_acked", t.heartbeat_acks},
            {"timelines", t.timelines},
            {"commands", t.commands},
            {"confirmations_produced", t.produced},
            {"booked", t.booked},
            {"played", t.played},
            {"synthetic", t.synthetic},
            {"emergency", t.emergency},
            {"confirmations_sent", t.confirmations_sent},
            {"confirmations_acked", t.confirmations_acked},
            {"outbox", t.outbox},
            {"errors", t.errors},
            {"bad_frames", t.bad_frames},
            {"unsent", t.unsent},
            {"dropped_by_link", t.dropped},
            {"restarts", t.restarts},
            {"failures", t.failures},
            {"last_failure", t.last_failure},
            {"last_error", t.last_error},
            {"thread_cpu_s", t.thread_cpu_s},
            {"longest_sweep_ms", t.longest_sweep_ms},
            {"mean_sweep_ms", t.sweeps ? 1e3 * t.sweep_s / static_cast<double>(t.sweeps) : 0.0}};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "loa-sim: virtual nodes against a real loa-controller, each with its own CURVE key, "
        "speaking the protocol through the node library, playing their timelines on the clock"};
    sim::SimOptions options;
    std::string controller;
    std::string controller_key;
    std::string controller_key_file;
    std::string identities_file;
    std::string tickets_file;
    std::string enroll_endpoint;
    std::string data_root;
    std::string store = "memory";
    std::string log_level = "warn";
    int nodes = 0;
    double duration_s = 60;
    double heartbeat_s = 0;
    double delay_ms = 0, jitter_ms = 0;
    double tick_ms = 50;
    int enroll_parallel = 4;
    double enroll_rate = 15;
    bool keep = false;
    bool json = false;
    app.add_option("--controller", controller,
                   "the controller's node endpoint, e.g. tcp://127.0.0.1:5599 (with --tokens: "
                   "default from enrollment)");
    app.add_option("--controller-key", controller_key, "the controller's CURVE public key (Z85)");
    app.add_option("--controller-key-file", controller_key_file,
                   "or the controller's key file (<controller data>/controller.key)");
    auto* by_keys = app.add_option("--identities", identities_file,
                                   "'<node id> <public key> <secret key>' lines: keys already "
                                   "registered with the controller");
    app.add_option("--tokens", tickets_file,
                   "'<node id> <token>' lines (loactl node enroll): each node enrolls with a "
                   "fresh key through the enrollment endpoint")
        ->excludes(by_keys);
    app.add_option("--enroll-endpoint", enroll_endpoint,
                   "the controller's enrollment endpoint (default: node endpoint's port + 1)");
    app.add_option("--enroll-parallel", enroll_parallel, "enrollments in flight (default 4)")
        ->check(CLI::Range(1, 64));
    app.add_option("--enroll-rate", enroll_rate, "enrollments started a second (default 15)")
        ->check(CLI::Range(0.1, 1000.0));
    app.add_option("--data-root", data_root,
                   "one directory per node (media cache, enrollment); nodes enrolled there "
                   "before are used again (default: a temporary directory, removed at the end)");
    app.add_option("--nodes", nodes, "run only the first N nodes (default: all)")
        ->check(CLI::Range(1, 1'000'000));
    app.add_option("--duration-s", duration_s, "how long to run (default 60)")
        ->check(CLI::Range(1.0, 30.0 * 86400));
    app.add_option("--heartbeat-s", heartbeat_s,
                   "heartbeat every N s whatever WELCOME says (default: as WELCOME says)")
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--plays-per-day", options.plays_per_day,
                   "synthetic plays each node confirms a (simulated) day besides its timeline "
                   "(default 0)")
        ->check(CLI::Range(0.0, 1e6));
    app.add_option("--day-seconds", options.day_seconds,
                   "how long a simulated day lasts (default 86400; 120: a day in 2 minutes)")
        ->check(CLI::Range(1.0, 86400.0 * 365));
    app.add_option("--play-seconds", options.play_seconds, "length of a synthetic play (default 5)")
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option("--link-delay-ms", delay_ms, "every frame waits this long, each way")
        ->check(CLI::Range(0.0, 600'000.0));
    app.add_option("--link-jitter-ms", jitter_ms, "plus up to this much more (order kept)")
        ->check(CLI::Range(0.0, 600'000.0));
    app.add_option("--link-loss", options.link.loss, "share of frames dropped, each way (0..1)")
        ->check(CLI::Range(0.0, 0.99));
    app.add_option("--threads", options.threads, "simulator threads (default 1)")
        ->check(CLI::Range(1, 256));
    app.add_option("--io-threads", options.io_threads, "ZeroMQ I/O threads (default 1)")
        ->check(CLI::Range(1, 64));
    app.add_option("--tick-ms", tick_ms,
                   "how often each node's timers and player are looked at (default 50)")
        ->check(CLI::Range(1.0, 10'000.0));
    app.add_option("--store", store,
                   "node stores: memory (SQLite in memory, default) or files (node.db per node, "
                   "WAL, synchronous=FULL, as on a device)")
        ->check(CLI::IsMember({"memory", "files"}));
    app.add_flag("--keep", keep, "keep the temporary data root");
    app.add_flag("--json", json, "print the results as JSON");
    app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    CLI11_PARSE(app, argc, argv);
    // Logs on stderr, the results alone on stdout.
    spdlog::set_default_logger(spdlog::stderr_logger_mt("loa-sim"));
    spdlog::set_level(spdlog::level::from_str(log_level));
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGINT, [](int) { g_stop = true; });
    ::signal(SIGTERM, [](int) { g_stop = true; });

    if (identities_file.empty() && tickets_file.empty() && data_root.empty()) {
        fmt::print(stderr,
                   "loa-sim: say who the nodes are: --identities, --tokens, or a "
                   "--data-root where they enrolled before\n");
        return 2;
    }
    bool temporary = false;
    if (data_root.empty()) {
        std::string pattern = (fs::temp_directory_path() / "loa-sim-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            fmt::print(stderr, "loa-sim: cannot create a temporary directory\n");
            return 1;
        }
        data_root = pattern;
        temporary = !keep;
    }
    options.data_root = data_root;
    options.store_files = store == "files";
    options.heartbeat_ms = static_cast<std::int64_t>(heartbeat_s * 1000);
    options.link.delay_us = static_cast<std::int64_t>(delay_ms * 1000);
    options.link.jitter_us = static_cast<std::int64_t>(jitter_ms * 1000);
    options.tick_us = static_cast<std::int64_t>(tick_ms * 1000);

    int exit_code = 0;
    try {
        // Who the nodes are.
        std::vector<sim::NodeIdentity> identities;
        if (!identities_file.empty()) {
            auto read = sim::read_identities(identities_file);
            if (!read) {
                throw std::runtime_error(read.error());
            }
            identities = std::move(*read);
        } else if (!tickets_file.empty()) {
            auto tickets = sim::read_tickets(tickets_file);
            if (!tickets) {
                throw std::runtime_error(tickets.error());
            }
            if (nodes > 0 && tickets->size() > static_cast<std::size_t>(nodes)) {
                tickets->resize(static_cast<std::size_t>(nodes));
            }
            if (enroll_endpoint.empty()) {
                if (controller.empty()) {
                    throw std::runtime_error("--tokens needs --enroll-endpoint or --controller");
                }
                enroll_endpoint = next_port(controller);
            }
            const auto start = std::chrono::steady_clock::now();
            auto enrolled = sim::enroll_nodes(*tickets, enroll_endpoint, options.data_root,
                                              enroll_parallel, enroll_rate);
            fmt::print(
                stderr, "loa-sim: {} of {} nodes enrolled in {:.1f} s\n", enrolled.enrolled.size(),
                tickets->size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            for (std::size_t i = 0; i < enrolled.failures.size() && i < 10; ++i) {
                fmt::print(stderr, "  not enrolled: {}\n", enrolled.failures[i]);
            }
            identities = std::move(enrolled.enrolled);
        } else {
            // Nodes that enrolled under the data root before: each directory's node.conf.
            for (const auto& entry : fs::directory_iterator(options.data_root)) {
                auto config = node::read_node_config(node::node_config_file(entry.path()));
                auto keys = protocol::read_key_file(node::node_key_file(entry.path()));
                if (config && keys) {
                    identities.push_back({config->node_id, *keys});
                }
            }
            std::sort(identities.begin(), identities.end(),
                      [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
        }
        if (nodes > 0 && identities.size() > static_cast<std::size_t>(nodes)) {
            identities.resize(static_cast<std::size_t>(nodes));
        }
        if (identities.empty()) {
            throw std::runtime_error("no nodes to run");
        }
        // Where the controller is: as given, else as enrollment wrote it.
        if (controller.empty() || (controller_key.empty() && controller_key_file.empty())) {
            auto config = node::read_node_config(
                node::node_config_file(options.data_root / identities.front().node_id));
            if (config) {
                controller = controller.empty() ? config->controller : controller;
                controller_key = controller_key.empty() ? config->controller_key : controller_key;
            }
        }
        if (!controller_key_file.empty()) {
            auto keys = protocol::read_key_file(controller_key_file);
            if (!keys) {
                throw std::runtime_error(keys.error());
            }
            controller_key = keys->public_key;
        }
        options.endpoint = controller;
        options.controller_key = controller_key;

        sim::Simulator simulator(options);
        for (auto& identity : identities) {
            simulator.add_node(std::move(identity));
        }
        const std::uint64_t rss_before = sim::resident_kib();
        const double cpu_before = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        simulator.start();
        const double start_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto n = simulator.size();
        std::uint64_t rss_welcomed = 0;
        double welcomed_after_s = -1;
        const auto until = t0 + std::chrono::duration<double>(duration_s);
        auto next_progress = t0 + std::chrono::seconds(10);
        while (!g_stop && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            const auto t = simulator.totals();
            const auto now = std::chrono::steady_clock::now();
            if (welcomed_after_s < 0 && t.welcomed == n) {
                welcomed_after_s = std::chrono::duration<double>(now - t0).count();
                rss_welcomed = sim::resident_kib();
            }
            if (now >= next_progress) {
                next_progress += std::chrono::seconds(10);
                fmt::print(stderr,
                           "loa-sim: {:.0f} s: {} of {} in session, heartbeats {}/{} acked, "
                           "confirmations {} produced, {} waiting\n",
                           std::chrono::duration<double>(now - t0).count(), t.in_session, n,
                           t.heartbeat_acks, t.heartbeats, t.produced, t.outbox);
            }
        }
        const double run_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::uint64_t rss_end = sim::resident_kib();
        const double cpu_s = process_cpu_seconds() - cpu_before;
        simulator.stop();
        const auto t = simulator.totals();
        const double per_node_kib =
            static_cast<double>((rss_welcomed ? rss_welcomed : rss_end) - rss_before) /
            static_cast<double>(n);
        if (json) {
            auto out = to_json(t);
            out["seconds"] = run_s;
            out["start_seconds"] = start_s;
            out["all_welcomed_after_s"] = welcomed_after_s;
            out["rss_before_kib"] = rss_before;
            out["rss_all_welcomed_kib"] = rss_welcomed;
            out["rss_end_kib"] = rss_end;
            out["memory_per_node_kib"] = per_node_kib;
            out["process_cpu_s"] = cpu_s;
            out["threads"] = options.threads;
            out["store"] = store;
            fmt::print("{}\n", out.dump(2));
        } else {
            fmt::print("loa-sim: {} virtual nodes for {:.1f} s on {} thread(s), stores {}\n", n,
                       run_s, options.threads, store);
            fmt::print("  nodes welcomed       {} of {} ({} in session at the end){}\n", t.welcomed,
                       n, t.in_session,
                       welcomed_after_s >= 0 ? fmt::format(", all after {:.1f} s", welcomed_after_s)
                                             : std::string());
            fmt::print("  heartbeats           {} sent, {} acked\n", t.heartbeats,
                       t.heartbeat_acks);
            fmt::print(
                "  confirmations        {} produced ({} booked, {} played; {} synthetic; "
                "{} emergency), {} sent, {} acked, {} not yet acked\n",
                t.produced, t.booked, t.played, t.synthetic, t.emergency, t.confirmations_sent,
                t.confirmations_acked, t.outbox);
            fmt::print("  reconnects           {} (sessions lost {}, restarts {})\n", t.reconnects,
                       t.sessions_lost, t.restarts);
            fmt::print(
                "  errors               {} from the controller, {} failures, {} bad "
                "frames, {} sends without a connection, {} frames dropped by the link\n",
                t.errors, t.failures, t.bad_frames, t.unsent, t.dropped);
            if (!t.last_error.empty()) {
                fmt::print("    last error: {}\n", t.last_error);
            }
            if (!t.last_failure.empty()) {
                fmt::print("    last failure: {}\n", t.last_failure);
            }
            fmt::print(
                "  memory               {:.1f} KiB per node (RSS {} MiB before the nodes, "
                "{} MiB {})\n",
                per_node_kib, rss_before / 1024, (rss_welcomed ? rss_welcomed : rss_end) / 1024,
                rss_welcomed ? "when all were welcomed" : "at the end");
            fmt::print(
                "  cpu                  simulator threads {:.1f} s ({:.1f} % of a core), "
                "process {:.1f} s; longest sweep {:.1f} ms\n",
                t.thread_cpu_s, 100 * t.thread_cpu_s / run_s, cpu_s, t.longest_sweep_ms);
        }
        if (t.welcomed < n || t.failures > 0) {
            exit_code = 3;
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "loa-sim: {}\n", e.what());
        exit_code = 1;
    }
    if (temporary) {
        std::error_code ec;
        fs::remove_all(data_root, ec);
    }
    return exit_code;
}
