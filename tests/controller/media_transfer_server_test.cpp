// Media delivery over real loopback sockets: manifests, and what each node reports it holds.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/media/chunk_manifest.hpp"
#include "loa/media/content_hash.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;

namespace {

constexpr std::uint32_t kServedChunk = 64 * 1024;
constexpr std::int64_t kHourUs = 3600 * kSecondUs;

wire::Envelope manifest_request(const std::string& hash) {
    wire::Envelope e;
    e.mutable_manifest_request()->set_media_hash(hash);
    return e;
}

/// Sends a heartbeat and waits for its ack: the server handles a connection's messages in
/// order, so everything sent before has been handled.
void round_trip(RawNode& node) {
    node.sync();
}

struct Reported {
    std::string hash;
    wire::MediaState state;
    std::uint64_t bytes_held = 0;
};

wire::Envelope media_status(const std::vector<Reported>& items) {
    wire::Envelope e;
    auto* status = e.mutable_media_status();
    status->set_horizon_end_us(controller::now_us() + 7 * 24 * kHourUs);
    for (const auto& r : items) {
        auto* item = status->add_items();
        item->set_media_hash(r.hash);
        item->set_state(r.state);
        item->set_bytes_held(r.bytes_held);
        item->set_total_size(5000);
    }
    return e;
}

/// What missing_media says for the next 24 hours, as "node hash state" lines.
std::vector<std::string> missing_now(const ControllerFixture& f, const std::string& node = {}) {
    // A connection of its own: the server thread uses the fixture's.
    SQLite::Database reader((f.dir / "controller.db").string());
    const std::int64_t now = controller::now_us();
    auto missing = controller::missing_media(reader, now, now + 24 * kHourUs, node);
    REQUIRE(missing.has_value());
    std::vector<std::string> lines;
    for (const auto& m : *missing) {
        lines.push_back(m.node_id + " " + m.media_hash.substr(0, 8) + " " + m.state);
    }
    return lines;
}

}  // namespace

TEST_CASE("a manifest gives the stored file's size, 64 KiB chunks and digests that match it") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    std::mt19937 generator(7);
    std::string bytes(3 * kServedChunk + 123, '\0');
    for (auto& b : bytes) {
        b = static_cast<char>(generator() & 0xff);
    }
    write_file(f.dir / "random.bin", bytes);
    auto hash = f.store.put_file(f.dir / "random.bin");
    REQUIRE(hash.has_value());
    auto node = f.start_and_join("ta-van-01");

    auto asked = node->send(manifest_request(*hash));
    auto answer = node->receive(wire::Envelope::kManifest);
    CHECK(answer.in_reply_to() == asked);
    const auto& m = answer.manifest();
    CHECK(m.media_hash() == *hash);
    CHECK(m.total_size() == bytes.size());
    CHECK(m.chunk_size() == kServedChunk);
    REQUIRE(m.chunk_digests().size() == 4 * 32);
    auto parsed =
        media::ChunkManifest::from_packed(*hash, m.total_size(), m.chunk_size(), m.chunk_digests());
    REQUIRE(parsed.has_value());
    for (std::uint32_t i = 0; i < parsed->chunk_count(); ++i) {
        INFO("chunk " << i);
        CHECK(parsed->matches(
            i, std::string_view(bytes).substr(parsed->offset_of(i), parsed->length_of(i))));
    }

    // Chunks asked for as the manifest cuts them come back matching their digests.
    wire::Envelope request;
    request.mutable_chunk_request()->set_media_hash(*hash);
    request.mutable_chunk_request()->set_offset(parsed->offset_of(3));
    request.mutable_chunk_request()->set_length(parsed->length_of(3));
    node->send(request);
    CHECK(parsed->matches(3, node->receive(wire::Envelope::kChunk).chunk().data()));

    // Asked again (as after a node restart): the same answer.
    node->send(manifest_request(*hash));
    CHECK(node->receive(wire::Envelope::kManifest).manifest().chunk_digests() == m.chunk_digests());
}

TEST_CASE("a manifest of media the controller does not hold is NOT_FOUND") {
    RunningServer f;
    f.node("ta-van-01", "vn/x");
    auto node = f.start_and_join("ta-van-01");
    const std::string unknown = media::sha256_hex("never imported");
    for (const std::string& hash : {unknown, std::string("../controller.db")}) {
        INFO(hash);
        auto asked = node->send(manifest_request(hash));
        auto refused = node->receive(wire::Envelope::kError);
        CHECK(refused.error().code() == wire::NOT_FOUND);
        CHECK(refused.in_reply_to() == asked);
        CHECK(refused.error().message().find(hash) != std::string::npos);
    }
}

TEST_CASE(
    "media status from nodes is recorded, and missing_media lists per node what plays in "
    "the next 24 h still need, soonest first") {
    RunningServer f;
    f.node("ta-van-01", "vn/x/ta-van");
    f.node("ban-ho-01", "vn/x/ban-ho");
    const auto later = f.tone(2.0, 440.0);
    const auto sooner = f.tone(2.0, 660.0);
    const std::int64_t now = controller::now_us();
    auto book = [&](const std::string& id, const std::string& hash, std::int64_t start_us) {
        auto spec = f.campaign(id, {hash}, {"vn/x"});
        spec.window_start_us = start_us;
        spec.window_end_us = start_us + 600 * kSecondUs;
        auto booked = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
            return controller::add_campaign(tx, spec, now);
        });
        REQUIRE(booked.has_value());
        REQUIRE(booked->slots_booked == 2);
    };
    book("c-sooner", sooner, now + kHourUs);
    book("c-later", later, now + 2 * kHourUs);
    book("c-next-week", later, now + 3 * 24 * kHourUs);  // beyond the 24 h looked at
    const std::string s8 = sooner.substr(0, 8);
    const std::string l8 = later.substr(0, 8);
    const std::vector<std::string> ban_ho = {"ban-ho-01 " + s8 + " unreported",
                                             "ban-ho-01 " + l8 + " unreported"};

    // Nothing reported yet: every node misses everything, soonest first.
    CHECK(missing_now(f, "ta-van-01") ==
          std::vector<std::string>{"ta-van-01 " + s8 + " unreported",
                                   "ta-van-01 " + l8 + " unreported"});
    CHECK(missing_now(f, "ban-ho-01") == ban_ho);
    {
        SQLite::Database reader((f.dir / "controller.db").string());
        auto first = controller::missing_media(reader, now, now + 24 * kHourUs, "ta-van-01");
        REQUIRE(first.has_value());
        REQUIRE(first->size() == 2);
        const auto& m = first->front();
        CHECK(m.plays == 1);
        CHECK(m.first_play_us >= now + kHourUs);
        CHECK(m.first_play_us < now + kHourUs + 600 * kSecondUs);
        CHECK(m.title == "Bản tin");
        CHECK(m.reported_us == 0);
        CHECK(m.total_size > 0);  // from the library until the node says
    }

    auto node = f.start_and_join("ta-van-01");

    node->send(media_status({{sooner, wire::MEDIA_FETCHING, 1000}, {later, wire::MEDIA_QUEUED}}));
    round_trip(*node);
    CHECK(missing_now(f, "ta-van-01") ==
          std::vector<std::string>{"ta-van-01 " + s8 + " fetching", "ta-van-01 " + l8 + " queued"});
    {
        SQLite::Database reader((f.dir / "controller.db").string());
        auto fetching = controller::missing_media(reader, now, now + 24 * kHourUs, "ta-van-01");
        REQUIRE(fetching.has_value());
        CHECK(fetching->front().bytes_held == 1000);
        CHECK(fetching->front().total_size == 5000);
        CHECK(fetching->front().reported_us >= now);
    }

    node->send(media_status({{sooner, wire::MEDIA_READY, 5000}, {later, wire::MEDIA_FETCHING, 0}}));
    round_trip(*node);
    CHECK(missing_now(f, "ta-van-01") == std::vector<std::string>{"ta-van-01 " + l8 + " fetching"});

    node->send(media_status({{sooner, wire::MEDIA_READY, 5000}, {later, wire::MEDIA_READY, 5000}}));
    round_trip(*node);
    CHECK(missing_now(f, "ta-van-01").empty());
    CHECK(missing_now(f) == ban_ho);  // every node: only the one that has not reported

    SECTION("a report naming something that is not a content hash is refused whole") {
        auto sent = node->send(
            media_status({{later, wire::MEDIA_QUEUED}, {"../../etc", wire::MEDIA_READY}}));
        auto refused = node->receive(wire::Envelope::kError);
        CHECK(refused.error().code() == wire::MALFORMED);
        CHECK(refused.in_reply_to() == sent);
        CHECK(refused.error().message().find("not a content hash") != std::string::npos);
        CHECK(missing_now(f, "ta-van-01").empty());  // the earlier report stands
        SQLite::Database reader((f.dir / "controller.db").string());
        SQLite::Statement rows(reader, "SELECT count(*) FROM node_media WHERE state = 'ready'");
        REQUIRE(rows.executeStep());
        CHECK(rows.getColumn(0).getInt() == 2);
    }
    SECTION("a report with a state that does not exist is refused whole") {
        node->send(
            media_status({{later, wire::MEDIA_QUEUED}, {sooner, wire::MEDIA_STATE_UNSPECIFIED}}));
        CHECK(node->receive(wire::Envelope::kError).error().code() == wire::MALFORMED);
        CHECK(missing_now(f, "ta-van-01").empty());
    }
}
