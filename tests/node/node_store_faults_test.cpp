// The node store under faults of its file (issue 18): a disk that fills (a real tmpfs of a few
// MiB in a private mount namespace), a WAL that must not fill a small card, and a database
// damaged on disk, found at open or while running.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
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

/// A tmpfs of `mib` MiB mounted on a fresh directory, in this test process's own mount namespace
/// (made once; the host's mounts are never touched). Needs root, as deploy/test.sh runs.
class SmallDisk {
  public:
    explicit SmallDisk(int mib) {
        static const bool isolated = [] {
            return ::unshare(CLONE_NEWNS) == 0 &&
                   ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
        }();
        INFO("a private mount namespace needs root: " << std::strerror(errno));
        REQUIRE(isolated);
        const std::string options = "size=" + std::to_string(mib) + "m";
        INFO("mount tmpfs: " << std::strerror(errno));
        REQUIRE(::mount("loa-test-disk", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0);
    }
    ~SmallDisk() { ::umount2(dir_.path().c_str(), MNT_DETACH); }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;

    const fs::path& path() const { return dir_.path(); }

    /// Writes a ballast file until the disk says it is full; returns its size.
    std::uint64_t fill() {
        std::ofstream out(dir_ / "ballast", std::ios::binary);
        const std::string block(64 * 1024, '\x5a');
        std::uint64_t written = 0;
        while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
            out.flush();
            if (!out) {
                break;
            }
            written += block.size();
        }
        return written;
    }
    void free_up() { fs::remove(dir_ / "ballast"); }

  private:
    TempDir dir_;
};

wire::Slot slot(const std::string& id, std::int64_t start_us) {
    wire::Slot s;
    s.set_slot_id(id);
    s.set_campaign_id("phong-chong-thien-tai");
    s.set_item_id("ban-tin");
    s.set_media_hash(std::string(64, 'a'));
    s.set_media_size(88'244);
    s.set_start_us(start_us);
    s.set_duration_us(2 * kSecondUs);
    s.set_title("Bản tin " + id);
    return s;
}

/// Plays play-1000, play-1001 … `spacing_us` apart; from the `first`th on (the controller leaves
/// out plays whose confirmation it holds).
wire::ScheduleUpdate timeline(const std::string& hash, int plays, std::int64_t spacing_us,
                              int first = 0) {
    wire::ScheduleUpdate update;
    update.set_timeline_hash(hash);
    update.set_generated_us(kT0);
    for (int i = first; i < plays; ++i) {
        *update.add_slots() = slot("play-" + std::to_string(1000 + i), kT0 + i * spacing_us);
    }
    return update;
}

std::vector<std::uint64_t> seqs_of(const std::vector<wire::Confirmation>& confirmations) {
    std::vector<std::uint64_t> out;
    for (const auto& c : confirmations) {
        out.push_back(c.seq());
    }
    return out;
}

std::vector<fs::path> damaged_copies(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.starts_with("node.db.damaged-") && !name.ends_with("-wal") &&
            !name.ends_with("-shm")) {
            out.push_back(e.path());
        }
    }
    return out;
}

/// The pages of `table` and its indexes, read from dbstat before the file is damaged.
std::vector<std::int64_t> pages_of(const fs::path& db_file, const std::string& table) {
    SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT pageno FROM dbstat WHERE name = ?1 OR name IN (SELECT name FROM "
                        "sqlite_master WHERE type = 'index' AND tbl_name = ?1) ORDER BY pageno");
    q.bind(1, table);
    std::vector<std::int64_t> pages;
    while (q.executeStep()) {
        pages.push_back(q.getColumn(0).getInt64());
    }
    return pages;
}

/// Overwrites whole pages of a closed database file with junk.
void junk_pages(const fs::path& db_file, const std::vector<std::int64_t>& pages) {
    std::fstream f(db_file, std::ios::binary | std::ios::in | std::ios::out);
    const std::string junk(4096, '\xa5');
    for (auto page : pages) {
        f.seekp((page - 1) * 4096);
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
}

void play_and_confirm(NodeStore& store, const std::string& id, std::int64_t start_us) {
    store.mark_started(id, start_us);
    store.confirm(slot(id, start_us), wire::PLAYED, "", start_us, start_us + 2 * kSecondUs);
}

}  // namespace

TEST_CASE(
    "on a full disk confirmations are held in memory, reported, and written when room returns",
    "[node_store][faults]") {
    SmallDisk disk(2);
    const fs::path file = disk.path() / "node.db";
    {
        NodeStore store(file);
        store.replace_timeline(timeline("tl-1", 20, 60 * kSecondUs));
        store.on_welcome(0, kT0);
        play_and_confirm(store, "play-1000", kT0);
        store.acknowledge({1});
    }
    // Full before the agent starts again: its WAL, cut back when it stopped, cannot grow.
    REQUIRE(disk.fill() > 0);
    NodeStore store(file);
    CHECK_FALSE(store.health().full);
    play_and_confirm(store, "play-1001", kT0 + 60 * kSecondUs);
    play_and_confirm(store, "play-1002", kT0 + 120 * kSecondUs);
    store.confirm(slot("play-1003", kT0 + 180 * kSecondUs), wire::SKIPPED, "late", 0, 0);

    // Held, numbered on from the file's counter, sent like any other, never played again.
    const auto health = store.health();
    CHECK(health.full);
    CHECK(health.held == 3);
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{2, 3, 4});
    CHECK(store.outbox_size() == 3);
    CHECK(store.last_seq() == 4);
    REQUIRE(store.next_pending());
    CHECK(store.next_pending()->slot_id() == "play-1004");
    CHECK(store.pending_slots().size() == 16);
    CHECK_FALSE(store.flush());  // still no room

    // One acked from memory: gone for good, its number never handed out again.
    store.acknowledge({2});
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{3, 4});

    disk.free_up();
    CHECK(store.flush());
    CHECK_FALSE(store.health().full);
    CHECK(store.health().held == 0);
    play_and_confirm(store, "play-1004", kT0 + 240 * kSecondUs);
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{3, 4, 5});

    // What was held is on disk now, with its play states.
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT group_concat(seq) FROM (SELECT seq FROM outbox ORDER BY seq)")
              .getString() == "3,4,5");
    CHECK(db.execAndGet("SELECT count(*) FROM slots WHERE state = 'done'").getInt() == 5);
    CHECK(db.execAndGet("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").getInt() == 5);
}

TEST_CASE("an emergency played on a full disk counts its plays and ends, and a failed ack waits",
          "[node_store][faults]") {
    SmallDisk disk(2);
    const fs::path file = disk.path() / "node.db";
    {
        NodeStore store(file);
        store.on_welcome(0, kT0);
        wire::Emergency e;
        e.set_emergency_id("kc-1");
        e.set_media_hash(std::string(64, 'b'));
        e.set_repeat(2);
        wire::CommandResult result;
        result.set_command_id(7);
        result.set_ok(true);
        store.record_command(result, kT0, &e);
        play_and_confirm(store, "x", kT0);  // no such slot: only a confirmation (seq 1)
    }
    REQUIRE(disk.fill() > 0);
    NodeStore store(file);
    auto active = store.active_emergency();
    REQUIRE(active);
    for (int n = 1; n <= 2; ++n) {
        wire::Slot play;
        play.set_slot_id("emergency:kc-1:" + std::to_string(n));
        wire::Confirmation c;
        c.set_outcome(wire::PLAYED);
        c.set_emergency_id("kc-1");
        c.set_actual_start_us(kT0 + n);
        c.set_actual_end_us(kT0 + n + 1);
        store.confirm_emergency_play(play, c, n == 2);
        if (n == 1) {
            REQUIRE(store.active_emergency());
            CHECK(store.active_emergency()->plays_done == 1);
        }
    }
    CHECK_FALSE(store.active_emergency());  // ended in memory: it does not play a third time
    CHECK(store.emergency_state("kc-1") == "done");
    // An ack whose DELETE cannot be written is not sent again meanwhile.
    store.acknowledge({1});
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{2, 3});
    disk.free_up();
    REQUIRE(store.flush());
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT plays_done || ' ' || state FROM emergencies").getString() ==
          "2 done");
    CHECK(db.execAndGet("SELECT group_concat(seq) FROM (SELECT seq FROM outbox ORDER BY seq)")
              .getString() == "2,3");
}

TEST_CASE("the WAL of a node store stays small however big the timelines it takes",
          "[node_store][faults]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    NodeStore store(file);
    std::uintmax_t largest = 0;
    for (int round = 0; round < 6; ++round) {
        // 2,000 plays a timeline: SQLite's defaults let the WAL reach 4 MiB and stay there.
        store.replace_timeline(
            timeline("tl-" + std::to_string(round), 2000, (round + 1) * kSecondUs));
        play_and_confirm(store, "play-" + std::to_string(1000 + round), kT0);
        largest = std::max(largest, fs::file_size(file.string() + "-wal"));
    }
    INFO("largest WAL: " << largest << " bytes");
    CHECK(largest <= 2u << 20);
    CHECK(fs::file_size(file.string() + "-wal") <= 1u << 20);
}

TEST_CASE("a store damaged on disk is quarantined and its unacked confirmations salvaged",
          "[node_store][faults]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    {
        NodeStore store(file);
        store.on_welcome(40, kT0);  // numbers from 41
        // Many plays, so that the timeline fills pages of its own in the middle of the file.
        store.replace_timeline(timeline("tl-1", 600, 60 * kSecondUs));
        for (int i = 0; i < 5; ++i) {
            play_and_confirm(store, "play-" + std::to_string(1000 + i), kT0 + i * 60 * kSecondUs);
        }
        store.acknowledge({41});
        store.set_setting("volume", "35");
        wire::CommandResult result;
        result.set_command_id(9);
        result.set_ok(true);
        result.set_message("volume 35 %");
        store.record_command(result, kT0);
    }
    junk_pages(file, pages_of(file, "slots"));
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
        CHECK_THROWS(db.execAndGet("SELECT count(*) FROM slots WHERE title != ''"));
    }

    NodeStore store(file);
    const auto salvage = store.last_salvage();
    REQUIRE(salvage);
    CHECK(salvage->confirmations == 4);
    CHECK(fs::exists(salvage->quarantined));
    CHECK(damaged_copies(dir.path()).size() == 1);
    CHECK(store.health().rebuilt_us > 0);
    CHECK(store.rebuilds() == 1);
    // The timeline comes back from the controller; what it holds keeps its numbers, the volume
    // and the command's result stay.
    CHECK(store.timeline_hash().empty());
    CHECK_FALSE(store.next_pending());
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{42, 43, 44, 45});
    CHECK(store.setting("volume") == "35");
    REQUIRE(store.command_result(9));
    CHECK(store.command_result(9)->message() == "volume 35 %");

    // Offline plays before the WELCOME move above what the controller holds; salvaged ones
    // keep theirs.
    play_and_confirm(store, "play-1005", kT0);
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{42, 43, 44, 45});
    const auto numbering = store.on_welcome(47, kT0);
    CHECK(numbering.renumbered == 1);
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{42, 43, 44, 45, 48});
    // The controller sends the timeline again, without the play whose confirmation it holds:
    // plays whose confirmations wait in the outbox stay done.
    store.replace_timeline(timeline("tl-1", 600, 60 * kSecondUs, 1));
    REQUIRE(store.next_pending());
    CHECK(store.next_pending()->slot_id() == "play-1006");
}

TEST_CASE(
    "a truncated store or one that is not a database at all is replaced, keeping three copies",
    "[node_store][faults]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    {
        NodeStore store(file);
        store.on_welcome(0, kT0);
        store.replace_timeline(timeline("tl-1", 600, 60 * kSecondUs));
        for (int i = 0; i < 20; ++i) {
            play_and_confirm(store, "play-" + std::to_string(1000 + i), kT0 + i * 60 * kSecondUs);
        }
    }
    fs::resize_file(file, fs::file_size(file) / 2);
    {
        NodeStore store(file);
        REQUIRE(store.last_salvage());
        INFO("salvaged " << store.last_salvage()->confirmations << ", unreadable "
                         << store.last_salvage()->unreadable);
        // The outbox's 20 rows share a page near the start of the file: all read back.
        CHECK(store.last_salvage()->confirmations == 20);
        // Whatever was salvaged keeps its number, and the counter never goes back.
        play_and_confirm(store, "after", kT0);
        store.on_welcome(20, kT0);
        CHECK(store.last_seq() >= 21);
    }
    for (int i = 0; i < 4; ++i) {
        loa::test::write_file(file, std::string(8192, static_cast<char>('a' + i)));
        NodeStore store(file);
        CHECK(store.last_salvage());
        CHECK(store.outbox_size() == 0);
    }
    CHECK(damaged_copies(dir.path()).size() == 3);
}

/// Sets the rowid of the last cell of a table's leaf page to 0 (its one-byte varint), as a
/// flipped byte on a card might: "the row after N" then finds that row again and again.
void zero_last_rowid(const fs::path& db_file, std::int64_t page) {
    std::fstream f(db_file, std::ios::binary | std::ios::in | std::ios::out);
    std::string bytes(4096, '\0');
    f.seekg((page - 1) * 4096);
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(static_cast<unsigned char>(bytes[0]) == 0x0d);  // a table's leaf page
    const int cells =
        (static_cast<unsigned char>(bytes[3]) << 8) | static_cast<unsigned char>(bytes[4]);
    REQUIRE(cells >= 2);
    const std::size_t pointer = 8 + 2 * static_cast<std::size_t>(cells - 1);
    std::size_t at = (static_cast<unsigned char>(bytes[pointer]) << 8) |
                     static_cast<unsigned char>(bytes[pointer + 1]);
    while (static_cast<unsigned char>(bytes[at]) & 0x80) {  // the payload's size
        ++at;
    }
    ++at;
    REQUIRE(static_cast<unsigned char>(bytes[at]) < 0x80);  // a one-byte rowid
    bytes[at] = 0;
    f.seekp((page - 1) * 4096);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST_CASE("a store whose rows lead back to an earlier row is salvaged and not read for ever",
          "[node_store][faults]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    {
        NodeStore store(file);
        store.on_welcome(0, kT0);
        for (int i = 0; i < 20; ++i) {
            play_and_confirm(store, "play-" + std::to_string(1000 + i), kT0 + i * 60 * kSecondUs);
        }
    }
    const auto pages = pages_of(file, "outbox");
    REQUIRE_FALSE(pages.empty());
    zero_last_rowid(file, pages.front());
    // And something SQLite notices, so the store is judged damaged and salvaged.
    junk_pages(file, pages_of(file, "slots"));
    // Before the fix this constructor never returned: the forward pass met row 0 after row 19
    // and started again from it.
    NodeStore store(file);
    REQUIRE(store.last_salvage());
    INFO("salvaged " << store.last_salvage()->confirmations << ", unreadable "
                     << store.last_salvage()->unreadable);
    CHECK(store.last_salvage()->confirmations >= 19);
    CHECK(damaged_copies(dir.path()).size() == 1);
}

TEST_CASE("a store found damaged while running is rebuilt, and the confirmations go on",
          "[node_store][faults]") {
    TempDir dir;
    const fs::path file = dir / "node.db";
    NodeStore store(file);
    store.on_welcome(0, kT0);
    store.replace_timeline(timeline("tl-1", 600, 60 * kSecondUs));
    play_and_confirm(store, "play-1000", kT0);
    play_and_confirm(store, "play-1001", kT0 + 60 * kSecondUs);
    // Its pages checkpointed into the file, then damaged under the running store; another
    // connection's write makes it read them again, as it would after a restart of its cache.
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    junk_pages(file, pages_of(file, "slots"));
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("INSERT INTO meta VALUES ('poke', '1')");
    }
    CHECK_FALSE(store.next_pending());  // found damaged: a fresh store, no timeline yet
    CHECK(store.rebuilds() == 1);
    CHECK(damaged_copies(dir.path()).size() == 1);
    play_and_confirm(store, "play-1002", kT0 + 120 * kSecondUs);
    // The numbers this store handed out may have been sent: kept, and the next follows them.
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{1, 2});
    store.on_welcome(2, kT0);
    CHECK(seqs_of(store.outbox(200)) == std::vector<std::uint64_t>{1, 2, 3});
}
