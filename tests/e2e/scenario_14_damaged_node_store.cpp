// Scenario 14: a node's database damaged on disk (issue 18). A real node plays offline (the
// controller is down, so its confirmations wait in its outbox) and stops; its node.db is damaged
// (pages in the middle overwritten with junk, or the file cut in half) and the agent starts
// again: it quarantines the file, salvages the confirmations it can still read, starts a fresh
// store, gets its timeline again from the controller and plays on. Every play counts once.
#include <fstream>
#include <map>
#include <regex>

#include "scenario.hpp"

using namespace loa::e2e;

namespace {

constexpr int kSlots = 16;
constexpr std::int64_t kSpacingUs = 2'500'000;

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void book_many(Scenario& s, const std::string& node, const Bulletin& b, std::int64_t first_us) {
    SQLite::Database db(s.controller_db().string(), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    SQLite::Statement q(db,
                        "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, "
                        "title, start_us, duration_us) VALUES (?, ?, 'kho-hong', 'tone', ?, ?, ?, "
                        "?)");
    for (int i = 0; i < kSlots; ++i) {
        q.bind(1, node);
        q.bind(2, fmt::format("play-{:03}", i));
        q.bind(3, b.hash);
        q.bind(4, fmt::format("Thông báo {}", i));
        q.bind(5, static_cast<int64_t>(first_us + i * kSpacingUs));
        q.bind(6, static_cast<int64_t>(b.seconds * 1e6));
        q.exec();
        q.reset();
    }
}

/// Overwrites with junk every page of the node's timeline (its slots table and indexes), which
/// lie in the middle of the file, between the outbox's pages.
void junk_timeline_pages(const fs::path& db_file) {
    std::vector<std::int64_t> pages;
    {
        SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT pageno FROM dbstat WHERE name = 'slots' OR name IN (SELECT "
                            "name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'slots')");
        while (q.executeStep()) {
            pages.push_back(q.getColumn(0).getInt64());
        }
    }
    REQUIRE_FALSE(pages.empty());
    std::fstream f(db_file, std::ios::binary | std::ios::in | std::ios::out);
    const std::string junk(4096, '\xa5');
    for (auto page : pages) {
        f.seekp((page - 1) * 4096);
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
}

}  // namespace

TEST_CASE(
    "scenario 14: a node whose store is damaged on disk salvages its confirmations and plays "
    "on",
    "[e2e]") {
    const bool truncated = GENERATE(false, true);
    INFO((truncated ? "the file cut in half" : "junk over the pages in the middle"));
    Scenario s;
    const std::string id = "ta-van-14";
    s.add_node(id);
    const Bulletin tone = s.tone(1.0, 493.88);
    s.start_controller();
    s.start_node(id);
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({id}); }, 15s));
    const std::int64_t first = now_us() + 6'000'000;
    book_many(s, id, tone, first);
    bool ready = loa::test::wait_until(
        [&] {
            return s.node_scalar(id, "SELECT count(*) FROM slots") == kSlots &&
                   fs::exists(s.node_data(id) / "media" / tone.hash);
        },
        15s);
    E2E_REQUIRE(s, ready);

    // Offline, it plays and keeps its confirmations; then it stops and its file is damaged.
    REQUIRE(s.stop_controller() == 0);
    E2E_REQUIRE(s, loa::test::wait_until(
                       [&] { return s.node_scalar(id, "SELECT count(*) FROM outbox") >= 4; }, 30s));
    const int stopped = s.stop_node(id);
    E2E_REQUIRE(s, stopped == 0);
    const auto before = s.node_scalar(id, "SELECT count(*) FROM outbox").value_or(0);
    REQUIRE(before >= 4);
    if (truncated) {
        fs::resize_file(s.node_db(id), fs::file_size(s.node_db(id)) / 2);
    } else {
        junk_timeline_pages(s.node_db(id));
    }

    // It starts again: quarantined, salvaged, a fresh store.
    s.start_node(id);
    const fs::path log = s.logs() / (id + ".log");
    std::smatch found;
    const std::regex salvaged_line("salvaged ([0-9]+) unacked confirmation");
    E2E_REQUIRE(s, loa::test::wait_until(
                       [&] {
                           const std::string text = loa::test::read_file(log);
                           return std::regex_search(text, salvaged_line);
                       },
                       15s));
    const std::string text = loa::test::read_file(log);
    REQUIRE(std::regex_search(text, found, salvaged_line));
    const std::int64_t salvaged = std::stoll(found[1].str());
    E2E_CHECK(s, s.node_running(id));
    if (!truncated) {
        CHECK(salvaged == before);  // only the timeline's pages were hit
    }
    int quarantined = 0;
    for (const auto& e : fs::directory_iterator(s.node_data(id))) {
        quarantined += e.path().filename().string().starts_with("node.db.damaged-") &&
                       !e.path().filename().string().ends_with("-wal");
    }
    CHECK(quarantined == 1);

    // The controller back: the salvaged confirmations counted once, the timeline sent again,
    // and the node plays the rest.
    s.start_controller();
    const std::int64_t back = now_us();
    bool settled = loa::test::wait_until(
        [&] {
            return s.confirmed(id, "") == kSlots &&
                   s.node_scalar(id, "SELECT count(*) FROM outbox") == 0;
        },
        std::chrono::milliseconds(
            std::max<std::int64_t>(0, first + kSlots * kSpacingUs - back) / 1000 + 20'000));
    E2E_REQUIRE(s, settled);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(DISTINCT slot_id) FROM confirmations WHERE node_id = '{}'",
                     id)) == kSlots);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(*) FROM refused_confirmations WHERE node_id = '{}'", id)) == 0);
    // Played before the damage and salvaged: counted as played.
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(*) FROM confirmations WHERE node_id = '{}' AND outcome = "
                     "'played' AND seq <= {}",
                     id, before)) >= salvaged);
    // Plays due well after the controller came back aired, from the timeline it sent again.
    const auto due_after = s.controller_scalar(
        fmt::format("SELECT count(*) FROM slots WHERE node_id = '{}' AND start_us > {}", id,
                    back + 12'000'000));
    const auto played_after = s.controller_scalar(fmt::format(
        "SELECT count(*) FROM confirmations c JOIN slots s USING (node_id, slot_id) WHERE "
        "c.node_id = '{}' AND c.outcome = 'played' AND s.start_us > {}",
        id, back + 12'000'000));
    E2E_CHECK(s, due_after >= 2);
    E2E_CHECK(s, played_after == due_after);
    // Nothing aired twice, in either life of the store.
    std::map<std::string, int> aired;
    const std::string all = loa::test::read_file(log);
    const std::regex played_line("played (play-[0-9]+) for");
    for (auto it = std::sregex_iterator(all.begin(), all.end(), played_line);
         it != std::sregex_iterator(); ++it) {
        ++aired[(*it)[1].str()];
    }
    for (const auto& [slot, times] : aired) {
        INFO(slot);
        CHECK(times == 1);
    }
    E2E_CHECK(s, static_cast<int>(aired.size()) >= s.confirmed(id, "played"));
    E2E_CHECK(s, s.stop_node(id) == 0);
}
