// Tests of measure_loudness and normalise_to_opus on fixtures made with ffmpeg, sox and espeak-ng.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "loa/media/audio_probe.hpp"
#include "loa/media/loudness.hpp"
#include "loa/media/opus_transcode.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loa::media::Error;
using loa::media::measure_loudness;
using loa::media::normalise_to_opus;
using loa::test::run_shell;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

void shell(const std::string& command) {
    INFO(command);
    REQUIRE(run_shell(command) == 0);
}

// A Vietnamese announcement from espeak-ng, as its own 22050 Hz mono WAV.
fs::path makeSpeech(const TempDir& dir) {
    auto file = dir / "speech.wav";
    shell(
        fmt::format("espeak-ng -v vi -w '{}' 'Thông báo lịch tiêm phòng cho trẻ em. Xin mời "
                    "các gia đình đưa con đến trạm y tế xã vào sáng thứ bảy.'",
                    file.string()));
    return file;
}

// Speech 20 dB quieter than espeak-ng makes it: a weak recording, near -40 LUFS.
fs::path makeQuietSpeech(const TempDir& dir) {
    auto file = dir / "quiet.wav";
    shell(fmt::format("sox '{}' '{}' gain -20", makeSpeech(dir).string(), file.string()));
    return file;
}

// Speech pushed 10 dB through a limiter, peaks at -1 dBFS: a hot stereo recording.
fs::path makeLoudSpeech(const TempDir& dir) {
    auto file = dir / "loud.wav";
    shell(fmt::format("sox '{}' -c 2 -r 44100 '{}' gain -l 10 gain -n -1", makeSpeech(dir).string(),
                      file.string()));
    return file;
}

fs::path makeMp3Speech(const TempDir& dir) {
    auto file = dir / "speech.mp3";
    shell(fmt::format("ffmpeg -nostdin -loglevel error -y -i '{}' -c:a libmp3lame -b:a 64k '{}'",
                      makeSpeech(dir).string(), file.string()));
    return file;
}

void checkNormalised(const fs::path& in, const fs::path& out) {
    auto done = normalise_to_opus(in, out);
    REQUIRE(done.has_value());
    INFO(fmt::format(
        "{}: before {:.2f} LUFS {:.2f} dBTP, gain {:+.2f} dB, after {:.2f} LUFS "
        "{:.2f} dBTP",
        in.filename().string(), done->before.integrated_lufs, done->before.true_peak_dbtp,
        done->gain_db, done->after.integrated_lufs, done->after.true_peak_dbtp));
    CHECK_FALSE(fs::exists(fs::path(out.string() + ".part")));

    auto written = measure_loudness(out);  // the real output, decoded again
    REQUIRE(written.has_value());
    CHECK(written->integrated_lufs == Approx(-23.0).margin(1.0));
    CHECK(written->true_peak_dbtp <= -1.0 + 0.5);
    CHECK(written->integrated_lufs == Approx(done->after.integrated_lufs).margin(0.01));
    CHECK(written->duration_s == Approx(done->before.duration_s).margin(0.1));

    auto streams = loa::test::capture_shell(fmt::format(
        "ffprobe -v error -show_entries stream=codec_name,channels,sample_rate -of csv=p=0 '{}'",
        out.string()));
    CHECK(streams == "opus,48000,1\n");
    auto probed = loa::media::probe_audio(out);
    REQUIRE(probed.has_value());
    CHECK(probed->container == "ogg");
}

void checkRefused(const fs::path& in, const fs::path& out, const std::string& why) {
    auto done = normalise_to_opus(in, out);
    REQUIRE_FALSE(done.has_value());
    INFO(done.error().message);
    CHECK_THAT(done.error().message, Contains(why));
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(fs::path(out.string() + ".part")));
}

}  // namespace

TEST_CASE("loudness: a -20 dBFS 1 kHz sine measures -23 LUFS and -20 dBTP") {
    TempDir dir;
    auto file = dir / "sine.wav";
    shell(
        fmt::format("ffmpeg -nostdin -loglevel error -y -f lavfi "
                    "-i 'aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=5' -c:a pcm_f32le '{}'",
                    file.string()));

    auto loudness = measure_loudness(file);
    REQUIRE(loudness.has_value());
    // Peak 0.1 (-20 dBFS) gives a mean square of 0.1^2 / 2 = 0.005, i.e. -23.01 dB; BS.1770's
    // K-weighting is +0.691 dB at 1 kHz, cancelled by its -0.691 offset: -23.01 LUFS.
    CHECK(loudness->integrated_lufs == Approx(-23.01).margin(0.5));
    CHECK(loudness->true_peak_dbtp == Approx(-20.0).margin(0.5));
    CHECK(loudness->duration_s == Approx(5.0).margin(0.001));
}

TEST_CASE("loudness: a stereo 44.1 kHz tone is measured at its own channel count") {
    TempDir dir;
    auto file = dir / "tone.wav";
    // The same -20 dBFS sine in both channels: twice the power of one channel, +3.01 dB.
    shell(
        fmt::format("ffmpeg -nostdin -loglevel error -y -f lavfi "
                    "-i 'aevalsrc=0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t):s=44100:d=4' "
                    "-c:a pcm_s16le '{}'",
                    file.string()));
    auto loudness = measure_loudness(file);
    REQUIRE(loudness.has_value());
    CHECK(loudness->integrated_lufs == Approx(-20.0).margin(0.5));
    CHECK(loudness->true_peak_dbtp == Approx(-20.0).margin(0.5));
}

TEST_CASE("loudness: silence measures -inf without failing") {
    TempDir dir;
    auto file = dir / "silence.wav";
    shell(fmt::format("sox -n -r 48000 -c 1 '{}' trim 0 2", file.string()));
    auto loudness = measure_loudness(file);
    REQUIRE(loudness.has_value());
    CHECK(loudness->integrated_lufs == -HUGE_VAL);
    CHECK(loudness->duration_s == Approx(2.0).margin(0.001));
}

TEST_CASE("loudness: a text file cannot be measured") {
    TempDir dir;
    auto file = dir / "notes.txt";
    loa::test::write_file(file, "Lịch phát thanh tuần này\n");
    auto loudness = measure_loudness(file);
    REQUIRE_FALSE(loudness.has_value());
    CHECK(loudness.error().code == Error::Code::not_media);
}

TEST_CASE("loudness: quiet speech is raised to -23 LUFS in Ogg/Opus") {
    TempDir dir;
    checkNormalised(makeQuietSpeech(dir), dir / "quiet.opus");
}

TEST_CASE("loudness: loud stereo speech is lowered to -23 LUFS in mono Ogg/Opus") {
    TempDir dir;
    checkNormalised(makeLoudSpeech(dir), dir / "loud.opus");
}

TEST_CASE("loudness: MP3 speech is normalised to Ogg/Opus") {
    TempDir dir;
    checkNormalised(makeMp3Speech(dir), dir / "speech.ogg");
}

TEST_CASE("loudness: the true-peak limit lowers the gain below the loudness target") {
    TempDir dir;
    auto out = dir / "hot.opus";
    loa::media::OpusSettings settings;
    settings.target_lufs = -8.0;  // unreachable for speech without peaks above -1 dBTP
    auto done = normalise_to_opus(makeSpeech(dir), out, settings);
    REQUIRE(done.has_value());
    INFO(fmt::format("gain {:+.2f} dB, after {:.2f} LUFS {:.2f} dBTP", done->gain_db,
                     done->after.integrated_lufs, done->after.true_peak_dbtp));
    CHECK(done->after.integrated_lufs < -9.0);
    CHECK(done->after.true_peak_dbtp <= -1.0 + 0.5);
    CHECK(done->after.true_peak_dbtp > -1.0 - 1.5);
}

TEST_CASE("loudness: silent input is refused and nothing is written") {
    TempDir dir;
    auto in = dir / "silence.wav";
    shell(fmt::format("sox -n -r 48000 -c 1 '{}' trim 0 2", in.string()));
    checkRefused(in, dir / "silence.opus", "silence");
}

TEST_CASE("loudness: a non-media file is refused and nothing is written") {
    TempDir dir;
    auto in = dir / "fake.mp3";
    loa::test::write_file(in, "Lịch phát thanh tuần này\nThứ hai: 6 giờ sáng\n");
    checkRefused(in, dir / "fake.opus", "không phải tệp âm thanh, ảnh hay video");
    checkRefused(in, dir / "fake.opus", "not an audio, picture or video file");
}

namespace {

// What FFmpeg's own EBU R128 meter (the ebur128 filter, 4x oversampled true peak) says of a file:
// a measurement independent of libebur128 and of the import.
struct FfmpegLoudness {
    double integrated_lufs = 0;
    double true_peak_dbtp = 0;
};

double summaryFigure(const std::string& log, const std::string& label) {
    const auto summary = log.rfind("Summary:");
    REQUIRE(summary != std::string::npos);
    const auto at = log.find(label, summary);
    REQUIRE(at != std::string::npos);
    return std::stod(log.substr(at + label.size()));
}

FfmpegLoudness ffmpegLoudness(const fs::path& file) {
    const std::string log = loa::test::capture_shell(
        fmt::format("ffmpeg -nostdin -hide_banner -nostats -i '{}' -af ebur128=peak=true -f null "
                    "- 2>&1",
                    file.string()));
    INFO(log);
    return {summaryFigure(log, "I:"), summaryFigure(log, "Peak:")};
}

// Music with strong treble: a quiet chord under cymbal-like noise above 17 kHz (steady, with a
// hit every quarter second), stereo 44.1 kHz. Opus at 24 kbit/s keeps little of what is above
// 16 kHz: encoded with the gain its own loudness calls for, it comes out about 3 LU short.
fs::path makeTrebleMusic(const TempDir& dir) {
    auto file = dir / "nhac.wav";
    shell(fmt::format(
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i "
        "\"aevalsrc='0.05*sin(2*PI*220*t)+0.04*sin(2*PI*277*t)+0.04*sin(2*PI*330*t)'"
        ":s=44100:d=12\" -f lavfi -i "
        "'anoisesrc=color=white:amplitude=0.9:d=12:r=44100,highpass=f=17000,highpass=f=17000,"
        "highpass=f=17000,volume=0.5+0.5*gt(mod(t\\,0.25)\\,0.1):eval=frame' "
        "-filter_complex '[0][1]amix=inputs=2:normalize=0,aformat=channel_layouts=stereo' '{}'",
        file.string()));
    return file;
}

// Quiet speech with one loud knock (a hand on the microphone): the gain the speech needs would
// put the knock far over the true-peak limit.
fs::path makeSpeechWithKnock(const TempDir& dir) {
    auto file = dir / "knock.wav";
    shell(
        fmt::format("ffmpeg -nostdin -loglevel error -y -i '{}' -f lavfi -i "
                    "\"aevalsrc='0.95*between(t\\,1\\,1.006)*sin(2*PI*700*t)':s=22050:d=1.5\" "
                    "-filter_complex '[0]volume=0.1[s];[s][1]amix=inputs=2:normalize=0:"
                    "duration=first' '{}'",
                    makeSpeech(dir).string(), file.string()));
    return file;
}

// Broadband hiss alone, quiet: a tape or a cheap recorder with nothing recorded on it.
fs::path makeHiss(const TempDir& dir, double amplitude) {
    auto file = dir / fmt::format("hiss-{}.wav", amplitude);
    shell(
        fmt::format("ffmpeg -nostdin -loglevel error -y -f lavfi -i "
                    "'anoisesrc=color=white:amplitude={}:d=10:r=44100' '{}'",
                    amplitude, file.string()));
    return file;
}

bool mentionsNoise(const std::vector<std::string>& warnings) {
    return std::any_of(warnings.begin(), warnings.end(), [](const std::string& w) {
        return w.find("mostly noise") != std::string::npos &&
               w.find("phần lớn là tiếng ồn") != std::string::npos;
    });
}

}  // namespace

TEST_CASE(
    "loudness: music, hiss and speech all come out within 1 LU of -23 LUFS and under -1 "
    "dBTP by FFmpeg's own meter") {
    TempDir dir;
    struct Case {
        std::string name;
        fs::path file;
        bool noise;
        bool corrected;  // Opus changes its loudness: one gain from the input cannot be enough
    };
    const std::vector<Case> cases = {
        {"music with strong treble", makeTrebleMusic(dir), false, true},
        {"loud broadband hiss", makeHiss(dir, 0.3), true, false},
        {"quiet hiss lifted by more than 20 dB", makeHiss(dir, 0.01), true, false},
        {"speech", makeSpeech(dir), false, false},
        {"quiet speech", makeQuietSpeech(dir), false, false},
        {"hot stereo speech", makeLoudSpeech(dir), false, false},
        {"quiet speech with a loud knock", makeSpeechWithKnock(dir), false, false},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            auto out = dir / (c.file.stem().string() + ".opus");
            auto done = normalise_to_opus(c.file, out);
            REQUIRE(done.has_value());
            const auto measured = ffmpegLoudness(out);
            INFO(
                fmt::format("{}: before {:.2f} LUFS, gain {:+.2f} dB, limiter {:.1f} dB, {} "
                            "encodings, after {:.2f} LUFS {:.2f} dBTP, FFmpeg {:.2f} LUFS "
                            "{:.2f} dBTP, noise {:.2f}",
                            c.name, done->before.integrated_lufs, done->gain_db, done->limited_db,
                            done->encodes, done->after.integrated_lufs, done->after.true_peak_dbtp,
                            measured.integrated_lufs, measured.true_peak_dbtp, done->noise_share));
            CHECK(measured.integrated_lufs == Approx(-23.0).margin(1.0));
            // The input's loudness (loa's own gated meter) agrees with FFmpeg's meter too.
            CHECK(done->before.integrated_lufs ==
                  Approx(ffmpegLoudness(c.file).integrated_lufs).margin(0.2));
            CHECK(measured.true_peak_dbtp <= -1.0);
            CHECK(done->after.integrated_lufs == Approx(-23.0).margin(0.5));
            CHECK(mentionsNoise(done->warnings) == c.noise);
            if (c.corrected) {
                CHECK(done->encodes >= 2);
            }
            if (c.file.stem() == "knock") {
                CHECK(done->limited_db > 3.0);  // held by the limiter, not paid for in loudness
            }
        }
    }
}

TEST_CASE("loudness: a 0.3 s jingle is measured over its own length and normalised") {
    TempDir dir;
    auto jingle = dir / "jingle.wav";
    shell(fmt::format("sox -n -r 44100 -c 1 '{}' synth 0.3 sine 880 fade 0.01 0.3 0.05 gain -12",
                      jingle.string()));
    auto out = dir / "jingle.opus";
    auto done = normalise_to_opus(jingle, out);
    INFO((done ? std::string() : done.error().message));
    REQUIRE(done.has_value());
    CHECK(std::isfinite(done->before.integrated_lufs));
    CHECK(done->after.integrated_lufs == Approx(-23.0).margin(1.0));
    CHECK(done->after.duration_s == Approx(0.3).margin(0.05));
}

TEST_CASE("loudness: a click shorter than 0.1 s is refused as too short in both languages") {
    TempDir dir;
    auto click = dir / "click.wav";
    shell(fmt::format("sox -n -r 44100 -c 1 '{}' synth 0.05 sine 880", click.string()));
    auto out = dir / "click.opus";
    auto done = normalise_to_opus(click, out);
    REQUIRE_FALSE(done.has_value());
    CHECK(done.error().code == Error::Code::too_short);
    CHECK_THAT(done.error().message, Contains("quá ngắn") && Contains("too short"));
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("loudness: an AMR-NB call recording with DTX pauses is normalised") {
    TempDir dir;
    auto call = dir / "cuoc-goi.amr";
    shell(fmt::format("sox '{}' -r 8000 -c 1 -t amr-nb '{}' pad 1.5 1.5", makeSpeech(dir).string(),
                      call.string()));
    checkNormalised(call, dir / "cuoc-goi.opus");
}
