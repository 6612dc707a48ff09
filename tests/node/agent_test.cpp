// Tests of the node agent as a whole against a fake controller on a real ROUTER socket: plays on
// time with their evidence, late joins, emergencies, commands and heartbeats.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "agent_fixture.hpp"
#include "loa/media/content_store.hpp"
#include "loa/node/node_store.hpp"
#include "media_fixtures.hpp"
#include "test_support.hpp"

using loa::test::agent_options;
using loa::test::aired_seconds;
using loa::test::FakeController;
using loa::test::make_slot;
using loa::test::make_wave;
using loa::test::RunningAgent;
using loa::test::seconds_of;
using loa::test::TempDir;
using loa::test::wall_now_us;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecondUs = 1'000'000;

/// A controller, the node's data directory and the fixtures of one test.
struct AgentTest {
    TempDir dir;
    FakeController controller{dir.path()};
    fs::path data = dir / "node";

    loa::node::AgentOptions options() { return agent_options(data, controller); }

    /// A tone peaking at −20 dBFS (RMS −23 dBFS) of `seconds` in the controller's store; give
    /// tones of the same length different frequencies, or they are the same media.
    std::string tone(const std::string& name, double seconds, int frequency = 440) {
        const fs::path file = dir / (name + ".wav");
        make_wave(file, fmt::format("0.1*sin(2*PI*{}*t)", frequency), seconds);
        return controller.add_media(file);
    }
    std::string silence(const std::string& name, double seconds) {
        const fs::path file = dir / (name + ".wav");
        make_wave(file, "0", seconds);
        return controller.add_media(file);
    }
    wire::Slot slot(const std::string& id, const std::string& hash, std::int64_t start_us,
                    double seconds, wire::SlotKind kind = wire::SLOT_AUDIO) {
        return make_slot(id, hash, controller.size_of(hash), start_us,
                         static_cast<std::int64_t>(seconds * kSecondUs), kind);
    }
    /// The media also in the node's cache, as after an earlier download.
    void cache_on_node(const std::string& hash) {
        loa::media::ContentStore node_media(data / "media");
        REQUIRE(node_media.put_file(controller.store().path_for(hash)).has_value());
    }
};

wire::Command emergency_command(std::uint64_t command_id, const std::string& emergency_id,
                                const std::string& hash, std::uint64_t size, double seconds,
                                std::uint32_t repeat) {
    wire::Command command;
    command.set_command_id(command_id);
    command.set_issued_us(wall_now_us());
    auto* e = command.mutable_emergency();
    e->set_emergency_id(emergency_id);
    e->set_campaign_id("khan-cap");
    e->set_item_id("canh-bao-lu");
    e->set_media_hash(hash);
    e->set_media_size(size);
    e->set_duration_us(static_cast<std::int64_t>(seconds * kSecondUs));
    e->set_title("Cảnh báo lũ quét");
    e->set_repeat(repeat);
    return command;
}

wire::Command set_volume_command(std::uint64_t command_id, std::uint32_t percent) {
    wire::Command command;
    command.set_command_id(command_id);
    command.set_issued_us(wall_now_us());
    command.mutable_set_volume()->set_percent(percent);
    return command;
}

wire::Command set_amplifier_command(std::uint64_t command_id, bool on) {
    wire::Command command;
    command.set_command_id(command_id);
    command.set_issued_us(wall_now_us());
    command.mutable_set_amplifier()->set_on(on);
    return command;
}

}  // namespace

TEST_CASE("the agent plays its timeline on time and confirms each play with its audio levels",
          "[agent]") {
    AgentTest t;
    const std::string tone = t.tone("tone", 2.0);
    const std::string quiet = t.silence("quiet", 1.5);
    const std::int64_t start = wall_now_us() + 2 * kSecondUs;
    const std::int64_t horizon = start + 3600 * kSecondUs;
    t.controller.set_timeline(
        {t.slot("tone-1", tone, start, 2.0), t.slot("quiet-1", quiet, start + 2'300'000, 1.5)},
        horizon);
    RunningAgent agent(t.options());

    auto played = t.controller.wait_confirmation("tone-1", 8s);
    REQUIRE(played);
    CHECK(played->outcome() == wire::PLAYED);
    CHECK(played->reason() == "");
    CHECK(played->planned_start_us() == start);
    CHECK(seconds_of(played->actual_start_us() - start) == Approx(0).margin(0.1));
    CHECK(aired_seconds(*played) == Approx(2.0).margin(0.3));
    CHECK(played->offset_us() == 0);
    CHECK(played->emergency_id() == "");
    CHECK(played->campaign_id() == "phong-chong-thien-tai");
    CHECK(played->media_hash() == tone);
    REQUIRE(played->has_levels());
    CHECK(played->levels().rms_dbfs() == Approx(-23).margin(1.5));
    CHECK(played->levels().peak_dbfs() == Approx(-20).margin(1.0));
    CHECK(played->levels().silent_seconds() == Approx(0).margin(0.3));
    CHECK(played->levels().measured_seconds() == Approx(2.0).margin(0.3));
    CHECK(played->levels().silence_threshold_dbfs() == Approx(-50));

    auto silent = t.controller.wait_confirmation("quiet-1", 8s);
    REQUIRE(silent);
    CHECK(silent->outcome() == wire::PLAYED);
    CHECK(aired_seconds(*silent) == Approx(1.5).margin(0.3));
    REQUIRE(silent->has_levels());
    CHECK(silent->levels().silent_seconds() == Approx(1.5).margin(0.3));
    CHECK(silent->levels().rms_dbfs() < -60);
    CHECK(silent->seq() > played->seq());

    // The heartbeat after both: versions, the clock against the controller's, and the runway.
    auto hb = t.controller.wait_heartbeat(
        [&](const wire::Heartbeat& h) { return h.last_seq() >= silent->seq(); });
    REQUIRE(hb);
    CHECK(hb->last_seq() == silent->seq());
    CHECK(hb->agent_version() != "");
    CHECK(hb->state() == "idle");
    CHECK(hb->outbox_pending() == 0);
    CHECK(hb->volume_percent() == 100);
    CHECK(hb->schedule_horizon_end_us() == horizon);
    CHECK(hb->runway_end_us() == horizon);
    REQUIRE(hb->has_clock_offset_us());
    CHECK(std::abs(hb->clock_offset_us()) < 50'000);
    CHECK(hb->clock_round_trip_us() >= 0);
    CHECK(hb->clock_round_trip_us() < 100'000);
    CHECK(hb->storage_free_bytes() > 0);
    CHECK(t.controller.duplicate_reports() == 0);
}

TEST_CASE("a node that learns of a play already under way joins it where it should be by now",
          "[agent]") {
    AgentTest t;
    const std::string long_tone = t.tone("long", 8.0);
    const std::string short_tone = t.tone("short", 4.0);
    const std::string absent = t.tone("absent", 4.0, 660);
    const std::string absent_later = t.tone("absent-later", 2.0, 660);
    t.controller.hide_media(absent);
    t.controller.hide_media(absent_later);
    t.cache_on_node(short_tone);
    const std::int64_t now = wall_now_us();
    // Started 3 s ago, 8 s long, media not on the node yet: more than half is left, so it airs
    // from where it should be once the media is here.
    // Started 3 s ago, 4 s long: less than half is left, so it is skipped, media or not.
    // Due after those, its media never comes: it fails once it is too late to air.
    t.controller.set_timeline({t.slot("join", long_tone, now - 3 * kSecondUs, 8.0),
                               t.slot("skip", short_tone, now - 3'100'000, 4.0),
                               t.slot("skip-absent", absent, now - 3'200'000, 4.0),
                               t.slot("missing", absent_later, now + 4'500'000, 2.0)},
                              now + 3600 * kSecondUs);
    // The file sink writes what aired as WAV, at real-time pace: the evidence of the late join.
    auto options = t.options();
    options.sink.kind = loa::node::SinkSpec::Kind::file;
    options.sink.file_dir = t.dir / "played";
    fs::create_directories(options.sink.file_dir);
    RunningAgent agent(options);

    for (const char* id : {"skip", "skip-absent"}) {
        INFO(id);
        auto skipped = t.controller.wait_confirmation(id, 8s);
        REQUIRE(skipped);
        CHECK(skipped->outcome() == wire::SKIPPED);
        CHECK(skipped->reason() == "late");
        CHECK(skipped->actual_start_us() == 0);
        CHECK(skipped->actual_end_us() == 0);
    }

    // The long one's media was not on the node when it learnt of it: it joins once the media is
    // here, still more than half of it being left.
    auto joined = t.controller.wait_confirmation("join", 9s);
    REQUIRE(joined);
    INFO("reason: " << joined->reason());
    CHECK(joined->outcome() == wire::PLAYED);
    const double offset = seconds_of(joined->offset_us());
    CAPTURE(offset);
    CHECK(offset >= 3.0);
    CHECK(offset <= 4.0);
    CHECK(seconds_of(joined->actual_start_us() - joined->planned_start_us()) ==
          Approx(offset).margin(0.15));
    // It ends when it would have ended had it started on time.
    CHECK(seconds_of(joined->actual_end_us() - joined->planned_start_us()) ==
          Approx(8.0).margin(0.3));
    CHECK(aired_seconds(*joined) == Approx(8.0 - offset).margin(0.3));
    REQUIRE(joined->has_levels());
    CHECK(joined->levels().rms_dbfs() == Approx(-23).margin(1.5));
    const fs::path wav =
        options.sink.file_dir / fmt::format("{}_join.wav", joined->planned_start_us());
    REQUIRE(fs::exists(wav));
    CHECK(loa::test::probe_seconds(wav) == Approx(8.0 - offset).margin(0.3));
    CHECK(std::distance(fs::directory_iterator(options.sink.file_dir), fs::directory_iterator()) ==
          1);  // nothing of the skipped plays

    auto missing = t.controller.wait_confirmation("missing", 8s);
    REQUIRE(missing);
    CHECK(missing->outcome() == wire::FAILED);
    CHECK(missing->reason() == "media-missing");
    CHECK(missing->actual_start_us() == 0);
}

TEST_CASE("an emergency interrupts the play on air, plays its repeats, then the schedule resumes",
          "[agent][emergency]") {
    AgentTest t;
    const std::string bulletin = t.tone("bulletin", 4.0);
    const std::string later = t.tone("later", 1.5);
    const std::string alert = t.tone("alert", 1.0);
    const std::int64_t t0 = wall_now_us() + 2 * kSecondUs;
    const std::int64_t later_start = t0 + 5 * kSecondUs;
    t.controller.set_timeline(
        {t.slot("bulletin", bulletin, t0, 4.0), t.slot("later", later, later_start, 1.5)});
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_timeline_acked());

    // 1.5 s into the bulletin; the alert's media is not on the node yet.
    std::this_thread::sleep_until(
        std::chrono::system_clock::time_point(std::chrono::microseconds(t0 + 1'500'000)));
    const std::int64_t sent = wall_now_us();
    t.controller.send_command(
        emergency_command(1, "lu-quet-1", alert, t.controller.size_of(alert), 1.0, 2));
    auto accepted = t.controller.wait_result(1);
    REQUIRE(accepted);
    CHECK(accepted->ok());
    CHECK_THAT(accepted->message(), Catch::Matchers::Contains("lu-quet-1"));
    auto during = t.controller.wait_heartbeat(
        [](const wire::Heartbeat& h) { return h.state() == "emergency"; }, 3s);
    REQUIRE(during);
    CHECK(during->current_slot_id().starts_with("emergency:lu-quet-1:"));
    CHECK(during->current_title() == "Cảnh báo lũ quét");

    auto interrupted = t.controller.wait_confirmation("bulletin", 8s);
    REQUIRE(interrupted);
    CHECK(interrupted->outcome() == wire::INTERRUPTED);
    CHECK(interrupted->reason() == "emergency");
    CHECK(seconds_of(interrupted->actual_start_us() - t0) == Approx(0).margin(0.1));
    CHECK(seconds_of(interrupted->actual_end_us() - sent) == Approx(0).margin(0.3));
    CHECK(aired_seconds(*interrupted) == Approx(1.5).margin(0.3));

    REQUIRE(t.controller.wait_confirmation("emergency:lu-quet-1:2", 8s));
    auto plays = t.controller.confirmations_of("emergency:");
    REQUIRE(plays.size() == 2);
    for (std::size_t i = 0; i < plays.size(); ++i) {
        INFO("play " << i + 1);
        CHECK(plays[i].slot_id() == fmt::format("emergency:lu-quet-1:{}", i + 1));
        CHECK(plays[i].outcome() == wire::PLAYED);
        CHECK(plays[i].emergency_id() == "lu-quet-1");
        CHECK(plays[i].campaign_id() == "khan-cap");
        CHECK(plays[i].media_hash() == alert);
        CHECK(aired_seconds(plays[i]) == Approx(1.0).margin(0.3));
        CHECK(plays[i].has_levels());
        CHECK(plays[i].actual_start_us() >= interrupted->actual_end_us());
    }
    CHECK(seconds_of(plays[0].actual_start_us() - sent) < 0.8);
    CHECK(plays[1].actual_start_us() >= plays[0].actual_end_us());

    auto resumed = t.controller.wait_confirmation("later", 8s);
    REQUIRE(resumed);
    CHECK(resumed->outcome() == wire::PLAYED);
    CHECK(seconds_of(resumed->actual_start_us() - later_start) == Approx(0).margin(0.1));
    CHECK(aired_seconds(*resumed) == Approx(1.5).margin(0.3));
    CHECK(t.controller.confirmations_of("emergency:").size() == 2);
}

TEST_CASE("an emergency refused by the node airs nothing and says why", "[agent][emergency]") {
    AgentTest t;
    const std::string alert = t.tone("alert", 1.0);
    const auto size = t.controller.size_of(alert);
    t.cache_on_node(alert);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));

    auto expired = emergency_command(1, "cu", alert, size, 1.0, 1);
    expired.mutable_emergency()->set_expires_us(wall_now_us() - kSecondUs);
    t.controller.send_command(expired);
    auto endless = emergency_command(2, "vo-han", alert, size, 1.0, 1);
    endless.mutable_emergency()->set_until_expiry(true);
    t.controller.send_command(endless);
    auto none = emergency_command(3, "khong-lan", alert, size, 1.0, 0);
    t.controller.send_command(none);

    auto r1 = t.controller.wait_result(1);
    REQUIRE(r1);
    CHECK_FALSE(r1->ok());
    CHECK_THAT(r1->message(), Catch::Matchers::Contains("expired"));
    CHECK_THAT(r1->message(), Catch::Matchers::Contains("cu"));
    auto r2 = t.controller.wait_result(2);
    REQUIRE(r2);
    CHECK_FALSE(r2->ok());
    CHECK_THAT(r2->message(), Catch::Matchers::Contains("expiry"));
    auto r3 = t.controller.wait_result(3);
    REQUIRE(r3);
    CHECK_FALSE(r3->ok());
    CHECK_THAT(r3->message(), Catch::Matchers::Contains("repeat"));

    std::this_thread::sleep_for(1500ms);
    CHECK(t.controller.confirmations().empty());
    auto hb = t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; });
    REQUIRE(hb);
    CHECK(hb->state() == "idle");
}

TEST_CASE(
    "a wiped store told that plays of an emergency are confirmed numbers on after them and "
    "plays only what is left",
    "[agent][emergency]") {
    AgentTest t;
    const std::string alert = t.tone("alert", 0.5);
    const auto size = t.controller.size_of(alert);
    t.cache_on_node(alert);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));

    // 3 plays asked, the controller holds 1 and 2 from this node's earlier store.
    auto rest = emergency_command(1, "kc-tiep", alert, size, 0.5, 3);
    rest.mutable_emergency()->set_plays_confirmed(2);
    t.controller.send_command(rest);
    // All of them held: nothing airs.
    auto all = emergency_command(2, "kc-xong", alert, size, 0.5, 2);
    all.mutable_emergency()->set_plays_confirmed(2);
    t.controller.send_command(all);

    auto r1 = t.controller.wait_result(1);
    REQUIRE(r1);
    CHECK(r1->ok());
    CHECK_THAT(r1->message(), Catch::Matchers::Contains("1 play(s), numbered from 3"));
    auto r2 = t.controller.wait_result(2);
    REQUIRE(r2);
    CHECK(r2->ok());
    CHECK_THAT(r2->message(), Catch::Matchers::Contains("already holds all 2"));
    REQUIRE(t.controller.wait_confirmation("emergency:kc-tiep:3", 6s));
    std::this_thread::sleep_for(1500ms);
    const auto plays = t.controller.confirmations_of("emergency:");
    REQUIRE(plays.size() == 1);
    CHECK(plays[0].slot_id() == "emergency:kc-tiep:3");
    CHECK(plays[0].outcome() == wire::PLAYED);
}

TEST_CASE("an emergency until its expiry repeats until then and stops", "[agent][emergency]") {
    AgentTest t;
    const std::string alert = t.tone("alert", 1.0);
    // Held already, and the expiry counted from the order: on a busy machine the agent's start
    // and a fetch could otherwise eat the window meant for two plays.
    t.cache_on_node(alert);
    auto command = emergency_command(7, "bao-so-3", alert, t.controller.size_of(alert), 1.0, 0);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    const std::int64_t expires = wall_now_us() + 2'500'000;
    command.mutable_emergency()->set_until_expiry(true);
    command.mutable_emergency()->set_expires_us(expires);
    t.controller.send_command(command);
    auto accepted = t.controller.wait_result(7);
    REQUIRE(accepted);
    CHECK(accepted->ok());

    std::this_thread::sleep_until(
        std::chrono::system_clock::time_point(std::chrono::microseconds(expires)));
    REQUIRE(t.controller.wait_heartbeat(
        [](const wire::Heartbeat& h) { return h.state() == "idle"; }, 3s));
    std::this_thread::sleep_for(1500ms);  // nothing more after the expiry
    auto plays = t.controller.confirmations_of("emergency:bao-so-3:");
    REQUIRE(plays.size() >= 2);
    for (std::size_t i = 0; i < plays.size(); ++i) {
        INFO("play " << i + 1);
        CHECK(plays[i].slot_id() == fmt::format("emergency:bao-so-3:{}", i + 1));
        CHECK(plays[i].outcome() == wire::PLAYED);
        CHECK(plays[i].actual_start_us() < expires);
        CHECK(aired_seconds(plays[i]) == Approx(1.0).margin(0.3));
    }
    // It did not stop early: the last play ended at the expiry or after.
    CHECK(seconds_of(plays.back().actual_end_us() - expires) > -0.3);
    CHECK(t.controller.confirmations().size() == plays.size());
}

TEST_CASE("a cancelled emergency stops at once and plays no more", "[agent][emergency]") {
    AgentTest t;
    const std::string alert = t.tone("alert", 2.0);
    const std::string after = t.tone("after", 1.0);
    t.cache_on_node(alert);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    t.controller.send_command(
        emergency_command(1, "chay-rung", alert, t.controller.size_of(alert), 2.0, 3));
    REQUIRE(t.controller.wait_heartbeat(
        [](const wire::Heartbeat& h) { return h.state() == "emergency"; }, 3s));
    std::this_thread::sleep_for(700ms);
    wire::Command cancel;
    cancel.set_command_id(2);
    cancel.mutable_cancel_emergency()->set_emergency_id("chay-rung");
    const std::int64_t sent = wall_now_us();
    t.controller.send_command(cancel);
    auto cancelled = t.controller.wait_result(2);
    REQUIRE(cancelled);
    CHECK(cancelled->ok());
    CHECK_THAT(cancelled->message(), Catch::Matchers::Contains("chay-rung"));

    auto first = t.controller.wait_confirmation("emergency:chay-rung:1", 8s);
    REQUIRE(first);
    CHECK(first->outcome() == wire::INTERRUPTED);
    CHECK(first->emergency_id() == "chay-rung");
    CHECK(seconds_of(first->actual_end_us() - sent) == Approx(0).margin(0.3));
    CHECK(aired_seconds(*first) < 1.9);

    // The schedule goes on after it.
    const std::int64_t next = wall_now_us() + 2 * kSecondUs;
    t.controller.set_timeline({t.slot("after", after, next, 1.0)});
    auto resumed = t.controller.wait_confirmation("after", 8s);
    REQUIRE(resumed);
    CHECK(resumed->outcome() == wire::PLAYED);
    CHECK(t.controller.confirmations_of("emergency:").size() == 1);
}

TEST_CASE("volume: set, persisted across a restart, and heard in the levels", "[agent][command]") {
    AgentTest t;
    const std::string tone = t.tone("tone", 1.0);
    const std::int64_t t0 = wall_now_us() + 1'500'000;
    // The volume is set between the two, before the second is prerolled (1.5 s ahead).
    std::vector<wire::Slot> slots = {t.slot("full", tone, t0, 1.0),
                                     t.slot("quarter", tone, t0 + 3'500'000, 1.0)};
    t.controller.set_timeline(slots);
    double full_rms = 0;
    {
        RunningAgent agent(t.options());
        auto full = t.controller.wait_confirmation("full", 8s);
        REQUIRE(full);
        REQUIRE(full->has_levels());
        full_rms = full->levels().rms_dbfs();
        CHECK(full_rms == Approx(-23).margin(1.5));

        t.controller.send_command(set_volume_command(1, 150));
        auto refused = t.controller.wait_result(1);
        REQUIRE(refused);
        CHECK_FALSE(refused->ok());
        CHECK_THAT(refused->message(), Catch::Matchers::Contains("150"));

        t.controller.send_command(set_volume_command(2, 25));
        auto set = t.controller.wait_result(2);
        REQUIRE(set);
        CHECK(set->ok());
        CHECK_THAT(set->message(), Catch::Matchers::Contains("25"));
        auto quarter = t.controller.wait_confirmation("quarter", 8s);
        REQUIRE(quarter);
        REQUIRE(quarter->has_levels());
        // 25 % of the amplitude is 12 dB less.
        CHECK(quarter->levels().rms_dbfs() - full_rms == Approx(-12.04).margin(1.0));
        CHECK(quarter->levels().peak_dbfs() == Approx(-32.04).margin(1.0));
    }
    // A new agent on the same data directory starts at the volume it was given.
    const std::int64_t t1 = wall_now_us() + 1'500'000;
    slots.push_back(t.slot("restarted", tone, t1, 1.0));
    t.controller.set_timeline(slots);
    RunningAgent agent(t.options());
    auto hb = t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; });
    REQUIRE(hb);
    CHECK(hb->volume_percent() == 25);
    auto restarted = t.controller.wait_confirmation("restarted", 8s);
    REQUIRE(restarted);
    REQUIRE(restarted->has_levels());
    CHECK(restarted->levels().rms_dbfs() - full_rms == Approx(-12.04).margin(1.0));
}

TEST_CASE("amplifier: the hook runs once per command and its state is reported",
          "[agent][command]") {
    AgentTest t;
    const fs::path hook = t.dir / "amp.sh";
    loa::test::write_file(hook, fmt::format("#!/bin/sh\necho \"$1\" >> '{0}/amp.log'\ntouch "
                                            "'{0}/amp-'\"$1\"\n",
                                            t.dir.path().string()));
    fs::permissions(hook, fs::perms::owner_all);
    auto options = t.options();
    options.amplifier_command = hook.string() + " {state}";
    RunningAgent agent(options);

    t.controller.send_command(set_amplifier_command(1, false));
    auto off = t.controller.wait_result(1);
    REQUIRE(off);
    CHECK(off->ok());
    CHECK_THAT(off->message(), Catch::Matchers::Contains("off"));
    CHECK(fs::exists(t.dir / "amp-off"));
    CHECK(t.controller.wait_heartbeat([](const wire::Heartbeat& h) { return !h.amplifier_on(); }));

    // The same command again (a controller that did not get the result) is answered from what
    // was stored: the hook does not run again.
    t.controller.send_command(set_amplifier_command(1, false));
    REQUIRE(loa::test::wait_until([&] { return t.controller.results_of(1).size() >= 2; }, 3s));
    const auto again = t.controller.results_of(1)[1].message;
    CHECK(again.SerializeAsString() == off->SerializeAsString());

    t.controller.send_command(set_amplifier_command(2, true));
    auto on = t.controller.wait_result(2);
    REQUIRE(on);
    CHECK(on->ok());
    CHECK(fs::exists(t.dir / "amp-on"));
    CHECK(loa::test::read_file(t.dir / "amp.log") == "off\non\n");
    CHECK(t.controller.wait_heartbeat([](const wire::Heartbeat& h) { return h.amplifier_on(); }));
}

TEST_CASE("amplifier: a node without a hook, or whose hook fails, says so", "[agent][command]") {
    AgentTest t;
    {
        RunningAgent agent(t.options());
        t.controller.send_command(set_amplifier_command(1, true));
        auto result = t.controller.wait_result(1);
        REQUIRE(result);
        CHECK_FALSE(result->ok());
        CHECK_THAT(result->message(), Catch::Matchers::Contains("--amplifier-command"));
    }
    auto options = t.options();
    options.amplifier_command = "false {state}";
    RunningAgent agent(options);
    t.controller.send_command(set_amplifier_command(2, false));
    auto result = t.controller.wait_result(2);
    REQUIRE(result);
    CHECK_FALSE(result->ok());
    CHECK_THAT(result->message(), Catch::Matchers::Contains("status 1"));
    // The amplifier was not switched, so the node does not say it was.
    auto hb = t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; });
    REQUIRE(hb);
    CHECK(hb->amplifier_on());
}

TEST_CASE(
    "amplifier: a slow hook runs off the session, which keeps heartbeating and acking, and its "
    "result comes when it ends",
    "[agent][command]") {
    AgentTest t;
    const fs::path hook = t.dir / "amp.sh";
    loa::test::write_file(hook, fmt::format("#!/bin/sh\necho \"$1\" >> '{0}/amp.log'\nsleep 4\n",
                                            t.dir.path().string()));
    fs::permissions(hook, fs::perms::owner_all);
    auto options = t.options();
    options.amplifier_command = hook.string() + " {state}";
    const std::string tone = t.tone("trong-luc-cho", 0.5);
    t.cache_on_node(tone);
    const std::int64_t play_at = wall_now_us() + 2'000'000;
    t.controller.set_timeline({t.slot("trong-luc-cho", tone, play_at, 0.5)});
    RunningAgent agent(options);
    REQUIRE(t.controller.wait_timeline_acked());

    const std::int64_t sent_us = wall_now_us();
    t.controller.send_command(set_amplifier_command(1, false));
    // While the relay board takes 4 s, a play airs and its confirmation is acked: the session
    // was not waiting on the hook.
    auto during = t.controller.wait_confirmation("trong-luc-cho", 6s);
    REQUIRE(during);
    CHECK(t.controller.results_of(1).empty());
    // A second amplifier command while the first runs is answered at once, and says why.
    t.controller.send_command(set_amplifier_command(2, true));
    auto busy = t.controller.wait_result(2, 2s);
    REQUIRE(busy);
    CHECK(t.controller.results_of(1).empty());
    CHECK_FALSE(busy->ok());
    CHECK_THAT(busy->message(), Catch::Matchers::Contains("still running"));
    CHECK_THAT(busy->message(), Catch::Matchers::Contains("đang chạy"));
    // A copy of the running command (a controller that heard nothing yet) runs nothing again.
    t.controller.send_command(set_amplifier_command(1, false));

    auto off = t.controller.wait_result(1, 10s);
    REQUIRE(off);
    CHECK(off->ok());
    CHECK_THAT(off->message(), Catch::Matchers::Contains("off"));
    const auto results = t.controller.results_of(1);
    CHECK(results.front().at_us - sent_us >= 3'500'000);  // when the hook ended, not before
    CHECK(loa::test::read_file(t.dir / "amp.log") == "off\n");
    // Heartbeats went on every 300 ms while the hook ran: none of the gaps is the hook's 4 s.
    std::vector<std::int64_t> beats;
    for (const auto& hb : t.controller.heartbeats()) {
        if (hb.at_us >= sent_us && hb.at_us <= results.front().at_us) {
            beats.push_back(hb.at_us);
        }
    }
    INFO("heartbeats while the hook ran: " << beats.size());
    CHECK(beats.size() >= 6);
    std::int64_t widest = beats.empty() ? 0 : beats.front() - sent_us;
    for (std::size_t i = 1; i < beats.size(); ++i) {
        widest = std::max(widest, beats[i] - beats[i - 1]);
    }
    CHECK(widest < 1'500'000);
    CHECK(t.controller.wait_heartbeat([](const wire::Heartbeat& h) { return !h.amplifier_on(); }));
}

TEST_CASE(
    "amplifier: a hook that hangs past its limit is killed and reported failed, and one running "
    "when the agent stops does not hold it up",
    "[agent][command]") {
    AgentTest t;
    const fs::path hook = t.dir / "amp.sh";
    loa::test::write_file(hook, "#!/bin/sh\nsleep 60\n");
    fs::permissions(hook, fs::perms::owner_all);
    auto options = t.options();
    options.amplifier_command = hook.string() + " {state}";
    options.hook_timeout_ms = 1000;
    {
        RunningAgent agent(options);
        const std::int64_t sent_us = wall_now_us();
        t.controller.send_command(set_amplifier_command(1, false));
        auto killed = t.controller.wait_result(1, 5s);
        REQUIRE(killed);
        CHECK_FALSE(killed->ok());
        CHECK_THAT(killed->message(), Catch::Matchers::Contains("killed after 1000 ms"));
        CHECK_THAT(killed->message(), Catch::Matchers::Contains("bị dừng sau 1000 ms"));
        CHECK(t.controller.results_of(1).front().at_us - sent_us >= 900'000);
        // Not switched, so not said to be.
        CHECK(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
        CHECK(t.controller.last_heartbeat()->amplifier_on());

        t.controller.set_ack_commands(false);
        t.controller.send_command(set_amplifier_command(2, false));
        std::this_thread::sleep_for(300ms);
        const auto stopping = std::chrono::steady_clock::now();
        agent.stop();
        CHECK(std::chrono::steady_clock::now() - stopping < 2s);
        CHECK(t.controller.results_of(2).empty());
    }
}

TEST_CASE("SendLog returns the newest bytes of the agent's log", "[agent][command]") {
    AgentTest t;
    std::string log;
    for (int i = 0; i < 400; ++i) {
        log += fmt::format("[info] dòng {:04}\n", i);
    }
    fs::create_directories(t.data);
    loa::test::write_file(t.data / "agent.log", log);
    auto options = t.options();
    options.log_file = t.data / "agent.log";
    RunningAgent agent(options);

    wire::Command tail;
    tail.set_command_id(1);
    tail.mutable_send_log()->set_max_bytes(100);
    t.controller.send_command(tail);
    auto result = t.controller.wait_result(1);
    REQUIRE(result);
    CHECK(result->ok());
    CHECK(result->log_tail() == log.substr(log.size() - 100));

    wire::Command all;
    all.set_command_id(2);
    all.mutable_send_log();
    t.controller.send_command(all);
    auto whole = t.controller.wait_result(2);
    REQUIRE(whole);
    CHECK(whole->ok());
    CHECK(whole->log_tail() == log);
}

TEST_CASE("SendLog on an agent without a log file is refused, saying so", "[agent][command]") {
    AgentTest t;
    RunningAgent agent(t.options());
    wire::Command tail;
    tail.set_command_id(1);
    tail.mutable_send_log()->set_max_bytes(100);
    t.controller.send_command(tail);
    auto result = t.controller.wait_result(1);
    REQUIRE(result);
    CHECK_FALSE(result->ok());
    CHECK_THAT(result->message(), Catch::Matchers::Contains("--log-file"));
    CHECK(result->log_tail().empty());
}

TEST_CASE("Restart ends run() so that the caller starts the agent again, once",
          "[agent][command]") {
    AgentTest t;
    {
        RunningAgent agent(t.options());
        REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
        wire::Command restart;
        restart.set_command_id(9);
        restart.mutable_restart();
        t.controller.send_command(restart, false);
        REQUIRE(loa::test::wait_until([&] { return agent.returned(); }, 3s));
        CHECK(agent.restart_requested());
        CHECK(agent.error() == "");
    }
    // Restarted: the controller, not sure the command was carried out, sends it again; the node
    // answers from what it stored and does not restart a second time.
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    wire::Command restart;
    restart.set_command_id(9);
    restart.mutable_restart();
    t.controller.send_command(restart, false);
    REQUIRE(loa::test::wait_until([&] { return !t.controller.results_of(9).empty(); }, 3s));
    std::this_thread::sleep_for(1s);
    CHECK_FALSE(agent.returned());
    CHECK_FALSE(agent.restart_requested());
    for (const auto& r : t.controller.results_of(9)) {
        CHECK(r.message.ok());
        CHECK_THAT(r.message.message(), Catch::Matchers::Contains("restart"));
    }
}

TEST_CASE("a command result is sent again every 3 s until the controller acks it",
          "[agent][command]") {
    AgentTest t;
    t.controller.set_ack_commands(false);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    t.controller.send_command(set_volume_command(5, 60));
    REQUIRE(t.controller.wait_result(5));
    t.controller.set_ack_commands(true);  // the next copy is acked
    REQUIRE(loa::test::wait_until([&] { return t.controller.results_of(5).size() >= 2; }, 5s));
    auto results = t.controller.results_of(5);
    const double gap = seconds_of(results[1].at_us - results[0].at_us);
    CAPTURE(gap);
    CHECK(gap >= 2.9);
    CHECK(gap <= 3.6);
    CHECK(results[1].message.SerializeAsString() == results[0].message.SerializeAsString());
    std::this_thread::sleep_for(3300ms);  // acked: never again
    CHECK(t.controller.results_of(5).size() == 2);
}

TEST_CASE("the heartbeat's runway ends at the first play whose media the controller lacks",
          "[agent]") {
    AgentTest t;
    const std::string here = t.tone("here", 1.0);
    const std::string gone = t.tone("gone", 1.0, 660);
    t.controller.hide_media(gone);
    const std::int64_t now = wall_now_us();
    const std::int64_t horizon = now + 3600 * kSecondUs;
    t.controller.set_timeline({t.slot("a", here, now + 60 * kSecondUs, 1.0),
                               t.slot("b", gone, now + 120 * kSecondUs, 1.0),
                               t.slot("c", here, now + 180 * kSecondUs, 1.0)},
                              horizon);
    RunningAgent agent(t.options());
    auto hb = t.controller.wait_heartbeat(
        [&](const wire::Heartbeat& h) { return h.runway_end_us() == now + 120 * kSecondUs; });
    REQUIRE(hb);
    CHECK(hb->schedule_horizon_end_us() == horizon);
    CHECK(hb->media_missing() == 1);
    CHECK(t.controller.not_found_answers() >= 1);

    // The controller gets the file: the runway reaches the horizon.
    t.controller.set_timeline({t.slot("a", here, now + 60 * kSecondUs, 1.0),
                               t.slot("c", here, now + 180 * kSecondUs, 1.0)},
                              horizon);
    auto covered = t.controller.wait_heartbeat(
        [&](const wire::Heartbeat& h) { return h.runway_end_us() == horizon; });
    REQUIRE(covered);
    CHECK(covered->media_missing() == 0);
}

TEST_CASE("panel slots show images and videos and confirm the frames rendered", "[agent]") {
    AgentTest t;
    loa::test::make_picture(t.dir / "poster.png", "192x64");
    loa::test::make_video(t.dir / "clip.mkv", 2.0, "-c:v mpeg4 -q:v 5");
    const std::string poster = t.controller.add_media(t.dir / "poster.png");
    const std::string clip = t.controller.add_media(t.dir / "clip.mkv");
    const std::int64_t t0 = wall_now_us() + 1'500'000;
    t.controller.set_timeline({t.slot("poster", poster, t0, 1.5, wire::SLOT_IMAGE),
                               t.slot("clip", clip, t0 + 1'700'000, 2.0, wire::SLOT_VIDEO)});
    RunningAgent agent(t.options());

    auto shown = t.controller.wait_confirmation("poster", 8s);
    REQUIRE(shown);
    INFO("reason: " << shown->reason());
    CHECK(shown->outcome() == wire::PLAYED);
    CHECK(shown->frames_rendered() > 0);
    CHECK_FALSE(shown->has_levels());
    CHECK(seconds_of(shown->actual_start_us() - t0) == Approx(0).margin(0.1));
    CHECK(aired_seconds(*shown) == Approx(1.5).margin(0.3));

    auto video = t.controller.wait_confirmation("clip", 8s);
    REQUIRE(video);
    INFO("reason: " << video->reason());
    CHECK(video->outcome() == wire::PLAYED);
    CHECK(video->frames_rendered() == Approx(50).margin(5));
    CHECK_FALSE(video->has_levels());
    CHECK(aired_seconds(*video) == Approx(2.0).margin(0.3));
}

TEST_CASE("disk policy: unneeded media goes oldest first, media a pending play needs stays",
          "[agent]") {
    AgentTest t;
    auto make_file = [&](const std::string& name, char fill) {
        const fs::path file = t.dir / name;
        loa::test::write_file(file, std::string(10'000, fill));
        return t.controller.add_media(file);
    };
    const std::string old_unneeded = make_file("u1", 'a');
    const std::string needed = make_file("n", 'b');
    const std::string new_unneeded = make_file("u2", 'c');
    for (const auto& hash : {old_unneeded, needed, new_unneeded}) {
        t.cache_on_node(hash);
    }
    loa::media::ContentStore node_media(t.data / "media");
    const auto now = fs::file_time_type::clock::now();
    fs::last_write_time(node_media.path_for(old_unneeded), now - 3h);
    fs::last_write_time(node_media.path_for(needed), now - 2h);
    fs::last_write_time(node_media.path_for(new_unneeded), now - 1h);
    const auto later = wall_now_us() + 3600 * kSecondUs;
    t.controller.set_timeline({t.slot("far", needed, later, 1.0)});
    {
        // The node already holds its timeline, as after an earlier session.
        loa::node::NodeStore store(t.data / "node.db");
        wire::ScheduleUpdate update;
        update.set_timeline_hash("earlier");
        *update.add_slots() = t.slot("far", needed, later, 1.0);
        store.replace_timeline(update);
    }
    {
        auto options = t.options();
        options.max_media_bytes = 25'000;  // over by one unneeded file
        RunningAgent agent(options);
        REQUIRE(loa::test::wait_until([&] { return !node_media.contains(old_unneeded); }, 5s));
        std::this_thread::sleep_for(500ms);
        CHECK(node_media.contains(needed));
        CHECK(node_media.contains(new_unneeded));
    }
    auto options = t.options();
    options.max_media_bytes = 1;  // nothing fits: everything unneeded goes, the needed file stays
    RunningAgent agent(options);
    REQUIRE(loa::test::wait_until([&] { return !node_media.contains(new_unneeded); }, 5s));
    std::this_thread::sleep_for(500ms);
    CHECK(node_media.contains(needed));
}

TEST_CASE("an emergency during the preroll of a play holds it back, the play airs after it",
          "[agent][emergency]") {
    AgentTest t;
    const std::string bulletin = t.tone("bulletin", 2.0);
    const std::string alert = t.tone("alert", 1.0);
    t.cache_on_node(alert);
    const std::int64_t start = wall_now_us() + 3 * kSecondUs;
    t.controller.set_timeline({t.slot("bulletin", bulletin, start, 2.0)});
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_timeline_acked());
    // 1 s before its start the bulletin is prerolled (1.5 s ahead) and waits for its instant.
    std::this_thread::sleep_until(
        std::chrono::system_clock::time_point(std::chrono::microseconds(start - kSecondUs)));
    t.controller.send_command(
        emergency_command(1, "dong-dat", alert, t.controller.size_of(alert), 1.0, 1));

    auto alerted = t.controller.wait_confirmation("emergency:dong-dat:1", 8s);
    REQUIRE(alerted);
    CHECK(alerted->outcome() == wire::PLAYED);
    auto bulletin_play = t.controller.wait_confirmation("bulletin", 8s);
    REQUIRE(bulletin_play);
    INFO("reason: " << bulletin_play->reason());
    // It had not aired when the emergency came, so it is not cut: it plays after it, whole
    // (less than its late grace behind).
    CHECK(bulletin_play->outcome() == wire::PLAYED);
    CHECK(bulletin_play->actual_start_us() >= alerted->actual_end_us());
    CHECK(bulletin_play->offset_us() == 0);
    CHECK(aired_seconds(*bulletin_play) == Approx(2.0).margin(0.3));
    CHECK(t.controller.confirmations().size() == 2);
}

TEST_CASE("an emergency whose media cannot be played fails once, not in a loop",
          "[agent][emergency]") {
    AgentTest t;
    loa::test::write_file(t.dir / "garbage.wav", std::string(5000, '\x5a'));
    const std::string garbage = t.controller.add_media(t.dir / "garbage.wav");
    const std::string later = t.tone("later", 1.0);
    auto command = emergency_command(1, "hong", garbage, 5000, 1.0, 0);
    command.mutable_emergency()->set_until_expiry(true);
    command.mutable_emergency()->set_expires_us(wall_now_us() + 3 * kSecondUs);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    t.controller.send_command(command);
    REQUIRE(t.controller.wait_confirmation("emergency:hong:1", 8s));
    const std::int64_t next = wall_now_us() + 1'500'000;
    t.controller.set_timeline({t.slot("later", later, next, 1.0)});
    auto resumed = t.controller.wait_confirmation("later", 8s);
    REQUIRE(resumed);
    CHECK(resumed->outcome() == wire::PLAYED);
    auto plays = t.controller.confirmations_of("emergency:hong:");
    REQUIRE(plays.size() == 1);
    CHECK(plays[0].outcome() == wire::FAILED);
    CHECK_THAT(plays[0].reason(), Catch::Matchers::StartsWith("pipeline: "));
}

TEST_CASE(
    "cancelling an emergency the node does not play says there is nothing to cancel, and "
    "it never airs afterwards",
    "[agent][emergency]") {
    AgentTest t;
    const std::string alert = t.tone("alert", 1.0);
    t.cache_on_node(alert);
    RunningAgent agent(t.options());
    REQUIRE(t.controller.wait_heartbeat([](const wire::Heartbeat&) { return true; }));
    wire::Command cancel;
    cancel.set_command_id(1);
    cancel.mutable_cancel_emergency()->set_emergency_id("lu-cu");
    t.controller.send_command(cancel);
    auto nothing = t.controller.wait_result(1);
    REQUIRE(nothing);
    CHECK(nothing->ok());
    CHECK_THAT(nothing->message(), Catch::Matchers::Contains("nothing to cancel"));

    // A copy of the emergency that was still on its way when it was cancelled.
    t.controller.send_command(
        emergency_command(2, "lu-cu", alert, t.controller.size_of(alert), 1.0, 1));
    auto late_copy = t.controller.wait_result(2);
    REQUIRE(late_copy);
    CHECK_FALSE(late_copy->ok());
    CHECK_THAT(late_copy->message(), Catch::Matchers::Contains("cancelled"));

    // An emergency played, then sent again under another command id: it plays once.
    t.controller.send_command(
        emergency_command(3, "lu-moi", alert, t.controller.size_of(alert), 1.0, 1));
    REQUIRE(t.controller.wait_confirmation("emergency:lu-moi:1", 8s));
    t.controller.send_command(
        emergency_command(4, "lu-moi", alert, t.controller.size_of(alert), 1.0, 1));
    auto again = t.controller.wait_result(4);
    REQUIRE(again);
    CHECK(again->ok());
    CHECK_THAT(again->message(), Catch::Matchers::Contains("not played again"));
    std::this_thread::sleep_for(1500ms);
    CHECK(t.controller.confirmations().size() == 1);
}

// A board inside a session loops the session's items between its booked plays, and is blank
// outside sessions; the loop never delays a booked play and is never confirmed as one.
TEST_CASE("a panel loops its session's items between booked plays and is blank after them",
          "[agent]") {
    AgentTest t;
    loa::test::make_picture(t.dir / "a.png", "192x64");
    loa::test::make_picture(t.dir / "b.png", "128x32");
    const std::string a = t.controller.add_media(t.dir / "a.png");
    const std::string b = t.controller.add_media(t.dir / "b.png");
    const std::int64_t t0 = wall_now_us() + 1'500'000;
    // Two booked showings 6 s apart: one session (the gap is far under the loop gap).
    t.controller.set_timeline({t.slot("first", a, t0, 1.0, wire::SLOT_IMAGE),
                               t.slot("second", b, t0 + 6'000'000, 1.0, wire::SLOT_IMAGE)});
    RunningAgent agent(t.options());

    REQUIRE(t.controller.wait_confirmation("first", 6s));
    // Between them the board shows the session's items again instead of going blank.
    auto looping = t.controller.wait_heartbeat(
        [](const wire::Heartbeat& hb) {
            return hb.state() == "playing" && hb.current_slot_id().starts_with("loop:");
        },
        4s);
    REQUIRE(looping);

    // The booked play still starts on time: the loop makes room for its preroll.
    auto second = t.controller.wait_confirmation("second", 8s);
    REQUIRE(second);
    CHECK(second->outcome() == wire::PLAYED);
    CHECK(seconds_of(second->actual_start_us() - (t0 + 6'000'000)) == Approx(0).margin(0.1));
    // Only booked plays are confirmed.
    for (const auto& c : t.controller.confirmations()) {
        CHECK_FALSE(c.slot_id().starts_with("loop:"));
    }
    // After the session's last play the board is blank: idle, nothing on it.
    std::this_thread::sleep_for(1500ms);
    auto after = t.controller.wait_heartbeat(
        [](const wire::Heartbeat& hb) { return hb.state() == "idle"; }, 3s);
    REQUIRE(after);
    std::this_thread::sleep_for(1s);
    auto still = t.controller.last_heartbeat();
    REQUIRE(still);
    CHECK(still->state() == "idle");
    CHECK(still->current_slot_id().empty());
}
