// The fleet benchmark (issue 18): 10,000 virtual nodes (loa_sim: the node library's sessions, each
// with its own CURVE key) against one real loa-controller, beside Debian's mosquitto for the same
// fan-out. Scenarios: fanout (an emergency from the HTTP request to every COMMAND-RESULT, and
// memory per connected node), storm (the controller SIGKILLed and restarted), soak (heartbeats
// and confirmations for a while: memory growth, CPU, every confirmation stored once).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bench_support.hpp"
#include "fleet/fleet_support.hpp"
#include "fleet/mqtt_fleet.hpp"
#include "fleet/sim_processes.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/envelope.hpp"
#include "loa/protocol/versions.hpp"
#include "loa/sim/simulator.hpp"

namespace fs = std::filesystem;
using namespace loa;
using namespace std::chrono_literals;
using bench::now_us;

namespace {

struct Options {
    std::string scenario = "fanout";
    int nodes = 10'000;
    int heartbeat_ms = 30'000;
    double duration_s = 120;  ///< soak: the window after warm-up
    double warmup_s = 30;     ///< soak: memory is compared with what it was at this point
    double plays_per_day = 20;
    double day_seconds = 600;  ///< soak: a day compressed into this many seconds
    int threads = 1;           ///< simulator threads in each simulator process
    int per_process = 5'000;   ///< virtual nodes in each simulator process
    std::string dir = "/var/tmp";
    /// Where the virtual nodes' media caches live ("": in `dir`). Each device writes and syncs
    /// its own card; a simulator process writing 5,000 nodes' files in turn to one disk makes
    /// every node wait for the others' fsyncs, which no real node does. The fan-out puts them in
    /// memory (/dev/shm) so that what it times is the controller and the link.
    std::string node_dir;
    std::string mosquitto = "/usr/sbin/mosquitto";
    bool mqtt = true;
    bool json = false;
    bool keep = false;
};

/// The part of a run every scenario shares: the controller's data with N nodes and their keys,
/// the first admin, an approved bulletin; the controller process; the virtual nodes.
class Fleet {
  public:
    Fleet(const Options& o, const std::string& name)
        : o_(o),
          scratch_(o.dir, name),
          node_scratch_(o.node_dir.empty() ? nullptr
                                           : std::make_unique<bench::Scratch>(o.node_dir, name)) {
        scratch_.keep = o.keep;
        data_ = scratch_.path / "controller";
        fs::create_directories(data_);
        bench::register_nodes(data_ / "controller.db", o.nodes, "sim", "vn/sim", &identities_);
        const auto keys = protocol::load_or_create_key_file(controller::controller_key_file(data_));
        if (!keys) {
            throw std::runtime_error(keys.error());
        }
        controller_key_ = keys->public_key;
        token_ = bench::first_admin_token(LOA_LOACTL_BIN, data_);
        media_ = bench::approved_bulletin(LOA_LOACTL_BIN, data_, token_, scratch_.path, 1.0);
        http_port_ = bench::free_tcp_port();
        endpoint_ = fmt::format("tcp://127.0.0.1:{}", bench::free_tcp_port());
    }

    /// Starts (or starts again) the controller on the same data; its log is appended to.
    void start_controller() {
        controller_.reset();
        controller_ = std::make_unique<bench::Child>(
            std::vector<std::string>{LOA_CONTROLLER_BIN, "--data", data_.string(), "--bind",
                                     endpoint_, "--http-bind",
                                     fmt::format("127.0.0.1:{}", http_port_), "--enroll-bind",
                                     "none", "--heartbeat-ms", std::to_string(o_.heartbeat_ms)},
            log(), starts_++ > 0);
        const std::string ready = "controller listening on";
        const auto before = bench::occurrences(bench::read_text(log()), ready);
        for (auto until = std::chrono::steady_clock::now() + 60s;
             bench::occurrences(bench::read_text(log()), ready) <= before;) {
            if (!controller_->running() || std::chrono::steady_clock::now() > until) {
                throw std::runtime_error("the controller did not start; see " + log().string());
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    /// SIGKILL, as a power cut or the OOM killer would.
    void kill_controller() {
        ::kill(controller_->pid(), SIGKILL);
        controller_->stop(false, 10s);
    }

    void start_nodes(double plays_per_day, double day_seconds, std::int64_t synthetic_until_us) {
        sim::SimOptions options;
        options.endpoint = endpoint_;
        options.controller_key = controller_key_;
        options.data_root = (node_scratch_ ? node_scratch_->path : scratch_.path) / "nodes";
        options.threads = o_.threads;
        options.plays_per_day = plays_per_day;
        options.day_seconds = day_seconds;
        options.synthetic_until_us = synthetic_until_us;
        sim_ = std::make_unique<bench::SimProcesses>(options, identities_,
                                                     static_cast<std::size_t>(o_.per_process));
        sim_->start();
    }

    /// Every node welcomed and every heartbeat so far answered; seconds it took, -1 on timeout.
    double wait_settled(std::chrono::milliseconds timeout) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t n = sim_->size();
        const bool all = sim_->wait_until(
            [&](const sim::SimTotals& t) {
                return t.welcomed == n && t.in_session == n && t.heartbeat_acks >= t.heartbeats;
            },
            timeout);
        return all ? bench::seconds_since(t0) : -1;
    }

    /// Every node in session and as many heartbeats answered since the call as there are nodes
    /// (after a restart, the heartbeats the killed controller never answered stay unanswered);
    /// seconds it took, -1 on timeout.
    double wait_answered_again(std::chrono::milliseconds timeout) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t n = sim_->size();
        const std::uint64_t acks0 = sim_->totals().heartbeat_acks;
        const bool all = sim_->wait_until(
            [&](const sim::SimTotals& t) {
                return t.in_session == n && t.heartbeat_acks >= acks0 + n;
            },
            timeout);
        return all ? bench::seconds_since(t0) : -1;
    }

    fs::path log() const { return scratch_.path / "controller.log"; }
    fs::path db_file() const { return data_ / "controller.db"; }
    bench::Child& controller() { return *controller_; }
    bench::SimProcesses& nodes() { return *sim_; }
    const std::string& media() const { return media_; }
    const std::string& token() const { return token_; }
    int http_port() const { return http_port_; }
    const fs::path& dir() const { return scratch_.path; }
    const std::vector<sim::NodeIdentity>& identities() const { return identities_; }
    const std::string& controller_key() const { return controller_key_; }
    const std::string& endpoint() const { return endpoint_; }

    /// Lines the controller logged at warning level and above.
    std::pair<std::size_t, std::size_t> warnings_and_errors() const {
        const std::string text = bench::read_text(log());
        return {bench::occurrences(text, "[warning]"),
                bench::occurrences(text, "[error]") + bench::occurrences(text, "[critical]")};
    }

  private:
    Options o_;
    bench::Scratch scratch_;
    std::unique_ptr<bench::Scratch> node_scratch_;
    fs::path data_;
    std::vector<sim::NodeIdentity> identities_;
    std::string controller_key_;
    std::string token_;
    std::string media_;
    int http_port_ = 0;
    std::string endpoint_;
    int starts_ = 0;
    std::unique_ptr<bench::Child> controller_;
    std::unique_ptr<bench::SimProcesses> sim_;
};

/// What the table prints, and the JSON.
struct Row {
    std::string measure;
    std::string loa;
    std::string other;  ///< mosquitto's figure, or the target
};

void print(const std::string& title, const std::vector<Row>& rows, const nlohmann::json& j,
           bool json) {
    if (json) {
        fmt::print("{}\n", j.dump(2));
        return;
    }
    fmt::print("\n## {}\n\n| measure | loa | beside it |\n|---|---|---|\n", title);
    for (const auto& r : rows) {
        fmt::print("| {} | {} | {} |\n", r.measure, r.loa, r.other);
    }
}

std::string ms_triple(const std::vector<double>& ms) {
    return fmt::format("{:.0f} / {:.0f} / {:.0f} ms", bench::quantile(ms, 0.5),
                       bench::quantile(ms, 0.99), bench::quantile(ms, 1.0));
}

/// The emergency command as the controller sends it to a node, serialised: mosquitto publishes
/// the same bytes.
std::string emergency_payload(const std::string& media) {
    wire::Envelope e;
    e.set_version(1);
    e.set_message_id(1);
    auto* c = e.mutable_command();
    c->set_command_id(1);
    c->set_issued_us(now_us());
    auto* em = c->mutable_emergency();
    em->set_emergency_id("e-20261207-0001");
    em->set_media_hash(media);
    em->set_media_size(6'000);
    em->set_duration_us(1'000'000);
    em->set_title("Cảnh báo lũ quét / Flash flood warning");
    em->set_repeat(1);
    em->set_expires_us(now_us() + 3'600'000'000LL);
    return e.SerializeAsString();
}

// ---- fan-out and memory ---------------------------------------------------------------------

/// A counter from the controller's /metrics (0 if absent).
double metric(httplib::Client& api, const std::string& token, const std::string& name) {
    auto r = api.Get("/metrics", {{"Authorization", "Bearer " + token}});
    if (!r || r->status != 200) {
        return 0;
    }
    std::istringstream lines(r->body);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with(name + " ")) {
            return std::strtod(line.c_str() + name.size() + 1, nullptr);
        }
    }
    return 0;
}

int run_fanout(const Options& o) {
    Fleet fleet(o, "loa-fleet-fanout");
    fleet.start_controller();
    std::this_thread::sleep_for(2s);
    httplib::Client api("127.0.0.1", fleet.http_port());
    api.set_read_timeout(60, 0);
    const std::uint64_t idle_kib = bench::proc_status_value(fleet.controller().pid(), "VmRSS");
    const double idle_sqlite = metric(api, fleet.token(), "loa_sqlite_heap_bytes");
    fleet.start_nodes(0, 86'400, 0);
    const double settled_s = fleet.wait_settled(std::chrono::milliseconds(120'000 + 20 * o.nodes));
    std::this_thread::sleep_for(3s);
    const std::uint64_t connected_kib = bench::proc_status_value(fleet.controller().pid(), "VmRSS");
    const double connected_sqlite = metric(api, fleet.token(), "loa_sqlite_heap_bytes");
    const double loa_per_node_kb =
        1.024 * static_cast<double>(connected_kib - idle_kib) / static_cast<double>(o.nodes);
    // SQLite's page caches grow with the rows the nodes' heartbeats touch, up to each
    // connection's cache_size: bounded whatever the number of nodes, so set aside.
    const double sqlite_growth_kb = (connected_sqlite - idle_sqlite) / 1000.0;
    const double loa_per_node_no_cache_kb =
        loa_per_node_kb - sqlite_growth_kb / static_cast<double>(o.nodes);

    // The emergency, from the HTTP request to each node's COMMAND-RESULT received.
    const nlohmann::json order = {{"media", fleet.media()},
                                  {"all", true},
                                  {"repeat", 1},
                                  {"expires", "now+1h"},
                                  {"title", "Cảnh báo lũ quét / Flash flood warning"}};
    const double cpu0 = bench::proc_cpu_seconds(fleet.controller().pid());
    const std::int64_t t0 = now_us();
    auto answer = api.Post("/api/v1/emergencies", {{"Authorization", "Bearer " + fleet.token()}},
                           order.dump(), "application/json");
    const double http_ms = static_cast<double>(now_us() - t0) / 1e3;
    if (!answer || answer->status != 201) {
        throw std::runtime_error(fmt::format("the emergency was refused: {}",
                                             answer ? answer->body : std::string("no answer")));
    }
    const std::string emergency_id = nlohmann::json::parse(answer->body).at("emergency_id");
    std::vector<double> loa_ms;
    SQLite::Database db(fleet.db_file().string(), SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    for (auto until = std::chrono::steady_clock::now() + 120s;
         std::chrono::steady_clock::now() < until;) {
        const auto answered =
            db.execAndGet(fmt::format("SELECT count(*) FROM commands WHERE emergency_id = '{}' "
                                      "AND result_received_us IS NOT NULL",
                                      emergency_id))
                .getInt64();
        if (answered >= o.nodes) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    const double controller_cpu_s = bench::proc_cpu_seconds(fleet.controller().pid()) - cpu0;
    {
        SQLite::Statement q(db,
                            "SELECT result_received_us, ok FROM commands WHERE emergency_id = ? "
                            "AND result_received_us IS NOT NULL");
        q.bind(1, emergency_id);
        while (q.executeStep()) {
            loa_ms.push_back(static_cast<double>(q.getColumn(0).getInt64() - t0) / 1e3);
        }
    }
    const auto totals = fleet.nodes().totals();
    const auto [warnings, errors] = fleet.warnings_and_errors();
    fleet.nodes().stop();
    fleet.controller().stop(true, 20s);

    // The same payload through mosquitto, in the same run, with the machine to itself again.
    bench::MqttFanoutResult mqtt;
    if (o.mqtt) {
        bench::MqttFanoutOptions m;
        m.mosquitto = o.mosquitto;
        m.dir = fleet.dir();
        m.clients = o.nodes;
        m.payload = emergency_payload(fleet.media());
        mqtt = bench::run_mqtt_fanout(m);
    }
    const double mqtt_per_conn_kb =
        mqtt.connected > 0
            ? 1.024 *
                  static_cast<double>(mqtt.broker_rss_connected_kib - mqtt.broker_rss_idle_kib) /
                  mqtt.connected
            : 0;
    const double loa_p99 = bench::quantile(loa_ms, 0.99);
    const double mqtt_p99 = bench::quantile(mqtt.answered_ms, 0.99);
    const bool all_answered = static_cast<int>(loa_ms.size()) == o.nodes;
    const bool pass = settled_s >= 0 && all_answered && loa_p99 <= 1000 &&
                      (!o.mqtt || mqtt.error.empty()) && (!o.mqtt || loa_p99 <= mqtt_p99) &&
                      loa_per_node_no_cache_kb <= 40 && errors == 0;
    std::vector<Row> rows = {
        {"nodes / clients connected",
         fmt::format("{} of {} (settled in {:.1f} s)", totals.in_session, o.nodes, settled_s),
         o.mqtt ? fmt::format("{} of {} (in {:.1f} s)", mqtt.connected, o.nodes, mqtt.connect_s)
                : "—"},
        {"answers received", fmt::format("{} of {}", loa_ms.size(), o.nodes),
         o.mqtt ? fmt::format("{} of {}", mqtt.answered, o.nodes) : "—"},
        {"order → answer at the sender, p50 / p99 / max", ms_triple(loa_ms),
         o.mqtt ? ms_triple(mqtt.answered_ms) : "—"},
        {"order → delivered at the node, p50 / p99 / max", "—",
         o.mqtt ? ms_triple(mqtt.delivered_ms) : "—"},
        {"HTTP request answered (stored, queued)", fmt::format("{:.0f} ms", http_ms), "—"},
        {"CPU of the server over the fan-out", fmt::format("{:.2f} s", controller_cpu_s),
         o.mqtt ? fmt::format("{:.2f} s", mqtt.broker_cpu_s) : "—"},
        {"memory per connected node (RSS)", fmt::format("{:.1f} kB", loa_per_node_kb),
         o.mqtt ? fmt::format("{:.1f} kB", mqtt_per_conn_kb) : "—"},
        {"of it SQLite's page caches (bounded, not per node)",
         fmt::format("{:.1f} MB, {:.1f} kB a node", sqlite_growth_kb / 1000.0,
                     sqlite_growth_kb / static_cast<double>(o.nodes)),
         "—"},
        {"memory per connected node, page caches aside",
         fmt::format("{:.1f} kB", loa_per_node_no_cache_kb), "≤ 40 kB"},
        {"server RSS idle → connected",
         fmt::format("{:.0f} → {:.0f} MiB", idle_kib / 1024.0, connected_kib / 1024.0),
         o.mqtt ? fmt::format("{:.1f} → {:.1f} MiB", mqtt.broker_rss_idle_kib / 1024.0,
                              mqtt.broker_rss_connected_kib / 1024.0)
                : "—"},
        {"controller log: warnings, errors", fmt::format("{}, {}", warnings, errors), ""},
        {"verdict (p99 ≤ 1 s and ≤ mosquitto's, ≤ 40 kB a node aside from page caches)",
         bench::verdict(pass), mqtt.error},
    };
    nlohmann::json j = {{"scenario", "fanout"},
                        {"nodes", o.nodes},
                        {"settled_s", settled_s},
                        {"loa_answers", loa_ms.size()},
                        {"loa_p50_ms", bench::quantile(loa_ms, 0.5)},
                        {"loa_p99_ms", loa_p99},
                        {"loa_max_ms", bench::quantile(loa_ms, 1.0)},
                        {"loa_http_ms", http_ms},
                        {"loa_controller_cpu_s", controller_cpu_s},
                        {"loa_memory_per_node_kb", loa_per_node_kb},
                        {"loa_sqlite_cache_growth_kb", sqlite_growth_kb},
                        {"loa_memory_per_node_no_cache_kb", loa_per_node_no_cache_kb},
                        {"loa_rss_idle_kib", idle_kib},
                        {"loa_rss_connected_kib", connected_kib},
                        {"mqtt_connected", mqtt.connected},
                        {"mqtt_answers", mqtt.answered},
                        {"mqtt_p50_ms", bench::quantile(mqtt.answered_ms, 0.5)},
                        {"mqtt_p99_ms", mqtt_p99},
                        {"mqtt_max_ms", bench::quantile(mqtt.answered_ms, 1.0)},
                        {"mqtt_delivered_p99_ms", bench::quantile(mqtt.delivered_ms, 0.99)},
                        {"mqtt_broker_cpu_s", mqtt.broker_cpu_s},
                        {"mqtt_memory_per_connection_kb", mqtt_per_conn_kb},
                        {"mqtt_error", mqtt.error},
                        {"controller_warnings", warnings},
                        {"controller_errors", errors},
                        {"verdict", bench::verdict(pass)}};
    print(fmt::format("Emergency fan-out and memory, {} nodes", o.nodes), rows, j, o.json);
    return pass ? 0 : 3;
}

// ---- libzmq's own share ---------------------------------------------------------------------

/// What libzmq alone holds per connection, as the controller's ROUTER uses it (CURVE, each peer
/// sending a frame and receiving one): a bare ROUTER in a child process that echoes every frame,
/// `nodes` DEALERs with their own keys in forked processes of `per_process`. Nothing of loa's.
int run_zmq_floor(const Options& o) {
    const int port = bench::free_tcp_port();
    const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", port);
    char server_public[41];
    char server_secret[41];
    if (zmq_curve_keypair(server_public, server_secret) != 0) {
        throw std::runtime_error("zmq_curve_keypair failed: libzmq without CURVE");
    }
    int ready[2];
    if (::pipe(ready) != 0) {
        throw std::runtime_error("pipe failed");
    }
    const pid_t server = ::fork();
    if (server == 0) {
        zmq::context_t context;
        context.set(zmq::ctxopt::max_sockets, 1024);
        zmq::socket_t router(context, zmq::socket_type::router);
        router.set(zmq::sockopt::curve_server, 1);
        router.set(zmq::sockopt::curve_secretkey, std::string(server_secret));
        router.bind(endpoint);
        const char one = 1;
        (void)!::write(ready[1], &one, 1);
        for (;;) {
            zmq::message_t id;
            zmq::message_t frame;
            if (!router.recv(id) || !router.recv(frame)) {
                continue;
            }
            router.send(id, zmq::send_flags::sndmore);
            router.send(frame, zmq::send_flags::none);
        }
    }
    char byte = 0;
    (void)!::read(ready[0], &byte, 1);
    std::this_thread::sleep_for(1s);
    const std::uint64_t idle_kib = bench::proc_status_value(server, "VmRSS");
    std::vector<pid_t> clients;
    int done[2];
    if (::pipe(done) != 0) {
        throw std::runtime_error("pipe failed");
    }
    for (int first = 0; first < o.nodes; first += o.per_process) {
        const int count = std::min(o.per_process, o.nodes - first);
        const pid_t client = ::fork();
        if (client == 0) {
            zmq::context_t context;
            context.set(zmq::ctxopt::max_sockets, count + 64);
            std::vector<zmq::socket_t> dealers;
            dealers.reserve(static_cast<std::size_t>(count));
            for (int i = 0; i < count; ++i) {
                char pub[41];
                char sec[41];
                zmq_curve_keypair(pub, sec);
                auto& d = dealers.emplace_back(context, zmq::socket_type::dealer);
                d.set(zmq::sockopt::curve_serverkey, std::string(server_public));
                d.set(zmq::sockopt::curve_publickey, std::string(pub));
                d.set(zmq::sockopt::curve_secretkey, std::string(sec));
                d.connect(endpoint);
                d.send(zmq::str_buffer("hello"), zmq::send_flags::none);
            }
            for (auto& d : dealers) {
                zmq::message_t echo;
                (void)d.recv(echo);
            }
            const char one = 1;
            (void)!::write(done[1], &one, 1);
            for (;;) {
                ::pause();
            }
        }
        clients.push_back(client);
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
        (void)!::read(done[0], &byte, 1);
    }
    std::this_thread::sleep_for(2s);
    const std::uint64_t connected_kib = bench::proc_status_value(server, "VmRSS");
    for (pid_t pid : clients) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
    const double per_connection_kb =
        1.024 * static_cast<double>(connected_kib - idle_kib) / static_cast<double>(o.nodes);
    std::vector<Row> rows = {
        {"connections, each a frame each way", fmt::format("{}", o.nodes), ""},
        {"bare ROUTER RSS idle → connected",
         fmt::format("{:.1f} → {:.1f} MiB", idle_kib / 1024.0, connected_kib / 1024.0), ""},
        {"libzmq's memory per CURVE connection", fmt::format("{:.1f} kB", per_connection_kb), ""},
    };
    nlohmann::json j = {{"scenario", "zmqfloor"},
                        {"nodes", o.nodes},
                        {"idle_kib", idle_kib},
                        {"connected_kib", connected_kib},
                        {"per_connection_kb", per_connection_kb}};
    print(fmt::format("libzmq alone, {} CURVE connections", o.nodes), rows, j, o.json);
    return 0;
}

// ---- reconnect storm ------------------------------------------------------------------------

int run_storm(const Options& o) {
    Fleet fleet(o, "loa-fleet-storm");
    fleet.start_controller();
    fleet.start_nodes(0, 86'400, 0);
    const double cold_s = fleet.wait_settled(std::chrono::milliseconds(120'000 + 20 * o.nodes));
    std::this_thread::sleep_for(2s);
    const auto before = fleet.nodes().node_states();
    const auto t_before = fleet.nodes().totals();

    fleet.kill_controller();
    const auto t0 = std::chrono::steady_clock::now();
    fleet.start_controller();
    const double cpu0 = 0;  // a new process: its whole CPU counts
    // Back: every node welcomed again by the new controller, in session, its heartbeats answered.
    std::vector<std::uint64_t> welcomes_before;
    welcomes_before.reserve(before.size());
    for (const auto& n : before) {
        welcomes_before.push_back(n.welcomes);
    }
    double back_s = -1;
    std::vector<double> each_s(before.size(), -1);
    const auto deadline = t0 + std::chrono::seconds(180);
    while (std::chrono::steady_clock::now() < deadline) {
        const auto now_nodes = fleet.nodes().node_states();
        std::size_t back = 0;
        for (std::size_t i = 0; i < now_nodes.size() && i < welcomes_before.size(); ++i) {
            if (now_nodes[i].welcomes > welcomes_before[i] && now_nodes[i].in_session) {
                ++back;
                if (each_s[i] < 0) {
                    each_s[i] = bench::seconds_since(t0);
                }
            }
        }
        if (back == now_nodes.size()) {
            back_s = bench::seconds_since(t0);
            break;
        }
        std::this_thread::sleep_for(250ms);
    }
    const double storm_cpu_s = bench::proc_cpu_seconds(fleet.controller().pid()) - cpu0;
    const std::uint64_t storm_rss = bench::proc_status_value(fleet.controller().pid(), "VmHWM");
    // One more heartbeat interval: nobody loses the session again.
    const double resettled_s =
        fleet.wait_answered_again(60s + 2 * std::chrono::milliseconds(o.heartbeat_ms));
    std::this_thread::sleep_for(std::chrono::milliseconds(o.heartbeat_ms));
    const auto t_after = fleet.nodes().totals();
    const auto [warnings, errors] = fleet.warnings_and_errors();
    const std::string text = bench::read_text(fleet.log());
    const std::size_t refusals = bench::occurrences(text, "security:");
    fleet.nodes().stop();
    fleet.controller().stop(true, 20s);

    std::vector<double> each;
    for (double s : each_s) {
        if (s >= 0) {
            each.push_back(s);
        }
    }
    const std::uint64_t given_up = t_after.sessions_given_up - t_before.sessions_given_up;
    const std::uint64_t node_errors = t_after.errors - t_before.errors;
    const bool pass = cold_s >= 0 && back_s >= 0 && back_s <= 60 && given_up == 0 &&
                      node_errors == 0 && refusals == 0 && t_after.in_session == t_after.nodes;
    std::vector<Row> rows = {
        {"cold start: every node welcomed", fmt::format("{:.1f} s", cold_s), ""},
        {"restart → every node welcomed again and answered",
         back_s >= 0 ? fmt::format("{:.1f} s", back_s)
                     : fmt::format("not within 180 s ({} back)", each.size()),
         "≤ 60 s"},
        {"each node back, p50 / p99",
         fmt::format("{:.1f} / {:.1f} s", bench::quantile(each, 0.5), bench::quantile(each, 0.99)),
         ""},
        {"HELLOs in the storm", fmt::format("{}", t_after.hellos - t_before.hellos), ""},
        {"timelines sent again", fmt::format("{}", t_after.timelines - t_before.timelines), ""},
        {"sessions given up by nodes; errors; security refusals",
         fmt::format("{}; {}; {}", given_up, node_errors, refusals), "0; 0; 0"},
        {"controller CPU, restart → all back; VmHWM",
         fmt::format("{:.1f} s; {:.0f} MiB", storm_cpu_s, storm_rss / 1024.0), ""},
        {"in session one interval later",
         fmt::format("{} of {} (settled {:.1f} s)", t_after.in_session, t_after.nodes, resettled_s),
         ""},
        {"controller log: warnings, errors", fmt::format("{}, {}", warnings, errors), ""},
        {"verdict", bench::verdict(pass), ""},
    };
    nlohmann::json j = {{"scenario", "storm"},
                        {"nodes", o.nodes},
                        {"cold_start_s", cold_s},
                        {"all_back_s", back_s},
                        {"back_p50_s", bench::quantile(each, 0.5)},
                        {"back_p99_s", bench::quantile(each, 0.99)},
                        {"hellos", t_after.hellos - t_before.hellos},
                        {"timelines_resent", t_after.timelines - t_before.timelines},
                        {"sessions_given_up", given_up},
                        {"node_errors", node_errors},
                        {"security_refusals", refusals},
                        {"controller_cpu_s", storm_cpu_s},
                        {"controller_hwm_kib", storm_rss},
                        {"controller_warnings", warnings},
                        {"controller_errors", errors},
                        {"verdict", bench::verdict(pass)}};
    print(fmt::format("Reconnect storm, {} nodes, heartbeat {} s", o.nodes, o.heartbeat_ms / 1000),
          rows, j, o.json);
    return pass ? 0 : 3;
}

// ---- soak -----------------------------------------------------------------------------------

int run_soak(const Options& o) {
    Fleet fleet(o, "loa-fleet-soak");
    fleet.start_controller();
    const std::int64_t synthetic_until =
        now_us() + static_cast<std::int64_t>((o.warmup_s + o.duration_s + 300) * 1e6);
    fleet.start_nodes(o.plays_per_day, o.day_seconds, synthetic_until);
    const double settled_s = fleet.wait_settled(std::chrono::milliseconds(120'000 + 20 * o.nodes));
    const pid_t pid = fleet.controller().pid();
    // Warm-up: the plays begin, the page cache and the queues reach their working size.
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(o.warmup_s * 1000)));
    const std::uint64_t warm_kib = bench::proc_status_value(pid, "VmRSS");
    const auto before = fleet.nodes().totals();
    const double cpu0 = bench::proc_cpu_seconds(pid);
    const auto w0 = std::chrono::steady_clock::now();
    std::uint64_t peak_kib = warm_kib;
    while (bench::seconds_since(w0) < o.duration_s && fleet.controller().running()) {
        std::this_thread::sleep_for(1s);
        peak_kib = std::max(peak_kib, bench::proc_status_value(pid, "VmRSS"));
    }
    const double window_s = bench::seconds_since(w0);
    const double cpu_s = bench::proc_cpu_seconds(pid) - cpu0;
    const std::uint64_t end_kib = bench::proc_status_value(pid, "VmRSS");
    const auto after = fleet.nodes().totals();
    fleet.nodes().stop();
    const auto t = fleet.nodes().totals();
    std::this_thread::sleep_for(2s);  // what the controller received last is committed
    const std::int64_t stored_now = bench::stored_confirmations(fleet.db_file());
    const auto [warnings, errors] = fleet.warnings_and_errors();
    fleet.controller().stop(true, 20s);

    // Stored once: every confirmation an outbox let go (acked) is stored, and nothing beyond what
    // was produced is (a duplicate would be); those still waiting may or may not be stored yet.
    const std::int64_t produced = static_cast<std::int64_t>(t.produced);
    const std::int64_t waiting = static_cast<std::int64_t>(t.outbox);
    const double growth =
        warm_kib > 0 ? static_cast<double>(peak_kib) / static_cast<double>(warm_kib) - 1 : 0;
    const double cpu_share = cpu_s / window_s;
    const double per_1000 = cpu_share / (static_cast<double>(o.nodes) / 1000.0);
    const std::uint64_t heartbeats = after.heartbeats - before.heartbeats;
    const std::uint64_t acks = after.heartbeat_acks - before.heartbeat_acks;
    const bool stored_once = stored_now >= produced - waiting && stored_now <= produced;
    const bool pass = settled_s >= 0 && growth <= 0.05 && errors == 0 && stored_once &&
                      t.failures == 0 && t.errors == 0 && after.reconnects == before.reconnects;
    std::vector<Row> rows = {
        {"nodes in session",
         fmt::format("{} of {} (settled in {:.1f} s)", after.in_session, o.nodes, settled_s), ""},
        {"window after warm-up", fmt::format("{:.0f} s after {:.0f} s", window_s, o.warmup_s), ""},
        {"heartbeats sent, answered", fmt::format("{}, {}", heartbeats, acks), ""},
        {"confirmations produced, stored, still in outboxes",
         fmt::format("{}, {}, {}", produced, stored_now, waiting), "stored = produced − waiting"},
        {"controller RSS at warm-up → peak → end",
         fmt::format("{:.0f} → {:.0f} → {:.0f} MiB ({:+.1f} %)", warm_kib / 1024.0,
                     peak_kib / 1024.0, end_kib / 1024.0, 100 * growth),
         "≤ +5 %"},
        {"controller CPU",
         fmt::format("{:.1f} % of a core, {:.2f} % per 1,000 nodes", 100 * cpu_share,
                     100 * per_1000),
         ""},
        {"sessions begun again; errors; failures",
         fmt::format("{}; {}; {}", after.reconnects - before.reconnects, t.errors, t.failures),
         "0; 0; 0"},
        {"controller log: warnings, errors", fmt::format("{}, {}", warnings, errors), "—, 0"},
        {"verdict", bench::verdict(pass), ""},
    };
    nlohmann::json j = {{"scenario", "soak"},
                        {"nodes", o.nodes},
                        {"settled_s", settled_s},
                        {"window_s", window_s},
                        {"heartbeats", heartbeats},
                        {"heartbeat_acks", acks},
                        {"confirmations_produced", produced},
                        {"confirmations_stored", stored_now},
                        {"confirmations_waiting", waiting},
                        {"rss_warm_kib", warm_kib},
                        {"rss_peak_kib", peak_kib},
                        {"rss_end_kib", end_kib},
                        {"rss_growth", growth},
                        {"controller_cpu_share", cpu_share},
                        {"controller_cpu_share_per_1000_nodes", per_1000},
                        {"reconnects", after.reconnects - before.reconnects},
                        {"node_errors", t.errors},
                        {"node_failures", t.failures},
                        {"last_error", t.last_error},
                        {"controller_warnings", warnings},
                        {"controller_errors", errors},
                        {"verdict", bench::verdict(pass)}};
    print(fmt::format("Soak, {} nodes, heartbeat {} s, {} plays a day (a day in {:.0f} s)", o.nodes,
                      o.heartbeat_ms / 1000, o.plays_per_day, o.day_seconds),
          rows, j, o.json);
    return pass ? 0 : 3;
}

// ---- durable ingest -------------------------------------------------------------------------

/// A sender of confirmations that speaks the protocol as a node does (HELLO, then PLAYBACK-REPORTs
/// of 200 confirmations, one in flight, the next when REPORT-ACK says the last is committed) but
/// keeps no store: the controller's path is what is measured, not the simulator's.
struct Sender {
    std::string node_id;
    std::unique_ptr<zmq::socket_t> socket;
    bool welcomed = false;
    std::uint64_t next_seq = 1;
    std::uint64_t in_flight = 0;  ///< confirmations in the report awaiting its ack
    std::uint64_t acked = 0;
    std::int64_t hello_us = 0;
};

constexpr int kReportSize = 200;  // the agent's batch (node/src/session.cpp, kReportBatch)
constexpr std::int64_t kDayUs = 86'400'000'000;
constexpr std::int64_t kPlayUs = 60'000'000;
/// Booked plays start on 01/01/2026, 20 one-minute plays a day from 06:00, as report_bench's.
constexpr std::int64_t kFirstDayUs = 1'767'200'400LL * 1'000'000;

std::int64_t planned_start(std::uint64_t i) {
    return kFirstDayUs + static_cast<std::int64_t>(i / 20) * kDayUs +
           static_cast<std::int64_t>(i % 20) * 2 * kPlayUs + 6 * 3'600'000'000LL;
}

/// Books `per_node` plays of campaign "ingest" on every node, straight into the database before
/// the controller starts (slot ids s1, s2, …): confirmations of booked plays take the full path
/// (slot lookup, campaign airtime, rollup), as in the field.
void book_ingest_plays(const fs::path& db_file, const std::vector<sim::NodeIdentity>& nodes,
                       std::uint64_t per_node) {
    SQLite::Database db(db_file.string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA synchronous=OFF");
    SQLite::Transaction t(db);
    db.exec(fmt::format(
        "INSERT INTO campaigns (campaign_id, name, owner, window_start_us, window_end_us, "
        "booked_us) VALUES ('ingest', 'Chiến dịch ingest', 'Sở TT&TT', {}, {}, {})",
        kFirstDayUs, kFirstDayUs + 800 * kDayUs, kFirstDayUs));
    SQLite::Statement slot(db,
                           "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, "
                           "title, start_us, duration_us) VALUES (?, ?, 'ingest', 'ban-tin', ?, "
                           "'Bản tin', ?, ?)");
    const std::string hash(64, 'a');
    for (const auto& node : nodes) {
        for (std::uint64_t i = 1; i <= per_node; ++i) {
            slot.bind(1, node.node_id);
            slot.bind(2, fmt::format("s{}", i));
            slot.bind(3, hash);
            slot.bind(4, planned_start(i));
            slot.bind(5, kPlayUs);
            slot.exec();
            slot.reset();
        }
    }
    t.commit();
}

/// The next report of a sender: 200 confirmations of its booked plays, 1 in 20 failed, with
/// audio levels, as report_bench's.
std::string report_frame(Sender& s) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_message_id(s.next_seq);
    auto* r = e.mutable_playback_report();
    for (int i = 0; i < kReportSize; ++i) {
        const std::uint64_t seq = s.next_seq++;
        auto* c = r->add_confirmations();
        const std::int64_t start = planned_start(seq);
        const bool played = seq % 20 != 0;
        c->set_seq(seq);
        c->set_slot_id(fmt::format("s{}", seq));
        c->set_campaign_id("ingest");
        c->set_item_id("ban-tin");
        c->set_media_hash(std::string(64, 'a'));
        c->set_planned_start_us(start);
        c->set_actual_start_us(played ? start + 1'000 : 0);
        c->set_actual_end_us(played ? start + kPlayUs : 0);
        c->set_outcome(played ? wire::PLAYED : wire::FAILED);
        c->set_reason(played ? "" : "pipeline: no sink");
        if (played) {
            c->mutable_levels()->set_rms_dbfs(-20.5);
            c->mutable_levels()->set_peak_dbfs(-3.1);
            c->mutable_levels()->set_measured_seconds(60);
            c->mutable_levels()->set_silence_threshold_dbfs(-50);
        }
    }
    return protocol::encode(std::move(e));
}

/// The plain insert beside it: the same rows (node, seq, slot, campaign, item, media, times,
/// outcome, levels) into a bare table with only its primary key, `per_commit` rows a transaction,
/// WAL and synchronous=FULL, on the same file system. Rows a second.
double plain_insert_rate(const fs::path& file, std::int64_t rows, std::int64_t per_commit,
                         int nodes) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=FULL");
    db.exec(
        "CREATE TABLE plain (node_id TEXT NOT NULL, seq INTEGER NOT NULL, slot_id TEXT NOT NULL, "
        "campaign_id TEXT NOT NULL, item_id TEXT NOT NULL, media_hash TEXT NOT NULL, "
        "planned_start_us INTEGER, actual_start_us INTEGER, actual_end_us INTEGER, outcome TEXT, "
        "rms REAL, peak REAL, PRIMARY KEY (node_id, seq)) WITHOUT ROWID");
    SQLite::Statement insert(db, "INSERT INTO plain VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    const std::string media(64, 'a');
    const auto t0 = std::chrono::steady_clock::now();
    std::int64_t done = 0;
    while (done < rows) {
        SQLite::Transaction tx(db);
        for (std::int64_t i = 0; i < per_commit && done < rows; ++i, ++done) {
            const auto seq = static_cast<std::uint64_t>(done / nodes + 1);
            const std::int64_t planned = planned_start(seq);
            const bool played = seq % 20 != 0;
            insert.bind(1, bench::node_name("sim", static_cast<int>(done % nodes) + 1, nodes));
            insert.bind(2, static_cast<std::int64_t>(seq));
            insert.bind(3, fmt::format("s{}", seq));
            insert.bind(4, "ingest");
            insert.bind(5, "ban-tin");
            insert.bind(6, media);
            insert.bind(7, planned);
            insert.bind(8, played ? planned + 1'000 : 0);
            insert.bind(9, played ? planned + kPlayUs : 0);
            insert.bind(10, played ? "played" : "failed");
            insert.bind(11, -20.5);
            insert.bind(12, -3.1);
            insert.exec();
            insert.reset();
        }
        tx.commit();
    }
    return static_cast<double>(rows) / bench::seconds_since(t0);
}

int run_ingest(const Options& o) {
    Fleet fleet(o, "loa-fleet-ingest");
    // Enough booked plays that no sender runs out in the window (about 60,000 a second at most).
    const std::uint64_t per_node = static_cast<std::uint64_t>(
        std::max(2'000.0, 60'000.0 * (o.duration_s + 10) / static_cast<double>(o.nodes)));
    book_ingest_plays(fleet.db_file(), fleet.identities(), per_node);
    fleet.start_controller();
    zmq::context_t context(1);
    std::vector<Sender> senders(fleet.identities().size());
    for (std::size_t i = 0; i < senders.size(); ++i) {
        const auto& id = fleet.identities()[i];
        Sender& s = senders[i];
        s.node_id = id.node_id;
        s.socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
        s.socket->set(zmq::sockopt::linger, 0);
        s.socket->set(zmq::sockopt::curve_serverkey, fleet.controller_key());
        s.socket->set(zmq::sockopt::curve_publickey, id.keys.public_key);
        s.socket->set(zmq::sockopt::curve_secretkey, id.keys.secret_key);
        s.socket->connect(fleet.endpoint());
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& s : senders) {
        items.push_back({s.socket->handle(), 0, ZMQ_POLLIN, 0});
    }
    auto hello = [](Sender& s) {
        wire::Envelope e;
        e.set_version(protocol::kProtocolVersion);
        e.set_message_id(1);
        e.mutable_hello()->set_node_id(s.node_id);
        e.mutable_hello()->set_agent_version("fleet_bench");
        e.mutable_hello()->set_node_time_us(now_us());
        s.socket->send(zmq::buffer(protocol::encode(std::move(e))), zmq::send_flags::dontwait);
        s.hello_us = now_us();
    };
    for (auto& s : senders) {
        hello(s);
    }
    std::uint64_t acked_total = 0;
    std::uint64_t refused = 0;
    bool counting = false;
    std::uint64_t acked_at_start = 0;
    auto serve = [&](int wait_ms) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait_ms));
        for (std::size_t i = 0; i < senders.size(); ++i) {
            Sender& s = senders[i];
            if (!(items[i].revents & ZMQ_POLLIN)) {
                if (!s.welcomed && now_us() - s.hello_us > 3'000'000) {
                    hello(s);
                }
                continue;
            }
            zmq::message_t frame;
            while (s.socket->recv(frame, zmq::recv_flags::dontwait)) {
                auto in = protocol::decode(frame.to_string_view());
                if (!in) {
                    continue;
                }
                if (in->has_welcome()) {
                    s.welcomed = true;
                    s.next_seq =
                        std::max<std::uint64_t>(s.next_seq, in->welcome().highest_seq() + 1);
                } else if (in->has_report_ack()) {
                    const auto n = static_cast<std::uint64_t>(in->report_ack().seqs_size());
                    s.acked += n;
                    acked_total += n;
                    s.in_flight = 0;
                } else if (in->has_error()) {
                    ++refused;
                    s.welcomed = false;
                    hello(s);
                    continue;
                }
                if (s.welcomed && s.in_flight == 0 && counting &&
                    s.next_seq + kReportSize <= per_node + 1) {
                    s.socket->send(zmq::buffer(report_frame(s)), zmq::send_flags::dontwait);
                    s.in_flight = kReportSize;
                }
            }
        }
    };
    // Every sender welcomed, then all of them send: the window opens after a warm-up.
    for (auto until = std::chrono::steady_clock::now() + 120s;
         std::chrono::steady_clock::now() < until;) {
        serve(20);
        if (std::all_of(senders.begin(), senders.end(),
                        [](const Sender& s) { return s.welcomed; })) {
            break;
        }
    }
    counting = true;
    for (auto& s : senders) {
        if (s.welcomed) {
            s.socket->send(zmq::buffer(report_frame(s)), zmq::send_flags::dontwait);
            s.in_flight = kReportSize;
        }
    }
    httplib::Client api("127.0.0.1", fleet.http_port());
    const auto warm = std::chrono::steady_clock::now();
    while (bench::seconds_since(warm) < 5) {
        serve(5);
    }
    acked_at_start = acked_total;
    const double commits0 = metric(api, fleet.token(), "loa_writer_commits_total");
    const double cpu0 = bench::proc_cpu_seconds(fleet.controller().pid());
    const auto w0 = std::chrono::steady_clock::now();
    while (bench::seconds_since(w0) < o.duration_s) {
        serve(5);
    }
    const double window_s = bench::seconds_since(w0);
    const std::uint64_t acked = acked_total - acked_at_start;
    const double commits = metric(api, fleet.token(), "loa_writer_commits_total") - commits0;
    const double cpu_s = bench::proc_cpu_seconds(fleet.controller().pid()) - cpu0;
    counting = false;
    for (auto until = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < until &&
         std::any_of(senders.begin(), senders.end(),
                     [](const Sender& s) { return s.in_flight > 0; });) {
        serve(5);
    }
    const auto [warnings, errors] = fleet.warnings_and_errors();
    senders.clear();
    fleet.controller().stop(true, 20s);
    const std::int64_t stored = bench::stored_confirmations(fleet.db_file());
    const double rate = static_cast<double>(acked) / window_s;
    const std::int64_t per_commit =
        commits > 0 ? std::max<std::int64_t>(
                          1, static_cast<std::int64_t>(static_cast<double>(acked) / commits))
                    : kReportSize;
    const std::int64_t rows = std::max<std::int64_t>(static_cast<std::int64_t>(acked), 200'000);
    const double plain = plain_insert_rate(fleet.dir() / "plain.db", rows, per_commit, o.nodes);
    const double ratio = rate / plain;
    const bool pass = ratio >= 0.5 && errors == 0 && refused == 0 &&
                      stored >= static_cast<std::int64_t>(acked_total);
    std::vector<Row> rows_out = {
        {"senders",
         fmt::format("{} nodes, {} confirmations a report, one in flight each", o.nodes,
                     kReportSize),
         ""},
        {"confirmations stored and acked (synchronous=FULL), a second",
         fmt::format("{:.0f} over {:.0f} s", rate, window_s),
         fmt::format("plain insert: {:.0f} rows/s ({} a commit)", plain, per_commit)},
        {"ratio", fmt::format("{:.2f}", ratio), "≥ 0.5"},
        {"commits in the window; confirmations a commit",
         fmt::format("{:.0f}; {}", commits, per_commit), ""},
        {"controller CPU", fmt::format("{:.0f} % of a core", 100 * cpu_s / window_s), ""},
        {"acked in all; held by the controller", fmt::format("{}; {}", acked_total, stored),
         "held ≥ acked"},
        {"refusals; controller log warnings, errors",
         fmt::format("{}; {}, {}", refused, warnings, errors), "0; —, 0"},
        {"verdict", bench::verdict(pass), ""},
    };
    nlohmann::json j = {{"scenario", "ingest"},
                        {"nodes", o.nodes},
                        {"window_s", window_s},
                        {"confirmations_per_s", rate},
                        {"plain_rows_per_s", plain},
                        {"rows_per_commit", per_commit},
                        {"ratio", ratio},
                        {"commits", commits},
                        {"controller_cpu_share", cpu_s / window_s},
                        {"acked", acked_total},
                        {"stored", stored},
                        {"refused", refused},
                        {"controller_warnings", warnings},
                        {"controller_errors", errors},
                        {"verdict", bench::verdict(pass)}};
    print(fmt::format("Durable ingest through the whole path, {} nodes", o.nodes), rows_out, j,
          o.json);
    return pass ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "10,000 virtual nodes against one loa-controller, beside mosquitto: emergency fan-out, "
        "memory per node, reconnect storm, soak (docs/benchmarks.md)"};
    Options o;
    app.add_option("scenario", o.scenario,
                   "fanout (default), storm, soak, ingest or zmqfloor (libzmq's own memory per "
                   "connection)")
        ->check(CLI::IsMember({"fanout", "storm", "soak", "ingest", "zmqfloor"}));
    app.add_option("--nodes", o.nodes, "virtual nodes (default 10000)")
        ->check(CLI::Range(1, 30'000));
    app.add_option("--heartbeat-ms", o.heartbeat_ms, "the controller's heartbeat (default 30000)")
        ->check(CLI::Range(1'000, 600'000));
    app.add_option("--duration-s", o.duration_s, "soak: the window after warm-up (default 120)")
        ->check(CLI::Range(1.0, 86'400.0));
    app.add_option("--warmup-s", o.warmup_s, "soak: warm-up (default 30)")
        ->check(CLI::Range(0.0, 3'600.0));
    app.add_option("--plays-per-day", o.plays_per_day, "soak: plays per node a day (default 20)")
        ->check(CLI::Range(0.0, 1e6));
    app.add_option("--day-seconds", o.day_seconds, "soak: a day lasts this long (default 600)")
        ->check(CLI::Range(1.0, 1e9));
    app.add_option("--threads", o.threads, "simulator threads in each process (default 1)")
        ->check(CLI::Range(1, 16));
    app.add_option("--per-process", o.per_process,
                   "virtual nodes in each simulator process (default 5000: two descriptors each)")
        ->check(CLI::Range(1, 9'000));
    app.add_option("--dir", o.dir, "where the scratch directory goes (default /var/tmp: ext4)");
    std::optional<std::string> node_dir;
    app.add_option("--node-dir", node_dir,
                   "where the virtual nodes' media caches go (default: /dev/shm for fanout, "
                   "--dir for the others)");
    app.add_option("--mosquitto", o.mosquitto, "the MQTT broker for the comparison");
    app.add_flag("!--no-mqtt", o.mqtt, "fanout: skip the mosquitto comparison");
    app.add_flag("--json", o.json, "print JSON");
    app.add_flag("--keep", o.keep, "keep the scratch directory");
    CLI11_PARSE(app, argc, argv);
    o.node_dir = node_dir ? *node_dir : (o.scenario == "fanout" ? "/dev/shm" : "");
    ::signal(SIGPIPE, SIG_IGN);
    spdlog::set_level(spdlog::level::err);  // every session logs its welcome, timelines, commands
    // Each process needs a descriptor per connection: the controller one per node, the broker
    // each simulator process two per node, each MQTT client process three per client.
    // Children inherit the limit raised here; without CAP_SYS_RESOURCE the hard limit stays.
    const auto needed =
        static_cast<std::uint64_t>(std::max(o.nodes, 3 * std::min(o.per_process, o.nodes)) + 1024);
    const std::uint64_t limit = bench::raise_file_limit(needed);
    if (limit < needed) {
        fmt::print(stderr,
                   "fleet_bench: {} nodes need about {} file descriptors a process; the limit is "
                   "{} (try a smaller --per-process)\n",
                   o.nodes, needed, limit);
        return 2;
    }
    if (!o.json) {
        fmt::print("# {}\n", fmt::join(std::vector<std::string>(argv, argv + argc), " "));
    }
    try {
        if (o.scenario == "storm") {
            return run_storm(o);
        }
        if (o.scenario == "soak") {
            return run_soak(o);
        }
        if (o.scenario == "ingest") {
            return run_ingest(o);
        }
        if (o.scenario == "zmqfloor") {
            return run_zmq_floor(o);
        }
        return run_fanout(o);
    } catch (const std::exception& e) {
        fmt::print(stderr, "fleet_bench: {}\n", e.what());
        return 2;
    }
}
