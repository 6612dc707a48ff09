// Scenario 08: power loss at any instant. The node is SIGKILLed at random moments, 50 times,
// while it plays and reports; afterwards the controller holds every confirmation exactly once
// and the node's sequence numbers have no gap.
#include <random>

#include "scenario.hpp"

using namespace loa::e2e;

namespace {

constexpr int kCycles = 50;
constexpr int kSlots = 64;
constexpr std::int64_t kSpacingUs = 1'250'000;  // a 0.8 s tone every 1.25 s

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Adds `count` plays of `b` to the node's timeline, `spacing` apart from `first_us`, straight
/// into the controller's slots table, as booking would; the daemon notices and pushes them.
void book_many(Scenario& s, const std::string& node, const Bulletin& b, std::int64_t first_us,
               int count) {
    SQLite::Database db(s.controller_db().string(), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    SQLite::Statement q(db,
                        "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, "
                        "title, start_us, duration_us) VALUES (?, ?, 'mat-dien', 'tone', ?, ?, ?, "
                        "?)");
    for (int i = 0; i < count; ++i) {
        q.bind(1, node);
        q.bind(2, fmt::format("power-{:03}", i));
        q.bind(3, b.hash);
        q.bind(4, fmt::format("Thông báo mất điện {}", i));
        q.bind(5, static_cast<int64_t>(first_us + i * kSpacingUs));
        q.bind(6, static_cast<int64_t>(b.seconds * 1e6));
        q.exec();
        q.reset();
    }
}

}  // namespace

TEST_CASE("scenario 08: 50 power cuts while playing and reporting lose and repeat nothing",
          "[e2e]") {
    Scenario s;
    const std::string node = "ta-van-01";
    s.add_node(node);
    const Bulletin tone = s.tone(0.8, 659.25);
    s.start_controller();
    s.start_node(node);
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({node}); }, 10s));

    const std::int64_t first = now_us() + 4'000'000;
    book_many(s, node, tone, first, kSlots);
    bool held = loa::test::wait_until(
        [&] {
            return s.node_scalar(node, "SELECT count(*) FROM slots").value_or(0) == kSlots &&
                   fs::exists(s.node_data(node) / "media" / tone.hash);
        },
        10s);
    E2E_REQUIRE(s, held);

    // Power cuts at random instants: during preroll, mid-play, mid-commit, mid-report.
    const auto seed = static_cast<std::uint32_t>(now_us());
    INFO("random seed " << seed);
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> alive_ms(150, 1400);
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        std::this_thread::sleep_for(std::chrono::milliseconds(alive_ms(random)));
        s.kill_node(node);
        s.start_node(node);
    }

    // Every slot ends confirmed once, whatever the cuts made of it; the outbox drains.
    const double left = s.seconds_to_last_play_end(node);
    bool settled = loa::test::wait_until(
        [&] {
            return s.confirmed(node, "") == kSlots &&
                   s.node_scalar(node, "SELECT count(*) FROM outbox") == 0;
        },
        std::chrono::milliseconds(static_cast<int>(left * 1000) + 20'000));
    E2E_REQUIRE(s, settled);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(DISTINCT slot_id) FROM confirmations WHERE node_id = '{}'",
                     node)) == kSlots);
    // No gap: the sequence numbers the controller holds, counted and refused alike, are exactly
    // 1..n, and n is the last the node assigned.
    const auto held_seqs = s.controller_scalar(fmt::format(
        "SELECT (SELECT count(*) FROM confirmations WHERE node_id = '{0}') + (SELECT count(*) "
        "FROM refused_confirmations WHERE node_id = '{0}')",
        node));
    const auto max_seq = s.controller_scalar(fmt::format(
        "SELECT max(seq) FROM (SELECT seq FROM confirmations WHERE node_id = '{0}' UNION ALL "
        "SELECT seq FROM refused_confirmations WHERE node_id = '{0}')",
        node));
    const auto min_seq = s.controller_scalar(
        fmt::format("SELECT min(seq) FROM confirmations WHERE node_id = '{}'", node));
    E2E_CHECK(s, min_seq == 1);
    E2E_CHECK(s, max_seq == held_seqs);
    E2E_CHECK(
        s, s.node_scalar(node, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'") == max_seq);
    // The cuts show up as what they were, never as airtime that did not happen: a play cut by
    // a cut is "failed: agent-restarted", never "played".
    const auto played = s.confirmed(node, "played");
    E2E_CHECK(s, played > 0);
    E2E_CHECK(s, s.controller_scalar(fmt::format(
                     "SELECT count(*) FROM confirmations WHERE node_id = '{}' AND outcome = "
                     "'played' AND actual_end_us <= actual_start_us",
                     node)) == 0);
    WARN("of " << kSlots << " plays: " << played << " played, " << s.confirmed(node, "failed")
               << " failed, " << s.confirmed(node, "skipped") << " skipped");
}
