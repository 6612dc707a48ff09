// Scenario 15: a slow and a hung amplifier hook on a real loa-node. The relay board takes 8 s to
// switch, then hangs: the controller keeps hearing heartbeats and storing (and acking) the plays
// that air meanwhile, the first command's result arrives when the hook ends, and the hung hook
// is killed at its 10 s limit and reported failed.
#include "scenario.hpp"

using namespace loa::e2e;

namespace {

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Heartbeats as the controller stored them (node_status.received_us), sampled every 100 ms
/// until `done` holds or `timeout` passes.
struct HeartbeatWatch {
    std::vector<std::int64_t> heard;  ///< each distinct receive time, in order

    template <typename Done>
    bool watch(Scenario& s, const std::string& id, Done done, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto at = s.controller_scalar(
                    fmt::format("SELECT received_us FROM node_status WHERE node_id = '{}'", id));
                at && (heard.empty() || *at != heard.back())) {
                heard.push_back(*at);
            }
            if (done()) {
                return true;
            }
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }

    /// The longest time between two heartbeats heard within [from_us, to_us], or between
    /// from_us and the first.
    std::int64_t widest_gap(std::int64_t from_us, std::int64_t to_us) const {
        std::int64_t last = from_us;
        std::int64_t widest = 0;
        for (auto at : heard) {
            if (at < from_us || at > to_us) {
                continue;
            }
            widest = std::max(widest, at - last);
            last = at;
        }
        return std::max(widest, to_us - last);
    }
};

}  // namespace

TEST_CASE(
    "scenario 15: a slow or hung amplifier hook holds up neither heartbeats nor acks, and its "
    "result comes when it ends",
    "[e2e][timing]") {
    Scenario s;
    s.start_controller();
    const std::string id = "ta-van-15";
    s.add_node(id);
    // Off: the relay board takes 8 s. On: it hangs (a sleep with a number no one else uses).
    const fs::path hook = s.root() / "amp.sh";
    loa::test::write_file(hook, fmt::format("#!/bin/sh\necho \"$1 $(date +%s)\" >> '{}'\n"
                                            "if [ \"$1\" = off ]; then sleep 8; else sleep 613; "
                                            "fi\n",
                                            (s.root() / "amp.log").string()));
    fs::permissions(hook, fs::perms::owner_all);
    s.start_node(id, {"--amplifier-command", hook.string() + " {state}"});
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({id}); }, 15s));
    // Plays that air while the hooks run: their confirmations must be stored and acked then.
    s.add_campaign("trong-luc-cho", {s.tone(1.0, 440.0), s.tone(1.0, 550.0)}, 20);
    const std::int64_t plays = s.planned(id, "trong-luc-cho");
    REQUIRE(plays >= 2);
    bool ready = loa::test::wait_until(
        [&] {
            return s.controller_scalar(fmt::format("SELECT count(*) FROM node_media WHERE "
                                                   "node_id = '{}' AND state = 'ready'",
                                                   id)) >= 2;
        },
        10s);
    E2E_REQUIRE(s, ready);
    auto command_field = [&](const std::string& field, const std::string& which) {
        return s.controller_scalar(fmt::format(
            "SELECT {} FROM commands WHERE node_id = '{}' AND kind = 'set-amplifier' ORDER BY "
            "command_id {} LIMIT 1",
            field, id, which == "first" ? "ASC" : "DESC"));
    };

    // 1. The slow switch, sent so that the plays air while it runs.
    const std::int64_t first_play = *s.controller_scalar(fmt::format(
        "SELECT min(start_us) FROM slots WHERE node_id = '{}' AND campaign_id = 'trong-luc-cho'",
        id));
    while (wall_us() < first_play - 2'000'000) {
        std::this_thread::sleep_for(50ms);
    }
    const std::int64_t off_sent = wall_us();
    s.loactl(fmt::format("node amplifier {} off", id));
    HeartbeatWatch beats;
    bool answered = beats.watch(
        s, id, [&] { return command_field("result_received_us", "first").has_value(); }, 20s);
    E2E_REQUIRE(s, answered);
    const std::int64_t off_answered = *command_field("result_received_us", "first");
    CHECK(*command_field("ok", "first") == 1);
    // The result came when the hook ended, 8 s on, not before.
    CHECK(off_answered - off_sent >= 7'500'000);
    // Heartbeats every second went on meanwhile (a generous bound: 3 s, not the hook's 8 s).
    const std::int64_t off_gap = beats.widest_gap(off_sent + 1'000'000, off_answered);
    INFO("widest gap between heartbeats during the 8 s hook: " << off_gap / 1000 << " ms");
    CHECK(off_gap < 3'000'000);
    // The plays that aired during the hook were stored, and acked (gone from the node's
    // outbox), before the hook's result arrived.
    CHECK(s.controller_scalar(fmt::format("SELECT count(*) FROM confirmations WHERE node_id = "
                                          "'{}' AND received_us < {}",
                                          id, off_answered))
              .value_or(0) >= 1);
    const std::int64_t first_stored =
        s.controller_scalar(fmt::format("SELECT min(received_us) FROM "
                                        "confirmations WHERE node_id = '{}'",
                                        id))
            .value_or(0);
    CHECK(first_stored > off_sent);
    CHECK(first_stored < off_answered);

    // 2. The hung switch: killed at 10 s, reported failed, the session alive throughout.
    const std::int64_t on_sent = wall_us();
    s.loactl(fmt::format("node amplifier {} on", id));
    bool killed = beats.watch(
        s, id,
        [&] {
            return command_field("command_id", "last") != command_field("command_id", "first") &&
                   command_field("result_received_us", "last").has_value();
        },
        25s);
    E2E_REQUIRE(s, killed);
    const std::int64_t on_answered = *command_field("result_received_us", "last");
    CHECK(*command_field("ok", "last") == 0);
    CHECK(on_answered - on_sent >= 9'500'000);
    const std::int64_t on_gap = beats.widest_gap(on_sent + 1'000'000, on_answered);
    INFO("widest gap between heartbeats during the hung hook: " << on_gap / 1000 << " ms");
    CHECK(on_gap < 3'000'000);
    auto listed = s.loactl(fmt::format("node commands --node {}", id));
    INFO(listed.dump(2));
    CHECK(listed.dump().find("killed after 10000 ms") != std::string::npos);
    // Killed whole: the hook's sleep is gone too.
    CHECK(loa::test::run_shell("pgrep -f 'sleep 61[3]' >/dev/null") != 0);

    // Every play confirmed once, the node's outbox empty; the agent ran throughout.
    bool all = loa::test::wait_until(
        [&] {
            return s.confirmed(id, "") == plays &&
                   s.node_scalar(id, "SELECT count(*) FROM outbox") == 0;
        },
        confirm_deadline(s, id));
    E2E_CHECK(s, all);
    CHECK(s.confirmed(id, "played") == plays);
    CHECK(s.node_running(id));
    CHECK(s.stop_node(id) == 0);
}
