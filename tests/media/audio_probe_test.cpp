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
    // Plain playlists as players write them: FFmpeg takes them for nothing at all.
    auto m3u = dir / "chuong-trinh.m3u";
    loa::test::write_file(m3u, fmt::format("#EXTM3U\n#EXTINF:1,Bản tin\n{}\n", segment.string()));
    auto pls = dir / "chuong-trinh.pls";
    loa::test::write_file(
        pls, fmt::format("[playlist]\nFile1={}\nNumberOfEntries=1\n", segment.string()));
    const std::vector<std::pair<fs::path, std::pair<std::string, std::string>>> lists = {
        {hls, {"danh sách phát HLS", "an HLS playlist"}},
        {concat, {"danh sách nối tệp của FFmpeg", "an FFmpeg concat list"}},
        {m3u, {"danh sách phát M3U", "an M3U playlist"}},
        {pls, {"danh sách phát PLS", "a PLS playlist"}},
    };
    for (const auto& [file, kind] : lists) {
        auto info = probe_audio(file);
        REQUIRE_FALSE(info.has_value());
        CHECK(info.error().code == Error::Code::unsupported);
        CHECK_THAT(info.error().message, Contains("là " + kind.first) &&
                                             Contains("is " + kind.second) &&
                                             Contains("import the media file itself"));
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

namespace {

/// Where a WAV's `data` chunk starts and how long its header says it is.
struct DataChunk {
    std::uint64_t size_field_at = 0;  ///< the offset of the chunk's 4-byte size
    std::uint32_t declared = 0;
};

DataChunk find_data_chunk(const std::string& bytes) {
    std::uint64_t pos = 12;
    auto le32 = [&](std::uint64_t at) {
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i) {
            v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::uint64_t>(i)]);
        }
        return v;
    };
    while (pos + 8 <= bytes.size()) {
        const std::uint32_t len = le32(pos + 4);
        if (bytes.compare(pos, 4, "data") == 0) {
            return {pos + 4, len};
        }
        pos += 8 + len + (len & 1);
    }
    FAIL("no data chunk");
    return {};
}

void set_le32(std::string& bytes, std::uint64_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        bytes[at + static_cast<std::uint64_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

/// The refusal's message, checked to name the file.
std::string refusal_message(const fs::path& file) {
    auto info = probe_audio(file);
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().code == Error::Code::corrupt);
    CHECK_THAT(info.error().message, Contains(file.filename().string()));
    return info.error().message;
}

}  // namespace

TEST_CASE(
    "a WAV cut where a copy stops, or whose header lies about its size, is refused with "
    "the numbers") {
    // FFmpeg's WAV reader trims the declared size to the file, so a cut WAV decodes "whole": the
    // probe reads the RIFF chunks itself. 4 s of 22,050 Hz mono 16-bit: 176,400 bytes of audio.
    TempDir dir;
    auto file = dir / "ban-tin.wav";
    loa::test::make_tone(file, 4.0);
    const std::string whole = loa::test::read_file(file);
    const DataChunk data = find_data_chunk(whole);
    REQUIRE(data.declared == 176'400);

    SECTION("cut at a 4 KiB boundary, as an interrupted copy leaves it") {
        loa::test::write_file(file, whole.substr(0, 96 * 1024));
        const auto message = refusal_message(file);
        CHECK_THAT(message, Contains("176400") && Contains("truncated"));
        CHECK_THAT(message, Contains(std::to_string(96 * 1024 - data.size_field_at - 4)));
    }
    SECTION("cut at 60 %, on a whole sample") {
        const std::uint64_t cut = (whole.size() * 6 / 10) & ~std::uint64_t{1};
        loa::test::write_file(file, whole.substr(0, cut));
        CHECK_THAT(refusal_message(file), Contains("176400") && Contains("truncated"));
    }
    SECTION("a header claiming twice the audio it has") {
        std::string lying = whole;
        set_le32(lying, data.size_field_at, 2 * data.declared);
        loa::test::write_file(file, lying);
        CHECK_THAT(refusal_message(file), Contains("352800") && Contains("176400"));
    }
    SECTION("a header claiming half the audio it has: the rest would be dropped") {
        std::string lying = whole;
        set_le32(lying, data.size_field_at, data.declared / 2);
        loa::test::write_file(file, lying);
        const auto message = refusal_message(file);
        CHECK_THAT(message, Contains("88200") && Contains("88200 more bytes"));
    }
    SECTION("a streamed WAV, its sizes left as placeholders, is judged by its audio") {
        for (const std::uint32_t placeholder : {0xffffffffU, 0x7ffff000U}) {
            std::string streamed = whole;
            set_le32(streamed, 4, placeholder);
            set_le32(streamed, data.size_field_at, placeholder);
            loa::test::write_file(file, streamed);
            auto info = probe_audio(file);
            INFO(std::hex << placeholder);
            REQUIRE(info.has_value());
            CHECK(info->duration_us == 4 * kSecond);
        }
    }
    SECTION("a whole WAV with a metadata chunk after its audio is accepted") {
        std::string tagged = whole + "LIST" + std::string("\x0e\0\0\0", 4) + "INFOISFT" +
                             std::string("\x02\0\0\0", 4) + "x" + std::string(1, '\0');
        set_le32(tagged, 4, static_cast<std::uint32_t>(tagged.size() - 8));
        loa::test::write_file(file, tagged);
        auto info = probe_audio(file);
        REQUIRE(info.has_value());
        CHECK(info->duration_us == 4 * kSecond);
    }
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

namespace {

// How many frames of each type (0–7 speech modes, 8 SID, 15 NO_DATA) an AMR-NB file holds.
std::vector<int> amrFrameTypes(const fs::path& file) {
    constexpr int kBytes[16] = {12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0};
    std::string bytes = loa::test::read_file(file);
    REQUIRE(bytes.rfind("#!AMR\n", 0) == 0);
    std::vector<int> counts(16, 0);
    for (std::size_t at = 6; at < bytes.size();) {
        const int type = (static_cast<unsigned char>(bytes[at]) >> 3) & 0x0F;
        ++counts[static_cast<std::size_t>(type)];
        at += 1 + static_cast<std::size_t>(kBytes[type]);
    }
    return counts;
}

}  // namespace

TEST_CASE("an AMR-NB call recording with DTX silence frames probes to its whole length") {
    TempDir dir;
    auto speech = dir / "speech.wav";
    REQUIRE(loa::test::run_shell(fmt::format(
                "espeak-ng -v vi -w '{}' 'Thông báo của ủy ban nhân dân xã về lịch tiêm phòng'",
                speech.string())) == 0);
    auto call = dir / "cuoc-goi.amr";
    // Two seconds of silence either side: sox's AMR-NB encoder (libopencore-amrnb) runs with
    // DTX, so the pauses are written as SID and NO_DATA frames, as call recorders write them.
    REQUIRE(loa::test::run_shell(fmt::format("sox '{}' -r 8000 -c 1 -t amr-nb '{}' pad 2 2",
                                             speech.string(), call.string())) == 0);
    const auto types = amrFrameTypes(call);
    REQUIRE(types[8] > 0);
    REQUIRE(types[15] > 0);

    auto spoken = probe_audio(speech);
    REQUIRE(spoken.has_value());
    auto info = probe_audio(call);
    INFO((info ? std::string() : info.error().message));
    REQUIRE(info.has_value());
    CHECK(info->container == "amr");
    CHECK(info->codec == "amr_nb");
    CHECK(info->sample_rate == 8000);
    CHECK(info->duration_us == Approx(spoken->duration_us + 4 * kSecond).margin(60'000));
}

TEST_CASE("an AMR-NB file cut inside its last frame is refused") {
    TempDir dir;
    auto call = dir / "cuoc-goi.amr";
    REQUIRE(loa::test::run_shell(fmt::format(
                "sox -n -r 8000 -c 1 -t amr-nb '{}' synth 3 sine 440 gain -6", call.string())) ==
            0);
    fs::resize_file(call, fs::file_size(call) - 5);
    CHECK(refusal(call) == Error::Code::corrupt);
}

TEST_CASE("a whole MP3 followed by zero padding or stray bytes is accepted with a warning") {
    TempDir dir;
    auto whole = dir / "whole.mp3";
    makeEncodedTone(whole, 6.0, "-ac 1 -c:a libmp3lame -b:a 64k");
    auto plain = probe_audio(whole);
    REQUIRE(plain.has_value());
    CHECK(plain->warnings.empty());
    const std::string bytes = loa::test::read_file(whole);

    std::string stray(3000, '\0');
    for (std::size_t i = 0; i < stray.size(); ++i) {
        stray[i] = static_cast<char>((i * 7919 + 13) & 0xff);
    }
    const std::vector<std::pair<std::string, std::string>> tails = {
        {"zeros.mp3", std::string(64 * 1024, '\0')},
        {"stray.mp3", stray},
        {"ff.mp3", std::string(4096, '\xff')},
    };
    for (const auto& [name, tail] : tails) {
        SECTION(name) {
            auto file = dir / name;
            loa::test::write_file(file, bytes + tail);
            auto info = probe_audio(file);
            INFO((info ? std::string() : info.error().message));
            REQUIRE(info.has_value());
            CHECK(info->duration_us == Approx(plain->duration_us).margin(30'000));
            REQUIRE(info->warnings.size() == 1);
            CHECK_THAT(info->warnings[0], Contains(std::to_string(tail.size())));
            CHECK_THAT(info->warnings[0], Contains("bỏ qua") && Contains("ignored"));
        }
    }
}

TEST_CASE("an MP3 cut mid-stream and padded with zeros to its full size is still refused") {
    TempDir dir;
    auto file = dir / "preallocated.mp3";
    makeEncodedTone(file, 6.0, "-ac 1 -c:a libmp3lame -b:a 64k");
    // An interrupted copy into a file allocated at full size: the second half is zeros.
    std::string bytes = loa::test::read_file(file);
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2), bytes.end(), '\0');
    loa::test::write_file(file, bytes);
    auto info = probe_audio(file);
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().code == Error::Code::corrupt);
    CHECK_THAT(info.error().message, Contains("truncated"));
}
