// loactl's fleet commands on the command line: node status, runway and gaps from what nodes
// reported; commands and emergencies refused with the reason, or carried to a node by the real
// loa-controller and answered.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/protocol/envelope.hpp"
#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using namespace std::chrono_literals;
using loa::e2e::shell_quote;
namespace lc = loa::controller;
namespace wire = loa::wire;

namespace {

constexpr std::int64_t kHourUs = 3600LL * 1'000'000;

// `loactl --data DIR/data ARGS` run by the first admin, as a shell command.
std::string loactl(const TempDir& dir, const std::string& args) {
    return fmt::format("{}{} --data {} {}", loa::e2e::as_admin(dir / "data"), LOA_LOACTL_BIN,
                       shell_quote((dir / "data").string()), args);
}

// Runs loactl and requires exit 0; returns its stdout.
std::string loactl_ok(const TempDir& dir, const std::string& args) {
    int status = -1;
    std::string out = capture_shell(loactl(dir, args), &status);
    INFO(args << "\n" << out);
    REQUIRE(status == 0);
    return out;
}

// A speaker and a panel in Sa Pa, and a bulletin; returns its hash.
std::string two_nodes_and_a_bulletin(const TempDir& dir) {
    loactl_ok(dir, "node add ta-van-01 --kind speaker --area vn/lao-cai/sa-pa/ta-van");
    loactl_ok(dir, "node add bang-sa-pa --kind panel --area vn/lao-cai/sa-pa");
    auto tone = dir / "bao.wav";
    make_tone(tone, 2.0);
    auto imported = nlohmann::json::parse(
        loactl_ok(dir, "--json media import --title 'Bão số 3' " + shell_quote(tone.string())));
    loactl_ok(dir, "media approve " + imported["media_hash"].get<std::string>());
    return imported["media_hash"];
}

/// A hand-driven node agent on a DEALER socket, with the key pair the scenario provisioned.
class WireNode {
  public:
    WireNode(const loa::e2e::Scenario& s, const std::string& id) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::rcvtimeo, 10000);
        s.secure_as(socket_, id);
        socket_.connect(s.endpoint());
    }
    std::uint64_t send(wire::Envelope e) {
        e.set_message_id(next_id_);
        socket_.send(zmq::buffer(loa::protocol::encode(std::move(e))));
        return next_id_++;
    }
    /// The next message of `type` within 10 s, skipping others.
    wire::Envelope receive(wire::Envelope::BodyCase type) {
        for (int i = 0; i < 50; ++i) {
            zmq::message_t frame;
            REQUIRE(socket_.recv(frame));
            auto decoded = loa::protocol::decode(frame.to_string_view());
            REQUIRE(decoded.has_value());
            if (decoded->body_case() == type) {
                return *decoded;
            }
        }
        FAIL("expected message never came");
        return {};
    }
    void join(const std::string& node_id) {
        wire::Envelope e;
        e.mutable_hello()->set_node_id(node_id);
        send(e);
        receive(wire::Envelope::kWelcome);
    }
    void answer(std::uint64_t command_id, const std::string& message,
                const std::string& log_tail = {}) {
        wire::Envelope e;
        auto* r = e.mutable_command_result();
        r->set_command_id(command_id);
        r->set_ok(true);
        r->set_message(message);
        r->set_log_tail(log_tail);
        r->set_done_us(lc::now_us());
        send(e);
        CHECK(receive(wire::Envelope::kCommandAck).command_ack().command_id() == command_id);
    }

  private:
    zmq::context_t context_{1};
    zmq::socket_t socket_{context_, zmq::socket_type::dealer};
    std::uint64_t next_id_ = 1;
};

}  // namespace

TEST_CASE("loactl node status, runway and gaps show what the nodes reported") {
    TempDir dir;
    two_nodes_and_a_bulletin(dir);
    {
        // What the daemon would have stored from ta-van-01's heartbeat and reports.
        auto db = lc::open_database(dir / "data" / "controller.db");
        REQUIRE(db.has_value());
        const std::int64_t now = lc::now_us();
        wire::Heartbeat hb;
        hb.set_state("playing");
        hb.set_current_title("Bản tin sáng");
        hb.set_volume_percent(65);
        hb.set_storage_free_bytes(3'200'000'000ULL);
        hb.set_cpu_temp_millicelsius(47'000);
        hb.set_link_interface("wwan0");
        hb.set_link_type("cellular");
        hb.set_link_signal_dbm(-91);
        hb.set_clock_offset_us(75'000);
        hb.set_agent_version("loa-node 0.2.0");
        hb.set_schedule_horizon_end_us(now + 7 * 24 * kHourUs);
        hb.set_runway_end_us(now + 12 * kHourUs + 30'000'000);
        hb.set_last_seq(6);
        hb.set_amplifier_on(true);
        REQUIRE(loa::controller::write_directly(**db, [&](loa::controller::WriteTx& tx) {
                    return lc::record_heartbeat(tx, "ta-van-01", hb, now);
                }).has_value());
        wire::PlaybackReport report;
        for (std::uint64_t seq : {1, 2, 4}) {
            auto* c = report.add_confirmations();
            c->set_seq(seq);
            c->set_slot_id(fmt::format("c1/{}@1", seq));
            c->set_outcome(wire::SKIPPED);
        }
        REQUIRE(loa::controller::write_directly(**db, [&](loa::controller::WriteTx& tx) {
                    return lc::ingest_confirmations(tx, "ta-van-01", report, now);
                }).has_value());
    }

    auto status = nlohmann::json::parse(loactl_ok(dir, "node status --json"));
    INFO(status.dump(2));
    REQUIRE(status.size() == 2);
    CHECK(status[0]["node"] == "bang-sa-pa");
    CHECK(status[0]["heartbeat"].is_null());
    const auto& hb = status[1]["heartbeat"];
    CHECK(hb["state"] == "playing");
    CHECK(hb["volume_percent"] == 65);
    CHECK(hb["link_signal_dbm"] == -91);
    CHECK(hb["clock_offset_flagged"] == true);  // 75 ms, over the default 50 ms
    CHECK(hb["runway_hours"].get<double>() == Approx(12.0).margin(0.1));
    CHECK(nlohmann::json::parse(loactl_ok(
              dir,
              "node status --json --offset-warn-ms 100"))[1]["heartbeat"]["clock_offset_flagged"] ==
          false);
    const std::string table = loactl_ok(dir, "node status --node ta-van-01");
    INFO(table);
    CHECK(table.find("Bản tin sáng") != std::string::npos);
    CHECK(table.find("+75.0 ms !") != std::string::npos);
    CHECK(table.find("cellular wwan0 -91 dBm") != std::string::npos);
    CHECK(table.find("bang-sa-pa") == std::string::npos);
    CHECK(loactl_ok(dir, "node status --lang en").find("Clock offset") != std::string::npos);

    // Runway: ta-van-01 has 12 h, bang-sa-pa never said; both under 48 h, the unknown first.
    auto runway = nlohmann::json::parse(loactl_ok(dir, "node runway --json"));
    REQUIRE(runway.size() == 2);
    CHECK(runway[0]["node"] == "bang-sa-pa");
    CHECK(runway[1]["node"] == "ta-van-01");
    auto under_6 = nlohmann::json::parse(loactl_ok(dir, "node runway --below 6 --json"));
    REQUIRE(under_6.size() == 1);
    CHECK(under_6[0]["node"] == "bang-sa-pa");
    CHECK(loactl_ok(dir, "node runway --below 6").find("chưa báo cáo") != std::string::npos);

    // Gaps: 3 is missing from the record, 5-6 not reported yet.
    auto gaps = nlohmann::json::parse(loactl_ok(dir, "node gaps --node ta-van-01 --json"));
    REQUIRE(gaps.size() == 1);
    CHECK(gaps[0]["missing_from_record"] == nlohmann::json::parse(R"([{"first":3,"last":3}])"));
    CHECK(gaps[0]["not_yet_reported"] == nlohmann::json::parse(R"({"first":5,"last":6})"));
    const std::string en = loactl_ok(dir, "node gaps --lang en");
    INFO(en);
    CHECK(en.find("Missing from the record") != std::string::npos);
    CHECK(en.find("5–6 (2)") != std::string::npos);
}

TEST_CASE(
    "loactl refuses bad node commands and emergencies with the reason, exit 1, and "
    "queues nothing") {
    TempDir dir;
    const std::string hash = two_nodes_and_a_bulletin(dir);
    struct Case {
        std::string args;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"node volume ke-la 50", "no node 'ke-la'"},
        {"node volume ta-van-01 101", "volume 101 % is not within 0..100"},
        {"node amplifier ke-la on", "no node 'ke-la'"},
        {"node restart ke-la", "no node 'ke-la'"},
        {"node log ta-van-01 --bytes 2000000", "ask for 1 to 1048576 (1 MiB)"},
        {"node status --node ke-la", "no node 'ke-la'"},
        {"node gaps --node ke-la", "no node 'ke-la'"},
        {"emergency send --media " + std::string(64, 'f') + " --all",
         "media '" + std::string(64, 'f') + "' is not imported media"},
        {"emergency send --media " + hash + " --nodes ta-van-01,ke-la", "no node 'ke-la'"},
        {"emergency send --media " + hash + " --nodes bang-sa-pa",
         "node 'bang-sa-pa' is a panel board and media " + hash.substr(0, 12) +
             " is audio, for loudspeakers"},
        {"emergency send --media " + hash + " --nodes ta-van-01 --expires now-1m",
         "which is not ahead of now"},
        {"emergency send --media " + hash + " --nodes ta-van-01 --expires 2020-01-01",
         "it would expire at 2020-01-01T00:00:00+07:00"},
        {"emergency send --media " + hash + " --nodes ta-van-01 --repeat 0",
         "repeat 0: an emergency plays at least once"},
        {"emergency send --media " + hash + " --area vn/ha-noi", "area 'vn/ha-noi' has no node"},
        {"emergency send --media " + hash + " --all --campaign khong-co", "no campaign 'khong-co'"},
        {"emergency send --media " + hash + " --nodes ta-van-01 --expires tomorrow", "--expires: "},
        {"emergency cancel kc-khong-co", "no emergency 'kc-khong-co'"},
    };
    for (const auto& c : cases) {
        int status = -1;
        std::string out = capture_shell(loactl(dir, c.args + " 2>&1"), &status);
        INFO("loactl " << c.args << "\n" << out);
        CHECK(status == 1);
        CHECK(out.starts_with("loactl: "));
        CHECK(out.find(c.why) != std::string::npos);
    }
    // A command line that does not parse is exit 2.
    int status = -1;
    capture_shell(loactl(dir, "emergency send --media " + hash + " --all --nodes ta-van-01 2>&1"),
                  &status);
    CHECK(status == 2);
    capture_shell(loactl(dir, "node amplifier ta-van-01 maybe 2>&1"), &status);
    CHECK(status == 2);

    CHECK(loactl_ok(dir, "--json node commands") == "[]\n");
    CHECK(loactl_ok(dir, "--json emergency list") == "[]\n");
    CHECK(loactl_ok(dir, "node commands") == "Không có lệnh nào.\n");
}

TEST_CASE(
    "an operator's commands reach a connected node through loa-controller, and loactl "
    "shows the answers") {
    loa::e2e::Scenario s;
    s.add_node("ta-van-01");
    auto bulletin = s.tone(2.0, 440);
    // Heartbeats every minute: the hand-driven node sends none, and must not be dropped.
    const auto log = s.logs() / "controller.log";
    Process controller({LOA_CONTROLLER_BIN, "--data", s.controller_data().string(), "--bind",
                        s.endpoint(), "--heartbeat-ms", "60000", "--http-bind", s.api_bind()},
                       log);
    REQUIRE(wait_until(
        [&] { return read_file(log).find("controller listening on") != std::string::npos; }, 10s));
    WireNode node(s, "ta-van-01");
    node.join("ta-van-01");

    auto queued = s.loactl("node volume ta-van-01 30");
    CHECK(queued["state"] == "pending");
    auto command = node.receive(wire::Envelope::kCommand).command();
    CHECK(command.command_id() == queued["command_id"]);
    CHECK(command.set_volume().percent() == 30);
    node.answer(command.command_id(), "volume 30 %");
    bool done = wait_until(
        [&] { return s.loactl("node commands --node ta-van-01")[0]["state"] == "done"; }, 10s);
    E2E_CHECK(s, done);
    auto listed = s.loactl("node commands --node ta-van-01");
    CHECK(listed[0]["ok"] == true);
    CHECK(listed[0]["message"] == "volume 30 %");

    // `node log --wait` blocks until the node's answer is in, then prints the log tail.
    const auto out = s.root() / "loactl-log.out";
    Process waiting({LOA_LOACTL_BIN, "--data", s.controller_data().string(), "--token",
                     loa::e2e::admin_token(s.controller_data()), "node", "log", "ta-van-01",
                     "--bytes", "4096", "--wait", "20", "--lang", "en"},
                    out);
    auto ask = node.receive(wire::Envelope::kCommand).command();
    REQUIRE(ask.has_send_log());
    CHECK(ask.send_log().max_bytes() == 4096);
    node.answer(ask.command_id(), "4096 bytes", "2026-11-24 05:30:01 loa-node: phát xong\n");
    REQUIRE(wait_until([&] { return !waiting.running(); }, 20s));
    CHECK(waiting.terminate() == 0);
    const std::string printed = read_file(out);
    INFO(printed);
    CHECK(printed.find("loa-node: phát xong") != std::string::npos);
    CHECK(s.loactl(fmt::format("node log ta-van-01 --command {}", ask.command_id()))["log_tail"] ==
          "2026-11-24 05:30:01 loa-node: phát xong\n");

    // An emergency, then its cancellation.
    auto sent = s.loactl(
        fmt::format("emergency send --media {} --nodes ta-van-01 --repeat 2 --title 'Lũ quét' "
                    "--expires now+10m",
                    bulletin.hash));
    const std::string id = sent["emergency_id"];
    auto emergency = node.receive(wire::Envelope::kCommand).command();
    REQUIRE(emergency.has_emergency());
    CHECK(emergency.emergency().emergency_id() == id);
    CHECK(emergency.emergency().media_hash() == bulletin.hash);
    CHECK(emergency.emergency().repeat() == 2);
    CHECK(emergency.emergency().title() == "Lũ quét");
    auto cancelled = s.loactl("emergency cancel " + id);
    CHECK(cancelled["withdrawn"] == 1);
    auto cancel = node.receive(wire::Envelope::kCommand).command();
    REQUIRE(cancel.has_cancel_emergency());
    CHECK(cancel.cancel_emergency().emergency_id() == id);
    auto list = s.loactl("emergency list");
    REQUIRE(list.size() == 1);
    CHECK(list[0]["cancelled_commands"] == 1);
    CHECK_FALSE(list[0]["cancelled"].is_null());
    CHECK(controller.terminate() == 0);
}
