// Shared fixture of the end-to-end scenarios: real loa-controller, loa-node and loactl processes.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "loa/protocol/curve_keys.hpp"
#include "test_support.hpp"

/// REQUIRE / CHECK that print the tails of every process log of `scenario` when they fail.
/// The logs are read when the assertion runs, so wait first and assert on the result.
#define E2E_REQUIRE(scenario, ...)    \
    do {                              \
        INFO((scenario).log_tails()); \
        REQUIRE(__VA_ARGS__);         \
    } while (false)
#define E2E_CHECK(scenario, ...)      \
    do {                              \
        INFO((scenario).log_tails()); \
        CHECK(__VA_ARGS__);           \
    } while (false)

namespace loa::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline constexpr const char* kArea = "vn/lao-cai/sa-pa/ta-van";

/// `text` as one single-quoted shell word.
inline std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

/// The password of the first admin the tests create in a controller data directory.
inline constexpr const char* kAdminPassword = "mat-khau-quan-tri";

/// An API token of the first admin of the controller data directory `data`, made on first use
/// (the directory must have no user yet) and kept beside the directory for the next calls.
inline std::string admin_token(const fs::path& data) {
    const fs::path kept = data.parent_path() / (data.filename().string() + ".admin-token");
    if (fs::exists(kept)) {
        return test::read_file(kept);
    }
    const std::string loactl =
        fmt::format("{} --data {}", LOA_LOACTL_BIN, shell_quote(data.string()));
    const std::string password = fmt::format("printf '%s\\n' {} | ", shell_quote(kAdminPassword));
    int status = -1;
    std::string out = test::capture_shell(
        password + loactl + " user add admin --role admin --area / --password-stdin 2>&1", &status);
    INFO("loactl user add admin: " << out);
    REQUIRE(status == 0);
    std::string token = test::capture_shell(
        password + loactl + " login admin --password-stdin 2>/dev/null", &status);
    REQUIRE(status == 0);
    while (!token.empty() && token.back() == '\n') {
        token.pop_back();
    }
    REQUIRE(token.starts_with("loa_"));
    test::write_file(kept, token);
    return token;
}

/// "LOA_TOKEN='…' ": put before a loactl shell command to run it as the first admin of `data`.
inline std::string as_admin(const fs::path& data) {
    return "LOA_TOKEN=" + shell_quote(admin_token(data)) + " ";
}

/// Duration of a media file in seconds as ffprobe reads its container; -1 if it cannot.
inline double probe_seconds(const fs::path& file) {
    int status = -1;
    std::string out =
        test::capture_shell("ffprobe -v error -show_entries format=duration -of csv=p=0 " +
                                shell_quote(file.string()) + " 2>/dev/null",
                            &status);
    if (status != 0 || out.empty()) {
        return -1;
    }
    return std::strtod(out.c_str(), nullptr);
}

/// An imported bulletin: its content hash and the duration the controller probed.
struct Bulletin {
    std::string hash;
    double seconds = 0;
};

/// One scenario's world: a scratch directory holding the controller's data, each node's data
/// and file sink, and every process log; the controller endpoint is a free loopback port.
class Scenario {
  public:
    Scenario() : port_(test::free_tcp_port()), endpoint_(fmt::format("tcp://127.0.0.1:{}", port_)) {
        fs::create_directories(logs());
        fs::create_directories(dir_ / "bulletins");
    }

    ~Scenario() {
        // Nodes first, so none of them is left talking to a controller that is gone.
        for (auto& [id, node] : nodes_) {
            if (node) {
                node->terminate(5s);
            }
        }
        if (controller_) {
            controller_->terminate(5s);
        }
    }

    Scenario(const Scenario&) = delete;
    Scenario& operator=(const Scenario&) = delete;

    /// The heartbeat interval start_controller() gives the controller (nodes take it from WELCOME).
    int heartbeat_ms = 1000;

    const std::string& endpoint() const { return endpoint_; }
    /// Where devices enroll with a token (loa-node enroll).
    const std::string& enroll_endpoint() const { return enroll_endpoint_; }
    /// Where the controller serves its HTTP API, and its base URL (loactl's --controller).
    std::string api_bind() const { return fmt::format("127.0.0.1:{}", api_port_); }
    std::string api_url() const { return fmt::format("http://127.0.0.1:{}", api_port_); }
    fs::path root() const { return dir_.path(); }
    fs::path controller_data() const { return dir_ / "controller"; }
    fs::path controller_db() const { return controller_data() / "controller.db"; }
    fs::path logs() const { return dir_ / "logs"; }
    fs::path node_data(const std::string& id) const { return dir_ / "nodes" / id; }
    fs::path node_db(const std::string& id) const { return node_data(id) / "node.db"; }
    fs::path played(const std::string& id) const { return dir_ / "played" / id; }

    // ---- loactl ----------------------------------------------------------------------------

    /// Runs `loactl --data <controller data> --json <args>` as the controller's first admin;
    /// requires success and returns the JSON it printed. Its stderr goes to logs/loactl.log.
    nlohmann::json loactl(const std::string& args) {
        int status = -1;
        // With the daemon up, loactl talks to its HTTP API; before, it serves the API itself
        // over the data directory.
        std::string where = "--data " + shell_quote(controller_data().string());
        if (controller_ && controller_->running()) {
            where += " --controller " + api_url();
        }
        std::string command =
            fmt::format("{}{} {} --json {} 2>>{}", as_admin(controller_data()), LOA_LOACTL_BIN,
                        where, args, shell_quote((logs() / "loactl.log").string()));
        std::string out = test::capture_shell(command, &status);
        INFO("loactl " << args << "\nprinted: " << out << "\n" << log_tails());
        REQUIRE(status == 0);
        auto parsed = nlohmann::json::parse(out, nullptr, false);
        REQUIRE_FALSE(parsed.is_discarded());
        return parsed;
    }

    /// Registers a node and provisions its device as `loa-node enroll` would: a key
    /// pair made here, enrolled with `loactl node enroll --public-key`, and the node's
    /// node.key and node.conf written (scenario 09 goes through a real token instead).
    void add_node(const std::string& id, const std::string& area = kArea,
                  const std::string& kind = "speaker") {
        const auto keys = protocol::generate_curve_key_pair();
        auto added = loactl(fmt::format("node enroll {} --kind {} --area {} --public-key {}", id,
                                        kind, area, shell_quote(keys.public_key)));
        REQUIRE(added["node"] == id);
        fs::create_directories(node_data(id));
        REQUIRE(protocol::write_key_file(node_data(id) / "node.key", keys));
        std::ofstream(node_data(id) / "node.conf")
            << "node_id = " << id << "\nkind = " << kind << "\narea = " << area
            << "\ncontroller = " << endpoint_
            << "\ncontroller_key = " << added["controller_key"].get<std::string>() << "\n";
    }

    /// Imports the audio file, approves it for air, and returns its hash and probed duration.
    Bulletin import(const fs::path& file, const std::string& title) {
        auto imported = loactl(fmt::format("media import {} --title {}", shell_quote(file.string()),
                                           shell_quote(title)));
        if (imported.at("approval") != "approved") {
            loactl("media approve " + imported.at("media_hash").get<std::string>());
        }
        Bulletin b{imported.at("media_hash").get<std::string>(),
                   imported.at("duration_seconds").get<double>()};
        REQUIRE(b.hash.size() == 64);
        REQUIRE(b.seconds > 0);
        return b;
    }

    /// A sine tone of `seconds` at `frequency` Hz (distinct frequencies, distinct hashes).
    Bulletin tone(double seconds, double frequency) {
        auto file = dir_ / "bulletins" / fmt::format("tone-{}hz-{}s.wav", frequency, seconds);
        test::make_tone(file, seconds, 22050, frequency);
        return import(file, fmt::format("Bản tin thử {} Hz", frequency));
    }

    /// Vietnamese speech from espeak-ng, converted to Ogg Vorbis as operators do.
    Bulletin speech(const std::string& name, const std::string& text) {
        auto raw = dir_ / "bulletins" / (name + "-raw.wav");
        auto ogg = dir_ / "bulletins" / (name + ".ogg");
        int status = test::run_shell(fmt::format(
            "espeak-ng -v vi -s 150 -w {} {} && ffmpeg -nostdin -loglevel error -y -i {} -ac 1 "
            "-ar 22050 -c:a libvorbis -q:a 3 {}",
            shell_quote(raw.string()), shell_quote(text), shell_quote(raw.string()),
            shell_quote(ogg.string())));
        REQUIRE(status == 0);
        return import(ogg, text.substr(0, text.find('.')));
    }

    /// Books `bulletins` on every node of `area`, the window opening `start_in_s` from now.
    nlohmann::json add_campaign(const std::string& id, const std::vector<Bulletin>& bulletins,
                                int start_in_s, const std::string& area = kArea) {
        std::string items;
        for (const auto& b : bulletins) {
            items += " --item " + b.hash;
        }
        auto booked = loactl(fmt::format(
            "campaign add {} --name {} --owner {}{} --area {} --start now+{}s --end now+10m", id,
            shell_quote("Phòng chống thiên tai"), shell_quote("UBND xã Tả Van"), items, area,
            start_in_s));
        REQUIRE(booked["campaign"] == id);
        REQUIRE(booked["unplaced"].empty());
        return booked;
    }

    nlohmann::json report(const std::string& campaign) {
        return loactl(
            fmt::format("report airtime --campaign {} --from now-1h --to now+1h", campaign));
    }

    // ---- processes -------------------------------------------------------------------------

    /// `wrapper`: words before the controller's command line, e.g. prlimit and its limits.
    void start_controller(const std::vector<std::string>& wrapper = {}) {
        REQUIRE_FALSE(controller_);
        auto log = logs() / "controller.log";
        std::size_t before = test::read_file(log).size();
        std::vector<std::string> argv = wrapper;
        for (const std::string& word :
             {std::string(LOA_CONTROLLER_BIN), std::string("--data"), controller_data().string(),
              std::string("--bind"), endpoint_, std::string("--enroll-bind"), enroll_endpoint_,
              std::string("--heartbeat-ms"), std::to_string(heartbeat_ms),
              std::string("--http-bind"), api_bind()}) {
            argv.push_back(word);
        }
        controller_ = std::make_unique<test::Process>(std::move(argv), log);
        bool listening = test::wait_until(
            [&] {
                return test::read_file(log).find("controller listening on", before) !=
                           std::string::npos ||
                       !controller_->running();
            },
            10s);
        E2E_REQUIRE(*this, listening);
        E2E_REQUIRE(*this, controller_->running());
    }

    /// SIGTERM, waits for the exit; returns the exit status (-1 if a signal ended it).
    int stop_controller() {
        REQUIRE(controller_);
        int status = controller_->terminate(10s);
        controller_.reset();
        return status;
    }

    bool controller_running() { return controller_ && controller_->running(); }
    /// The controller's process id (-1 when it is not running).
    pid_t controller_pid() const { return controller_ ? controller_->pid() : -1; }

    /// Makes `socket` connect as the device of node `id` (provisioned by add_node): its key pair
    /// and the controller's public key, over CURVE.
    void secure_as(zmq::socket_t& socket, const std::string& id) const {
        auto keys = protocol::read_key_file(node_data(id) / "node.key");
        auto controller = protocol::read_key_file(controller_data() / "controller.key");
        REQUIRE(keys.has_value());
        REQUIRE(controller.has_value());
        socket.set(zmq::sockopt::curve_serverkey, controller->public_key);
        socket.set(zmq::sockopt::curve_publickey, keys->public_key);
        socket.set(zmq::sockopt::curve_secretkey, keys->secret_key);
    }

    /// Starts `loa-node` for `id`, talking to the controller (or to `via`, e.g. a proxy), with
    /// `extra` flags.
    void start_node(const std::string& id, const std::vector<std::string>& extra = {},
                    const std::string& via = {}) {
        auto& slot = nodes_[id];
        REQUIRE_FALSE(slot);
        std::vector<std::string> argv{LOA_NODE_BIN,
                                      "--id",
                                      id,
                                      "--controller",
                                      via.empty() ? endpoint_ : via,
                                      "--data",
                                      node_data(id).string(),
                                      "--sink",
                                      "file:" + played(id).string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        slot = std::make_unique<test::Process>(std::move(argv), logs() / (id + ".log"));
    }

    /// SIGKILL: the controller vanishes mid-work, as on a power cut.
    void kill_controller() {
        REQUIRE(controller_);
        controller_->kill_hard();
        controller_.reset();
    }

    void kill_node(const std::string& id) {
        REQUIRE(nodes_[id]);
        nodes_[id]->kill_hard();
        nodes_[id].reset();
    }

    /// SIGTERM, waits for the exit; returns the exit status (-1 if a signal ended it).
    int stop_node(const std::string& id) {
        REQUIRE(nodes_[id]);
        int status = nodes_[id]->terminate(10s);
        nodes_[id].reset();
        return status;
    }

    bool node_running(const std::string& id) { return nodes_[id] && nodes_[id]->running(); }

    // ---- what the processes left on disk -------------------------------------------------

    /// First column of the first row of `sql` on the controller's database, read-only; nullopt
    /// if the database cannot be read (not created yet, busy) or the query returns no row.
    std::optional<std::int64_t> controller_scalar(const std::string& sql) {
        return scalar(controller_db(), sql);
    }

    std::optional<std::int64_t> node_scalar(const std::string& id, const std::string& sql) {
        return scalar(node_db(id), sql);
    }

    /// The WAVs a node's file sink wrote, sorted by name (planned start, then slot).
    std::vector<fs::path> wavs(const std::string& id) const {
        std::vector<fs::path> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(played(id), ec)) {
            if (e.path().extension() == ".wav") {
                out.push_back(e.path());
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    /// Whether every node named has said hello (nodes.last_seen_us is set).
    bool seen(const std::vector<std::string>& ids) {
        for (const auto& id : ids) {
            auto n =
                controller_scalar(fmt::format("SELECT count(*) FROM nodes WHERE node_id = '{}' AND "
                                              "last_seen_us IS NOT NULL",
                                              id));
            if (n.value_or(0) != 1) {
                return false;
            }
        }
        return true;
    }

    /// Planned plays of `campaign` on `node` (rows of the controller's slots table).
    std::int64_t planned(const std::string& node, const std::string& campaign) {
        return controller_scalar(fmt::format("SELECT count(*) FROM slots WHERE node_id = '{}' "
                                             "AND campaign_id = '{}'",
                                             node, campaign))
            .value_or(-1);
    }

    /// Confirmations the controller holds for `node` with `outcome` ("" for any).
    std::int64_t confirmed(const std::string& node, const std::string& outcome = "played") {
        return controller_scalar(
                   fmt::format("SELECT count(*) FROM confirmations WHERE node_id = '{}'{}", node,
                               outcome.empty() ? std::string()
                                               : fmt::format(" AND outcome = '{}'", outcome)))
            .value_or(-1);
    }

    /// Seconds from now until the end of the last play booked on `node`, at least 0.
    double seconds_to_last_play_end(const std::string& node) {
        auto end = controller_scalar(fmt::format(
            "SELECT max(start_us + duration_us) FROM slots WHERE node_id = '{}'", node));
        auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        return end ? std::max(0.0, static_cast<double>(*end - now) / 1e6) : 0.0;
    }

    /// The last `lines` lines of every process log, for failure messages.
    std::string log_tails(std::size_t lines = 40) const {
        std::ostringstream out;
        std::error_code ec;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(logs(), ec)) {
            files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::ifstream in(file);
            std::deque<std::string> tail;
            for (std::string line; std::getline(in, line);) {
                tail.push_back(line);
                if (tail.size() > lines) {
                    tail.pop_front();
                }
            }
            out << "----- " << file.filename().string() << " (last " << tail.size()
                << " lines) -----\n";
            for (const auto& line : tail) {
                out << line << "\n";
            }
        }
        return out.str();
    }

  private:
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

    test::TempDir dir_;
    int port_;
    std::string endpoint_;
    std::string enroll_endpoint_ = fmt::format("tcp://127.0.0.1:{}", test::free_tcp_port());
    int api_port_ = test::free_tcp_port();
    std::unique_ptr<test::Process> controller_;
    std::map<std::string, std::unique_ptr<test::Process>> nodes_;
};

/// The deadline for plays booked on `node` to be confirmed: the end of the last one plus slack
/// for pacing, the report retry and the ack.
inline std::chrono::milliseconds confirm_deadline(Scenario& s, const std::string& node) {
    return std::chrono::milliseconds(
        static_cast<std::int64_t>((s.seconds_to_last_play_end(node) + 15.0) * 1000));
}

/// Waits until `node` has confirmed its one play of `bulletin`, then checks the evidence: played,
/// one WAV as long as the bulletin, and a report of `campaign` that counts it.
inline void check_single_play(Scenario& s, const std::string& node, const Bulletin& bulletin,
                              const std::string& campaign) {
    bool confirmed = loa::test::wait_until([&] { return s.confirmed(node, "") == 1; },
                                           confirm_deadline(s, node));
    E2E_REQUIRE(s, confirmed);
    E2E_CHECK(s, s.confirmed(node, "played") == 1);
    auto files = s.wavs(node);
    E2E_REQUIRE(s, files.size() == 1);
    CHECK(probe_seconds(files[0]) == Approx(bulletin.seconds).margin(0.1));
    auto report = s.report(campaign);
    INFO("report: " << report.dump(2));
    CHECK(report["total"]["confirmed_plays"] == 1);
    CHECK(report["total"]["unconfirmed"] == 0);
    CHECK(report["total"]["confirmed_seconds"].get<double>() ==
          Approx(bulletin.seconds).margin(0.2));
}

}  // namespace loa::e2e
