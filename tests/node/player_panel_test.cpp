// Tests of the GStreamer player on panels: videos and pictures on the fake display (paced and
// counted frames), display times, offsets, refusals of the wrong kind of media, and stop().
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/core.h>

#include "loa/node/player.hpp"
#include "media_fixtures.hpp"
#include "player_fixture.hpp"
#include "test_support.hpp"

using loa::node::DisplaySpec;
using loa::node::MediaKind;
using loa::node::Player;
using loa::node::PlayerOptions;
using loa::node::PlayItem;
using loa::node::PlayResult;
using loa::node::SinkSpec;
using loa::test::preroll_and_play;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

double seconds_between(std::int64_t start_us, std::int64_t end_us) {
    return static_cast<double>(end_us - start_us) / 1e6;
}

std::int64_t wall_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A player whose panel output is the fake display (frames paced and counted, nothing shown).
Player panel_player() {
    auto display = DisplaySpec::parse("fake");
    REQUIRE(display);
    return Player(PlayerOptions{.display = *display});
}

PlayItem video_item(const fs::path& media) {
    return PlayItem{.media = media, .kind = MediaKind::video};
}

PlayItem image_item(const fs::path& media, std::int64_t display_us) {
    return PlayItem{.media = media, .kind = MediaKind::image, .display_us = display_us};
}

// Two seconds of test card at 25 frames a second, MPEG-4 in Matroska with a Vorbis sound track
// (which a panel discards).
fs::path make_clip(const TempDir& tmp) {
    fs::path clip = tmp / "clip.mkv";
    loa::test::make_video(clip, 2.0, "-c:v mpeg4 -q:v 5 -c:a libvorbis", true);
    return clip;
}

}  // namespace

TEST_CASE("DisplaySpec::parse accepts auto, kms and fake", "[player]") {
    auto automatic = DisplaySpec::parse("auto");
    REQUIRE(automatic);
    CHECK(automatic->kind == DisplaySpec::Kind::automatic);
    auto kms = DisplaySpec::parse("kms");
    REQUIRE(kms);
    CHECK(kms->kind == DisplaySpec::Kind::kms);
    auto fake = DisplaySpec::parse("fake");
    REQUIRE(fake);
    CHECK(fake->kind == DisplaySpec::Kind::fake);
}

TEST_CASE("DisplaySpec::parse refuses anything else and says what it accepts", "[player]") {
    for (const char* text : {"", "KMS", "kms:", "x11", "fake ", "file:/tmp", "alsa"}) {
        INFO("text: '" << text << "'");
        auto spec = DisplaySpec::parse(text);
        REQUIRE_FALSE(spec);
        CHECK_THAT(spec.error(), Catch::Matchers::Contains(fmt::format("'{}'", text)));
        CHECK_THAT(spec.error(), Catch::Matchers::Contains("auto, kms"));
    }
}

TEST_CASE("a video plays on the fake display at its frame rate", "[player]") {
    TempDir tmp;
    fs::path clip = make_clip(tmp);
    Player player = panel_player();
    PlayResult result = preroll_and_play(player, video_item(clip));
    INFO("error: " << result.error);
    REQUIRE(result.ok);
    CHECK_FALSE(result.stopped);
    CHECK_FALSE(result.levels);
    CHECK(result.frames_rendered == Approx(50).margin(3));
    CHECK(seconds_between(result.start_us, result.end_us) == Approx(2.0).margin(0.2));
}

TEST_CASE("a video starts on time and from its offset", "[player]") {
    TempDir tmp;
    fs::path clip = make_clip(tmp);
    Player player = panel_player();
    PlayItem item = video_item(clip);
    item.offset_us = 1'000'000;
    REQUIRE(player.preroll(item));
    const std::int64_t target = wall_now_us() + 500'000;
    PlayResult result = player.play_at(target);
    INFO("error: " << result.error);
    REQUIRE(result.ok);
    const double error_ms = static_cast<double>(result.start_us - target) / 1e3;
    CAPTURE(error_ms);
    CHECK(std::abs(error_ms) <= 15.0);
    CHECK(result.frames_rendered == Approx(25).margin(3));
    CHECK(seconds_between(result.start_us, result.end_us) == Approx(1.0).margin(0.2));
}

TEST_CASE("a picture is shown for its display time", "[player]") {
    TempDir tmp;
    auto name = GENERATE(as<std::string>{}, "poster.png", "poster.jpg");
    INFO("picture: " << name);
    loa::test::make_picture(tmp / name, "320x240");
    Player player = panel_player();
    PlayResult result = preroll_and_play(player, image_item(tmp / name, 1'000'000));
    INFO("error: " << result.error);
    REQUIRE(result.ok);
    CHECK_FALSE(result.stopped);
    CHECK(result.frames_rendered > 0);
    double shown = seconds_between(result.start_us, result.end_us);
    CAPTURE(shown, result.frames_rendered);
    CHECK(shown == Approx(1.0).margin(0.15));
}

TEST_CASE("stop() ends a video or a picture early", "[player]") {
    TempDir tmp;
    auto kind = GENERATE(MediaKind::video, MediaKind::image);
    PlayItem item;
    if (kind == MediaKind::video) {
        item = video_item(make_clip(tmp));
    } else {
        loa::test::make_picture(tmp / "poster.png", "320x240");
        item = image_item(tmp / "poster.png", 2'000'000);
    }
    INFO("item: " << item.media.filename());
    Player player = panel_player();
    REQUIRE(player.preroll(item));
    std::chrono::steady_clock::time_point stopped_at;
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        stopped_at = std::chrono::steady_clock::now();
        player.stop();
    });
    PlayResult result = player.play();
    const auto returned = std::chrono::steady_clock::now();
    stopper.join();

    CHECK(result.stopped);
    CHECK_FALSE(result.ok);
    double shown = seconds_between(result.start_us, result.end_us);
    CAPTURE(shown, result.frames_rendered);
    CHECK(shown == Approx(0.5).margin(0.2));
    CHECK(result.frames_rendered > 0);
    CHECK(result.frames_rendered < 40);
    const double reaction = std::chrono::duration<double>(returned - stopped_at).count();
    CAPTURE(reaction);
    CHECK(reaction < 0.2);
}

TEST_CASE("stop() between preroll and the start shows nothing", "[player]") {
    TempDir tmp;
    loa::test::make_picture(tmp / "poster.png", "320x240");
    Player player = panel_player();
    REQUIRE(player.preroll(image_item(tmp / "poster.png", 1'000'000)));
    player.stop();
    PlayResult result = player.play_at(wall_now_us() + 300'000);
    CHECK(result.stopped);
    CHECK(result.start_us == 0);
    CHECK(result.frames_rendered == 0);
}

TEST_CASE("media of the wrong kind is refused at preroll, naming the file", "[player]") {
    TempDir tmp;
    loa::test::make_tone(tmp / "tone.wav", 0.5);
    loa::test::make_picture(tmp / "poster.png", "64x64");
    Player player(PlayerOptions{.audio = *SinkSpec::parse("fake"), .display = {}});

    auto as_image = player.preroll(image_item(tmp / "tone.wav", 1'000'000));
    REQUIRE_FALSE(as_image);
    INFO(as_image.error());
    CHECK_THAT(as_image.error(), Catch::Matchers::Contains((tmp / "tone.wav").string()));
    CHECK_THAT(as_image.error(), Catch::Matchers::Contains("no picture to show"));

    auto as_video = player.preroll(video_item(tmp / "tone.wav"));
    REQUIRE_FALSE(as_video);
    CHECK_THAT(as_video.error(), Catch::Matchers::Contains("no picture to show"));

    auto as_audio = player.preroll(
        PlayItem{.media = tmp / "poster.png", .kind = MediaKind::audio, .output_name = "x"});
    REQUIRE_FALSE(as_audio);
    INFO(as_audio.error());
    CHECK_THAT(as_audio.error(), Catch::Matchers::Contains((tmp / "poster.png").string()));
    CHECK_THAT(as_audio.error(), Catch::Matchers::Contains("no sound to play"));

    // The player is still usable after refusals.
    CHECK(preroll_and_play(player, image_item(tmp / "poster.png", 200'000)).ok);
}

TEST_CASE("a picture without a display time is refused", "[player]") {
    TempDir tmp;
    loa::test::make_picture(tmp / "poster.png", "64x64");
    Player player = panel_player();
    auto prerolled = player.preroll(image_item(tmp / "poster.png", 0));
    REQUIRE_FALSE(prerolled);
    CHECK_THAT(prerolled.error(), Catch::Matchers::Contains("poster.png"));
    CHECK_THAT(prerolled.error(), Catch::Matchers::Contains("display time"));
}
