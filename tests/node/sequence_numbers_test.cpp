// Sequence numbers that survive a re-imaged device: WELCOME says the highest number the
// controller holds for the node; a store never welcomed numbers above it (moving what it queued
// offline), a store welcomed before only moves its counter. Real node stores, and an agent
// against a fake controller on a real ROUTER socket.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "agent_fixture.hpp"
#include "loa/node/node_store.hpp"
#include "test_support.hpp"

using loa::node::NodeStore;
using loa::test::agent_options;
using loa::test::FakeController;
using loa::test::make_slot;
using loa::test::RunningAgent;
using loa::test::TempDir;
using loa::test::wall_now_us;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::int64_t kSecondUs = 1'000'000;

wire::Slot past_slot(const std::string& id, std::int64_t start_us) {
    return make_slot(id, std::string(64, 'a'), 1000, start_us, 2 * kSecondUs);
}

wire::ScheduleUpdate timeline_of(const std::vector<wire::Slot>& slots) {
    wire::ScheduleUpdate update;
    update.set_timeline_hash(std::string(64, '1'));
    for (const auto& s : slots) {
        *update.add_slots() = s;
    }
    return update;
}

/// Plays `ids` offline: each confirmed skipped, in this order.
void play_offline(NodeStore& store, const std::vector<std::string>& ids) {
    std::vector<wire::Slot> slots;
    const std::int64_t t0 = wall_now_us() - 3600 * kSecondUs;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        slots.push_back(past_slot(ids[i], t0 + static_cast<std::int64_t>(i) * 60 * kSecondUs));
    }
    store.replace_timeline(timeline_of(slots));
    for (const auto& s : slots) {
        store.confirm(s, wire::SKIPPED, "late", 0, 0);
    }
}

std::vector<std::uint64_t> seqs_of(const std::vector<wire::Confirmation>& confirmations) {
    std::vector<std::uint64_t> seqs;
    for (const auto& c : confirmations) {
        seqs.push_back(c.seq());
    }
    return seqs;
}

std::vector<std::string> slots_of(const std::vector<wire::Confirmation>& confirmations) {
    std::vector<std::string> ids;
    for (const auto& c : confirmations) {
        ids.push_back(c.slot_id());
    }
    return ids;
}

}  // namespace

TEST_CASE("a store never welcomed moves what it queued offline above the controller's numbers",
          "[node][store][seq]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    {
        NodeStore store(file);
        CHECK_FALSE(store.welcomed_before());
        play_offline(store, {"a", "b", "c"});
        REQUIRE(seqs_of(store.outbox(10)) == std::vector<std::uint64_t>{1, 2, 3});

        const auto numbering = store.on_welcome(1000, wall_now_us());
        CHECK(numbering.first_welcome);
        CHECK(numbering.renumbered == 3);
        CHECK(numbering.before == 3);
        CHECK(numbering.after == 1003);
        CHECK(store.welcomed_before());
        const auto out = store.outbox(10);
        CHECK(seqs_of(out) == std::vector<std::uint64_t>{1001, 1002, 1003});
        CHECK(slots_of(out) == std::vector<std::string>{"a", "b", "c"});
        CHECK(store.last_seq() == 1003);
    }
    // Durable: reopened, the numbers are the new ones and the next goes on from them.
    NodeStore reopened(file);
    CHECK(reopened.welcomed_before());
    CHECK(seqs_of(reopened.outbox(10)) == std::vector<std::uint64_t>{1001, 1002, 1003});
    const auto d = past_slot("d", wall_now_us());
    reopened.replace_timeline(timeline_of({d}));
    reopened.confirm(d, wire::SKIPPED, "late", 0, 0);
    CHECK(seqs_of(reopened.outbox(10)).back() == 1004);
    // A second WELCOME is not a first one: nothing moves again.
    const auto again = reopened.on_welcome(1000, wall_now_us());
    CHECK_FALSE(again.first_welcome);
    CHECK(again.renumbered == 0);
    CHECK(seqs_of(reopened.outbox(10)) == std::vector<std::uint64_t>{1001, 1002, 1003, 1004});
}

TEST_CASE(
    "a store welcomed before renumbers nothing and moves only its counter above the "
    "controller's",
    "[node][store][seq]") {
    TempDir dir;
    NodeStore store(dir / "node.db");
    CHECK(store.on_welcome(0, wall_now_us()).first_welcome);
    play_offline(store, {"a", "b"});
    REQUIRE(seqs_of(store.outbox(10)) == std::vector<std::uint64_t>{1, 2});

    SECTION("a highest number at or above its next one moves the counter for new ones") {
        const auto numbering = store.on_welcome(40, wall_now_us());
        CHECK_FALSE(numbering.first_welcome);
        CHECK(numbering.renumbered == 0);
        CHECK(numbering.before == 2);
        CHECK(numbering.after == 40);
        CHECK(seqs_of(store.outbox(10)) == std::vector<std::uint64_t>{1, 2});
        const auto c = past_slot("c", wall_now_us());
        store.replace_timeline(timeline_of({c}));
        store.confirm(c, wire::SKIPPED, "late", 0, 0);
        CHECK(seqs_of(store.outbox(10)) == std::vector<std::uint64_t>{1, 2, 41});
    }
    SECTION("a lower or equal highest number changes nothing") {
        const std::uint64_t told = GENERATE(0u, 1u, 2u);
        const auto numbering = store.on_welcome(told, wall_now_us());
        CHECK(numbering.after == 2);
        CHECK(store.last_seq() == 2);
    }
    SECTION("a number no node assigns (2^62 or more) is not taken in") {
        const auto numbering = store.on_welcome(std::uint64_t{1} << 62, wall_now_us());
        CHECK(numbering.out_of_range);
        CHECK(numbering.after == 2);
    }
}

TEST_CASE("a store of an older agent that held a timeline counts as welcomed before",
          "[node][store][seq][migration]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    {
        NodeStore store(file);
        store.replace_timeline(timeline_of({past_slot("a", wall_now_us())}));
    }
    {
        // As an agent before schema 3 left it: no record of its welcomes.
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("DELETE FROM meta WHERE key = 'welcomed'");
        db.exec("PRAGMA user_version = 2");
    }
    NodeStore migrated(file);
    CHECK(migrated.welcomed_before());
    CHECK_FALSE(migrated.on_welcome(500, wall_now_us()).first_welcome);
}

TEST_CASE("a re-imaged node's first WELCOME numbers its offline plays above the controller's",
          "[agent][seq]") {
    TempDir dir;
    FakeController controller(dir.path());
    const fs::path data = dir / "node";
    // The device played offline from a timeline it got before any WELCOME: three plays.
    {
        NodeStore store(data / "node.db");
        play_offline(store, {"a", "b", "c"});
    }
    controller.highest_seq = 500;  // what the controller holds from before the re-imaging
    RunningAgent agent(agent_options(data, controller));

    REQUIRE(loa::test::wait_until([&] { return controller.confirmations().size() >= 3; }, 8s));
    const auto got = controller.confirmations();
    CHECK(seqs_of(got) == std::vector<std::uint64_t>{501, 502, 503});
    CHECK(slots_of(got) == std::vector<std::string>{"a", "b", "c"});

    // A play after the WELCOME numbers on from there.
    controller.set_timeline({past_slot("d", wall_now_us() - 30 * kSecondUs)});
    auto d = controller.wait_confirmation("d", 8s);
    REQUIRE(d);
    CHECK(d->seq() == 504);
    CHECK(
        controller.wait_heartbeat([](const wire::Heartbeat& hb) { return hb.last_seq() == 504; }));
    CHECK(controller.duplicate_reports() == 0);
}

TEST_CASE("a node welcomed before keeps its numbers and numbers new plays above a higher one",
          "[agent][seq]") {
    TempDir dir;
    FakeController controller(dir.path());
    const fs::path data = dir / "node";
    {
        NodeStore store(data / "node.db");
        store.on_welcome(0, wall_now_us());
        play_offline(store, {"a", "b"});  // numbered 1 and 2, perhaps sent already
    }
    controller.highest_seq = 40;  // e.g. the store was restored from an older copy
    RunningAgent agent(agent_options(data, controller));

    REQUIRE(loa::test::wait_until([&] { return controller.confirmations().size() >= 2; }, 8s));
    CHECK(seqs_of(controller.confirmations()) == std::vector<std::uint64_t>{1, 2});
    controller.set_timeline({past_slot("c", wall_now_us() - 30 * kSecondUs)});
    auto c = controller.wait_confirmation("c", 8s);
    REQUIRE(c);
    CHECK(c->seq() == 41);
    agent.stop();
    CHECK(NodeStore(data / "node.db").last_seq() == 41);
}
