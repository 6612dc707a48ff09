// Scenario 17: a node's disk fills while it plays (issue 18). loa-node runs on an 8 MiB tmpfs of
// its own, mounted over its data directory in a private mount namespace (the host's mounts are
// untouched); the test fills that disk through /proc/<pid>/root with a ballast file, then frees
// it. The agent stays up and plays on, its heartbeat says the disk is full, media it has no room
// for is not fetched, its WAL stays small, and every play is confirmed to the controller once.
#include <sys/statvfs.h>

#include <algorithm>
#include <fstream>

#include "scenario.hpp"

using namespace loa::e2e;

namespace {

constexpr int kSlots = 36;
constexpr std::int64_t kSpacingUs = 2'000'000;  // a 1 s tone every 2 s

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Books `count` plays of `b` on `node`, `spacing` apart from `first_us`, straight into the
/// controller's slots table, as booking would; the daemon notices and pushes them.
void book_many(Scenario& s, const std::string& node, const Bulletin& b, std::int64_t first_us,
               int count, const std::string& prefix) {
    SQLite::Database db(s.controller_db().string(), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    SQLite::Statement q(db,
                        "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, "
                        "title, start_us, duration_us) VALUES (?, ?, 'dia-day', 'tone', ?, ?, ?, "
                        "?)");
    for (int i = 0; i < count; ++i) {
        q.bind(1, node);
        q.bind(2, fmt::format("{}-{:03}", prefix, i));
        q.bind(3, b.hash);
        q.bind(4, fmt::format("Thông báo {}", i));
        q.bind(5, static_cast<int64_t>(first_us + i * kSpacingUs));
        q.bind(6, static_cast<int64_t>(b.seconds * 1e6));
        q.exec();
        q.reset();
    }
}

/// loa-node for `id` on a tmpfs of `mib` MiB mounted over its data directory, in a mount
/// namespace of its own (util-linux unshare execs the shell, which execs the agent: one pid).
std::unique_ptr<loa::test::Process> start_on_small_disk(Scenario& s, const std::string& id,
                                                        int mib) {
    const fs::path data = s.node_data(id);
    const fs::path identity = s.root() / (id + "-identity");
    fs::create_directories(identity);
    for (const char* file : {"node.key", "node.conf"}) {
        fs::copy_file(data / file, identity / file, fs::copy_options::overwrite_existing);
    }
    const std::string script = fmt::format(
        "mount -t tmpfs -o size={}m,mode=0700 loa-node-disk {} && cp -p {} {} {} && exec \"$0\" "
        "\"$@\"",
        mib, shell_quote(data.string()), shell_quote((identity / "node.key").string()),
        shell_quote((identity / "node.conf").string()), shell_quote(data.string()));
    return std::make_unique<loa::test::Process>(
        std::vector<std::string>{"/usr/bin/unshare", "--mount", "--propagation", "private",
                                 "/bin/sh", "-c", script, LOA_NODE_BIN, "--controller",
                                 s.endpoint(), "--data", data.string(), "--sink",
                                 "file:" + s.played(id).string()},
        s.logs() / (id + ".log"));
}

/// Writes a ballast file until the disk is full; returns its size.
std::uint64_t fill(const fs::path& ballast) {
    std::ofstream out(ballast, std::ios::binary);
    const std::string block(64 * 1024, '\x5a');
    std::uint64_t written = 0;
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
        written += block.size();
    }
    return written;
}

}  // namespace

TEST_CASE("scenario 17: a node whose disk fills plays on, says so, and loses or repeats nothing",
          "[e2e]") {
    Scenario s;
    const std::string id = "ta-van-13";
    s.add_node(id);
    const Bulletin tone = s.tone(1.0, 523.25);
    const Bulletin later = s.tone(1.0, 587.33);  // booked while the disk is full, for later
    s.start_controller();
    auto agent = start_on_small_disk(s, id, 8);
    // The node's disk, as the agent sees it.
    const fs::path disk =
        fs::path(fmt::format("/proc/{}/root", agent->pid())) / s.node_data(id).relative_path();
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({id}); }, 15s));
    E2E_REQUIRE(s, agent->running());
    struct statvfs small {};
    REQUIRE(::statvfs(disk.c_str(), &small) == 0);
    REQUIRE(small.f_blocks * small.f_frsize <= 8u << 20);  // the agent's own 8 MiB disk

    const std::int64_t first = now_us() + 5'000'000;
    book_many(s, id, tone, first, kSlots, "day");
    // (SQLite resolves /proc/<pid>/root to the host's "/": the node's database is read through
    // what the controller hears, its files through the path.)
    bool held = loa::test::wait_until([&] { return fs::exists(disk / "media" / tone.hash); }, 15s);
    E2E_REQUIRE(s, held);
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.confirmed(id, "") >= 4; }, 20s));

    // The disk fills.
    const std::uint64_t ballast = fill(disk / "ballast");
    const std::int64_t full_from = now_us();
    INFO("ballast of " << ballast << " bytes");
    REQUIRE(ballast > 0);
    auto store_full = [&] {
        return s.controller_scalar(
            fmt::format("SELECT store_full FROM node_status WHERE node_id = '{}'", id));
    };
    E2E_REQUIRE(s, loa::test::wait_until([&] { return store_full() == 1; }, 10s));
    auto status = s.loactl("node status --node " + id);
    INFO(status.dump(2));
    CHECK(status.at(0).at("heartbeat").at("store_full") == true);
    // A play booked now: its timeline cannot be stored (so it is not acked, and sent again),
    // and its media is not fetched, while the disk is full.
    book_many(s, id, later, now_us() + 3'600'000'000LL, 1, "later");

    // Full for 20 s: plays go on, confirmations reach the controller (from the WAL's room or
    // from memory), the WAL does not grow.
    std::int64_t most_held = 0;
    std::uintmax_t largest_wal = 0;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
        most_held = std::max(
            most_held,
            s.controller_scalar(fmt::format("SELECT confirmations_held FROM node_status WHERE "
                                            "node_id = '{}'",
                                            id))
                .value_or(0));
        std::error_code ec;
        largest_wal = std::max(largest_wal, fs::file_size(disk / "node.db-wal", ec));
        E2E_REQUIRE(s, agent->running());
        std::this_thread::sleep_for(250ms);
    }
    const std::int64_t full_until = now_us();
    E2E_CHECK(s, store_full() == 1);
    CHECK_FALSE(fs::exists(disk / "media" / later.hash));
    CHECK_FALSE(fs::exists(disk / "media" / (later.hash + ".part")));
    WARN("while full: at most " << most_held << " confirmation(s) held in memory; WAL at most "
                                << largest_wal << " bytes");
    CHECK(largest_wal <= 1u << 20);
    // Plays due while the disk was full aired and were confirmed played.
    const auto due_while_full = s.controller_scalar(fmt::format(
        "SELECT count(*) FROM slots WHERE node_id = '{}' AND slot_id LIKE 'day-%' AND start_us "
        "BETWEEN {} AND {}",
        id, full_from + 3'000'000, full_until - 4'000'000));
    const auto played_while_full = s.controller_scalar(fmt::format(
        "SELECT count(*) FROM confirmations c JOIN slots s USING (node_id, slot_id) WHERE "
        "c.node_id = '{}' AND c.outcome = 'played' AND s.start_us BETWEEN {} AND {}",
        id, full_from + 3'000'000, full_until - 4'000'000));
    E2E_CHECK(s, due_while_full >= 6);
    E2E_CHECK(s, played_while_full == due_while_full);

    // Room again: the heartbeat says so, what was held is written, the new media comes.
    fs::remove(disk / "ballast");
    E2E_CHECK(s, loa::test::wait_until([&] { return store_full() == 0; }, 10s));
    const std::int64_t last_end = first + kSlots * kSpacingUs;
    bool settled = loa::test::wait_until(
        [&] {
            return s.confirmed(id, "") == kSlots &&
                   s.controller_scalar(fmt::format(
                       "SELECT outbox_pending + confirmations_held FROM node_status WHERE "
                       "node_id = '{}'",
                       id)) == 0;
        },
        std::chrono::milliseconds(std::max<std::int64_t>(0, last_end - now_us()) / 1000 + 20'000));
    E2E_REQUIRE(s, settled);
    E2E_CHECK(s,
              loa::test::wait_until([&] { return fs::exists(disk / "media" / later.hash); }, 20s));

    // Every play once, under numbers 1..n with no gap; none kept apart.
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(DISTINCT slot_id) FROM confirmations WHERE node_id = '{}'",
                     id)) == kSlots);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(*) FROM refused_confirmations WHERE node_id = '{}'", id)) == 0);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT max(seq) FROM confirmations WHERE node_id = '{}'", id)) == kSlots);
    E2E_CHECK(s, s.confirmed(id, "played") >= kSlots - 2);
    E2E_CHECK(s, static_cast<int>(s.wavs(id).size()) == s.confirmed(id, "played"));
    E2E_CHECK(s, agent->running());
    CHECK(agent->terminate(10s) == 0);
}
