// Tests of probe_visual: images and video for panel boards, made by ffmpeg, and damaged ones
// refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "loa/media/visual_probe.hpp"
#include "media_fixtures.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loa::media::Error;
using loa::media::probe_visual;
using loa::media::VisualInfo;
using loa::test::make_picture;
using loa::test::make_video;
using loa::test::TempDir;
using loa::test::truncate_file;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecond = 1'000'000;

// The refusal of `file`: its message names the file, and contains `why`.
Error refusal(const fs::path& file, const std::string& why) {
    auto info = probe_visual(file);
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().message);
    CHECK_THAT(info.error().message, Contains(file.filename().string()));
    CHECK_THAT(info.error().message, Contains(why));
    return info.error();
}

}  // namespace

TEST_CASE("a PNG or JPEG image reports its size") {
    const auto [name, codec] = GENERATE(
        table<std::string, std::string>({{"poster.png", "png"}, {"anh-hop-thon.jpg", "mjpeg"}}));
    TempDir dir;
    auto file = dir / name;
    make_picture(file, "640x360");
    auto info = probe_visual(file);
    REQUIRE(info.has_value());
    CHECK(info->kind == VisualInfo::Kind::image);
    CHECK(loa::media::to_string(info->kind) == "image");
    CHECK(info->codec == codec);
    CHECK(info->width == 640);
    CHECK(info->height == 360);
    CHECK(info->frames == 1);
    CHECK(info->duration_us == 0);
    CHECK(info->size_bytes == fs::file_size(file));
}

TEST_CASE("a short video reports codec, resolution and duration") {
    struct Case {
        std::string name;
        std::string args;
        std::string codec;
    };
    const auto& c = GENERATE(values<Case>({
        {"clip.mp4", "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", "h264"},
        {"clip.webm", "-c:v libvpx -b:v 200k", "vp8"},
        {"clip.mkv", "-c:v mpeg4", "mpeg4"},
    }));
    TempDir dir;
    auto file = dir / c.name;
    make_video(file, 3.0, c.args);
    auto info = probe_visual(file);
    INFO(c.name << ": " << (info ? "probed" : info.error().message));
    REQUIRE(info.has_value());
    CHECK(info->kind == VisualInfo::Kind::video);
    CHECK(info->codec == c.codec);
    CHECK(info->width == 320);
    CHECK(info->height == 180);
    CHECK(info->frames == 75);
    CHECK(info->duration_us == Approx(3 * kSecond).margin(50'000));  // within about a frame
    CHECK_FALSE(info->has_audio);
}

TEST_CASE("a video with a sound track is a video that has audio") {
    TempDir dir;
    auto file = dir / "phong-su.mp4";
    make_video(file, 2.0, "-c:v libx264 -preset ultrafast -c:a aac", true);
    auto info = probe_visual(file);
    REQUIRE(info.has_value());
    CHECK(info->kind == VisualInfo::Kind::video);
    CHECK(info->has_audio);
    CHECK(info->duration_us == Approx(2 * kSecond).margin(50'000));
}

TEST_CASE("a truncated video or image is refused") {
    struct Case {
        std::string name;
        std::string video_args;  // empty: a still picture
        std::string why;
    };
    const auto& c = GENERATE(values<Case>({
        {"cut.mp4", "-c:v libx264 -preset ultrafast", "does not open"},  // index at the end
        {"cut-faststart.mp4", "-c:v libx264 -preset ultrafast -movflags +faststart", "truncated"},
        {"cut.mkv", "-c:v mpeg4", "truncated"},
        {"cut.png", "", "the PNG stream does not decode"},
        {"cut.jpg", "", "truncated"},
    }));
    TempDir dir;
    auto file = dir / c.name;
    if (c.video_args.empty()) {
        make_picture(file, "320x240");
    } else {
        make_video(file, 6.0, c.video_args);
    }
    truncate_file(file, 1, 2);
    CHECK(refusal(file, c.why).code == Error::Code::corrupt);
}

TEST_CASE("audio alone is no picture, cover art included") {
    TempDir dir;
    SECTION("plain audio") {
        auto file = dir / "ban-tin.mp3";
        loa::test::make_audio(file, loa::test::audio_format(".mp3"), 2.0);
        CHECK(refusal(file, "without a picture").code == Error::Code::no_picture);
    }
    SECTION("audio with cover art") {
        auto file = dir / "co-bia.mp3";
        loa::test::make_audio_with_cover(file, 2.0);
        CHECK(refusal(file, "only cover art").code == Error::Code::no_picture);
    }
}

TEST_CASE("a still picture that is neither PNG nor JPEG is refused") {
    TempDir dir;
    const std::string name = GENERATE(as<std::string>{}, "poster.bmp", "poster.gif");
    auto file = dir / name;
    make_picture(file, "64x32");
    CHECK(refusal(file, "PNG or JPEG").code == Error::Code::unsupported);
}

TEST_CASE("text is not a picture, whatever it is called") {
    TempDir dir;
    const std::string name = GENERATE(as<std::string>{}, "poster.png", "poster.jpg", "clip.mp4");
    auto file = dir / name;
    loa::test::write_file(file, "Lịch phát thanh tuần này\n");
    CHECK(refusal(file, "").code == Error::Code::not_media);
}

TEST_CASE("probing a video reports its progress up to the end") {
    TempDir dir;
    auto file = dir / "clip.mp4";
    make_video(file, 4.0, "-c:v libx264 -preset ultrafast");
    loa::test::ProgressLog progress;
    auto info = probe_visual(file, progress.callback());
    REQUIRE(info.has_value());
    progress.check(3);
}
