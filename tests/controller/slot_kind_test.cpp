// The timeline a node receives says what to do with each play (audio, video, an image shown for
// its booked time) and how far it is complete.
#include <catch2/catch.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/booking/node_timeline.hpp"
#include "media_fixtures.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

std::string import_panel(ControllerFixture& f, const std::filesystem::path& file) {
    lc::ImportOptions options;
    options.use = lc::MediaUse::panel;
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::import_media(tx, f.store, file, file.filename().string(), kNow, options);
    });
    REQUIRE(imported.has_value());
    return f.approve(imported->media.media_hash);
}

}  // namespace

TEST_CASE("slots carry their kind, images their display time, and the timeline its horizon") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::add_node(
            tx, {.node_id = "bang-sa-pa", .kind = "panel", .area_path = "vn/lao-cai/sa-pa"}, kNow);
    }));
    const auto audio = f.tone(2.0);
    make_picture(f.dir / "ap-phich.png", "192x64");
    const auto image = import_panel(f, f.dir / "ap-phich.png");
    make_video(f.dir / "clip.mp4", 2.0, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    const auto video = import_panel(f, f.dir / "clip.mp4");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::add_campaign(tx, f.campaign("thien-tai", {audio, image, video}, {"vn/lao-cai"}),
                                kNow);
    }));

    auto speaker = lc::node_timeline(*f.db, "ta-van-01", kNow);
    REQUIRE(speaker.has_value());
    // A campaign mixing sound and pictures asks each node for the items it can play, once:
    // the loudspeaker its one bulletin, the board its two pictures.
    REQUIRE(speaker->slots_size() == 1);
    for (const auto& slot : speaker->slots()) {
        CHECK(slot.media_hash() == audio);
        CHECK(slot.kind() == wire::SLOT_AUDIO);
        CHECK(slot.display_us() == 0);
    }

    auto panel = lc::node_timeline(*f.db, "bang-sa-pa", kNow);
    REQUIRE(panel.has_value());
    int images = 0;
    int videos = 0;
    for (const auto& slot : panel->slots()) {
        if (slot.media_hash() == image) {
            ++images;
            CHECK(slot.kind() == wire::SLOT_IMAGE);
            CHECK(slot.display_us() == 10 * kSecondUs);  // as booked for a still image
            CHECK(slot.duration_us() == slot.display_us());
        } else {
            ++videos;
            CHECK(slot.media_hash() == video);
            CHECK(slot.kind() == wire::SLOT_VIDEO);
            CHECK(slot.display_us() == 0);
        }
    }
    CHECK(images == 1);
    CHECK(videos == 1);
    // Their slots carry the campaign's own id, for the airtime report.
    for (const auto& slot : panel->slots()) {
        CHECK(slot.campaign_id() == "thien-tai");
    }

    // Complete to 7 days ahead, on the hour (kNow is 22:30 UTC).
    const std::int64_t week = 7 * 86400 * kSecondUs;
    CHECK(panel->horizon_end_us() == kNow + week - 1800 * kSecondUs);
    CHECK(lc::timeline_horizon_end(kNow) == panel->horizon_end_us());
    // Within the hour the same plays hash the same; past it the horizon moves and the hash too,
    // so a node idle for days still learns how far its timeline goes.
    auto later = lc::node_timeline(*f.db, "bang-sa-pa", kNow + 1700 * kSecondUs);
    CHECK(later->horizon_end_us() == panel->horizon_end_us());
    CHECK(later->timeline_hash() == panel->timeline_hash());
    auto next_hour = lc::node_timeline(*f.db, "bang-sa-pa", kNow + 1800 * kSecondUs);
    CHECK(next_hour->horizon_end_us() == panel->horizon_end_us() + 3600 * kSecondUs);
    CHECK(next_hour->timeline_hash() != panel->timeline_hash());
}

TEST_CASE("a play booked beyond the horizon is left for a later timeline") {
    ControllerFixture f;
    f.node("ta-van-01", "vn/lao-cai/sa-pa/ta-van");
    const auto audio = f.tone(1.0);
    auto spec = f.campaign("xa-hon", {audio}, {"vn/lao-cai"});
    spec.window_start_us = kNow + 8 * 86400 * kSecondUs;
    spec.window_end_us = spec.window_start_us + 3600 * kSecondUs;
    REQUIRE(loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::add_campaign(tx, spec, kNow); }));
    auto now = lc::node_timeline(*f.db, "ta-van-01", kNow);
    REQUIRE(now.has_value());
    CHECK(now->slots_size() == 0);
    auto closer = lc::node_timeline(*f.db, "ta-van-01", kNow + 2 * 86400 * kSecondUs);
    REQUIRE(closer.has_value());
    REQUIRE(closer->slots_size() == 1);
    CHECK(closer->slots(0).start_us() < closer->horizon_end_us());
}
