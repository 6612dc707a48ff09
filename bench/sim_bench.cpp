// Node simulator benchmark (issues 16 and 18): N virtual nodes (loa_sim, the node library's
// sessions) against a real loa-controller process; what a virtual node costs the simulator in
// memory and CPU, and what the run cost the controller.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "fleet/fleet_support.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/sim/simulator.hpp"

namespace fs = std::filesystem;
using namespace loa;
using namespace std::chrono_literals;

namespace {

using bench::now_us;

struct Options {
    int nodes = 1000;
    int heartbeat_ms = 30'000;
    double duration_s = 120;
    double drain_s = 30;  ///< after the run, how long outboxes may take to empty
    int threads = 1;
    int io_threads = 1;
    double tick_ms = 50;
    double plays_per_day = 0;
    double day_seconds = 86'400;
    std::string store = "memory";
    std::string data_root;
    bool json = false;
    bool keep = false;
    std::string controller = LOA_CONTROLLER_BIN;
};

/// The controller's data: N speaker nodes, each with a key of its own enrolled straight into
/// its database, and the controller's key.
std::vector<sim::NodeIdentity> register_nodes(const fs::path& data, int n, std::string& key) {
    std::vector<sim::NodeIdentity> identities;
    bench::register_nodes(data / "controller.db", n, "sim", "vn/sim", &identities);
    auto keys = protocol::load_or_create_key_file(controller::controller_key_file(data));
    if (!keys) {
        throw std::runtime_error(keys.error());
    }
    key = keys->public_key;
    return identities;
}

using bench::self_cpu_seconds;
using bench::stored_confirmations;

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "N virtual nodes (loa_sim) against a real loa-controller: memory and CPU per "
        "node, heartbeats and confirmations end to end"};
    Options o;
    app.add_option("--nodes", o.nodes, "virtual nodes (default 1000)")
        ->check(CLI::Range(1, 100'000));
    app.add_option("--heartbeat-ms", o.heartbeat_ms,
                   "the controller's heartbeat interval (default 30000)")
        ->check(CLI::Range(200, 600'000));
    app.add_option("--duration-s", o.duration_s,
                   "seconds after every node is welcomed (default 120)")
        ->check(CLI::Range(1.0, 86'400.0));
    app.add_option("--drain-s", o.drain_s,
                   "then at most this long for outboxes to empty (default 30)")
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--threads", o.threads, "simulator threads (default 1)")
        ->check(CLI::Range(1, 64));
    app.add_option("--io-threads", o.io_threads, "ZeroMQ I/O threads (default 1)")
        ->check(CLI::Range(1, 16));
    app.add_option("--tick-ms", o.tick_ms, "each node's timers looked at this often (default 50)")
        ->check(CLI::Range(1.0, 10'000.0));
    app.add_option("--plays-per-day", o.plays_per_day, "synthetic plays per node a day (default 0)")
        ->check(CLI::Range(0.0, 1e6));
    app.add_option("--day-seconds", o.day_seconds,
                   "a simulated day lasts this long (default 86400)")
        ->check(CLI::Range(1.0, 1e9));
    app.add_option("--store", o.store, "memory (default) or files")
        ->check(CLI::IsMember({"memory", "files"}));
    app.add_option("--data-root", o.data_root, "where the temporary directory goes");
    app.add_option("--controller", o.controller, "loa-controller executable");
    app.add_flag("--json", o.json, "print JSON");
    app.add_flag("--keep", o.keep, "keep the temporary directory");
    CLI11_PARSE(app, argc, argv);
    ::signal(SIGPIPE, SIG_IGN);
    spdlog::set_level(spdlog::level::warn);  // every session logs its welcome and timelines

    std::string command = fmt::format(
        "{} --nodes {} --heartbeat-ms {} --duration-s {} --threads {} --io-threads {} --tick-ms {} "
        "--store {}",
        argv[0], o.nodes, o.heartbeat_ms, o.duration_s, o.threads, o.io_threads, o.tick_ms,
        o.store);
    if (o.plays_per_day > 0) {
        command +=
            fmt::format(" --plays-per-day {} --day-seconds {}", o.plays_per_day, o.day_seconds);
    }
    const fs::path base = o.data_root.empty() ? fs::temp_directory_path() : fs::path(o.data_root);
    std::string pattern = (base / "loa-sim-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        fmt::print(stderr, "cannot create a temporary directory under {}\n", base.string());
        return 2;
    }
    const fs::path dir = pattern;
    int exit_code = 0;
    try {
        std::string key;
        const auto setup_start = std::chrono::steady_clock::now();
        auto identities = register_nodes(dir / "controller", o.nodes, key);
        const double setup_s = bench::seconds_since(setup_start);

        const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", bench::free_tcp_port());
        const fs::path log = dir / "controller.log";
        bench::Child controller({o.controller, "--data", (dir / "controller").string(), "--bind",
                                 endpoint, "--http-bind", "none", "--enroll-bind", "none",
                                 "--heartbeat-ms", std::to_string(o.heartbeat_ms)},
                                log);
        auto listening = [&] {
            std::ifstream in(log);
            std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
            return text.find("controller listening on") != std::string::npos;
        };
        for (auto until = std::chrono::steady_clock::now() + 15s;
             !listening() && controller.running() && std::chrono::steady_clock::now() < until;) {
            std::this_thread::sleep_for(20ms);
        }
        if (!listening()) {
            throw std::runtime_error("the controller did not start; see " + log.string());
        }

        sim::SimOptions options;
        options.endpoint = endpoint;
        options.controller_key = key;
        options.data_root = dir / "nodes";
        options.store_files = o.store == "files";
        options.threads = o.threads;
        options.io_threads = o.io_threads;
        options.tick_us = static_cast<std::int64_t>(o.tick_ms * 1000);
        options.plays_per_day = o.plays_per_day;
        options.day_seconds = o.day_seconds;
        sim::Simulator simulator(options);
        for (auto& identity : identities) {
            simulator.add_node(std::move(identity));
        }
        identities.clear();
        identities.shrink_to_fit();

        const std::uint64_t rss_before = sim::resident_kib();
        const sqlite3_int64 sqlite_before = sqlite3_memory_used();
        const auto t0 = std::chrono::steady_clock::now();
        simulator.start();
        const double start_s = bench::seconds_since(t0);
        const std::uint64_t n = simulator.size();
        const bool all = simulator.wait_until(
            [&](const sim::SimTotals& t) { return t.welcomed == n; },
            std::chrono::milliseconds(static_cast<std::int64_t>(60'000 + 20 * n)));
        const double welcomed_s = bench::seconds_since(t0);
        const std::uint64_t rss_welcomed = sim::resident_kib();
        const sqlite3_int64 sqlite_welcomed = sqlite3_memory_used();
        // The window opens once the controller has answered every heartbeat sent so far (it
        // commits each one: after thousands of HELLOs it may lag) and that was published.
        const auto catch_up = std::chrono::steady_clock::now();
        simulator.wait_until(
            [](const sim::SimTotals& t) { return t.heartbeat_acks >= t.heartbeats; }, 120s);
        const double caught_up_s = bench::seconds_since(catch_up);
        std::this_thread::sleep_for(1500ms);

        // The steady window: every node in session, heartbeating (and confirming).
        const auto before = simulator.totals();
        const double sim_cpu0 = self_cpu_seconds();
        const double controller_cpu0 = bench::proc_cpu_seconds(controller.pid());
        const auto w0 = std::chrono::steady_clock::now();
        while (bench::seconds_since(w0) < o.duration_s && controller.running()) {
            std::this_thread::sleep_for(200ms);
        }
        const double window_s = bench::seconds_since(w0);
        const auto after = simulator.totals();
        const double sim_cpu_s = self_cpu_seconds() - sim_cpu0;
        const double controller_cpu_s = bench::proc_cpu_seconds(controller.pid()) - controller_cpu0;
        const std::uint64_t rss_end = sim::resident_kib();
        const std::uint64_t controller_rss = bench::proc_status_value(controller.pid(), "VmRSS");
        simulator.stop();  // outboxes: what is left is counted, not drained
        const auto t = simulator.totals();
        const std::int64_t stored = stored_confirmations(dir / "controller" / "controller.db");
        controller.stop(true, 10s);

        const double per_node_kib =
            static_cast<double>(rss_welcomed - rss_before) / static_cast<double>(n);
        // SQLite's own heap: what the stores hold (their pages, schema and connections).
        const double sqlite_per_node_kib =
            static_cast<double>(sqlite_welcomed - sqlite_before) / 1024.0 / static_cast<double>(n);
        const double thread_cpu = after.thread_cpu_s - before.thread_cpu_s;
        const std::uint64_t heartbeats = after.heartbeats - before.heartbeats;
        const std::uint64_t acks = after.heartbeat_acks - before.heartbeat_acks;
        const double mean_sweep_ms = after.sweeps > before.sweeps
                                         ? 1e3 * (after.sweep_s - before.sweep_s) /
                                               static_cast<double>(after.sweeps - before.sweeps)
                                         : 0.0;
        const bool pass = all && t.failures == 0 && t.errors == 0 && t.in_session == n &&
                          after.reconnects == before.reconnects;
        exit_code = pass ? 0 : 3;
        nlohmann::json j = {{"command", command},
                            {"nodes", n},
                            {"setup_s", setup_s},
                            {"start_s", start_s},
                            {"all_welcomed", all},
                            {"all_welcomed_after_s", welcomed_s},
                            {"heartbeats_answered_after_s", caught_up_s},
                            {"window_s", window_s},
                            {"heartbeats_sent", heartbeats},
                            {"heartbeats_acked", acks},
                            {"heartbeats_per_s", static_cast<double>(acks) / window_s},
                            {"confirmations_produced", t.produced},
                            {"confirmations_acked", t.confirmations_acked},
                            {"confirmations_waiting", t.outbox},
                            {"confirmations_stored", stored},
                            {"reconnects_in_window", after.reconnects - before.reconnects},
                            {"sessions_lost_in_window", after.sessions_lost - before.sessions_lost},
                            {"in_session_at_end", t.in_session},
                            {"errors", t.errors},
                            {"failures", t.failures},
                            {"last_error", t.last_error},
                            {"last_failure", t.last_failure},
                            {"memory_per_node_kib", per_node_kib},
                            {"sqlite_per_node_kib", sqlite_per_node_kib},
                            {"rss_before_kib", rss_before},
                            {"rss_welcomed_kib", rss_welcomed},
                            {"rss_end_kib", rss_end},
                            {"sim_threads_cpu_share", thread_cpu / window_s},
                            {"sim_process_cpu_share", sim_cpu_s / window_s},
                            {"longest_sweep_ms", t.longest_sweep_ms},
                            {"mean_sweep_ms", mean_sweep_ms},
                            {"controller_cpu_share", controller_cpu_s / window_s},
                            {"controller_rss_kib", controller_rss},
                            {"verdict", bench::verdict(pass)}};
        if (o.json) {
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("{}\n", command);
            fmt::print(
                "{} virtual nodes, {} simulator thread(s), {} I/O thread(s), stores {}, "
                "heartbeat {} ms; setup {:.1f} s\n",
                n, o.threads, o.io_threads, o.store, o.heartbeat_ms, setup_s);
            fmt::print(
                "  welcomed             {} of {} in {:.1f} s (nodes made in {:.1f} s); every "
                "heartbeat answered {:.1f} s later\n",
                t.welcomed, n, welcomed_s, start_s, caught_up_s);
            fmt::print(
                "  steady {:.0f} s         heartbeats {} sent, {} acked ({:.1f}/s); "
                "sessions lost {}, begun again {}; {} of {} in session at the end\n",
                window_s, heartbeats, acks, static_cast<double>(acks) / window_s,
                after.sessions_lost - before.sessions_lost, after.reconnects - before.reconnects,
                t.in_session, n);
            fmt::print(
                "  confirmations        {} produced, {} acked, {} waiting; {} stored by "
                "the controller\n",
                t.produced, t.confirmations_acked, t.outbox, stored);
            fmt::print("  errors               {} from the controller, {} failures {}\n", t.errors,
                       t.failures, t.last_failure);
            fmt::print(
                "  memory               {:.1f} KiB per virtual node, of which SQLite {:.1f} KiB "
                "(RSS {:.0f} → {:.0f} MiB welcomed, {:.0f} MiB at the end)\n",
                per_node_kib, sqlite_per_node_kib, rss_before / 1024.0, rss_welcomed / 1024.0,
                rss_end / 1024.0);
            fmt::print(
                "  simulator CPU        threads {:.1f} % of a core, process {:.1f} % "
                "(with ZeroMQ I/O); a pass over the nodes {:.2f} ms (longest {:.1f}) "
                "every {} ms\n",
                100 * thread_cpu / window_s, 100 * sim_cpu_s / window_s, mean_sweep_ms,
                t.longest_sweep_ms, o.tick_ms);
            fmt::print("  controller           CPU {:.1f} % of a core, RSS {:.1f} MiB\n",
                       100 * controller_cpu_s / window_s, controller_rss / 1024.0);
            fmt::print("  verdict              {}\n", bench::verdict(pass));
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "sim_bench: {}\n", e.what());
        exit_code = 1;
    }
    if (!o.keep) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    } else {
        fmt::print(stderr, "kept {}\n", dir.string());
    }
    return exit_code;
}
