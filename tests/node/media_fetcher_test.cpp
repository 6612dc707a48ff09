// Tests of the node's media prefetch against a hand-driven controller: explicit times, no sockets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_store.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/protocol/envelope.hpp"
#include "test_support.hpp"

using loa::node::FetchOptions;
using loa::node::MediaFetcher;
using loa::node::MediaNeed;
using loa::test::read_file;
using loa::test::TempDir;
using loa::test::write_file;
namespace media = loa::media;
namespace wire = loa::wire;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMsUs = 1'000;
constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kHourUs = 3600 * kSecondUs;
constexpr std::int64_t kT0 = 1'795'473'000LL * kSecondUs;  // 2026-11-24T05:30:00+07:00
constexpr std::uint32_t kChunk = 4096;
/// Eleven chunks, the last one short.
constexpr std::size_t kFileBytes = 10 * kChunk + 1000;

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 generator(seed);  // fixed seeds: a failure repeats
    std::uniform_int_distribution<int> byte(0, 255);
    std::string bytes(size, '\0');
    for (auto& b : bytes) {
        b = static_cast<char>(byte(generator));
    }
    return bytes;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
    std::string bytes = read_file(file);
    REQUIRE(offset < bytes.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x40);
    write_file(file, bytes);
}

/// A media file the fake controller holds, with the manifest it serves.
struct ServedFile {
    std::string hash;
    std::string bytes;
    media::ChunkManifest manifest;

    MediaNeed need(std::int64_t needed_at_us) const { return {hash, needed_at_us, bytes.size()}; }
    std::multiset<std::uint64_t> all_offsets() const {
        std::multiset<std::uint64_t> out;
        for (std::uint32_t i = 0; i < manifest.chunk_count(); ++i) {
            out.insert(manifest.offset_of(i));
        }
        return out;
    }
};

/// One MediaFetcher over a real node store, driven by hand: whatever it sends is collected in
/// `outbox` with the time it was sent, and answered from a real controller store when the test
/// says so, at the times the test chooses.
struct FetchHarness {
    struct Sent {
        wire::Envelope envelope;
        std::int64_t sent_us = 0;
    };

    TempDir dir;
    media::ContentStore controller{dir / "controller"};
    media::ContentStore store{dir / "node"};
    std::map<std::string, ServedFile> served;
    std::int64_t now = kT0;
    std::deque<Sent> outbox;  ///< requests not answered yet, oldest first
    std::vector<std::string> manifests_requested;
    std::vector<std::uint64_t> offsets_requested;  ///< every chunk request, in order
    int window_overruns = 0;  ///< chunk requests sent with `window()` already in flight
    std::function<void(wire::Chunk&)> tamper;  ///< changes answers on the wire, when set
    std::unique_ptr<MediaFetcher> fetcher;

    explicit FetchHarness(FetchOptions options = {}) { restart(options); }

    /// A new fetcher on the same store, as after a restart of the node; requests are forgotten.
    void restart(FetchOptions options = {}) {
        outbox.clear();
        manifests_requested.clear();
        offsets_requested.clear();
        fetcher = std::make_unique<MediaFetcher>(
            store, options, [this](wire::Envelope e) { return on_send(std::move(e)); });
    }

    bool on_send(wire::Envelope e) {
        if (e.has_manifest_request()) {
            manifests_requested.push_back(e.manifest_request().media_hash());
        } else if (e.has_chunk_request()) {
            offsets_requested.push_back(e.chunk_request().offset());
            if (in_flight() >= fetcher->window()) {
                ++window_overruns;
            }
        }
        outbox.push_back({std::move(e), now});
        return true;
    }

    /// Chunk requests of the file being fetched that are not answered yet.
    int in_flight() const {
        return static_cast<int>(std::count_if(outbox.begin(), outbox.end(), [&](const Sent& s) {
            return s.envelope.has_chunk_request() &&
                   s.envelope.chunk_request().media_hash() == fetcher->current();
        }));
    }

    /// A random file of `size` bytes in the controller's store (only `known` ones are served).
    ServedFile add_file(std::size_t size, unsigned seed, bool known = true) {
        fs::path source = dir / ("source-" + std::to_string(seed));
        write_file(source, random_bytes(size, seed));
        auto manifest = media::ChunkManifest::of_file(source, kChunk);
        REQUIRE(manifest.has_value());
        ServedFile file{manifest->media_hash, read_file(source), *manifest};
        if (known) {
            auto stored = controller.put_file(source);
            REQUIRE(stored.has_value());
            REQUIRE(*stored == file.hash);
            served[file.hash] = file;
        }
        return file;
    }

    void need(const std::vector<MediaNeed>& needs) {
        fetcher->set_needs(needs, now + 7 * 24 * kHourUs);
    }
    void tick() { fetcher->tick(now); }

    /// Answers one request as the controller would, `rtt_us` after it was sent.
    void answer(const Sent& sent, std::int64_t rtt_us) {
        now = std::max(now, sent.sent_us + rtt_us);
        const auto& e = sent.envelope;
        if (e.has_manifest_request()) {
            auto file = served.find(e.manifest_request().media_hash());
            if (file == served.end()) {
                fetcher->on_not_found(now);
                return;
            }
            wire::Manifest m;
            m.set_media_hash(file->second.hash);
            m.set_total_size(file->second.manifest.total_size);
            m.set_chunk_size(file->second.manifest.chunk_size);
            m.set_chunk_digests(file->second.manifest.packed_digests());
            fetcher->on_manifest(m, now);
        } else if (e.has_chunk_request()) {
            const auto& request = e.chunk_request();
            auto data =
                controller.read_chunk(request.media_hash(), request.offset(), request.length());
            REQUIRE(data.has_value());
            wire::Chunk chunk;
            chunk.set_media_hash(request.media_hash());
            chunk.set_offset(request.offset());
            chunk.set_total_size(served.at(request.media_hash()).bytes.size());
            chunk.set_data(*data);
            if (tamper) {
                tamper(chunk);
            }
            fetcher->on_chunk(chunk, now);
        }
    }

    Sent take_next() {
        REQUIRE_FALSE(outbox.empty());
        Sent next = std::move(outbox.front());
        outbox.pop_front();
        return next;
    }
    void answer_next(std::int64_t rtt_us) { answer(take_next(), rtt_us); }

    /// Answers requests oldest first until `done` holds or nothing is asked; no ticks.
    void answer_until(const std::function<bool()>& done, std::int64_t rtt_us) {
        while (!outbox.empty() && !done()) {
            answer_next(rtt_us);
        }
    }

    /// Answers everything, ticking whenever nothing is asked, until the fetcher is idle.
    void fetch_all(std::int64_t rtt_us) {
        for (int guard = 0; guard < 100'000; ++guard) {
            if (outbox.empty()) {
                tick();
                if (outbox.empty()) {
                    return;
                }
            }
            answer_next(rtt_us);
        }
        FAIL("the fetcher never went idle");
    }

    /// The chunk requests of `hash` still unanswered, removed from the outbox (lost or late).
    std::vector<Sent> take_chunk_requests() {
        std::vector<Sent> taken;
        std::erase_if(outbox, [&](const Sent& s) {
            if (s.envelope.has_chunk_request()) {
                taken.push_back(s);
                return true;
            }
            return false;
        });
        return taken;
    }

    bool holds(const ServedFile& file) const {
        return store.contains(file.hash) && read_file(store.path_for(file.hash)) == file.bytes;
    }
    fs::path part_of(const ServedFile& file) const { return store.root() / (file.hash + ".part"); }

    wire::MediaItem item(const ServedFile& file) const {
        const auto status = fetcher->status();
        for (const auto& item : status.items()) {
            if (item.media_hash() == file.hash) {
                return item;
            }
        }
        FAIL("no status for " << file.hash);
        return {};
    }
};

std::multiset<std::uint64_t> as_multiset(const std::vector<std::uint64_t>& offsets) {
    return {offsets.begin(), offsets.end()};
}

std::multiset<std::uint64_t> offsets_of_chunks(std::initializer_list<std::uint32_t> chunks) {
    std::multiset<std::uint64_t> out;
    for (auto i : chunks) {
        out.insert(static_cast<std::uint64_t>(i) * kChunk);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "the fetcher asks for the manifest first, then chunks within its window, and stores "
    "the whole file") {
    FetchHarness h;
    auto a = h.add_file(kFileBytes, 1);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    REQUIRE(h.outbox.size() == 1);
    CHECK(h.manifests_requested == std::vector<std::string>{a.hash});
    CHECK(h.offsets_requested.empty());
    h.tick();  // the manifest request is outstanding: not asked twice
    CHECK(h.outbox.size() == 1);

    h.answer_next(50 * kMsUs);
    CHECK(h.offsets_requested == std::vector<std::uint64_t>{0, kChunk});  // initial window: 2
    CHECK(h.fetcher->current() == a.hash);

    h.fetch_all(50 * kMsUs);
    CHECK(h.window_overruns == 0);
    CHECK(h.holds(a));
    CHECK_FALSE(fs::exists(h.part_of(a)));
    CHECK(h.manifests_requested.size() == 1);
    CHECK(as_multiset(h.offsets_requested) == a.all_offsets());
    const auto& stats = h.fetcher->stats();
    CHECK(stats.chunks_requested == 11);
    CHECK(stats.chunks_accepted == 11);
    CHECK(stats.bytes_accepted == kFileBytes);
    CHECK(stats.files_completed == 1);
    CHECK(h.fetcher->current().empty());
    CHECK(h.fetcher->take_ready_news());
    CHECK_FALSE(h.fetcher->take_ready_news());
}

TEST_CASE(
    "a chunk that does not match its digest is refused, asked again, and the file still "
    "completes intact") {
    FetchHarness h;
    auto a = h.add_file(kFileBytes, 2);
    const std::uint64_t damaged_at = 2 * kChunk;
    bool damaged = false;
    auto once_at = [&](const std::function<void(std::string&)>& change) {
        h.tamper = [&damaged, damaged_at, change](wire::Chunk& chunk) {
            if (chunk.offset() == damaged_at && !damaged) {
                damaged = true;
                change(*chunk.mutable_data());
            }
        };
    };
    SECTION("a flipped byte") {
        once_at([](std::string& data) { data[100] = static_cast<char>(data[100] ^ 0x01); });
    }
    SECTION("a byte short") {
        once_at([](std::string& data) { data.pop_back(); });
    }
    SECTION("a byte too many") {
        once_at([](std::string& data) { data.push_back('x'); });
    }
    h.need({a.need(kT0 + kHourUs)});
    h.fetch_all(50 * kMsUs);
    CHECK(damaged);
    CHECK(h.fetcher->stats().chunks_rejected == 1);
    CHECK(std::count(h.offsets_requested.begin(), h.offsets_requested.end(), damaged_at) == 2);
    CHECK(h.fetcher->stats().chunks_accepted == 11);
    CHECK(h.holds(a));
}

TEST_CASE("a restarted fetcher asks only for the chunks its partial file lacks") {
    FetchHarness h(FetchOptions{.initial_window = 8});
    auto a = h.add_file(kFileBytes, 3);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.answer_next(50 * kMsUs);
    REQUIRE(h.offsets_requested.size() == 8);  // chunks 0..7 in flight
    // The first instance gets chunks 0, 2, 3 and 6 (out of order, leaving holes), then stops.
    auto requests = h.take_chunk_requests();
    for (std::uint32_t i : {6, 0, 3, 2}) {
        h.answer(requests.at(i), 50 * kMsUs);
    }
    REQUIRE(h.fetcher->stats().chunks_accepted == 4);
    REQUIRE_FALSE(h.store.contains(a.hash));
    REQUIRE(fs::exists(h.part_of(a)));

    std::multiset<std::uint64_t> expected;
    SECTION("the chunks on disk are intact") {
        expected = offsets_of_chunks({1, 4, 5, 7, 8, 9, 10});
    }
    SECTION("a chunk on disk was damaged: it is fetched again") {
        flip_byte(h.part_of(a), 3 * kChunk + 17);
        expected = offsets_of_chunks({1, 3, 4, 5, 7, 8, 9, 10});
    }
    SECTION("the partial file was cut short inside a chunk: that chunk is fetched again") {
        fs::resize_file(h.part_of(a), 6 * kChunk + 100);
        expected = offsets_of_chunks({1, 4, 5, 6, 7, 8, 9, 10});
    }

    h.restart();
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    CHECK(h.manifests_requested == std::vector<std::string>{a.hash});
    h.fetch_all(50 * kMsUs);
    CHECK(as_multiset(h.offsets_requested) == expected);
    CHECK(h.fetcher->stats().chunks_accepted == expected.size());
    CHECK(h.holds(a));
}

TEST_CASE("the window grows while round trips stay flat, up to max_window and no further") {
    FetchHarness h(FetchOptions{.initial_window = 2, .max_window = 6});
    auto a = h.add_file(64 * kChunk, 4);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    std::vector<int> windows;
    h.answer_next(50 * kMsUs);
    while (!h.outbox.empty()) {
        h.answer_next(50 * kMsUs);
        windows.push_back(h.fetcher->window());
    }
    CHECK(h.holds(a));
    CHECK(h.window_overruns == 0);
    CHECK(std::is_sorted(windows.begin(), windows.end()));
    CHECK(windows.front() == 2);
    CHECK(*std::max_element(windows.begin(), windows.end()) == 6);
    CHECK(h.fetcher->window() == 6);
}

TEST_CASE("the window shrinks when round trips rise well above the fastest seen") {
    FetchHarness h(FetchOptions{.initial_window = 2, .max_window = 16});
    auto a = h.add_file(64 * kChunk, 5);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.answer_until([&] { return h.fetcher->window() >= 6; }, 50 * kMsUs);
    REQUIRE(h.fetcher->window() == 6);

    // A queue builds on the link: a second per round trip instead of 50 ms.
    h.answer_next(kSecondUs);
    CHECK(h.fetcher->window() == 5);
    h.answer_until([&] { return h.fetcher->window() == 1; }, kSecondUs);
    CHECK(h.fetcher->window() == 1);
    h.answer_next(kSecondUs);
    CHECK(h.fetcher->window() == 1);  // never below one

    // Moderately slower round trips (between room and queueing) leave the window alone.
    h.answer_until([&] { return h.fetcher->window() == 2; }, 50 * kMsUs);
    REQUIRE(h.fetcher->window() == 2);
    for (int i = 0; i < 4 && !h.outbox.empty(); ++i) {
        h.answer_next(200 * kMsUs);
        CHECK(h.fetcher->window() == 2);
    }
    h.fetch_all(50 * kMsUs);
    CHECK(h.window_overruns == 0);
    CHECK(h.holds(a));
}

TEST_CASE("requests unanswered for request_timeout_us are sent again and the window halves") {
    FetchOptions options{.initial_window = 8, .max_window = 16};
    FetchHarness h(options);
    auto a = h.add_file(kFileBytes, 6);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.answer_next(50 * kMsUs);
    REQUIRE(h.offsets_requested.size() == 8);
    const std::int64_t sent = h.now;
    h.take_chunk_requests();  // lost on the link
    h.offsets_requested.clear();

    h.now = sent + options.request_timeout_us;
    h.tick();
    CHECK(h.offsets_requested.empty());
    CHECK(h.fetcher->stats().chunks_timed_out == 0);
    CHECK(h.fetcher->window() == 8);

    h.now = sent + options.request_timeout_us + 1;
    h.tick();
    CHECK(h.fetcher->stats().chunks_timed_out == 8);
    CHECK(h.fetcher->window() == 4);
    CHECK(h.offsets_requested == std::vector<std::uint64_t>{0, kChunk, 2 * kChunk, 3 * kChunk});

    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
    CHECK(h.window_overruns == 0);
}

TEST_CASE("an unanswered manifest request is sent again after request_timeout_us") {
    FetchOptions options;
    FetchHarness h(options);
    auto a = h.add_file(kFileBytes, 7);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.outbox.clear();  // lost
    h.now += options.request_timeout_us;
    h.tick();
    CHECK(h.manifests_requested.size() == 1);
    h.now += 1;
    h.tick();
    CHECK(h.manifests_requested == std::vector<std::string>{a.hash, a.hash});
    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
}

TEST_CASE("a late answer to a request sent again is not taken for a round trip") {
    // Karn's rule: the answer may be to either copy, so it says nothing about the link. Taken
    // for a 1 ms round trip, it would make every honest 500 ms one look like a queue.
    FetchOptions options{.initial_window = 2, .max_window = 16};
    FetchHarness h(options);
    auto a = h.add_file(32 * kChunk, 8);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.answer_next(500 * kMsUs);
    auto late = h.take_chunk_requests();  // chunks 0 and 1, held up somewhere
    REQUIRE(late.size() == 2);
    h.now += options.request_timeout_us + 1;
    h.tick();
    REQUIRE(h.fetcher->window() == 1);
    REQUIRE(h.offsets_requested.back() == 0);  // chunk 0 asked again

    h.now += kMsUs;
    h.answer(late[0], 0);  // the first copy's answer arrives just after the second request
    CHECK(h.fetcher->stats().chunks_accepted == 1);
    h.fetch_all(500 * kMsUs);
    CHECK(h.holds(a));
    CHECK(h.fetcher->window() >= 4);
}

TEST_CASE(
    "NOT_FOUND makes a file unavailable, other files go on, and it is asked again after "
    "unavailable_retry_us") {
    FetchOptions options;
    FetchHarness h(options);
    auto gone = h.add_file(kFileBytes, 9, /*known=*/false);
    auto a = h.add_file(kFileBytes, 10);
    h.need({gone.need(kT0 + kHourUs), a.need(kT0 + 2 * kHourUs)});
    h.tick();
    REQUIRE(h.manifests_requested == std::vector<std::string>{gone.hash});
    auto generation = h.fetcher->status_generation();
    h.answer_next(50 * kMsUs);
    const std::int64_t refused_at = h.now;
    CHECK(h.item(gone).state() == wire::MEDIA_UNAVAILABLE);
    CHECK(h.fetcher->status_generation() != generation);
    CHECK(h.fetcher->current().empty());

    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
    CHECK(h.manifests_requested == std::vector<std::string>{gone.hash, a.hash});
    CHECK(h.item(gone).state() == wire::MEDIA_UNAVAILABLE);

    h.now = refused_at + options.unavailable_retry_us - 1;
    h.tick();
    CHECK(h.manifests_requested.size() == 2);
    generation = h.fetcher->status_generation();
    h.now = refused_at + options.unavailable_retry_us;
    h.tick();
    CHECK(h.manifests_requested.back() == gone.hash);
    CHECK(h.item(gone).state() == wire::MEDIA_FETCHING);
    CHECK(h.fetcher->status_generation() != generation);
}

TEST_CASE("files are fetched soonest-needed first") {
    FetchHarness h;
    auto later = h.add_file(kFileBytes, 11);
    auto sooner = h.add_file(kFileBytes, 12);
    auto soonest = h.add_file(3 * kChunk, 13);
    h.need({later.need(kT0 + 5 * kHourUs), soonest.need(kT0 + kHourUs),
            sooner.need(kT0 + 2 * kHourUs), later.need(kT0 + 3 * kHourUs)});
    h.fetch_all(50 * kMsUs);
    CHECK(h.manifests_requested == std::vector<std::string>{soonest.hash, sooner.hash, later.hash});
    CHECK(h.holds(soonest));
    CHECK(h.holds(sooner));
    CHECK(h.holds(later));
    auto status = h.fetcher->status();
    REQUIRE(status.items_size() == 3);  // one item per file, at its soonest need
    CHECK(status.items(2).media_hash() == later.hash);
    CHECK(status.items(2).needed_at_us() == kT0 + 3 * kHourUs);
}

TEST_CASE("a file needed sooner preempts the one being fetched, which resumes after it") {
    FetchHarness h;
    auto later = h.add_file(kFileBytes, 14);
    auto sooner = h.add_file(kFileBytes, 15);
    h.need({later.need(kT0 + 5 * kHourUs)});
    h.tick();
    h.answer_until([&] { return h.fetcher->stats().chunks_accepted == 3; }, 50 * kMsUs);
    REQUIRE(h.fetcher->current() == later.hash);
    auto stale = h.take_chunk_requests();  // in flight when the new timeline comes
    REQUIRE_FALSE(stale.empty());

    auto generation = h.fetcher->status_generation();
    h.need({later.need(kT0 + 5 * kHourUs), sooner.need(kT0 + kHourUs)});
    CHECK(h.fetcher->status_generation() != generation);
    h.tick();
    CHECK(h.fetcher->current() == sooner.hash);
    CHECK(h.manifests_requested.back() == sooner.hash);
    CHECK(h.item(later).state() == wire::MEDIA_QUEUED);
    CHECK(h.item(sooner).state() == wire::MEDIA_FETCHING);

    for (const auto& s : stale) {  // answers for the paused file are dropped
        h.answer(s, 50 * kMsUs);
    }
    CHECK(h.fetcher->stats().chunks_accepted == 3);

    h.offsets_requested.clear();
    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(sooner));
    CHECK(h.holds(later));
    CHECK(h.manifests_requested == std::vector<std::string>{later.hash, sooner.hash, later.hash});
    // Both files' chunks, except the three of the later one already on disk.
    CHECK(h.offsets_requested.size() == 11 + 8);
    CHECK(h.fetcher->stats().chunks_accepted == 3 + 11 + 8);
}

TEST_CASE(
    "status() tells queued, fetching and ready, the generation moves on state changes "
    "only") {
    FetchHarness h;
    auto a = h.add_file(kFileBytes, 16);
    auto b = h.add_file(2 * kChunk, 17);
    auto generation = h.fetcher->status_generation();
    h.need({b.need(kT0 + 2 * kHourUs), a.need(kT0 + kHourUs)});
    CHECK(h.fetcher->status_generation() != generation);

    auto status = h.fetcher->status();
    CHECK(status.horizon_end_us() == kT0 + 7 * 24 * kHourUs);
    REQUIRE(status.items_size() == 2);
    CHECK(status.items(0).media_hash() == a.hash);
    CHECK(status.items(0).state() == wire::MEDIA_QUEUED);
    CHECK(status.items(0).needed_at_us() == kT0 + kHourUs);
    CHECK(status.items(0).total_size() == kFileBytes);  // as the timeline announced it
    CHECK(status.items(0).bytes_held() == 0);
    CHECK(status.items(1).media_hash() == b.hash);
    CHECK(status.items(1).state() == wire::MEDIA_QUEUED);

    generation = h.fetcher->status_generation();
    h.need({a.need(kT0 + kHourUs), b.need(kT0 + 2 * kHourUs)});  // the same needs
    CHECK(h.fetcher->status_generation() == generation);

    h.tick();
    CHECK(h.item(a).state() == wire::MEDIA_FETCHING);
    CHECK(h.item(b).state() == wire::MEDIA_QUEUED);
    CHECK(h.fetcher->status_generation() != generation);

    generation = h.fetcher->status_generation();
    h.answer_next(50 * kMsUs);  // the manifest
    h.answer_next(50 * kMsUs);  // chunk 0
    CHECK(h.item(a).bytes_held() == kChunk);
    CHECK(h.item(a).total_size() == kFileBytes);
    CHECK(h.fetcher->status_generation() == generation);  // progress is not a state change

    h.answer_until([&] { return h.store.contains(a.hash); }, 50 * kMsUs);
    CHECK(h.item(a).state() == wire::MEDIA_READY);
    CHECK(h.item(a).bytes_held() == kFileBytes);
    CHECK(h.item(a).total_size() == kFileBytes);
    CHECK(h.item(b).state() == wire::MEDIA_QUEUED);
    CHECK(h.fetcher->status_generation() != generation);

    generation = h.fetcher->status_generation();
    h.fetch_all(50 * kMsUs);
    CHECK(h.item(b).state() == wire::MEDIA_READY);
    CHECK(h.fetcher->status_generation() != generation);
}

TEST_CASE("a ready file damaged on disk is found on re-verification, deleted and fetched again") {
    FetchOptions options;
    FetchHarness h(options);
    auto a = h.add_file(kFileBytes, 18);
    h.need({a.need(kT0 + 24 * kHourUs)});
    h.fetch_all(50 * kMsUs);
    REQUIRE(h.holds(a));
    const std::int64_t verified = h.now;
    h.manifests_requested.clear();

    SECTION("an intact file is checked and kept") {
        h.now = verified + options.reverify_interval_us;
        h.tick();
        CHECK(h.fetcher->stats().files_damaged == 0);
        CHECK(h.holds(a));
        CHECK(h.outbox.empty());
    }
    SECTION("a damaged file is deleted, then fetched again") {
        flip_byte(h.store.path_for(a.hash), 5 * kChunk + 3);
        h.now = verified + options.reverify_interval_us - 1;
        h.tick();  // not due yet
        CHECK(h.fetcher->stats().files_damaged == 0);
        CHECK(h.store.contains(a.hash));

        auto generation = h.fetcher->status_generation();
        h.now = verified + options.reverify_interval_us;
        h.tick();
        CHECK(h.fetcher->stats().files_damaged == 1);
        CHECK_FALSE(h.store.contains(a.hash));
        CHECK(h.item(a).state() != wire::MEDIA_READY);
        CHECK(h.fetcher->status_generation() != generation);

        h.fetch_all(50 * kMsUs);
        CHECK(h.manifests_requested == std::vector<std::string>{a.hash});
        CHECK(h.holds(a));
        CHECK(h.fetcher->stats().files_completed == 2);
    }
}

TEST_CASE("after the session is lost, requests that were in flight are sent again at once") {
    FetchHarness h;
    auto a = h.add_file(kFileBytes, 19);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    SECTION("chunk requests") {
        h.answer_next(50 * kMsUs);
        REQUIRE(h.offsets_requested == std::vector<std::uint64_t>{0, kChunk});
        h.fetcher->on_session_lost();
        h.outbox.clear();
        h.tick();  // no time has passed: nothing timed out
        CHECK(h.offsets_requested == std::vector<std::uint64_t>{0, kChunk, 0, kChunk});
        CHECK(h.fetcher->stats().chunks_timed_out == 0);
    }
    SECTION("the manifest request") {
        h.fetcher->on_session_lost();
        h.outbox.clear();
        h.tick();
        CHECK(h.manifests_requested == std::vector<std::string>{a.hash, a.hash});
    }
    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
}

TEST_CASE("chunks that are not the ones asked for are ignored") {
    FetchHarness h;
    auto a = h.add_file(kFileBytes, 20);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.answer_next(50 * kMsUs);  // chunks 0 and 1 in flight
    auto chunk1 = h.controller.read_chunk(a.hash, kChunk, kChunk);
    REQUIRE(chunk1.has_value());
    wire::Chunk odd;
    odd.set_media_hash(a.hash);
    odd.set_data(*chunk1);
    SECTION("beyond the end of the file, at an offset whose 32-bit chunk index wraps to 1") {
        odd.set_offset((std::uint64_t{1} << 32 | 1) * kChunk);
    }
    SECTION("not on a chunk boundary") {
        odd.set_offset(kChunk + 1);
    }
    SECTION("a chunk not asked for") {
        odd.set_offset(5 * kChunk);
    }
    h.fetcher->on_chunk(odd, h.now);
    CHECK(h.fetcher->stats().chunks_accepted == 0);
    CHECK(h.store.partial_size(a.hash) <= kFileBytes);
    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
}

TEST_CASE(
    "a manifest that does not add up is refused and asked for again after "
    "request_timeout_us") {
    FetchOptions options;
    FetchHarness h(options);
    auto a = h.add_file(kFileBytes, 21);
    h.need({a.need(kT0 + kHourUs)});
    h.tick();
    h.take_next();
    wire::Manifest bad;
    bad.set_media_hash(a.hash);
    SECTION("a digest missing") {
        bad.set_total_size(kFileBytes);
        bad.set_chunk_size(kChunk);
        bad.set_chunk_digests(a.manifest.packed_digests().substr(32));
    }
    SECTION("chunks larger than a controller serves") {
        bad.set_total_size(4 * loa::protocol::kMaxChunkBytes);
        bad.set_chunk_size(2 * loa::protocol::kMaxChunkBytes);
        bad.set_chunk_digests(std::string(2 * 32, 'x'));
    }
    SECTION("a size whose chunk count overflows") {
        bad.set_total_size(~std::uint64_t{0});
        bad.set_chunk_size(kChunk);
    }
    h.fetcher->on_manifest(bad, h.now);
    CHECK(h.offsets_requested.empty());
    CHECK_FALSE(h.store.contains(a.hash));
    h.now += options.request_timeout_us;
    h.tick();  // a controller that just sent a bad manifest is not asked again at once
    CHECK(h.manifests_requested.size() == 1);
    h.now += 1;
    h.tick();
    CHECK(h.manifests_requested.size() == 2);
    h.fetch_all(50 * kMsUs);
    CHECK(h.holds(a));
}

TEST_CASE(
    "media that does not fit on the disk is not fetched, and a transfer pauses when the disk "
    "fills",
    "[fetcher]") {
    FetchHarness h;
    const auto small = h.add_file(kFileBytes, 91);
    const auto big = h.add_file(kFileBytes * 3, 92);
    // Room for the small file with the store's share to spare, not for the big one.
    const std::uint64_t room = MediaFetcher::kKeepFreeBytes + kFileBytes * 2;
    h.fetcher->set_free_bytes(room);
    h.need({big.need(kT0 + kHourUs), small.need(kT0 + 2 * kHourUs)});
    h.fetch_all(20 * kMsUs);
    CHECK(h.holds(small));
    CHECK_FALSE(h.store.contains(big.hash));
    CHECK(std::count(h.manifests_requested.begin(), h.manifests_requested.end(), big.hash) == 0);
    CHECK(h.item(big).state() == wire::MEDIA_QUEUED);

    // Room again: the big one comes. Then a disk that fills mid-transfer pauses it, resumably.
    h.fetcher->set_free_bytes(room * 10);
    h.now += 2 * kSecondUs;  // the fetcher looks for the next file once a second
    h.tick();
    REQUIRE(h.fetcher->current() == big.hash);
    h.answer_until([&] { return h.fetcher->current() == big.hash && h.outbox.size() > 1; },
                   20 * kMsUs);
    h.fetcher->set_free_bytes(MediaFetcher::kKeepFreeBytes - 1);
    CHECK(h.fetcher->current().empty());
    h.outbox.clear();  // answers to a transfer given up on are ignored anyway
    h.tick();
    CHECK(h.outbox.empty());
    h.fetcher->set_free_bytes(std::nullopt);
    h.fetch_all(20 * kMsUs);
    CHECK(h.holds(big));
}
