// The controller's core under everything at once: a thousand virtual nodes over CURVE heartbeat,
// play what is booked for them and report, while operators import, approve, book, apply a plan,
// send emergencies and read reports over HTTP. Nothing fails for a busy database, every
// confirmation is stored once, and every change has its action-log row.
#include "scenario.hpp"
#include "sim_fleet.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "loa/sim/simulator.hpp"

using namespace loa::e2e;
namespace sim = loa::sim;

namespace {

/// How long the load lasts (acceptance: 2 minutes in CI); LOA_STRESS_SECONDS changes it.
int stress_seconds() {
    const char* given = std::getenv("LOA_STRESS_SECONDS");
    return given != nullptr ? std::max(10, std::atoi(given)) : 120;
}

std::string describe(const sim::SimTotals& t) {
    return fmt::format(
        "welcomed {} of {} ({} in session), heartbeats {}/{} acked, confirmations produced {} "
        "(booked {}, played {}, emergency {}), acked {}, waiting {}, errors {} ({}), failures {} "
        "({}), reconnects {}, sessions lost {}",
        t.welcomed, t.nodes, t.in_session, t.heartbeat_acks, t.heartbeats, t.produced, t.booked,
        t.played, t.emergency, t.confirmations_acked, t.outbox, t.errors, t.last_error, t.failures,
        t.last_failure, t.reconnects, t.sessions_lost);
}

/// What the operators did over HTTP: each change's request id (to find its action-log row), and
/// every answer that was not a success.
struct Operations {
    std::mutex mutex;
    std::map<std::string, int> done;      ///< operation → how many succeeded
    std::vector<std::string> change_ids;  ///< X-Request-Id of every change that succeeded
    std::vector<std::string> failures;    ///< "operation → status: body"

    void record(const std::string& what, const httplib::Result& r, bool change,
                std::initializer_list<int> ok = {200, 201}) {
        std::lock_guard lock(mutex);
        if (r && std::find(ok.begin(), ok.end(), r->status) != ok.end()) {
            ++done[what];
            if (change) {
                change_ids.push_back(r->get_header_value("X-Request-Id"));
            }
            return;
        }
        failures.push_back(fmt::format(
            "{} → {}: {}", what, r ? std::to_string(r->status) : httplib::to_string(r.error()),
            r ? r->body.substr(0, 400) : std::string()));
    }
};

}  // namespace

TEST_CASE(
    "stress: a thousand virtual nodes heartbeat and report while operators change everything "
    "over HTTP and nothing is lost or refused for a busy database",
    "[e2e][stress]") {
    spdlog::set_level(spdlog::level::warn);
    Scenario s;
    s.heartbeat_ms = 5000;  // 200 heartbeats a second from a thousand nodes
    constexpr int kNodes = 1000;
    constexpr int kItems = 8;
    const int seconds = stress_seconds();
    auto identities = loa::test::register_virtual_nodes(s.controller_data(), kNodes, "st", kArea);
    std::vector<Bulletin> bulletins;
    for (int i = 0; i < kItems; ++i) {
        bulletins.push_back(s.tone(1.0, 300.0 + 40.0 * i));
    }
    const Bulletin alarm = s.tone(1.0, 990.0);
    s.start_controller();
    const std::string token = admin_token(s.controller_data());
    httplib::Headers auth{{"Authorization", "Bearer " + token}};

    sim::SimOptions options;
    options.endpoint = s.endpoint();
    options.controller_key = loa::test::controller_public_key(s.controller_data());
    options.data_root = s.root() / "virtual";
    options.threads = 1;
    options.keep_confirmations = true;
    sim::Simulator simulator(options);
    for (auto& identity : identities) {
        simulator.add_node(identity);
    }
    simulator.start();
    const bool welcomed =
        simulator.wait_until([&](const sim::SimTotals& t) { return t.welcomed == kNodes; }, 60s);
    INFO(describe(simulator.totals()));
    E2E_REQUIRE(s, welcomed);

    // The plays the nodes confirm through the run: each item once on every node, spread over
    // the load's window (the booking engine places them).
    auto booked = s.loactl(fmt::format(
        "campaign add bao-dong --name {} --owner {}{} --area {} --start now+20s --end now+{}s",
        shell_quote("Chiến dịch chịu tải"), shell_quote("UBND xã Tả Van"),
        [&] {
            std::string items;
            for (const auto& b : bulletins) {
                items += " --item " + b.hash;
            }
            return items;
        }(),
        kArea, 20 + std::max(40, seconds - 20)));
    E2E_REQUIRE(s, booked["nodes_targeted"] == kNodes);
    const std::int64_t planned = s.planned("st-0001", "bao-dong");
    E2E_REQUIRE(s, planned == kItems);

    const std::string tomorrow = [] {
        // Vietnam's date tomorrow (UTC+7, no daylight saving).
        const auto local = std::chrono::system_clock::now() + std::chrono::hours(7 + 24);
        const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(local)};
        return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(day.year()),
                           static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
    }();
    // The operators, as fast as the controller answers them, for the whole window.
    Operations ops;
    std::atomic<bool> stop{false};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::thread operators([&] {
        httplib::Client api("127.0.0.1", std::stoi(s.api_url().substr(s.api_url().rfind(':') + 1)));
        api.set_read_timeout(120, 0);
        api.set_write_timeout(120, 0);
        int round = 0;
        while (!stop && std::chrono::steady_clock::now() < deadline) {
            ++round;
            // A new bulletin uploaded and approved.
            const auto wav = s.root() / "bulletins" / fmt::format("upload-{}.wav", round);
            loa::test::make_tone(wav, 1.0, 22050, 2000.0 + round);
            const std::string bytes = loa::test::read_file(wav);
            auto uploaded = api.Post(fmt::format("/api/v1/media?name=upload-{}.wav", round), auth,
                                     bytes, "application/octet-stream");
            ops.record("media upload", uploaded, true);
            if (uploaded && uploaded->status / 100 == 2) {
                const std::string hash =
                    nlohmann::json::parse(uploaded->body).at("media_hash").get<std::string>();
                ops.record("media approve",
                           api.Post(fmt::format("/api/v1/media/{}/approve", hash), auth,
                                    R"({"note":"duyệt khi chịu tải"})", "application/json"),
                           true);
            }
            // A campaign booked on every node (the engine runs on a snapshot).
            ops.record("campaign book",
                       api.Post("/api/v1/campaigns", auth,
                                nlohmann::json{{"campaign", fmt::format("them-{}", round)},
                                               {"name", "Thêm lượt phát"},
                                               {"owner", "UBND xã Tả Van"},
                                               {"items", {bulletins[round % kItems].hash}},
                                               // Where the plan's own nodes are: a
                                               // campaign a second on the thousand virtual
                                               // nodes would be no operator's day.
                                               {"areas", {"vn/lao-cai/bat-xat"}},
                                               {"start", "now+1h"},
                                               {"end", "now+3h"}}
                                    .dump(),
                                "application/json"),
                       true);
            // A plan applied: its own nodes, registered by it, and its campaign.
            const std::string plan = fmt::format(R"([[areas]]
path = "vn"
name = "Việt Nam"
time_zone = "Asia/Ho_Chi_Minh"
  [[areas.windows]]
  name = "sang"
  start = "05:30"
  end = "06:30"
[[areas]]
path = "vn/lao-cai"
name = "Lào Cai"
[[areas]]
path = "vn/lao-cai/bat-xat"
name = "Bát Xát"
[[nodes]]
id = "ke-hoach"
area = "vn/lao-cai/bat-xat"
count = 3
[[items]]
id = "ban-tin"
title = "Bản tin kế hoạch"
media = "{}"
duration = "1s"
[[campaigns]]
id = "ke-hoach"
title = "Kế hoạch chịu tải"
owner = "Sở Văn hoá"
areas = ["vn/lao-cai"]
items = ["ban-tin"]
from = "2026-01-01"
until = "2099-12-31"
  [campaigns.quotas]
  plays_per_day = 2
)",
                                                 bulletins[0].hash);
            ops.record("plan apply",
                       api.Post("/api/v1/plans?name=chiu-tai.toml&days=2&from=" + tomorrow, auth,
                                plan, "application/toml"),
                       true);
            // An emergency to the plan's nodes (a virtual node busy with emergencies every
            // second would rightly skip its booked plays).
            ops.record("emergency send",
                       api.Post("/api/v1/emergencies", auth,
                                nlohmann::json{{"media", alarm.hash},
                                               {"nodes", {"ke-hoach-01", "ke-hoach-02"}},
                                               {"repeat", 1},
                                               {"expires", "now+5m"}}
                                    .dump(),
                                "application/json"),
                       true);
            // Reads: the report and the fleet.
            ops.record(
                "report",
                api.Get("/api/v1/reports/airtime?campaign=bao-dong&from=now-1h&to=now%2B1h", auth),
                false);
            ops.record("fleet", api.Get("/api/v1/nodes", auth), false);
        }
    });
    operators.join();

    // Then every booked play is played and every outbox drained.
    const auto total_planned = static_cast<std::uint64_t>(planned) * kNodes;
    const bool drained = simulator.wait_until(
        [&](const sim::SimTotals& t) { return t.booked >= total_planned && t.outbox == 0; },
        std::chrono::milliseconds(
            static_cast<std::int64_t>((s.seconds_to_last_play_end("st-0001") + 60.0) * 1000)));
    simulator.stop();
    const auto totals = simulator.totals();
    INFO(describe(totals));
    {
        std::lock_guard lock(ops.mutex);
        INFO(fmt::format("operations: {}", fmt::join(ops.failures, "\n")));
        CHECK(ops.failures.empty());
        for (const auto* what : {"media upload", "media approve", "campaign book", "plan apply",
                                 "emergency send", "report", "fleet"}) {
            INFO(what);
            CHECK(ops.done[what] >= 1);
        }
    }
    E2E_CHECK(s, drained);
    CHECK(totals.failures == 0);
    CHECK(totals.bad_frames == 0);
    {
        // What the controller stored, and why plays did not air, before the verdict on them.
        std::string outcomes;
        SQLite::Database db(s.controller_db().string(), SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        SQLite::Statement q(db,
                            "SELECT outcome, reason, count(*) FROM confirmations GROUP BY outcome, "
                            "reason ORDER BY count(*) DESC LIMIT 8");
        while (q.executeStep()) {
            outcomes += fmt::format("\n  {} ({}): {}", q.getColumn(0).getString(),
                                    q.getColumn(1).getString(), q.getColumn(2).getInt64());
        }
        INFO("outcomes stored:" << outcomes);
        CHECK(totals.played == totals.booked);  // nothing late, skipped or failed
    }

    // No answer anywhere failed for a busy or locked database.
    const std::string log = loa::test::read_file(s.logs() / "controller.log");
    for (const auto* busy : {"database is locked", "SQLITE_BUSY", "database is busy",
                             "cannot start writing", "not stored"}) {
        INFO(busy);
        CHECK(log.find(busy) == std::string::npos);
    }
    // Every confirmation once: numbers 1..last of each node, each slot once.
    auto check = loa::test::check_confirmations(s.controller_db(), simulator.nodes());
    INFO(fmt::format("{}", fmt::join(check.problems, "\n")).substr(0, 4000));
    CHECK(check.problems.empty());
    CHECK(check.stored + check.kept_apart == totals.produced);
    CHECK(check.kept_apart == 0);
    E2E_CHECK(s, s.controller_scalar("SELECT count(*) FROM confirmations c JOIN slots s "
                                     "ON s.node_id = c.node_id AND s.slot_id = c.slot_id "
                                     "WHERE s.campaign_id = 'bao-dong'") ==
                     static_cast<std::int64_t>(total_planned));
    // Every change has its row in the action log, written with it.
    std::lock_guard lock(ops.mutex);
    std::size_t missing = 0;
    for (const auto& id : ops.change_ids) {
        const auto rows = s.controller_scalar(
            fmt::format("SELECT count(*) FROM action_log WHERE outcome = 'done' AND "
                        "json_extract(detail, '$.request_id') = '{}'",
                        id));
        missing += rows.value_or(0) >= 1 ? 0 : 1;
    }
    INFO(ops.change_ids.size() << " changes");
    CHECK(missing == 0);
    WARN(fmt::format("stress: {} s, {} changes over HTTP ({} rounds of operations); {}", seconds,
                     ops.change_ids.size(), ops.done["fleet"], describe(totals)));
}
