// Tests of what version 2 of the node store added: migration of a version-1 file in place, the
// evidence of a play, commands, emergencies, settings and pruning.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "loa/node/node_store.hpp"
#include "loa/protocol/loa.pb.h"
#include "test_support.hpp"

using loa::node::NodeStore;
using loa::test::TempDir;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kDayUs = 86'400 * kSecondUs;
constexpr std::int64_t kT0 = 1'795'473'000LL * kSecondUs;  // 2026-11-24T05:30:00+07:00

// The store as the first agents wrote it (node_store.cpp's kSchema before issue 5), with
// PRAGMA user_version left at 0.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE slots (
    slot_id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    media_hash TEXT NOT NULL,
    media_size INTEGER NOT NULL,
    start_us INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    started_us INTEGER
);
CREATE INDEX slots_pending ON slots (state, start_us);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_id TEXT NOT NULL UNIQUE,
    campaign_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    media_hash TEXT NOT NULL,
    planned_start_us INTEGER NOT NULL,
    actual_start_us INTEGER NOT NULL,
    actual_end_us INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    reason TEXT NOT NULL
);
)sql";

std::string hash_of(char c) {
    return std::string(64, c);
}

wire::Slot slot(const std::string& id, std::int64_t start_us, char media = 'a') {
    wire::Slot s;
    s.set_slot_id(id);
    s.set_campaign_id("nong-thon-moi");
    s.set_item_id("item-" + id);
    s.set_media_hash(hash_of(media));
    s.set_media_size(4096);
    s.set_start_us(start_us);
    s.set_duration_us(2 * kSecondUs);
    s.set_title("Bản tin " + id);
    return s;
}

/// A version-1 store: plays `a` (done, confirmed and acked), `b` (done, its confirmation
/// unacked), `c` (pending), with the outbox's sequence at 7.
void write_version_1(const fs::path& file) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(kVersion1Schema);
    db.exec("INSERT INTO meta VALUES ('timeline_hash', 'v1-timeline')");
    db.exec("INSERT INTO meta VALUES ('horizon_end_us', '" + std::to_string(kT0 + kDayUs) + "')");
    auto insert_slot = [&](const std::string& id, std::int64_t start, const char* state) {
        SQLite::Statement q(db,
                            "INSERT INTO slots (slot_id, campaign_id, item_id, media_hash, "
                            "media_size, start_us, duration_us, title, state) VALUES "
                            "(?, 'nong-thon-moi', ?, ?, 4096, ?, 2000000, ?, ?)");
        q.bind(1, id);
        q.bind(2, "item-" + id);
        q.bind(3, hash_of('a'));
        q.bind(4, static_cast<int64_t>(start));
        q.bind(5, "Bản tin " + id);
        q.bind(6, state);
        q.exec();
    };
    insert_slot("a", kT0, "done");
    insert_slot("b", kT0 + 10 * kSecondUs, "done");
    insert_slot("c", kT0 + 20 * kSecondUs, "pending");
    db.exec(
        "INSERT INTO outbox (seq, slot_id, campaign_id, item_id, media_hash, planned_start_us, "
        "actual_start_us, actual_end_us, outcome, reason) VALUES (7, 'b', 'nong-thon-moi', "
        "'item-b', '" +
        hash_of('a') + "', " + std::to_string(kT0 + 10 * kSecondUs) + ", " +
        std::to_string(kT0 + 10 * kSecondUs + 1000) + ", " + std::to_string(kT0 + 12 * kSecondUs) +
        ", 1, '')");
}

int user_version(const fs::path& file) {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    return db.execAndGet("PRAGMA user_version").getInt();
}

wire::Confirmation played_with_evidence(std::int64_t start_us) {
    wire::Confirmation c;
    c.set_outcome(wire::PLAYED);
    c.set_actual_start_us(start_us);
    c.set_actual_end_us(start_us + 2 * kSecondUs);
    c.mutable_levels()->set_rms_dbfs(-23.1);
    c.mutable_levels()->set_peak_dbfs(-20.0);
    c.mutable_levels()->set_silent_seconds(0.1);
    c.mutable_levels()->set_measured_seconds(2.0);
    c.mutable_levels()->set_silence_threshold_dbfs(-50);
    c.set_frames_rendered(0);
    c.set_offset_us(250'000);
    return c;
}

wire::CommandResult result(std::uint64_t command_id, bool ok, const std::string& message) {
    wire::CommandResult r;
    r.set_command_id(command_id);
    r.set_ok(ok);
    r.set_message(message);
    r.set_done_us(kT0);
    return r;
}

wire::Emergency emergency(const std::string& id, std::uint32_t repeat) {
    wire::Emergency e;
    e.set_emergency_id(id);
    e.set_campaign_id("khan-cap");
    e.set_item_id("canh-bao");
    e.set_media_hash(hash_of('e'));
    e.set_media_size(1000);
    e.set_duration_us(kSecondUs);
    e.set_title("Cảnh báo");
    e.set_repeat(repeat);
    e.set_kind(wire::SLOT_AUDIO);
    return e;
}

}  // namespace

TEST_CASE("a version-1 store is migrated in place and keeps its plays and outbox",
          "[node][store][migration]") {
    // The first agents left user_version at 0; a file stamped 1 has the same schema.
    const int stamped = GENERATE(0, 1);
    INFO("user_version " << stamped);
    TempDir tmp;
    const fs::path file = tmp / "node.db";
    write_version_1(file);
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = " + std::to_string(stamped));
    }
    REQUIRE(user_version(file) == stamped);
    {
        NodeStore store(file);
        CHECK(store.timeline_hash() == "v1-timeline");
        CHECK(store.horizon_end_us() == kT0 + kDayUs);
        auto next = store.next_pending();
        REQUIRE(next);
        CHECK(next->slot_id() == "c");
        CHECK(next->kind() == wire::SLOT_AUDIO);  // the new columns' defaults
        CHECK(next->display_us() == 0);
        CHECK(next->title() == "Bản tin c");

        auto outbox = store.outbox(10);
        REQUIRE(outbox.size() == 1);
        CHECK(outbox[0].seq() == 7);
        CHECK(outbox[0].slot_id() == "b");
        CHECK(outbox[0].outcome() == wire::PLAYED);
        CHECK_FALSE(outbox[0].has_levels());  // no evidence column then
        CHECK(outbox[0].offset_us() == 0);
        CHECK(store.last_seq() == 7);

        // What version 2 added works on the migrated file.
        store.confirm(*next, played_with_evidence(kT0 + 20 * kSecondUs));
        auto after = store.outbox(10);
        REQUIRE(after.size() == 2);
        CHECK(after[1].seq() == 8);  // the sequence goes on from the old file's
        REQUIRE(after[1].has_levels());
        CHECK(after[1].levels().rms_dbfs() == Approx(-23.1));
        CHECK(after[1].offset_us() == 250'000);
        store.set_setting("volume", "40");
        store.record_command(result(1, true, "volume 40 %"), kT0);
        CHECK(store.unacked_command_results().size() == 1);
    }
    CHECK(user_version(file) == 3);
    // Opening it again migrates nothing twice.
    NodeStore reopened(file);
    CHECK(reopened.setting("volume") == "40");
    CHECK(reopened.outbox(10).size() == 2);
    CHECK(reopened.last_seq() == 8);
    CHECK(user_version(file) == 3);
    // It was in sessions before (it holds a timeline and numbered confirmations): a WELCOME
    // never renumbers what it may have sent.
    CHECK(reopened.welcomed_before());
}

TEST_CASE("a store written by a newer agent is refused, naming the file and versions",
          "[node][store][migration]") {
    TempDir tmp;
    const fs::path file = tmp / "node.db";
    { NodeStore store(file); }
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = 9");
    }
    try {
        NodeStore store(file);
        FAIL("a newer store was opened");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains(file.string()));
        CHECK_THAT(e.what(), Catch::Matchers::Contains("version 9"));
    }
}

TEST_CASE("timelines keep each slot's kind and display time", "[node][store]") {
    TempDir tmp;
    NodeStore store(tmp / "node.db");
    wire::ScheduleUpdate update;
    update.set_timeline_hash("t1");
    auto image = slot("poster", kT0);
    image.set_kind(wire::SLOT_IMAGE);
    image.set_display_us(15 * kSecondUs);
    *update.add_slots() = image;
    auto video = slot("clip", kT0 + kSecondUs);
    video.set_kind(wire::SLOT_VIDEO);
    *update.add_slots() = video;
    store.replace_timeline(update);
    auto pending = store.pending_slots();
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].kind() == wire::SLOT_IMAGE);
    CHECK(pending[0].display_us() == 15 * kSecondUs);
    CHECK(pending[1].kind() == wire::SLOT_VIDEO);
    // Without horizon_end_us the timeline is complete up to its last play's end.
    CHECK(store.horizon_end_us() == kT0 + 3 * kSecondUs);
}

TEST_CASE("a command's result is kept once and until acked", "[node][store][command]") {
    TempDir tmp;
    NodeStore store(tmp / "node.db");
    CHECK_FALSE(store.command_result(5));
    store.record_command(result(5, true, "volume 70 %"), kT0);
    // The same id again (a re-sent command) does not replace what was done.
    store.record_command(result(5, false, "something else"), kT0 + kSecondUs);
    auto stored = store.command_result(5);
    REQUIRE(stored);
    CHECK(stored->ok());
    CHECK(stored->message() == "volume 70 %");
    store.record_command(result(6, false, "no hook"), kT0);
    auto unacked = store.unacked_command_results();
    REQUIRE(unacked.size() == 2);
    CHECK(unacked[0].command_id() == 5);
    store.acknowledge_command(5);
    unacked = store.unacked_command_results();
    REQUIRE(unacked.size() == 1);
    CHECK(unacked[0].command_id() == 6);
    CHECK(store.command_result(5));  // still answers a re-sent command
}

TEST_CASE("emergencies: accepted once, counted play by play, ended", "[node][store][emergency]") {
    TempDir tmp;
    const fs::path file = tmp / "node.db";
    {
        NodeStore store(file);
        CHECK_FALSE(store.active_emergency());
        const auto e = emergency("lu-1", 2);
        store.record_command(result(1, true, "accepted"), kT0, &e);
        store.record_command(result(2, true, "accepted"), kT0 + 1, &e);  // same emergency
        auto active = store.active_emergency();
        REQUIRE(active);
        CHECK(active->emergency.emergency_id() == "lu-1");
        CHECK(active->plays_done == 0);

        wire::Slot play;
        play.set_slot_id("emergency:lu-1:1");
        play.set_media_hash(e.media_hash());
        play.set_start_us(kT0);
        wire::Confirmation c = played_with_evidence(kT0);
        c.set_emergency_id("lu-1");
        store.confirm_emergency_play(play, c, false);
    }
    NodeStore store(file);
    auto active = store.active_emergency();
    REQUIRE(active);
    CHECK(active->plays_done == 1);
    wire::Slot play;
    play.set_slot_id("emergency:lu-1:2");
    play.set_start_us(kT0 + kSecondUs);
    wire::Confirmation c = played_with_evidence(kT0 + kSecondUs);
    c.set_emergency_id("lu-1");
    store.confirm_emergency_play(play, c, true);
    CHECK_FALSE(store.active_emergency());
    auto outbox = store.outbox(10);
    REQUIRE(outbox.size() == 2);
    CHECK(outbox[0].slot_id() == "emergency:lu-1:1");
    CHECK(outbox[0].emergency_id() == "lu-1");
    CHECK(outbox[1].emergency_id() == "lu-1");

    // The oldest active emergency goes first; a cancelled one is no longer active.
    const auto second = emergency("lu-2", 1);
    const auto third = emergency("lu-3", 1);
    store.record_command(result(3, true, "accepted"), kT0 + 10, &second);
    store.record_command(result(4, true, "accepted"), kT0 + 20, &third);
    REQUIRE(store.active_emergency());
    CHECK(store.active_emergency()->emergency.emergency_id() == "lu-2");
    store.end_emergency("lu-2", "cancelled");
    REQUIRE(store.active_emergency());
    CHECK(store.active_emergency()->emergency.emergency_id() == "lu-3");
    store.end_emergency("lu-3", "expired");
    CHECK_FALSE(store.active_emergency());
}

TEST_CASE("settings survive reopening the store", "[node][store]") {
    TempDir tmp;
    {
        NodeStore store(tmp / "node.db");
        CHECK_FALSE(store.setting("volume"));
        store.set_setting("volume", "30");
        store.set_setting("volume", "25");
        store.set_setting("amplifier", "off");
    }
    NodeStore store(tmp / "node.db");
    CHECK(store.setting("volume") == "25");
    CHECK(store.setting("amplifier") == "off");
}

TEST_CASE("prune forgets old history but never an unacked confirmation", "[node][store]") {
    TempDir tmp;
    NodeStore store(tmp / "node.db");
    wire::ScheduleUpdate update;
    update.set_timeline_hash("t1");
    for (int i = 0; i < 4; ++i) {
        *update.add_slots() = slot("old-" + std::to_string(i), kT0 + i * kSecondUs);
    }
    *update.add_slots() = slot("pending", kT0 + 10 * kSecondUs);
    *update.add_slots() = slot("recent", kT0 + 4 * kDayUs);
    store.replace_timeline(update);
    for (int i = 0; i < 4; ++i) {
        store.confirm(slot("old-" + std::to_string(i), kT0 + i * kSecondUs),
                      played_with_evidence(kT0 + i * kSecondUs));
    }
    store.confirm(slot("recent", kT0 + 4 * kDayUs), played_with_evidence(kT0 + 4 * kDayUs));
    // Two of the old confirmations were acked; two never were.
    auto outbox = store.outbox(10);
    REQUIRE(outbox.size() == 5);
    store.acknowledge({outbox[0].seq(), outbox[1].seq()});
    store.record_command(result(1, true, "old, acked"), kT0);
    store.acknowledge_command(1);
    store.record_command(result(2, true, "old, unacked"), kT0);
    const auto ended = emergency("old-ended", 1);
    store.record_command(result(3, true, "accepted"), kT0, &ended);
    store.end_emergency("old-ended", "done");
    const auto active = emergency("old-active", 1);
    store.record_command(result(4, true, "accepted"), kT0, &active);

    const int removed = store.prune(kT0 + 3 * kDayUs);
    CHECK(removed == 4 + 1 + 1);  // four done plays, one acked command, one ended emergency

    auto kept = store.outbox(10);
    REQUIRE(kept.size() == 3);
    CHECK(kept[0].slot_id() == "old-2");
    CHECK(kept[1].slot_id() == "old-3");
    CHECK(kept[2].slot_id() == "recent");
    REQUIRE(kept[0].has_levels());  // with their evidence
    CHECK(store.command_result(2));
    CHECK_FALSE(store.command_result(1));
    REQUIRE(store.active_emergency());
    CHECK(store.active_emergency()->emergency.emergency_id() == "old-active");
    auto pending = store.pending_slots();
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].slot_id() == "pending");  // pending plays are never pruned, however old
}
