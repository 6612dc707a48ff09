// Tests of probe_audio: real fixtures from ffmpeg and espeak-ng, and every kind of bad file
// refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "loa/media/audio_probe.hpp"
#include "media_fixtures.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loa::media::Error;
using loa::media::probe_audio;
using loa::test::ffmpeg;
using loa::test::TempDir;
using loa::test::truncate_file;

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecond = 1'000'000;

void makeEncodedTone(const fs::path& out, double seconds, const std::string& codec_args) {
    ffmpeg(fmt::format("-f lavfi -i 'sine=frequency=440:sample_rate=44100:duration={}' {} '{}'",
                       seconds, codec_args, out.string()));
}

Error::Code refusal(const fs::path& file) {
    auto info = probe_audio(file);
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().message);
    CHECK_THAT(info.error().message, Contains(file.filename().string()));
    return info.error().code;
}

}  // namespace

TEST_CASE("a WAV tone's duration comes out exact") {
    TempDir dir;
    auto file = dir / "tone.wav";
    loa::test::make_tone(file, 3.0, 22050);

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->container == "wav");
    CHECK(info->codec == "pcm_s16le");
    CHECK(info->sample_rate == 22050);
    CHECK(info->channels == 1);
    CHECK(info->duration_us == Approx(3 * kSecond).margin(1000));
    CHECK(info->size_bytes == fs::file_size(file));
}

TEST_CASE("a stereo WAV reports two channels") {
    TempDir dir;
    auto file = dir / "stereo.wav";
    makeEncodedTone(file, 1.5, "-ac 2 -c:a pcm_s16le");

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->channels == 2);
    CHECK(info->sample_rate == 44100);
    CHECK(info->duration_us == Approx(1.5 * kSecond).margin(1000));
}

TEST_CASE("an MP3 probes as mp3 with about its duration") {
    TempDir dir;
    auto file = dir / "tone.mp3";
    makeEncodedTone(file, 4.0, "-ac 1 -c:a libmp3lame -b:a 64k");

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->container == "mp3");
    CHECK(info->codec == "mp3");
    CHECK(info->sample_rate == 44100);
    CHECK(info->channels == 1);
    CHECK(info->duration_us == Approx(4 * kSecond).margin(100'000));
}

TEST_CASE("an Ogg/Opus file probes as ogg/opus with about its duration") {
    TempDir dir;
    auto file = dir / "tone.ogg";
    makeEncodedTone(file, 4.0, "-ac 2 -c:a libopus -b:a 48k");

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->container == "ogg");
    CHECK(info->codec == "opus");
    CHECK(info->sample_rate == 48000);
    CHECK(info->channels == 2);
    CHECK(info->duration_us == Approx(4 * kSecond).margin(100'000));
}

TEST_CASE("a Vietnamese espeak-ng announcement probes") {
    TempDir dir;
    auto file = dir / "thong-bao.wav";
    REQUIRE(loa::test::run_shell(fmt::format(
                "espeak-ng -v vi -w '{}' 'Thông báo: ngày mai họp thôn lúc tám giờ sáng.'",
                file.string())) == 0);

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->container == "wav");
    CHECK(info->codec == "pcm_s16le");
    CHECK(info->channels == 1);
    CHECK(info->sample_rate > 0);
    CHECK(info->duration_us > kSecond);
    CHECK(info->duration_us < 30 * kSecond);
}

TEST_CASE("the audio of a video file is probed, and the video stream is reported") {
    TempDir dir;
    auto file = dir / "clip.mkv";
    loa::test::make_video(file, 2.0, "-c:v mpeg4 -c:a libopus", true);

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK(info->codec == "opus");
    CHECK(info->duration_us == Approx(2 * kSecond).margin(100'000));
    CHECK(info->has_video);
    CHECK(info->video_codec == "mpeg4");
}

TEST_CASE("a text file is not media, whatever it is called") {
    TempDir dir;
    // Some names make FFmpeg try a demuxer on the extension alone (".dat", ".flac").
    const std::string name = GENERATE(as<std::string>{}, "lich-phat.txt", "lich-phat", "notes.dat",
                                      "fake.mp3", "fake.wav", "fake.ogg", "fake.flac", "fake.m4a");
    auto file = dir / name;
    loa::test::write_file(file, "Lịch phát thanh tuần này\nThứ hai: 6 giờ sáng\n");
    CHECK(refusal(file) == Error::Code::not_media);
}

TEST_CASE("a playlist or script naming other files is refused without opening them") {
    // Found while writing the fuzz targets: FFmpeg's HLS and concat demuxers open the files (or
    // URLs) a playlist names, so an upload could make the controller read any of its files.
    TempDir dir;
    auto segment = dir / "secret.ts";
    makeEncodedTone(segment, 1.0, "-c:a aac");
    REQUIRE(probe_audio(segment).has_value());
    auto hls = dir / "ban-tin.mp3";
    loa::test::write_file(hls, fmt::format("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n{}\n"
                                           "#EXT-X-ENDLIST\n",
                                           segment.string()));
    auto concat = dir / "ban-tin.ffconcat";
    loa::test::write_file(concat, "ffconcat version 1.0\nfile secret.ts\n");
    for (const auto& file : {hls, concat}) {
        auto info = probe_audio(file);
        REQUIRE_FALSE(info.has_value());
        CHECK(info.error().code == Error::Code::unsupported);
        CHECK_THAT(info.error().message, Contains("refers to other files"));
    }
}

TEST_CASE("random bytes are not media") {
    TempDir dir;
    std::string bytes;
    for (int i = 0; i < 5000; ++i) {
        bytes.push_back(static_cast<char>((i * 2654435761u) >> 13));
    }
    auto file = dir / "noise.bin";
    loa::test::write_file(file, bytes);
    CHECK(refusal(file) == Error::Code::not_media);
}

TEST_CASE("a zero-length file is empty") {
    TempDir dir;
    auto file = dir / "nothing.mp3";
    loa::test::write_file(file, "");
    CHECK(refusal(file) == Error::Code::empty);
}

TEST_CASE("a missing file is an io error") {
    TempDir dir;
    CHECK(refusal(dir / "missing.wav") == Error::Code::io);
}

TEST_CASE("a PNG image has no audio") {
    TempDir dir;
    auto file = dir / "x.png";
    ffmpeg(fmt::format("-f lavfi -i color=c=red:s=16x16 -frames:v 1 '{}'", file.string()));
    CHECK(refusal(file) == Error::Code::no_audio);
}

TEST_CASE("a WAV with a header but no samples is empty") {
    TempDir dir;
    auto file = dir / "silence.wav";
    // The canonical 44-byte RIFF/WAVE header of 22050 Hz mono 16-bit PCM, with a 0-byte data chunk.
    auto le = [](std::uint32_t v, int bytes) {
        std::string out;
        for (int i = 0; i < bytes; ++i) {
            out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        }
        return out;
    };
    std::string header = "RIFF" + le(36, 4) + "WAVE" + "fmt " + le(16, 4) + le(1, 2) + le(1, 2) +
                         le(22050, 4) + le(44100, 4) + le(2, 2) + le(16, 2) + "data" + le(0, 4);
    REQUIRE(header.size() == 44);
    loa::test::write_file(file, header);
    CHECK(refusal(file) == Error::Code::empty);
}

TEST_CASE("a truncated MP3 is corrupt") {
    TempDir dir;
    auto file = dir / "cut.mp3";
    makeEncodedTone(file, 6.0, "-ac 1 -c:a libmp3lame -b:a 64k");
    truncate_file(file, 1, 2);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("a truncated WAV is corrupt") {
    TempDir dir;
    auto file = dir / "cut.wav";
    loa::test::make_tone(file, 4.0);
    truncate_file(file, 1, 2);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("a truncated Ogg/Opus file is corrupt") {
    TempDir dir;
    auto file = dir / "cut.ogg";
    makeEncodedTone(file, 6.0, "-c:a libopus");
    truncate_file(file, 1, 2);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("a truncated FLAC file is corrupt") {
    TempDir dir;
    auto file = dir / "cut.flac";
    makeEncodedTone(file, 5.0, "-c:a flac");
    truncate_file(file, 1, 2);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("an MP4 cut before its index is corrupt, not foreign") {
    TempDir dir;
    auto file = dir / "cut.m4a";
    makeEncodedTone(file, 5.0, "-c:a aac");  // ffmpeg writes the moov index at the end
    truncate_file(file, 1, 2);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("an MP3 with garbage in the middle is corrupt") {
    TempDir dir;
    auto file = dir / "garbled.mp3";
    makeEncodedTone(file, 6.0, "-ac 1 -c:a libmp3lame -b:a 64k");
    auto bytes = loa::test::read_file(file);
    for (std::size_t i = bytes.size() / 4; i < bytes.size() * 3 / 4; ++i) {
        bytes[i] = static_cast<char>((i * 7919) & 0xff);
    }
    loa::test::write_file(file, bytes);
    CHECK(refusal(file) == Error::Code::corrupt);
}

TEST_CASE("every format operators bring probes with its duration") {
    const auto& format = GENERATE(from_range(loa::test::operator_audio_formats()));
    TempDir dir;
    const double length = 4.5;
    auto file = dir / format.name;
    loa::test::make_audio(file, format, length);

    auto info = probe_audio(file);
    INFO(format.name << ": " << (info ? std::string("probed") : info.error().message));
    REQUIRE(info.has_value());
    CHECK(info->container == format.container);
    CHECK(info->codec == format.codec);
    CHECK(info->sample_rate == format.sample_rate);
    CHECK(info->duration_us ==
          Approx(length * kSecond).margin(static_cast<double>(format.tolerance_us)));
    CHECK_FALSE(info->has_video);
}

TEST_CASE("cover art in an MP3 or M4A is not a video stream") {
    TempDir dir;
    auto file = dir / GENERATE(as<std::string>{}, "co-bia.mp3", "co-bia.m4a");
    loa::test::make_audio_with_cover(file, 3.0);
    REQUIRE(loa::test::capture_shell(fmt::format(
                "ffprobe -v error -select_streams v -show_entries stream_disposition=attached_pic "
                "-of csv=p=0 '{}'",
                file.string())) == "1\n");  // the fixture really carries an attached picture

    auto info = probe_audio(file);
    REQUIRE(info.has_value());
    CHECK_FALSE(info->has_video);
    CHECK(info->video_codec.empty());
    CHECK(info->duration_us == Approx(3 * kSecond).margin(100'000));
}

TEST_CASE("probing reports its progress up to the end") {
    TempDir dir;
    auto file = dir / "dai.mp3";
    makeEncodedTone(file, 30.0, "-ac 1 -c:a libmp3lame -b:a 64k");
    loa::test::ProgressLog progress;
    auto info = probe_audio(file, progress.callback());
    REQUIRE(info.has_value());
    progress.check(5);  // reported along the way, not only at the end
}
