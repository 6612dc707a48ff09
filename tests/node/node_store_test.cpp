// Tests of the node's SQLite store: durable outbox, sequence numbers, timelines and recovery.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
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
constexpr std::int64_t kT0 = 1'795'473'000LL * kSecondUs;  // 2026-11-24T05:30:00+07:00

std::string hash_of(char c) {
    return std::string(64, c);
}

wire::Slot slot(const std::string& id, std::int64_t start_us, const std::string& media_hash,
                std::int64_t duration_us = 2 * kSecondUs) {
    wire::Slot s;
    s.set_slot_id(id);
    s.set_campaign_id("phong-chong-thien-tai");
    s.set_item_id(media_hash.substr(0, 8));
    s.set_media_hash(media_hash);
    s.set_media_size(88'244);
    s.set_start_us(start_us);
    s.set_duration_us(duration_us);
    s.set_title("Bản tin " + id);
    return s;
}

wire::ScheduleUpdate timeline(const std::string& hash, const std::vector<wire::Slot>& slots) {
    wire::ScheduleUpdate update;
    update.set_timeline_hash(hash);
    update.set_generated_us(kT0);
    for (const auto& s : slots) {
        *update.add_slots() = s;
    }
    return update;
}

std::vector<std::string> serialized(const std::vector<wire::Confirmation>& confirmations) {
    std::vector<std::string> out;
    for (const auto& c : confirmations) {
        out.push_back(c.SerializeAsString());
    }
    return out;
}

/// The state column of a slot as stored on disk, read through a second connection; nullopt if
/// the row is gone.
std::optional<std::string> state_on_disk(const fs::path& file, const std::string& slot_id) {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT state FROM slots WHERE slot_id = ?");
    q.bind(1, slot_id);
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return q.getColumn(0).getString();
}

std::optional<std::int64_t> start_on_disk(const fs::path& file, const std::string& slot_id) {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT start_us FROM slots WHERE slot_id = ?");
    q.bind(1, slot_id);
    if (!q.executeStep()) {
        return std::nullopt;
    }
    return q.getColumn(0).getInt64();
}

/// Hashes of what the pending plays need, with no horizon.
std::vector<std::string> needed_hashes(NodeStore& store) {
    std::vector<std::string> hashes;
    for (const auto& need : store.needed_media(std::numeric_limits<std::int64_t>::max())) {
        hashes.push_back(need.media_hash);
    }
    return hashes;
}

}  // namespace

TEST_CASE("confirmations survive closing and reopening the store", "[node][store]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    const auto a = slot("slot-a", kT0 + 10 * kSecondUs, hash_of('a'));
    const auto b = slot("slot-b", kT0 + 20 * kSecondUs, hash_of('b'));
    std::vector<std::string> before;
    {
        NodeStore store(file);
        store.replace_timeline(timeline("timeline-1", {a, b}));
        store.confirm(a, wire::PLAYED, "", kT0 + 10 * kSecondUs, kT0 + 12 * kSecondUs);
        store.confirm(b, wire::SKIPPED, "late", 0, 0);
        auto pending = store.outbox(100);
        REQUIRE(pending.size() == 2);
        before = serialized(pending);
    }
    NodeStore reopened(file);
    auto after = reopened.outbox(100);
    REQUIRE(after.size() == 2);
    CHECK(serialized(after) == before);
    CHECK(reopened.outbox_size() == 2);
    CHECK(after[0].slot_id() == "slot-a");
    CHECK(after[0].seq() >= 1);
    CHECK(after[1].seq() > after[0].seq());
    CHECK(after[0].outcome() == wire::PLAYED);
    CHECK(after[0].actual_start_us() == kT0 + 10 * kSecondUs);
    CHECK(after[0].actual_end_us() == kT0 + 12 * kSecondUs);
    CHECK(after[0].planned_start_us() == a.start_us());
    CHECK(after[0].media_hash() == a.media_hash());
    CHECK(after[1].outcome() == wire::SKIPPED);
    CHECK(after[1].reason() == "late");
    CHECK(reopened.timeline_hash() == "timeline-1");
    CHECK_FALSE(reopened.next_pending().has_value());  // both plays are done, not replayed
}

TEST_CASE("outbox honours its limit, oldest first", "[node][store]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    std::vector<wire::Slot> slots;
    for (int i = 0; i < 5; ++i) {
        slots.push_back(slot("slot-" + std::to_string(i), kT0 + i * kSecondUs, hash_of('a')));
    }
    store.replace_timeline(timeline("t", slots));
    for (int i = 4; i >= 0; --i) {  // confirmed in reverse order of start
        store.confirm(slots[static_cast<std::size_t>(i)], wire::SKIPPED, "late", 0, 0);
    }
    auto first = store.outbox(2);
    REQUIRE(first.size() == 2);
    CHECK(first[0].slot_id() == "slot-4");  // oldest confirmation, not earliest start
    CHECK(first[1].slot_id() == "slot-3");
    CHECK(store.outbox_size() == 5);
}

TEST_CASE("sequence numbers are never reused after acknowledged rows are deleted",
          "[node][store]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    const auto a = slot("slot-a", kT0 + 10 * kSecondUs, hash_of('a'));
    const auto b = slot("slot-b", kT0 + 20 * kSecondUs, hash_of('b'));
    const auto c = slot("slot-c", kT0 + 30 * kSecondUs, hash_of('c'));
    std::uint64_t seq_a = 0;
    std::uint64_t seq_b = 0;
    {
        NodeStore store(file);
        store.replace_timeline(timeline("t", {a, b, c}));
        store.confirm(a, wire::PLAYED, "", kT0 + 10 * kSecondUs, kT0 + 12 * kSecondUs);
        auto out = store.outbox(10);
        REQUIRE(out.size() == 1);
        seq_a = out[0].seq();
        store.acknowledge({seq_a});
        REQUIRE(store.outbox_size() == 0);

        store.confirm(b, wire::PLAYED, "", kT0 + 20 * kSecondUs, kT0 + 22 * kSecondUs);
        out = store.outbox(10);
        REQUIRE(out.size() == 1);
        seq_b = out[0].seq();
        CHECK(seq_b > seq_a);
        store.acknowledge({seq_b});
        REQUIRE(store.outbox_size() == 0);
    }
    // The counter is durable too: a restarted agent does not start again from 1.
    NodeStore reopened(file);
    reopened.confirm(c, wire::FAILED, "media-missing", 0, 0);
    auto out = reopened.outbox(10);
    REQUIRE(out.size() == 1);
    CHECK(out[0].seq() > seq_b);
}

TEST_CASE("acknowledge forgets only the sequence numbers it is given", "[node][store]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    const auto a = slot("slot-a", kT0 + 10 * kSecondUs, hash_of('a'));
    const auto b = slot("slot-b", kT0 + 20 * kSecondUs, hash_of('b'));
    store.replace_timeline(timeline("t", {a, b}));
    store.confirm(a, wire::SKIPPED, "late", 0, 0);
    store.confirm(b, wire::SKIPPED, "late", 0, 0);
    auto out = store.outbox(10);
    REQUIRE(out.size() == 2);
    store.acknowledge({out[1].seq(), 987'654});  // an unknown seq is harmless
    auto left = store.outbox(10);
    REQUIRE(left.size() == 1);
    CHECK(left[0].seq() == out[0].seq());
    CHECK(left[0].slot_id() == "slot-a");
}

TEST_CASE("confirming the same slot twice queues one confirmation", "[node][store]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    const auto a = slot("slot-a", kT0 + 10 * kSecondUs, hash_of('a'));
    store.replace_timeline(timeline("t", {a}));
    store.confirm(a, wire::PLAYED, "", kT0 + 10 * kSecondUs, kT0 + 12 * kSecondUs);
    store.confirm(a, wire::FAILED, "agent-restarted", kT0 + 10 * kSecondUs, 0);
    CHECK(store.outbox_size() == 1);
    auto out = store.outbox(10);
    REQUIRE(out.size() == 1);
    // The first outcome stands; the second is not a new confirmation of the same play.
    CHECK(out[0].outcome() == wire::PLAYED);
    CHECK(out[0].reason().empty());
    CHECK(out[0].actual_end_us() == kT0 + 12 * kSecondUs);
}

TEST_CASE("replace_timeline keeps done and started plays and drops withdrawn pending ones",
          "[node][store]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    NodeStore store(file);
    CHECK(store.timeline_hash().empty());

    const auto done = slot("slot-done", kT0 + 10 * kSecondUs, hash_of('a'));
    const auto started = slot("slot-started", kT0 + 20 * kSecondUs, hash_of('b'));
    const auto withdrawn = slot("slot-withdrawn", kT0 + 30 * kSecondUs, hash_of('c'));
    const auto moved = slot("slot-moved", kT0 + 40 * kSecondUs, hash_of('d'));
    store.replace_timeline(timeline("timeline-1", {done, started, withdrawn, moved}));
    CHECK(store.timeline_hash() == "timeline-1");

    store.mark_started(done.slot_id(), kT0 + 10 * kSecondUs);
    store.confirm(done, wire::PLAYED, "", kT0 + 10 * kSecondUs, kT0 + 12 * kSecondUs);
    store.mark_started(started.slot_id(), kT0 + 20 * kSecondUs);

    // The update omits the done, started and withdrawn plays, moves one and adds one. It also
    // names the done play again with another start, which must not make it pending again.
    auto moved_later = moved;
    moved_later.set_start_us(kT0 + 50 * kSecondUs);
    const auto added = slot("slot-added", kT0 + 45 * kSecondUs, hash_of('e'));
    auto done_again = done;
    done_again.set_start_us(kT0 + 60 * kSecondUs);
    store.replace_timeline(timeline("timeline-2", {moved_later, added, done_again}));

    CHECK(store.timeline_hash() == "timeline-2");
    CHECK(state_on_disk(file, "slot-done") == std::optional<std::string>("done"));
    CHECK(start_on_disk(file, "slot-done") == std::optional<std::int64_t>(done.start_us()));
    CHECK(state_on_disk(file, "slot-started") == std::optional<std::string>("started"));
    CHECK_FALSE(state_on_disk(file, "slot-withdrawn").has_value());
    CHECK(state_on_disk(file, "slot-moved") == std::optional<std::string>("pending"));
    CHECK(start_on_disk(file, "slot-moved") == std::optional<std::int64_t>(kT0 + 50 * kSecondUs));
    CHECK(state_on_disk(file, "slot-added") == std::optional<std::string>("pending"));

    auto next = store.next_pending();
    REQUIRE(next.has_value());
    CHECK(next->slot_id() == "slot-added");
    CHECK(needed_hashes(store) == std::vector<std::string>{hash_of('e'), hash_of('d')});
    // The started play kept its state through the update: a restart still reports it.
    CHECK(store.recover_interrupted() == 1);

    // An empty timeline withdraws every pending play but keeps the history.
    store.replace_timeline(timeline("timeline-3", {}));
    CHECK(store.timeline_hash() == "timeline-3");
    CHECK_FALSE(store.next_pending().has_value());
    CHECK(needed_hashes(store).empty());
    CHECK(state_on_disk(file, "slot-done") == std::optional<std::string>("done"));
    CHECK(state_on_disk(file, "slot-started") == std::optional<std::string>("done"));
}

TEST_CASE("next_pending returns the earliest pending play", "[node][store]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    CHECK_FALSE(store.next_pending().has_value());

    const auto late = slot("slot-late", kT0 + 300 * kSecondUs, hash_of('a'));
    const auto early = slot("slot-early", kT0 + 100 * kSecondUs, hash_of('b'));
    const auto middle = slot("slot-middle", kT0 + 200 * kSecondUs, hash_of('c'));
    store.replace_timeline(timeline("t", {late, early, middle}));

    auto next = store.next_pending();
    REQUIRE(next.has_value());
    CHECK(next->slot_id() == "slot-early");
    // Every field comes back as it was stored.
    CHECK(next->SerializeAsString() == early.SerializeAsString());

    store.mark_started("slot-early", kT0 + 100 * kSecondUs);  // started is no longer pending
    next = store.next_pending();
    REQUIRE(next.has_value());
    CHECK(next->slot_id() == "slot-middle");

    store.confirm(middle, wire::SKIPPED, "late", 0, 0);
    next = store.next_pending();
    REQUIRE(next.has_value());
    CHECK(next->slot_id() == "slot-late");

    store.confirm(late, wire::PLAYED, "", kT0 + 300 * kSecondUs, kT0 + 302 * kSecondUs);
    CHECK_FALSE(store.next_pending().has_value());
}

TEST_CASE("recover_interrupted confirms a started play as failed and does not replay it",
          "[node][store]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    const auto interrupted = slot("slot-interrupted", kT0 + 10 * kSecondUs, hash_of('a'));
    const auto ahead = slot("slot-ahead", kT0 + 20 * kSecondUs, hash_of('b'));
    const std::int64_t started_at = kT0 + 10 * kSecondUs + 1234;
    {
        NodeStore store(file);
        store.replace_timeline(timeline("t", {interrupted, ahead}));
        store.mark_started(interrupted.slot_id(), started_at);
        // The agent dies here: the store is closed without a confirmation.
    }
    NodeStore store(file);
    CHECK(store.outbox_size() == 0);
    CHECK(store.recover_interrupted() == 1);

    auto out = store.outbox(10);
    REQUIRE(out.size() == 1);
    CHECK(out[0].slot_id() == "slot-interrupted");
    CHECK(out[0].outcome() == wire::FAILED);
    CHECK(out[0].reason() == "agent-restarted");
    CHECK(out[0].planned_start_us() == interrupted.start_us());
    CHECK(out[0].actual_start_us() == started_at);
    CHECK(out[0].campaign_id() == interrupted.campaign_id());

    auto next = store.next_pending();
    REQUIRE(next.has_value());
    CHECK(next->slot_id() == "slot-ahead");  // the interrupted play is not played again
    CHECK(state_on_disk(file, "slot-interrupted") == std::optional<std::string>("done"));

    // A second recovery (another restart) finds nothing and queues nothing more.
    CHECK(store.recover_interrupted() == 0);
    CHECK(store.outbox_size() == 1);
}

TEST_CASE("needed_media lists the hashes of pending plays once each, soonest first",
          "[node][store]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    CHECK(needed_hashes(store).empty());
    const auto h1 = hash_of('1');
    const auto h2 = hash_of('2');
    const auto h3 = hash_of('3');
    const auto h4 = hash_of('4');
    const auto played = slot("slot-0", kT0 + 50 * kSecondUs, h4);
    store.replace_timeline(timeline(
        "t", {slot("slot-1", kT0 + 300 * kSecondUs, h2), slot("slot-2", kT0 + 100 * kSecondUs, h1),
              slot("slot-3", kT0 + 500 * kSecondUs, h1), slot("slot-4", kT0 + 200 * kSecondUs, h3),
              slot("slot-5", kT0 + 600 * kSecondUs, h2), played}));
    store.confirm(played, wire::PLAYED, "", kT0 + 50 * kSecondUs, kT0 + 52 * kSecondUs);

    // h4 is needed by no pending play any more; h1 is needed first (at 100 s), h3 next, h2 last.
    CHECK(needed_hashes(store) == std::vector<std::string>{h1, h3, h2});
    auto needs = store.needed_media(kT0 + 1000 * kSecondUs);
    REQUIRE(needs.size() == 3);
    CHECK(needs[0].needed_at_us == kT0 + 100 * kSecondUs);
    CHECK(needs[2].needed_at_us == kT0 + 300 * kSecondUs);

    store.mark_started("slot-2", kT0 + 100 * kSecondUs);  // h1's first play no longer waits
    CHECK(needed_hashes(store) == std::vector<std::string>{h3, h2, h1});

    // Only plays before the prefetch horizon count: h2 at 300 s is beyond a 250 s horizon.
    std::vector<std::string> soon;
    for (const auto& n : store.needed_media(kT0 + 250 * kSecondUs)) {
        soon.push_back(n.media_hash);
    }
    CHECK(soon == std::vector<std::string>{h3});
}

TEST_CASE("opening a store where no file can be created names the file", "[node][store]") {
    TempDir dir;
    const fs::path blocker = dir / "not-a-directory";
    loa::test::write_file(blocker, "x");
    const fs::path file = blocker / "node.db";
    try {
        NodeStore store(file);
        FAIL("a store was opened below a regular file");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains(file.string()));
    }
}
