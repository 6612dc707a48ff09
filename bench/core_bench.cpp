// The controller's core (issue 16): how many heartbeats a second the store takes on ext4 with
// synchronous=FULL, one transaction each (as before the one writer) against the writer's group
// commit; and how long a plan takes to apply while thousands of virtual nodes heartbeat.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "fleet/fleet_support.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/store.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/sim/simulator.hpp"

namespace fs = std::filesystem;
using namespace loa;
using namespace std::chrono_literals;
namespace lc = loa::controller;

namespace {

using bench::now_us;

/// A scratch directory under `base`, removed unless `keep`.
using bench::node_name;
using bench::Scratch;

wire::Heartbeat heartbeat(std::int64_t now) {
    wire::Heartbeat h;
    h.set_node_time_us(now);
    h.set_state("idle");
    h.set_volume_percent(80);
    h.set_storage_free_bytes(4'000'000'000ULL);
    h.set_link_interface("wwan0");
    h.set_link_type("cellular");
    h.set_link_signal_dbm(-81);
    h.set_clock_offset_us(-1200);
    h.set_clock_round_trip_us(90'000);
    h.set_agent_version("loa-node 0.3.0");
    h.set_schedule_horizon_end_us(now + 7LL * 86400 * 1'000'000);
    h.set_runway_end_us(now + 100LL * 3600 * 1'000'000);
    return h;
}

/// N speaker nodes written straight into a new database (setup; synchronous off for speed).
using bench::register_nodes;

// ---- heartbeats ----------------------------------------------------------------------------

struct HeartbeatOptions {
    std::string dir = "/var/tmp";
    int nodes = 10'000;
    double seconds = 10;
};

/// Before the one writer: every heartbeat its own synchronous=FULL transaction.
double one_transaction_each(const fs::path& db_file, const HeartbeatOptions& o) {
    auto db = lc::open_database(db_file);
    if (!db) {
        throw std::runtime_error(db.error().message);
    }
    lc::tune_writer(**db);
    std::uint64_t stored = 0;
    const auto start = std::chrono::steady_clock::now();
    while (bench::seconds_since(start) < o.seconds) {
        const std::string node = node_name("hb", static_cast<int>(stored % o.nodes) + 1, o.nodes);
        const std::int64_t now = now_us();
        auto recorded = lc::write_directly(**db, [&](lc::WriteTx& tx) {
            return lc::record_heartbeat(tx, node, heartbeat(now), now);
        });
        if (!recorded) {
            throw std::runtime_error(recorded.error().message);
        }
        ++stored;
    }
    return static_cast<double>(stored) / bench::seconds_since(start);
}

struct Batched {
    double per_second = 0;
    double commit_ms_p50 = 0;
    double commit_ms_max = 0;
};

/// The one writer: the gateway hands it each round's heartbeats as one change (one per node at
/// most: only a round's latest is kept), one change in flight; `batch` nodes a round.
Batched group_commit(lc::Store& store, int batch, const HeartbeatOptions& o) {
    std::uint64_t stored = 0;
    std::vector<double> commits_ms;
    int next = 0;
    const auto start = std::chrono::steady_clock::now();
    while (bench::seconds_since(start) < o.seconds) {
        std::vector<std::string> round;
        for (int i = 0; i < batch; ++i) {
            round.push_back(node_name("hb", next % o.nodes + 1, o.nodes));
            ++next;
        }
        const std::int64_t now = now_us();
        const auto t0 = std::chrono::steady_clock::now();
        auto committed = store.writer().run([&](lc::WriteTx& tx) -> lc::Result<void> {
            for (const auto& node : round) {
                if (auto r = lc::record_heartbeat(tx, node, heartbeat(now), now); !r) {
                    return r;
                }
            }
            return {};
        });
        if (!committed) {
            throw std::runtime_error(committed.error().message);
        }
        commits_ms.push_back(bench::seconds_since(t0) * 1000.0);
        stored += round.size();
    }
    const double elapsed = bench::seconds_since(start);
    std::sort(commits_ms.begin(), commits_ms.end());
    return {static_cast<double>(stored) / elapsed, commits_ms[commits_ms.size() / 2],
            commits_ms.back()};
}

int run_heartbeats(const HeartbeatOptions& o) {
    Scratch scratch(o.dir, "loa-core-bench");
    const fs::path db_file = scratch.path / "controller.db";
    register_nodes(db_file, o.nodes, "hb", "vn/bench", nullptr);
    fmt::print("# heartbeat capacity on {} ({} nodes, {:.0f} s each, synchronous=FULL)\n", o.dir,
               o.nodes, o.seconds);
    const double each = one_transaction_each(db_file, o);
    fmt::print("| one transaction per heartbeat (before) | {:.0f} heartbeats/s | | |\n", each);
    auto store = lc::Store::open(db_file);
    if (!store) {
        throw std::runtime_error(store.error().message);
    }
    for (int batch : {1, 10, 100, 1'000, 10'000}) {
        if (batch > o.nodes) {
            break;
        }
        const auto r = group_commit(**store, batch, o);
        fmt::print(
            "| group commit, {} per change (after) | {:.0f} heartbeats/s | commit p50 "
            "{:.1f} ms | max {:.1f} ms |\n",
            batch, r.per_second, r.commit_ms_p50, r.commit_ms_max);
    }
    return 0;
}

// ---- plan apply under load ------------------------------------------------------------------

struct PlanOptions {
    std::string dir = "/var/tmp";
    int nodes = 5'000;
    int heartbeat_ms = 5'000;
    int applies = 5;
    bool keep = false;
};

std::string plan_text(const std::string& media, int nodes) {
    return fmt::format(R"([[areas]]
path = "vn"
name = "Việt Nam"
time_zone = "Asia/Ho_Chi_Minh"
  [[areas.windows]]
  name = "sang"
  start = "05:30"
  end = "06:30"
  [[areas.windows]]
  name = "chieu"
  start = "17:00"
  end = "18:00"
[[areas]]
path = "vn/bench"
name = "Tỉnh thử tải"
[[nodes]]
id = "pl"
area = "vn/bench"
count = {}
[[items]]
id = "ban-tin"
title = "Bản tin"
media = "{}"
duration = "30s"
[[campaigns]]
id = "ke-hoach"
title = "Kế hoạch thử tải"
areas = ["vn/bench"]
items = ["ban-tin"]
from = "2026-01-01"
until = "2099-12-31"
  [campaigns.quotas]
  plays_per_day = 2
)",
                       nodes, media);
}

std::vector<double> apply_plans(int port, const std::string& token, const std::string& plan,
                                int applies) {
    httplib::Client api("127.0.0.1", port);
    api.set_read_timeout(600, 0);
    std::vector<double> seconds;
    for (int i = 0; i < applies; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        // From tomorrow: today's sessions may be over, and a shortfall is not what is timed.
        const auto local = std::chrono::system_clock::now() + std::chrono::hours(7 + 24);
        const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(local)};
        const std::string from =
            fmt::format("{:04}-{:02}-{:02}", static_cast<int>(day.year()),
                        static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
        auto r = api.Post("/api/v1/plans?name=bench.toml&days=7&from=" + from,
                          {{"Authorization", "Bearer " + token}}, plan, "application/toml");
        if (!r || r->status != 201) {
            throw std::runtime_error(fmt::format("plan apply: {}", r ? r->body : "no answer"));
        }
        seconds.push_back(bench::seconds_since(t0));
    }
    return seconds;
}

std::string stats(std::vector<double> s) {
    std::sort(s.begin(), s.end());
    return fmt::format("p50 {:.2f} s, max {:.2f} s", s[s.size() / 2], s.back());
}

int run_plan_apply(const PlanOptions& o) {
    Scratch scratch(o.dir, "loa-core-bench");
    scratch.keep = o.keep;
    const fs::path data = scratch.path / "controller";
    fs::create_directories(data);
    std::vector<sim::NodeIdentity> identities;
    // The plan's nodes are the virtual nodes: the plan books every one of them.
    register_nodes(data / "controller.db", o.nodes, "pl", "vn/bench", &identities);
    const auto keys = protocol::load_or_create_key_file(lc::controller_key_file(data));
    if (!keys) {
        throw std::runtime_error(keys.error());
    }
    // A bulletin, and the first admin's token, through loactl over the data directory.
    const std::string token = bench::first_admin_token(LOA_LOACTL_BIN, data);
    const std::string media =
        bench::approved_bulletin(LOA_LOACTL_BIN, data, token, scratch.path, 30.0);

    const int http_port = bench::free_tcp_port();
    const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", bench::free_tcp_port());
    bench::Child controller({LOA_CONTROLLER_BIN, "--data", data.string(), "--bind", endpoint,
                             "--http-bind", fmt::format("127.0.0.1:{}", http_port), "--enroll-bind",
                             "none", "--heartbeat-ms", std::to_string(o.heartbeat_ms)},
                            scratch.path / "controller.log");
    std::this_thread::sleep_for(1s);
    const std::string plan = plan_text(media, o.nodes);
    fmt::print("# plan apply: {} nodes booked by the plan, {} applies each\n", o.nodes, o.applies);
    const auto idle = apply_plans(http_port, token, plan, o.applies);
    fmt::print("| no node connected | {} |\n", stats(idle));

    sim::SimOptions options;
    options.endpoint = endpoint;
    options.controller_key = keys->public_key;
    options.data_root = scratch.path / "virtual";
    sim::Simulator simulator(options);
    for (const auto& identity : identities) {
        simulator.add_node(identity);
    }
    simulator.start();
    if (!simulator.wait_until(
            [&](const sim::SimTotals& t) {
                return t.welcomed == static_cast<std::uint64_t>(o.nodes);
            },
            std::chrono::seconds(300))) {
        throw std::runtime_error("the virtual nodes were not all welcomed in 5 minutes");
    }
    const auto before = simulator.totals();
    const auto loaded_start = std::chrono::steady_clock::now();
    const auto loaded = apply_plans(http_port, token, plan, o.applies);
    const double loaded_s = bench::seconds_since(loaded_start);
    const auto after = simulator.totals();
    simulator.stop();
    fmt::print(
        "| {} nodes heartbeating every {} ms | {} | heartbeats acked {:.0f}/s, sessions "
        "lost {} |\n",
        o.nodes, o.heartbeat_ms, stats(loaded),
        static_cast<double>(after.heartbeat_acks - before.heartbeat_acks) / loaded_s,
        after.sessions_lost - before.sessions_lost);
    const std::string log = bench::read_text(scratch.path / "controller.log");
    fmt::print("controller log: {} 'database is locked', {} 'not stored'\n",
               bench::occurrences(log, "database is locked"),
               bench::occurrences(log, "not stored"));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The controller's core: heartbeat capacity and plan apply under load"};
    app.require_subcommand(1);
    HeartbeatOptions h;
    auto* heartbeats = app.add_subcommand(
        "heartbeats", "heartbeats a second stored, one transaction each against group commit");
    heartbeats->add_option("--dir", h.dir, "where the database goes (default /var/tmp, ext4)");
    heartbeats->add_option("--nodes", h.nodes, "nodes (default 10000)")
        ->check(CLI::Range(1, 1'000'000));
    heartbeats->add_option("--seconds", h.seconds, "seconds per measurement (default 10)");
    PlanOptions p;
    auto* plan = app.add_subcommand("plan-apply",
                                    "plan apply latency, idle and with virtual nodes heartbeating");
    plan->add_option("--dir", p.dir, "where the controller's data goes (default /var/tmp)");
    plan->add_option("--nodes", p.nodes, "virtual nodes, all booked by the plan (default 5000)")
        ->check(CLI::Range(1, 100'000));
    plan->add_option("--heartbeat-ms", p.heartbeat_ms, "their heartbeat interval (default 5000)");
    plan->add_option("--applies", p.applies, "applies in each phase (default 5)");
    plan->add_flag("--keep", p.keep, "keep the data directory");
    CLI11_PARSE(app, argc, argv);
    ::signal(SIGPIPE, SIG_IGN);
    spdlog::set_level(spdlog::level::warn);
    // One descriptor per virtual node and per connection at the controller.
    if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
    }
    try {
        return heartbeats->parsed() ? run_heartbeats(h) : run_plan_apply(p);
    } catch (const std::exception& e) {
        fmt::print(stderr, "core_bench: {}\n", e.what());
        return 1;
    }
}
