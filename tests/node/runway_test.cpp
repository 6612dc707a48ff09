// Tests of the runway a heartbeat reports: until when the stored timeline and the verified media
// cover the node (Session::runway_end over a real store and media cache).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "loa/media/content_store.hpp"
#include "loa/node/node_store.hpp"
#include "loa/node/session.hpp"
#include "test_support.hpp"

using loa::node::NodeStore;
using loa::node::Session;
using loa::test::TempDir;
namespace wire = loa::wire;

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kT0 = 1'795'473'000LL * kSecondUs;  // 2026-11-24T05:30:00+07:00

struct Cache {
    TempDir tmp;
    NodeStore store{tmp / "node.db"};
    loa::media::ContentStore media{tmp / "media"};

    /// A file in the node's cache; returns its hash.
    std::string held(const std::string& content) {
        loa::test::write_file(tmp / "source", content);
        auto hash = media.put_file(tmp / "source");
        REQUIRE(hash);
        return *hash;
    }
    void timeline(const std::vector<std::pair<std::string, std::int64_t>>& plays,
                  std::int64_t horizon_end_us) {
        wire::ScheduleUpdate update;
        update.set_timeline_hash("t");
        update.set_horizon_end_us(horizon_end_us);
        int n = 0;
        for (const auto& [hash, start] : plays) {
            auto* s = update.add_slots();
            s->set_slot_id("s" + std::to_string(n++));
            s->set_media_hash(hash);
            s->set_start_us(start);
            s->set_duration_us(kSecondUs);
        }
        store.replace_timeline(update);
    }
};

}  // namespace

TEST_CASE("no timeline, no runway", "[node][runway]") {
    Cache c;
    CHECK(Session::runway_end(c.store, c.media) == 0);
}

TEST_CASE("with every file held the runway is the timeline's horizon", "[node][runway]") {
    Cache c;
    const auto a = c.held("a");
    const auto b = c.held("b");
    c.timeline({{a, kT0}, {b, kT0 + 60 * kSecondUs}, {a, kT0 + 120 * kSecondUs}},
               kT0 + 86'400 * kSecondUs);
    CHECK(Session::runway_end(c.store, c.media) == kT0 + 86'400 * kSecondUs);
}

TEST_CASE("the runway ends where the first play without its file starts", "[node][runway]") {
    Cache c;
    const auto a = c.held("a");
    const std::string absent(64, 'f');
    c.timeline({{a, kT0}, {absent, kT0 + 60 * kSecondUs}, {a, kT0 + 120 * kSecondUs}},
               kT0 + 86'400 * kSecondUs);
    CHECK(Session::runway_end(c.store, c.media) == kT0 + 60 * kSecondUs);

    // Once that play is done (failed, here) it no longer holds the runway back.
    auto pending = c.store.pending_slots();
    REQUIRE(pending.size() == 3);
    c.store.confirm(pending[1], wire::FAILED, "media-missing", 0, 0);
    CHECK(Session::runway_end(c.store, c.media) == kT0 + 86'400 * kSecondUs);
}

TEST_CASE("a timeline without a stated horizon runs to its last play's end", "[node][runway]") {
    Cache c;
    const auto a = c.held("a");
    c.timeline({{a, kT0}, {a, kT0 + 60 * kSecondUs}}, 0);
    CHECK(Session::runway_end(c.store, c.media) == kT0 + 61 * kSecondUs);
}
