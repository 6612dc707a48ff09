// Node agent benchmark (issue 5): real loa-node processes against a real loa-controller, media
// imported with loactl; memory while playing, CPU while idle with a week's timeline, scheduled
// start error and start skew between nodes.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using namespace loa::bench;

constexpr const char* kArea = "vn/lao-cai/sa-pa/ta-van";
constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kHourUs = 60 * kMinuteUs;
constexpr std::int64_t kDayUs = 24 * kHourUs;
// Targets of issue 5.
constexpr double kRssTargetBytes = 30e6;  // 30 MB
constexpr double kIdleCpuTargetPercent = 1.0;
constexpr double kStartTargetMs = 20.0;
constexpr double kPreemptTargetMs = 200.0;

struct Options {
    int nodes = 10;
    int plays = 200;
    int spacing_ms = 800;
    int tone_ms = 400;
    int idle_seconds = 60;
    int idle_per_day = 20;
    int idle_files = 20;
    int heartbeat_ms = 1000;
    std::string sink = "fake";
    bool json = false;
    bool keep = false;
    bool no_idle = false;
    int emergencies = 5;  ///< pre-emption trials (0: none)
    std::string node_bin = LOA_NODE_BIN;
    std::string controller_bin = LOA_CONTROLLER_BIN;
    std::string loactl_bin = LOA_LOACTL_BIN;
};

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string tail_of(const fs::path& log, std::size_t bytes = 2000) {
    std::string text = read_text(log);
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(50ms);
    }
}

// ---- what the kernel says about processes ---------------------------------------------------

/// The `Pss:` of /proc/<pid>/smaps_rollup in KiB: resident memory with shared pages divided
/// among the processes sharing them. 0 if unreadable.
std::uint64_t proc_pss_kb(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/smaps_rollup", pid));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("Pss:")) {
            return std::strtoull(line.c_str() + 4, nullptr, 10);
        }
    }
    return 0;
}

/// Resident KiB of `pid` by what is mapped (a library's file name, [heap], [anon]), largest
/// first: where VmRSS goes.
std::vector<std::pair<std::string, std::uint64_t>> resident_by_mapping(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/smaps", pid));
    std::map<std::string, std::uint64_t> by_name;
    std::string line, name;
    while (std::getline(in, line)) {
        if (line.starts_with("Rss:")) {
            by_name[name] += std::strtoull(line.c_str() + 4, nullptr, 10);
            continue;
        }
        // A mapping's header: "start-end perms offset dev inode [path]"; field lines have a
        // name ending in ':' first.
        auto space = line.find(' ');
        if (space == std::string::npos || line[space - 1] == ':') {
            continue;
        }
        std::istringstream fields(line);
        std::string skip, path;
        for (int i = 0; i < 5; ++i) {
            fields >> skip;
        }
        std::getline(fields >> std::ws, path);
        name = path.empty() ? "[anon]" : fs::path(path).filename().string();
        if (name.empty()) {
            name = path;
        }
    }
    std::vector<std::pair<std::string, std::uint64_t>> out(by_name.begin(), by_name.end());
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

/// Fields 14 (utime) and 15 (stime) of a /proc .../stat file, in clock ticks; and field 2, the
/// command name. Zero ticks if unreadable.
struct StatTicks {
    std::string name;
    std::uint64_t ticks = 0;
};

StatTicks read_stat(const fs::path& file) {
    std::string text = read_text(file);
    auto open = text.find('(');
    auto close = text.rfind(')');  // the command name may hold spaces and parentheses
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return {};
    }
    StatTicks out;
    out.name = text.substr(open + 1, close - open - 1);
    std::istringstream fields(text.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) {  // fields 3..13
        fields >> skip;
    }
    std::uint64_t utime = 0, stime = 0;
    fields >> utime >> stime;
    out.ticks = utime + stime;
    return out;
}

std::uint64_t process_ticks(pid_t pid) {
    return read_stat(fmt::format("/proc/{}/stat", pid)).ticks;
}

/// Nanoseconds on a CPU of every thread of `pid` still alive (the first field of each thread's
/// schedstat): a finer cross-check of the tick counts.
std::uint64_t process_run_ns(pid_t pid) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
        std::ifstream in(e.path() / "schedstat");
        std::uint64_t ns = 0;
        in >> ns;
        total += ns;
    }
    return total;
}

/// CPU ticks of each thread of `pid`, by thread id.
std::map<std::string, StatTicks> thread_ticks(pid_t pid) {
    std::map<std::string, StatTicks> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
        const std::string tid = e.path().filename().string();
        StatTicks t = read_stat(e.path() / "stat");
        // The agent does not name its threads: the main one runs the session (ZeroMQ, SQLite).
        t.name += tid == std::to_string(pid) ? " (main: session)" : fmt::format(" [{}]", tid);
        out[tid] = std::move(t);
    }
    return out;
}

double ticks_per_second() {
    return static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Busy and total jiffies of the whole machine (the `cpu` line of /proc/stat).
struct MachineTicks {
    std::uint64_t busy = 0;
    std::uint64_t total = 0;
};

MachineTicks machine_ticks() {
    std::ifstream in("/proc/stat");
    std::string label;
    in >> label;
    MachineTicks out;
    for (int i = 0; i < 8; ++i) {  // user nice system idle iowait irq softirq steal
        std::uint64_t v = 0;
        in >> v;
        out.total += v;
        if (i != 3 && i != 4) {
            out.busy += v;
        }
    }
    return out;
}

std::string loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

// ---- child processes --------------------------------------------------------------------------

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    return args;
}

/// Runs `argv` to its end, without a shell; returns its exit status and what it printed on
/// stdout. Its stderr is appended to `log`.
std::pair<int, std::string> run(const std::vector<std::string>& argv, const fs::path& log) {
    int out[2];
    if (::pipe(out) != 0) {
        throw std::runtime_error("pipe failed");
    }
    auto args = c_argv(argv);
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        ::close(out[0]);
        ::dup2(out[1], 1);
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 2);
        }
        int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) {
            ::dup2(null, 0);
        }
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string printed;
    char buffer[4096];
    for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        printed.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, printed};
}

// ---- the bench's world ------------------------------------------------------------------------

/// One imported medium: its hash (of the normalised Opus) and duration as the controller probed.
struct Media {
    std::string hash;
    std::int64_t duration_us = 0;
};

/// A planned play, as a row of the controller's `slots` table.
struct PlannedSlot {
    std::string slot_id;
    const Media* media = nullptr;
    std::int64_t start_us = 0;
    std::string title;
};

class World {
  public:
    World(const Options& options, fs::path dir)
        : options_(options),
          dir_(std::move(dir)),
          endpoint_(fmt::format("tcp://127.0.0.1:{}", free_tcp_port())) {
        fs::create_directories(logs());
        fs::create_directories(dir_ / "source");
        fs::create_directories(controller_data());
    }
    ~World() {
        nodes_.clear();  // SIGKILL whatever is left, nodes before the controller
        controller_.reset();
    }

    fs::path logs() const { return dir_ / "logs"; }
    fs::path controller_data() const { return dir_ / "controller"; }
    fs::path controller_db() const { return controller_data() / "controller.db"; }
    fs::path node_data(const std::string& id) const { return dir_ / "nodes" / id; }

    nlohmann::json loactl(const std::vector<std::string>& args) {
        std::vector<std::string> argv{
            options_.loactl_bin, "--data",     controller_data().string(), "--json",
            "--token",           admin_token()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto [status, out] = run(argv, logs() / "loactl.log");
        if (status != 0) {
            throw std::runtime_error(fmt::format("loactl {} exited {}: {}", args.front(), status,
                                                 tail_of(logs() / "loactl.log", 600)));
        }
        auto parsed = nlohmann::json::parse(out, nullptr, false);
        if (parsed.is_discarded()) {
            throw std::runtime_error("loactl printed no JSON: " + out);
        }
        return parsed;
    }

    /// Registers the node and provisions its device as `loa-node enroll` would: its own key
    /// pair, enrolled directly, and node.key and node.conf in its data directory.
    void add_node(const std::string& id) {
        const auto keys = loa::protocol::generate_curve_key_pair();
        auto added = loactl({"node", "enroll", id, "--kind", "speaker", "--area", kArea,
                             "--public-key", keys.public_key});
        fs::create_directories(node_data(id));
        if (auto written = loa::protocol::write_key_file(node_data(id) / "node.key", keys);
            !written) {
            throw std::runtime_error(written.error());
        }
        std::ofstream(node_data(id) / "node.conf")
            << "node_id = " << id << "\nkind = speaker\narea = " << kArea
            << "\ncontroller = " << endpoint_
            << "\ncontroller_key = " << added["controller_key"].get<std::string>() << "\n";
    }

    /// A sine tone made with the ffmpeg CLI as a 44.1 kHz stereo WAV, as operators hand in
    /// recordings, imported with `loactl media import` (normalised to −23 LUFS, mono Opus).
    Media tone(double seconds, double frequency, const std::string& title) {
        const fs::path wav =
            dir_ / "source" / fmt::format("tone-{:.0f}hz-{:.2f}s.wav", frequency, seconds);
        auto [status, out] =
            run({"ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                 fmt::format("sine=frequency={}:sample_rate=44100:duration={}", frequency, seconds),
                 "-ac", "2", wav.string()},
                logs() / "ffmpeg.log");
        if (status != 0) {
            throw std::runtime_error(
                fmt::format("ffmpeg exited {}: {}", status, tail_of(logs() / "ffmpeg.log", 600)));
        }
        auto imported = loactl({"media", "import", wav.string(), "--title", title});
        Media m{imported.at("media_hash").get<std::string>(),
                static_cast<std::int64_t>(
                    std::llround(imported.at("duration_seconds").get<double>() * 1e6))};
        if (m.hash.size() != 64 || m.duration_us <= 0) {
            throw std::runtime_error("loactl media import: " + imported.dump());
        }
        if (imported.at("approval") != "approved") {
            loactl({"media", "approve", m.hash});  // only approved media airs
        }
        return m;
    }

    void start_controller() {
        const fs::path log = logs() / "controller.log";
        controller_ = std::make_unique<Child>(
            std::vector<std::string>{options_.controller_bin, "--data", controller_data().string(),
                                     "--bind", endpoint_, "--heartbeat-ms",
                                     std::to_string(options_.heartbeat_ms), "--http-bind", "none"},
            log, true);
        bool listening = wait_until(
            [&] {
                return read_text(log).find("controller listening on") != std::string::npos ||
                       !controller_->running();
            },
            10s);
        if (!listening || !controller_->running()) {
            throw std::runtime_error("the controller did not start: " + tail_of(log));
        }
    }

    Child& start_node(const std::string& id) {
        std::string sink = options_.sink;
        if (sink.starts_with("file:")) {
            sink = (fs::path(sink.substr(5)) / id).string();  // slots share names across nodes
            sink = "file:" + sink;
        }
        auto& slot = nodes_[id];
        slot = std::make_unique<Child>(
            std::vector<std::string>{options_.node_bin, "--id", id, "--controller", endpoint_,
                                     "--data", node_data(id).string(), "--sink", sink},
            logs() / (id + ".log"), true);
        return *slot;
    }

    int stop_node(const std::string& id) {
        auto it = nodes_.find(id);
        if (it == nodes_.end() || !it->second) {
            return -1;
        }
        int status = it->second->stop(true, 10s);
        nodes_.erase(it);
        return status;
    }

    bool node_running(const std::string& id) {
        auto it = nodes_.find(id);
        return it != nodes_.end() && it->second && it->second->running();
    }

    bool controller_running() { return controller_ && controller_->running(); }

    int stop_controller() {
        int status = controller_ ? controller_->stop(true, 10s) : -1;
        controller_.reset();
        return status;
    }

    /// First column of the first row of `sql`, read-only; nullopt if the database cannot be
    /// read yet or the row is missing.
    static std::optional<std::int64_t> scalar(const fs::path& db_file, const std::string& sql) {
        std::error_code ec;
        if (!fs::exists(db_file, ec)) {
            return std::nullopt;
        }
        try {
            SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
            db.setBusyTimeout(2000);
            SQLite::Statement q(db, sql);
            if (!q.executeStep() || q.getColumn(0).isNull()) {
                return std::nullopt;
            }
            return q.getColumn(0).getInt64();
        } catch (const std::exception&) {
            return std::nullopt;  // e.g. the schema is not there yet
        }
    }

    /// Whether every node named has said hello (nodes.last_seen_us is set).
    bool seen(const std::vector<std::string>& ids) {
        for (const auto& id : ids) {
            auto n = scalar(controller_db(),
                            fmt::format("SELECT count(*) FROM nodes WHERE node_id = '{}' AND "
                                        "last_seen_us IS NOT NULL",
                                        id));
            if (n.value_or(0) != 1) {
                return false;
            }
        }
        return true;
    }

    /// Whether `id` holds `slots` plays in its own store and every medium named.
    bool node_holds(const std::string& id, std::int64_t slots, const std::vector<Media>& media) {
        if (scalar(node_data(id) / "node.db", "SELECT count(*) FROM slots").value_or(-1) != slots) {
            return false;
        }
        std::error_code ec;
        return std::all_of(media.begin(), media.end(), [&](const Media& m) {
            return fs::exists(node_data(id) / "media" / m.hash, ec);
        });
    }

    /// Adds the plays to each node's timeline straight into the controller's `slots` table,
    /// in one transaction, as booking would; the daemon notices and pushes the timelines.
    void book(const std::vector<std::string>& node_ids, const std::vector<PlannedSlot>& slots,
              const std::string& campaign) {
        SQLite::Database db(controller_db().string(), SQLite::OPEN_READWRITE);
        db.setBusyTimeout(5000);
        SQLite::Transaction tx(db);
        SQLite::Statement q(db,
                            "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, "
                            "media_hash, title, start_us, duration_us) VALUES (?, ?, ?, ?, ?, ?, "
                            "?, ?)");
        for (const auto& node : node_ids) {
            for (const auto& s : slots) {
                q.bind(1, node);
                q.bind(2, s.slot_id);
                q.bind(3, campaign);
                q.bind(4, s.media->hash.substr(0, 12));
                q.bind(5, s.media->hash);
                q.bind(6, s.title);
                q.bind(7, static_cast<int64_t>(s.start_us));
                q.bind(8, static_cast<int64_t>(s.media->duration_us));
                q.exec();
                q.reset();
            }
        }
        tx.commit();
    }

    Child* node(const std::string& id) {
        auto it = nodes_.find(id);
        return it == nodes_.end() ? nullptr : it->second.get();
    }

    Child* controller() { return controller_.get(); }

  private:
    /// The controller's first admin, created on first use, signed in: loactl needs a token.
    const std::string& admin_token() {
        if (!token_.empty()) {
            return token_;
        }
        // The password goes through a pipe, as `--password-stdin` reads it; argv holds no secret
        // worth keeping (the bench's scratch controller).
        const std::string script =
            "printf '%s\\n' \"$1\" | \"$2\" --data \"$3\" user add bench --role admin --area / "
            "--password-stdin >/dev/null && printf '%s\\n' \"$1\" | \"$2\" --data \"$3\" login "
            "bench --password-stdin";
        auto [status, out] = run({"sh", "-c", script, "sh", "mat-khau-do-hieu-nang",
                                  options_.loactl_bin, controller_data().string()},
                                 logs() / "loactl.log");
        if (status != 0 || !out.starts_with("loa_")) {
            throw std::runtime_error("loactl user add / login: " +
                                     tail_of(logs() / "loactl.log", 600));
        }
        token_ = out.substr(0, out.find('\n'));
        return token_;
    }

    const Options& options_;
    std::string token_;
    fs::path dir_;
    std::string endpoint_;
    std::unique_ptr<Child> controller_;
    std::map<std::string, std::unique_ptr<Child>> nodes_;
};

// ---- statistics -------------------------------------------------------------------------------

/// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Distribution {
    std::size_t count = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

Distribution distribution(std::vector<double> values) {
    Distribution d;
    d.count = values.size();
    if (values.empty()) {
        return d;
    }
    std::sort(values.begin(), values.end());
    d.p50 = percentile(values, 50);
    d.p90 = percentile(values, 90);
    d.p99 = percentile(values, 99);
    d.max = values.back();
    double sum = 0;
    for (double v : values) {
        sum += v;
    }
    d.mean = sum / static_cast<double>(values.size());
    return d;
}

nlohmann::json to_json(const Distribution& d) {
    return {{"count", d.count}, {"p50", d.p50}, {"p90", d.p90},
            {"p99", d.p99},     {"max", d.max}, {"mean", d.mean}};
}

double mib(std::uint64_t kib) {
    return static_cast<double>(kib) / 1024.0;
}

// ---- phase 1: idle with a week's timeline -----------------------------------------------------

struct ThreadCpu {
    std::string name;
    double seconds = 0;
};

struct IdleResult {
    bool ran = false;
    int slots = 0;
    int media = 0;
    double settle_s = 0;            ///< from booking to the timeline stored and every file held
    double window_s = 0;            ///< the measured window
    double first_play_after_s = 0;  ///< from the window's end to the first play
    double cpu_s = 0;               ///< utime + stime over the window
    double run_s = 0;               ///< the same from the threads' schedstat (nanoseconds)
    double percent = 0;             ///< of one core
    std::uint64_t wakeups = 0;      ///< voluntary + involuntary context switches over the window
    std::uint64_t rss_kb = 0;       ///< VmRSS at the window's end
    std::vector<ThreadCpu> threads;
};

IdleResult run_idle(const Options& options, World& world) {
    IdleResult r;
    r.ran = true;
    const std::string id = "loa-bench-idle";
    // A week's distinct bulletins of 45–150 s (a node carries a dozen campaigns or more, of one
    // or two bulletins each). The agent's idle work grows with the files it holds.
    std::vector<Media> bulletins;
    const double lengths[] = {45, 60, 75, 90, 120, 150};
    for (int i = 0; i < options.idle_files; ++i) {
        bulletins.push_back(
            world.tone(lengths[i % 6], 220 + 20 * i, fmt::format("Bản tin {}", i + 1)));
    }
    r.media = static_cast<int>(bulletins.size());

    world.start_node(id);
    if (!wait_until([&] { return world.seen({id}) || !world.node_running(id); }, 20s) ||
        !world.node_running(id)) {
        throw std::runtime_error("the idle node did not say hello: " +
                                 tail_of(world.logs() / (id + ".log")));
    }
    // --idle-per-day plays a day (20): a morning and an evening session 11 h apart, one play
    // every 3 minutes; the first one far enough ahead that none is near during the window.
    const std::int64_t booked = now_us();
    const std::int64_t first = booked + 12 * kMinuteUs + options.idle_seconds * 1'000'000LL;
    std::vector<PlannedSlot> slots;
    const int per_session = options.idle_per_day / 2;
    for (int day = 0; day < 7; ++day) {
        for (int session = 0; session < 2; ++session) {
            const int count = session == 0 ? per_session : options.idle_per_day - per_session;
            for (int k = 0; k < count; ++k) {
                const auto n = static_cast<int>(slots.size());
                slots.push_back({fmt::format("week-{:03}", n), &bulletins[n % bulletins.size()],
                                 first + day * kDayUs + session * 11 * kHourUs + k * 3 * kMinuteUs,
                                 fmt::format("Bản tin tuần, ngày {} phiên {} số {}", day + 1,
                                             session + 1, k + 1)});
            }
        }
    }
    r.slots = static_cast<int>(slots.size());
    world.book({id}, slots, "tuan-le");
    const auto t0 = std::chrono::steady_clock::now();
    if (!wait_until([&] { return world.node_holds(id, r.slots, bulletins); }, 120s)) {
        throw std::runtime_error(
            fmt::format("the idle node did not store its {} plays and {} files within 120 s: {}",
                        r.slots, bulletins.size(), tail_of(world.node_data(id) / "agent.log")));
    }
    r.settle_s = seconds_since(t0);
    // Settled: the fetcher's first check of each new file and the acks are behind it.
    std::this_thread::sleep_for(5s);

    Child& node = *world.node(id);
    const pid_t pid = node.pid();
    const auto threads0 = thread_ticks(pid);
    const std::uint64_t switches0 = proc_status_value(pid, "voluntary_ctxt_switches") +
                                    proc_status_value(pid, "nonvoluntary_ctxt_switches");
    const std::uint64_t ticks0 = process_ticks(pid);
    const std::uint64_t ns0 = process_run_ns(pid);
    const auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(options.idle_seconds));
    const std::uint64_t ticks1 = process_ticks(pid);
    const std::uint64_t ns1 = process_run_ns(pid);
    r.window_s = seconds_since(w0);
    const std::uint64_t switches1 = proc_status_value(pid, "voluntary_ctxt_switches") +
                                    proc_status_value(pid, "nonvoluntary_ctxt_switches");
    const auto threads1 = thread_ticks(pid);
    r.rss_kb = proc_status_value(pid, "VmRSS");
    r.first_play_after_s = static_cast<double>(first - now_us()) / 1e6;
    if (!node.running()) {
        throw std::runtime_error("the idle node stopped: " + tail_of(world.logs() / (id + ".log")));
    }
    r.cpu_s = static_cast<double>(ticks1 - ticks0) / ticks_per_second();
    r.percent = 100.0 * r.cpu_s / r.window_s;
    r.run_s = static_cast<double>(ns1 - std::min(ns0, ns1)) / 1e9;
    r.wakeups = switches1 - switches0;
    for (const auto& [tid, after] : threads1) {
        auto before = threads0.find(tid);
        const std::uint64_t b = before == threads0.end() ? 0 : before->second.ticks;
        r.threads.push_back(
            {after.name,
             static_cast<double>(after.ticks - std::min(b, after.ticks)) / ticks_per_second()});
    }
    std::sort(r.threads.begin(), r.threads.end(),
              [](const ThreadCpu& a, const ThreadCpu& b) { return a.seconds > b.seconds; });
    world.stop_node(id);
    return r;
}

// ---- phase 2: N nodes playing the same timeline -----------------------------------------------

struct NodeMemory {
    std::uint64_t peak_rss_kb = 0;   ///< highest VmRSS sampled while playing
    std::uint64_t peak_anon_kb = 0;  ///< RssAnon in that sample
    std::uint64_t peak_file_kb = 0;  ///< RssFile in that sample
    std::uint64_t hwm_kb = 0;        ///< VmHWM at the end
    std::uint64_t pss_kb = 0;        ///< Pss at the end
    std::vector<std::pair<std::string, std::uint64_t>> mappings;  ///< at the end, largest first
};

struct Confirmation {
    std::string node_id;
    std::string slot_id;
    std::int64_t planned_us = 0;
    std::int64_t actual_us = 0;
    std::string outcome;
    std::string reason;
};

struct PlaysResult {
    int nodes = 0;
    int plays = 0;
    double tone_s = 0;                ///< duration of the imported tone as the controller probed it
    double lead_s = 0;                ///< from booking to the first play
    double ready_before_first_s = 0;  ///< the last node was ready this long before the first play
    double playing_s = 0;             ///< first planned start to the last confirmation
    std::vector<NodeMemory> memory;
    std::size_t rss_samples = 0;
    std::vector<Confirmation> confirmations;
    double machine_busy_percent = 0;  ///< of all cores, during the plays
    double loa_busy_percent = 0;      ///< the nodes and the controller, of all cores
    double node0_cpu_s = 0;
    double controller_cpu_s = 0;
};

std::vector<Confirmation> read_confirmations(const fs::path& db_file) {
    std::vector<Confirmation> out;
    SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    SQLite::Statement q(db,
                        "SELECT node_id, slot_id, planned_start_us, actual_start_us, outcome, "
                        "reason FROM confirmations WHERE campaign_id = 'do-tre' "
                        "ORDER BY node_id, planned_start_us");
    while (q.executeStep()) {
        out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                       q.getColumn(2).getInt64(), q.getColumn(3).getInt64(),
                       q.getColumn(4).getString(), q.getColumn(5).getString()});
    }
    return out;
}

PlaysResult run_plays(const Options& options, World& world) {
    PlaysResult r;
    r.nodes = options.nodes;
    r.plays = options.plays;
    const Media tone = world.tone(options.tone_ms / 1000.0, 660, "Thông báo thử");
    r.tone_s = static_cast<double>(tone.duration_us) / 1e6;
    if (tone.duration_us >= options.spacing_ms * 1000LL) {
        throw std::runtime_error(fmt::format(
            "the imported tone lasts {:.3f} s, not less than --spacing-ms {}: plays would overlap",
            r.tone_s, options.spacing_ms));
    }

    std::vector<std::string> ids;
    for (int i = 0; i < options.nodes; ++i) {
        ids.push_back(fmt::format("loa-bench-{:02}", i));
    }
    std::vector<Child*> nodes;
    for (const auto& id : ids) {
        nodes.push_back(&world.start_node(id));
    }
    if (!wait_until([&] { return world.seen(ids); }, 30s)) {
        throw std::runtime_error("not every node said hello within 30 s: " +
                                 tail_of(world.logs() / (ids.back() + ".log")));
    }

    // Time for the controller to notice the rows, push 10 timelines and serve the tone.
    const std::int64_t lead_us = 10'000'000;
    const std::int64_t first = now_us() + lead_us;
    r.lead_s = lead_us / 1e6;
    std::vector<PlannedSlot> slots;
    for (int i = 0; i < options.plays; ++i) {
        slots.push_back({fmt::format("bench-{:04}", i), &tone,
                         first + static_cast<std::int64_t>(i) * options.spacing_ms * 1000,
                         fmt::format("Thông báo đo trễ {}", i + 1)});
    }
    world.book(ids, slots, "do-tre");
    const std::int64_t last_end = slots.back().start_us + tone.duration_us;

    // Every node must hold the timeline and the tone before the first play is prerolled.
    if (!wait_until(
            [&] {
                return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
                    return world.node_holds(id, options.plays, {tone});
                });
            },
            std::chrono::milliseconds((first - now_us()) / 1000 - 1600))) {
        throw std::runtime_error(
            "the nodes did not hold the timeline and the tone 1.6 s before the first play (the "
            "agent prerolls 1.5 s ahead)");
    }
    r.ready_before_first_s = static_cast<double>(first - now_us()) / 1e6;

    // Sample memory every 50 ms until every confirmation is in.
    r.memory.resize(ids.size());
    const std::int64_t expected = static_cast<std::int64_t>(options.nodes) * options.plays;
    const std::int64_t deadline = last_end + 30'000'000;
    const auto machine0 = machine_ticks();
    std::uint64_t loa0 = process_ticks(world.controller()->pid());
    for (auto* n : nodes) {
        loa0 += process_ticks(n->pid());
    }
    const std::uint64_t node0_ticks0 = process_ticks(nodes[0]->pid());
    const std::uint64_t controller_ticks0 = process_ticks(world.controller()->pid());
    auto next_count = std::chrono::steady_clock::now();
    std::int64_t confirmed = 0;
    MachineTicks machine1;
    std::uint64_t loa1 = 0;
    bool measured_cpu = false;
    while (now_us() < deadline) {
        const std::int64_t t = now_us();
        if (t >= first && t <= last_end + 500'000) {
            ++r.rss_samples;
            for (std::size_t i = 0; i < nodes.size(); ++i) {
                const pid_t pid = nodes[i]->pid();
                const std::uint64_t rss = proc_status_value(pid, "VmRSS");
                if (rss > r.memory[i].peak_rss_kb) {
                    r.memory[i].peak_rss_kb = rss;
                    r.memory[i].peak_anon_kb = proc_status_value(pid, "RssAnon");
                    r.memory[i].peak_file_kb = proc_status_value(pid, "RssFile");
                }
            }
        }
        if (!measured_cpu && t > last_end) {
            // CPU of the whole machine and of loa's processes while the plays ran.
            measured_cpu = true;
            machine1 = machine_ticks();
            loa1 = process_ticks(world.controller()->pid());
            for (auto* n : nodes) {
                loa1 += process_ticks(n->pid());
            }
            r.node0_cpu_s = static_cast<double>(process_ticks(nodes[0]->pid()) - node0_ticks0) /
                            ticks_per_second();
            r.controller_cpu_s =
                static_cast<double>(process_ticks(world.controller()->pid()) - controller_ticks0) /
                ticks_per_second();
        }
        if (std::chrono::steady_clock::now() >= next_count) {
            next_count += 1s;
            confirmed = World::scalar(world.controller_db(),
                                      "SELECT count(*) FROM confirmations WHERE campaign_id = "
                                      "'do-tre'")
                            .value_or(0);
            if (confirmed >= expected) {
                break;
            }
            for (std::size_t i = 0; i < nodes.size(); ++i) {
                if (!nodes[i]->running()) {
                    throw std::runtime_error(fmt::format(
                        "node {} stopped: {}", ids[i], tail_of(world.logs() / (ids[i] + ".log"))));
                }
            }
            if (!world.controller_running()) {
                throw std::runtime_error("the controller stopped: " +
                                         tail_of(world.logs() / "controller.log"));
            }
        }
        std::this_thread::sleep_for(50ms);
    }
    r.playing_s = static_cast<double>(now_us() - first) / 1e6;
    if (measured_cpu) {
        const double total = static_cast<double>(machine1.total - machine0.total);
        r.machine_busy_percent =
            total > 0 ? 100.0 * static_cast<double>(machine1.busy - machine0.busy) / total : 0;
        r.loa_busy_percent = total > 0 ? 100.0 * static_cast<double>(loa1 - loa0) / total : 0;
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        r.memory[i].hwm_kb = proc_status_value(nodes[i]->pid(), "VmHWM");
        r.memory[i].pss_kb = proc_pss_kb(nodes[i]->pid());
        if (i == 0) {
            r.memory[i].mappings = resident_by_mapping(nodes[i]->pid());
            r.memory[i].mappings.resize(std::min<std::size_t>(r.memory[i].mappings.size(), 12));
        }
    }
    r.confirmations = read_confirmations(world.controller_db());
    for (const auto& id : ids) {
        world.stop_node(id);
    }
    return r;
}

}  // namespace

/// Pre-emption: a node airs a 20 s bulletin; 2 s in, `loactl emergency send` orders a 1 s alert
/// it already holds. Measured on the node's clock, from the moment it took the command
/// (CommandResult.done_us, stored by the controller) to the end of the bulletin's airing (the
/// `interrupted` confirmation's actual end): the target is 200 ms.
struct EmergencyResult {
    bool ran = false;
    std::vector<double> latency_ms;
};

EmergencyResult run_emergency(const Options& options, World& world) {
    EmergencyResult r;
    r.ran = true;
    const std::string id = "loa-bench-em";
    world.add_node(id);
    const Media bulletin = world.tone(20.0, 330, "Bản tin dài");
    const Media alert = world.tone(1.0, 990, "Báo động thử");
    world.start_node(id);
    if (!wait_until([&] { return world.seen({id}); }, 30s)) {
        throw std::runtime_error("the emergency node did not say hello within 30 s");
    }
    constexpr std::int64_t kSpacingUs = 12'000'000;
    const std::int64_t first = now_us() + 8'000'000;
    std::vector<PlannedSlot> slots;
    for (int i = 0; i < options.emergencies; ++i) {
        slots.push_back({fmt::format("dai-{:02}", i), &bulletin, first + i * kSpacingUs,
                         fmt::format("Bản tin dài {}", i + 1)});
    }
    // The alert is booked an hour ahead as well, so the node holds it before it is needed: what
    // is timed is the pre-emption, not a download.
    slots.push_back({"bao-dong-sau", &alert, now_us() + 3'600'000'000LL, "Báo động"});
    world.book({id}, slots, "do-ngat");
    if (!wait_until(
            [&] {
                return world.node_holds(id, std::ssize(slots), {bulletin, alert});
            },
            30s)) {
        throw std::runtime_error("the emergency node did not get its timeline and media");
    }
    for (int i = 0; i < options.emergencies; ++i) {
        const std::int64_t at = slots[static_cast<std::size_t>(i)].start_us + 2'000'000;
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::max<std::int64_t>(0, at - now_us())));
        auto sent =
            world.loactl({"emergency", "send", "--media", alert.hash, "--nodes", id, "--repeat",
                          "1", "--expires", "now+10m", "--title", "Báo động thử"});
        const std::string emergency = sent.at("emergency_id").get<std::string>();
        std::optional<std::int64_t> taken, cut;
        const bool measured = wait_until(
            [&] {
                taken = World::scalar(world.controller_db(),
                                      fmt::format("SELECT done_us FROM commands WHERE "
                                                  "emergency_id = '{}' AND done_us IS NOT NULL",
                                                  emergency));
                cut = World::scalar(world.controller_db(),
                                    fmt::format("SELECT actual_end_us FROM confirmations WHERE "
                                                "node_id = '{}' AND slot_id = 'dai-{:02}' AND "
                                                "outcome = 'interrupted'",
                                                id, i));
                return taken.has_value() && cut.has_value();
            },
            20s);
        if (!measured) {
            throw std::runtime_error(fmt::format(
                "emergency {}: no interrupted bulletin or no command result within 20 s: {}",
                emergency, tail_of(world.logs() / (id + ".log"))));
        }
        r.latency_ms.push_back(static_cast<double>(*cut - *taken) / 1000.0);
    }
    world.stop_node(id);
    return r;
}

int main(int argc, char** argv) {
    CLI::App app{
        "Node agent: memory while playing, CPU while idle with a week's timeline, start error and "
        "skew, measured on real loa-node processes against a real loa-controller."};
    Options options;
    app.add_option("--nodes", options.nodes, "node agents playing the same timeline (default 10)")
        ->check(CLI::Range(1, 100));
    app.add_option("--plays", options.plays, "plays on each node (default 200)")
        ->check(CLI::Range(1, 100000));
    app.add_option("--spacing-ms", options.spacing_ms,
                   "from one planned start to the next (default 800)")
        ->check(CLI::Range(100, 600000));
    app.add_option("--tone-ms", options.tone_ms, "length of the tone each play airs (default 400)")
        ->check(CLI::Range(50, 600000));
    app.add_option("--idle-seconds", options.idle_seconds,
                   "window over which the idle node's CPU is measured (default 60)")
        ->check(CLI::Range(5, 3600));
    app.add_option("--idle-per-day", options.idle_per_day,
                   "plays a day in the idle node's 7-day timeline (default 20)")
        ->check(CLI::Range(2, 200));
    app.add_option("--idle-files", options.idle_files,
                   "distinct bulletins in that timeline, all cached (default 20)")
        ->check(CLI::Range(1, 200));
    app.add_option("--heartbeat-ms", options.heartbeat_ms,
                   "heartbeat interval the controller tells nodes (default 1000; 30000 in the "
                   "field)")
        ->check(CLI::Range(100, 600000));
    app.add_option("--sink", options.sink,
                   "passed to every loa-node: fake (default), auto, alsa[:device], file:<dir> "
                   "(each node writes to <dir>/<node id>)");
    app.add_flag("--no-idle", options.no_idle, "skip the idle phase");
    app.add_option("--emergencies", options.emergencies,
                   "emergencies sent to a node mid-bulletin, to time the pre-emption (default 5; "
                   "0 skips)")
        ->check(CLI::Range(0, 100));
    app.add_flag("--json", options.json, "print the results as JSON instead of a table");
    app.add_flag("--keep", options.keep, "keep the temporary directory (databases, logs)");
    app.add_option("--node-bin", options.node_bin, "loa-node executable");
    app.add_option("--controller-bin", options.controller_bin, "loa-controller executable");
    app.add_option("--loactl-bin", options.loactl_bin, "loactl executable");
    CLI11_PARSE(app, argc, argv);
    ::signal(SIGPIPE, SIG_IGN);

    std::string pattern = (fs::temp_directory_path() / "loa-node-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        fmt::print(stderr, "cannot create a temporary directory\n");
        return 2;
    }
    const fs::path dir = pattern;
    const auto started = std::chrono::steady_clock::now();
    const std::string load_before = loadavg();

    int exit_code = 0;
    try {
        World world(options, dir);
        world.add_node("loa-bench-idle");
        for (int i = 0; i < options.nodes; ++i) {
            world.add_node(fmt::format("loa-bench-{:02}", i));
        }
        world.start_controller();
        IdleResult idle;
        if (!options.no_idle) {
            idle = run_idle(options, world);
        }
        PlaysResult plays = run_plays(options, world);
        EmergencyResult emergency;
        if (options.emergencies > 0) {
            emergency = run_emergency(options, world);
        }
        world.stop_controller();
        const double run_s = seconds_since(started);
        const std::string load_after = loadavg();

        // Start error of every play that aired, and per slot the spread across nodes.
        std::vector<double> errors_ms, abs_ms, node0_abs_ms;
        std::map<std::string, std::vector<std::int64_t>> by_slot;
        std::map<std::string, int> outcomes;
        const std::string node0 = "loa-bench-00";
        for (const auto& c : plays.confirmations) {
            ++outcomes[c.outcome];
            if (c.outcome != "played" || c.actual_us == 0) {
                continue;
            }
            const double e = static_cast<double>(c.actual_us - c.planned_us) / 1000.0;
            errors_ms.push_back(e);
            abs_ms.push_back(std::abs(e));
            if (c.node_id == node0) {
                node0_abs_ms.push_back(std::abs(e));
            }
            by_slot[c.slot_id].push_back(c.actual_us);
        }
        std::vector<double> skews_ms;
        for (const auto& [slot, starts] : by_slot) {
            if (static_cast<int>(starts.size()) == options.nodes) {
                auto [lo, hi] = std::minmax_element(starts.begin(), starts.end());
                skews_ms.push_back(static_cast<double>(*hi - *lo) / 1000.0);
            }
        }
        const Distribution error_abs = distribution(abs_ms);
        const Distribution error_signed = distribution(errors_ms);
        const Distribution error_node0 = distribution(node0_abs_ms);
        const Distribution skew = distribution(skews_ms);
        const std::int64_t expected = static_cast<std::int64_t>(options.nodes) * options.plays;
        const auto received = static_cast<std::int64_t>(plays.confirmations.size());
        const auto aired = static_cast<std::int64_t>(abs_ms.size());
        const NodeMemory& mem0 = plays.memory.at(0);
        std::uint64_t rss_all = 0, hwm_all = 0;
        for (const auto& m : plays.memory) {
            rss_all = std::max(rss_all, m.peak_rss_kb);
            hwm_all = std::max(hwm_all, m.hwm_kb);
        }
        // Judged on the higher of the sampled peak and VmHWM, which catches a peak between samples.
        const double rss_judged_kb = static_cast<double>(std::max(mem0.peak_rss_kb, mem0.hwm_kb));
        const bool rss_ok = rss_judged_kb * 1024.0 <= kRssTargetBytes;
        const bool idle_ok = idle.ran && idle.percent <= kIdleCpuTargetPercent;
        // A play that did not air counts against the start target: its error is unbounded.
        const bool error_ok = aired == expected && error_abs.p99 <= kStartTargetMs;
        const bool skew_ok =
            static_cast<int>(skews_ms.size()) == options.plays && skew.p99 <= kStartTargetMs;
        const Distribution preempt = distribution(emergency.latency_ms);
        const bool preempt_ok = emergency.ran && preempt.max <= kPreemptTargetMs;

        if (options.json) {
            nlohmann::json j;
            j["setup"] = {{"nodes", options.nodes},
                          {"plays_per_node", options.plays},
                          {"spacing_ms", options.spacing_ms},
                          {"tone_seconds", plays.tone_s},
                          {"sink", options.sink},
                          {"heartbeat_ms", options.heartbeat_ms},
                          {"run_seconds", run_s},
                          {"plays_booked_ahead_s", plays.lead_s},
                          {"nodes_ready_before_first_play_s", plays.ready_before_first_s},
                          {"first_play_to_last_confirmation_s", plays.playing_s},
                          {"loadavg_before", load_before},
                          {"loadavg_after", load_after}};
            j["memory"] = {{"node0_peak_rss_kb", mem0.peak_rss_kb},
                           {"node0_peak_rss_anon_kb", mem0.peak_anon_kb},
                           {"node0_peak_rss_file_kb", mem0.peak_file_kb},
                           {"node0_vmhwm_kb", mem0.hwm_kb},
                           {"node0_pss_kb", mem0.pss_kb},
                           {"node0_resident_by_mapping_kb", mem0.mappings},
                           {"all_nodes_peak_rss_kb", rss_all},
                           {"all_nodes_vmhwm_kb", hwm_all},
                           {"samples", plays.rss_samples},
                           {"target_bytes", kRssTargetBytes},
                           {"verdict", verdict(rss_ok)}};
            if (idle.ran) {
                nlohmann::json threads = nlohmann::json::array();
                for (const auto& t : idle.threads) {
                    threads.push_back({{"name", t.name}, {"cpu_s", t.seconds}});
                }
                j["idle"] = {{"slots", idle.slots},
                             {"media_files", idle.media},
                             {"days", 7},
                             {"settle_seconds", idle.settle_s},
                             {"window_seconds", idle.window_s},
                             {"first_play_after_window_s", idle.first_play_after_s},
                             {"cpu_seconds", idle.cpu_s},
                             {"schedstat_cpu_seconds", idle.run_s},
                             {"percent_of_core", idle.percent},
                             {"context_switches", idle.wakeups},
                             {"rss_kb", idle.rss_kb},
                             {"threads", threads},
                             {"target_percent", kIdleCpuTargetPercent},
                             {"verdict", verdict(idle_ok)}};
            }
            j["start_error_ms"] = {
                {"plays_expected", expected},
                {"confirmations", received},
                {"outcomes", outcomes},
                {"absolute", to_json(error_abs)},
                {"signed_mean", error_signed.mean},
                {"signed_min",
                 errors_ms.empty() ? 0.0 : *std::min_element(errors_ms.begin(), errors_ms.end())},
                {"node0_absolute", to_json(error_node0)},
                {"target_p99_ms", kStartTargetMs},
                {"verdict", verdict(error_ok)}};
            j["skew_ms"] = {{"slots_all_nodes_played", skews_ms.size()},
                            {"distribution", to_json(skew)},
                            {"target_p99_ms", kStartTargetMs},
                            {"verdict", verdict(skew_ok)}};
            j["cpu_during_plays"] = {
                {"machine_busy_percent_of_all_cores", plays.machine_busy_percent},
                {"loa_processes_percent_of_all_cores", plays.loa_busy_percent},
                {"node0_cpu_seconds", plays.node0_cpu_s},
                {"controller_cpu_seconds", plays.controller_cpu_s},
                {"cores", std::thread::hardware_concurrency()}};
            if (emergency.ran) {
                j["emergency_preemption"] = {{"trials", emergency.latency_ms.size()},
                                             {"latency_ms", to_json(preempt)},
                                             {"target_ms", kPreemptTargetMs},
                                             {"verdict", verdict(preempt_ok)}};
            }
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print(
                "{} nodes × {} plays of a {:.3f} s tone every {} ms, sink {}, heartbeat {} ms; "
                "run {:.0f} s\nload average before {}, after {}\n\n",
                options.nodes, options.plays, plays.tone_s, options.spacing_ms, options.sink,
                options.heartbeat_ms, run_s, load_before, load_after);
            fmt::print(
                "resident memory of loa-node while playing (node 0, {} samples every 50 ms)\n",
                plays.rss_samples);
            fmt::print(
                "  highest VmRSS {:.1f} MiB (RssAnon {:.1f}, RssFile {:.1f}), VmHWM {:.1f} "
                "MiB, Pss at the end {:.1f} MiB\n",
                mib(mem0.peak_rss_kb), mib(mem0.peak_anon_kb), mib(mem0.peak_file_kb),
                mib(mem0.hwm_kb), mib(mem0.pss_kb));
            fmt::print("  all {} nodes: highest VmRSS {:.1f} MiB, highest VmHWM {:.1f} MiB\n",
                       options.nodes, mib(rss_all), mib(hwm_all));
            std::string largest;
            for (std::size_t i = 0; i < mem0.mappings.size() && i < 8; ++i) {
                largest += fmt::format("{}{} {:.1f}", i ? ", " : "", mem0.mappings[i].first,
                                       mib(mem0.mappings[i].second));
            }
            fmt::print("  node 0 resident at the end, MiB: {}\n", largest);
            if (idle.ran) {
                fmt::print(
                    "\nCPU while idle: {} plays over 7 days ({} a day, {} files of 45–150 s, all "
                    "cached; settled {:.1f} s after booking)\n",
                    idle.slots, options.idle_per_day, idle.media, idle.settle_s);
                fmt::print(
                    "  {:.3f} s of CPU in {:.1f} s = {:.3f} % of a core (schedstat {:.4f} s); {} "
                    "context switches ({:.1f}/s); VmRSS {:.1f} MiB; first play {:.0f} s after the "
                    "window\n",
                    idle.cpu_s, idle.window_s, idle.percent, idle.run_s, idle.wakeups,
                    static_cast<double>(idle.wakeups) / idle.window_s, mib(idle.rss_kb),
                    idle.first_play_after_s);
                std::string busiest;
                for (std::size_t i = 0; i < idle.threads.size() && i < 4; ++i) {
                    busiest += fmt::format("{}{} {:.2f} s", i ? ", " : "", idle.threads[i].name,
                                           idle.threads[i].seconds);
                }
                fmt::print("  threads: {}\n", busiest);
            }
            fmt::print("\nscheduled start error, actual − planned ({} of {} plays aired;", aired,
                       expected);
            for (const auto& [outcome, n] : outcomes) {
                fmt::print(" {} {}", outcome, n);
            }
            fmt::print(")\n");
            fmt::print(
                "  |error| ms: p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  max {:.2f};  signed mean "
                "{:+.2f}\n",
                error_abs.p50, error_abs.p90, error_abs.p99, error_abs.max, error_signed.mean);
            fmt::print("  node 0 alone ({} plays): p50 {:.2f}  p99 {:.2f}  max {:.2f}\n",
                       error_node0.count, error_node0.p50, error_node0.p99, error_node0.max);
            fmt::print(
                "\nstart skew between {} nodes, max − min per slot ({} slots aired on every "
                "node)\n",
                options.nodes, skews_ms.size());
            fmt::print("  ms: p50 {:.2f}  p99 {:.2f}  max {:.2f}\n", skew.p50, skew.p99, skew.max);
            fmt::print(
                "\nCPU during the plays: machine {:.0f} % busy of {} cores, loa's processes "
                "{:.0f} % of it all; node 0 {:.2f} s, controller {:.2f} s\n\n",
                plays.machine_busy_percent, std::thread::hardware_concurrency(),
                plays.loa_busy_percent, plays.node0_cpu_s, plays.controller_cpu_s);
            if (emergency.ran) {
                fmt::print(
                    "emergency pre-emption: command taken → bulletin off the air ({} trials)\n"
                    "  ms: p50 {:.1f}  max {:.1f}\n\n",
                    emergency.latency_ms.size(), preempt.p50, preempt.max);
            }
            fmt::print("{:<44} {:>10}  {:<14} {}\n", "measure", "measured", "target", "");
            fmt::print("{:<44} {:>7.1f} MB  {:<14} {}\n",
                       "node memory while playing (VmHWM, node 0)", rss_judged_kb * 1024.0 / 1e6,
                       "≤ 30 MB", verdict(rss_ok));
            if (idle.ran) {
                fmt::print("{:<44} {:>8.3f} %  {:<14} {}\n", "CPU idle, 7-day timeline",
                           idle.percent, "≤ 1 % of a core", verdict(idle_ok));
            }
            fmt::print("{:<44} {:>7.2f} ms  {:<14} {}\n", "scheduled-start error p99 (all plays)",
                       error_abs.p99, "≤ 20 ms", verdict(error_ok));
            fmt::print("{:<44} {:>7.2f} ms  {:<14} {}\n",
                       fmt::format("start skew p99, {} nodes", options.nodes), skew.p99, "≤ 20 ms",
                       verdict(skew_ok));
            if (emergency.ran) {
                fmt::print(
                    "{:<44} {:>7.2f} ms  {:<14} {}\n",
                    fmt::format("emergency pre-emption, max of {}", emergency.latency_ms.size()),
                    preempt.max, "≤ 200 ms", verdict(preempt_ok));
            }
        }
        if (received < expected) {
            fmt::print(stderr, "FAILED: {} of {} confirmations arrived\n", received, expected);
            exit_code = 1;
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "node_bench: {}\n", e.what());
        exit_code = 2;
    }
    std::error_code ec;
    if (options.keep || exit_code == 2) {
        fmt::print(stderr, "kept {}\n", dir.string());
    } else {
        fs::remove_all(dir, ec);
    }
    return exit_code;
}
