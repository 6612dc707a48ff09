// Tests of synthesize_speech with the real espeak-ng, and of every way a speech command can fail.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "loa/media/audio_probe.hpp"
#include "loa/media/speech_synthesis.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using loa::media::Error;
using loa::media::SpeechOptions;
using loa::media::split_command_line;
using loa::media::synthesize_speech;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

constexpr const char* kShort = "Thông báo họp thôn.";
constexpr const char* kLong =
    "Thông báo: ngày mai, thứ Bảy, Ủy ban nhân dân xã tổ chức tiêm phòng cho trẻ em tại trạm y "
    "tế xã từ bảy giờ sáng. Đề nghị bà con đưa trẻ đi tiêm đúng giờ và mang theo sổ tiêm chủng.";

SpeechOptions with_command(std::vector<std::string> command) {
    SpeechOptions options;
    options.command = std::move(command);
    return options;
}

// Runs a command expected to fail; checks nothing is left behind and returns the error.
Error refusal(const std::string& text, const SpeechOptions& options) {
    TempDir dir;
    auto out = dir / "speech.wav";
    auto result = synthesize_speech(text, options, out);
    REQUIRE_FALSE(result.has_value());
    INFO(result.error().message);
    CHECK_FALSE(fs::exists(out));
    CHECK(fs::is_empty(dir.path()));  // no .part file either
    return result.error();
}

}  // namespace

TEST_CASE("speech: Vietnamese text becomes a WAV that FFmpeg probes, longer for longer text") {
    TempDir dir;
    auto short_wav = dir / "short.wav";
    auto long_wav = dir / "long.wav";
    auto spoken_short = synthesize_speech(kShort, {}, short_wav);
    REQUIRE(spoken_short.has_value());
    auto spoken_long = synthesize_speech(kLong, {}, long_wav);
    REQUIRE(spoken_long.has_value());

    auto probed_short = loa::media::probe_audio(short_wav);
    auto probed_long = loa::media::probe_audio(long_wav);
    REQUIRE(probed_short.has_value());
    REQUIRE(probed_long.has_value());
    CHECK(probed_short->container == "wav");
    CHECK(probed_short->channels == 1);
    CHECK(probed_short->duration_us == spoken_short->duration_us);
    // About a second for four words; the long text has ten times as many.
    CHECK(probed_short->duration_us > 500'000);
    CHECK(probed_short->duration_us < 5'000'000);
    CHECK(probed_long->duration_us > 4 * probed_short->duration_us);
    CHECK(fs::exists(short_wav));
    CHECK_FALSE(fs::exists(dir / "short.part.wav"));
}

TEST_CASE("speech: text that looks like options is spoken, not taken as options") {
    TempDir dir;
    auto out = dir / "dashes.wav";
    // Were this read as arguments, espeak-ng would switch to English, print help, write elsewhere.
    auto spoken = synthesize_speech("-v en --help -w /dev/null -5 độ", {}, out);
    REQUIRE(spoken.has_value());
    CHECK(spoken->duration_us > 1'000'000);
}

TEST_CASE("speech: the text reaches the command byte for byte, through no shell") {
    TempDir dir;
    auto out = dir / "quoted.wav";
    auto seen = dir / "seen.txt";
    const std::string text = "--\"Bà con\" 'chú ý': $HOME `date` ; rm -rf / \\ {out} {lang}\n";
    // The test's own sh reads what arrives on stdin; the text itself never meets a shell.
    auto options =
        with_command({"sh", "-c", "cat > \"$1\" && exec espeak-ng -v \"$2\" -w \"$0\" -f \"$1\"",
                      "{out}", seen.string(), "{lang}"});
    auto spoken = synthesize_speech(text, options, out);
    REQUIRE(spoken.has_value());
    CHECK(loa::test::read_file(seen) == text);
}

TEST_CASE("speech: {text} passes the text as one argument and without {out} stdout is the WAV") {
    TempDir dir;
    auto out = dir / "argument.wav";
    auto options = with_command({"espeak-ng", "-v", "{lang}", "--stdout", "--", "{text}"});
    auto spoken = synthesize_speech("-5 độ ở Sa Pa, bà con giữ ấm.", options, out);
    REQUIRE(spoken.has_value());
    CHECK(spoken->container == "wav");
    CHECK(spoken->duration_us > 1'000'000);
}

TEST_CASE("speech: a speech command that is not installed is reported as not found") {
    auto error = refusal(kShort, with_command({"loa-no-such-speech-tool", "-w", "{out}"}));
    CHECK_THAT(error.message, Contains("không tìm thấy lệnh đọc 'loa-no-such-speech-tool'"));
    CHECK_THAT(error.message, Contains("không có chương trình này trong PATH (đã cài chưa?)"));
    CHECK_THAT(error.message, Contains("'loa-no-such-speech-tool' not found"));
    CHECK_THAT(error.message, Contains("no such program on PATH (is it installed?)"));

    error = refusal(kShort, with_command({"/nonexistent/loa-tts", "-w", "{out}"}));
    CHECK_THAT(error.message, Contains("không tìm thấy lệnh đọc '/nonexistent/loa-tts': không có "
                                       "tệp này / speech command '/nonexistent/loa-tts' not "
                                       "found: no such file"));
}

TEST_CASE("speech: a speech command that fails gives its exit code and the tail of its stderr") {
    auto error = refusal(
        kShort, with_command({"sh", "-c", "echo 'giọng vi: không có' >&2; exit 3", "{out}"}));
    CHECK_THAT(error.message, Contains("lệnh đọc 'sh' thất bại với mã thoát 3 / "));
    CHECK_THAT(error.message, Contains("'sh' failed with exit code 3"));
    // The command's own words come last, after both languages.
    CHECK_THAT(error.message, EndsWith(" (giọng vi: không có)"));

    error = refusal(kShort, with_command({"sh", "-c", "exit 4", "{out}"}));
    CHECK_THAT(error.message, EndsWith("failed with exit code 4 (nó không in gì ra stderr / it "
                                       "printed nothing on stderr)"));

    SpeechOptions unknown_voice;
    unknown_voice.lang = "xx-no-such-voice";
    error = refusal(kShort, unknown_voice);
    CHECK_THAT(error.message, Contains("lệnh đọc 'espeak-ng' thất bại với mã thoát"));
    CHECK_THAT(error.message, Contains("'espeak-ng' failed with exit code"));
    CHECK_THAT(error.message, Contains("voice does not exist"));
}

TEST_CASE("speech: a speech command killed by a signal names the signal in both languages") {
    auto error = refusal(kShort, with_command({"sh", "-c", "kill -TERM $$", "{out}"}));
    CHECK_THAT(error.message, Contains("lệnh đọc 'sh' bị tín hiệu 15 (Terminated) dừng / "));
    CHECK_THAT(error.message, Contains("'sh' was killed by signal 15 (Terminated)"));
}

TEST_CASE("speech: a speech command that writes nothing, or no audio, is refused") {
    auto error = refusal(kShort, with_command({"true", "{out}"}));
    CHECK(error.code == Error::Code::empty);
    CHECK_THAT(error.message, Contains("lệnh đọc 'true' thoát với mã 0 nhưng không ghi tệp nào"));
    CHECK_THAT(error.message, Contains("'true' exited 0 but wrote no file"));

    error = refusal(kShort, with_command({"true"}));  // stdout taken as the WAV: empty
    CHECK(error.code == Error::Code::empty);
    CHECK_THAT(error.message, Contains("ghi ra tệp rỗng"));
    CHECK_THAT(error.message, Contains("wrote an empty file"));

    error = refusal(kShort, with_command({"echo", "không phải âm thanh"}));
    CHECK_THAT(error.message, Contains("lệnh đọc 'echo' không ghi ra âm thanh / "));
    CHECK_THAT(error.message, Contains("'echo' did not write audio ("));
}

TEST_CASE("speech: a speech command that hangs is killed at the timeout, children included") {
    auto options = with_command({"sh", "-c", "sleep 30 & sleep 30", "{out}"});
    options.timeout = std::chrono::milliseconds(300);
    auto started = std::chrono::steady_clock::now();
    auto error = refusal(kShort, options);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    CHECK_THAT(error.message, Contains("lệnh đọc 'sh' chưa xong sau 0.3 s nên đã bị buộc dừng"));
    CHECK_THAT(error.message, Contains("'sh' did not finish within 0.3 s and was killed"));
}

TEST_CASE("speech: empty text, a bad language or no command is refused before anything runs") {
    auto error = refusal(" \n\t ", {});
    CHECK(error.code == Error::Code::empty);
    CHECK_THAT(error.message, Contains("không có gì để đọc: văn bản cho 'espeak-ng' trống"));
    CHECK_THAT(error.message, Contains("nothing to say: the text for 'espeak-ng' is empty"));

    SpeechOptions dashed;
    dashed.lang = "-w/tmp/x";
    auto message = refusal(kShort, dashed).message;
    CHECK_THAT(message, Contains("'-w/tmp/x' không phải tên ngôn ngữ giọng đọc"));
    CHECK_THAT(message, Contains("'-w/tmp/x' is not a voice language"));

    message = refusal(kShort, with_command({})).message;
    CHECK_THAT(message, Contains("chưa có lệnh đọc nào") && Contains("no speech command"));

    SpeechOptions no_time;
    no_time.timeout = std::chrono::milliseconds(0);
    message = refusal(kShort, no_time).message;
    CHECK_THAT(message, Contains("phải lớn hơn 0") && Contains("timeout must be positive"));
}

TEST_CASE("speech: text with a NUL byte is not cut short as an argument but refused") {
    TempDir dir;
    auto ran = dir / "ran";
    // The command would leave a file behind if it ran at all.
    auto options = with_command({"sh", "-c", "touch \"$0\"", ran.string(), "{text}"});
    const std::string text = std::string("Họp thôn") + '\0' + "rm -rf";
    TempDir out_dir;
    auto result = synthesize_speech(text, options, out_dir / "speech.wav");
    REQUIRE_FALSE(result.has_value());
    CHECK_THAT(result.error().message, Contains("có byte NUL, không truyền được làm tham số"));
    CHECK_THAT(result.error().message, Contains("contains a NUL byte"));
    CHECK_THAT(result.error().message, Contains("drop {text}"));
    CHECK_FALSE(fs::exists(ran));
    CHECK(fs::is_empty(out_dir.path()));
}

TEST_CASE("speech: text over 64 KiB is refused before the command runs, naming the limit") {
    const std::string at_limit(loa::media::kMaxSpeechTextBytes, 'a');
    auto over = refusal(at_limit + "a", with_command({"false"}));
    CHECK_THAT(over.message, Contains("dài 65537 byte, quá giới hạn 65536 byte"));
    CHECK_THAT(over.message, Contains("65537 bytes, over the limit of 65536"));
    // At the limit the command runs (and this one fails).
    auto at = refusal(at_limit, with_command({"false"}));
    CHECK_THAT(at.message, !Contains("over the limit") && Contains("exit"));
}

TEST_CASE("speech: a command line splits into argv with quotes and escapes, and nothing else") {
    auto argv = split_command_line(R"(espeak-ng  -v {lang} -w "{out}" --punct='"' a\ b $HOME)");
    REQUIRE(argv.has_value());
    CHECK(*argv == std::vector<std::string>{"espeak-ng", "-v", "{lang}", "-w", "{out}",
                                            "--punct=\"", "a b", "$HOME"});
    CHECK(split_command_line("say ''")->size() == 2);

    auto open = split_command_line("espeak-ng -v 'vi");
    REQUIRE_FALSE(open.has_value());
    CHECK_THAT(open.error().message, Contains("dòng lệnh `espeak-ng -v 'vi` có dấu nháy đơn chưa "
                                              "đóng"));
    CHECK_THAT(open.error().message, Contains("unterminated single quote"));
    auto open_double = split_command_line("say \"hi");
    REQUIRE_FALSE(open_double.has_value());
    CHECK_THAT(open_double.error().message,
               Contains("nháy kép") && Contains("unterminated double quote"));
    auto blank = split_command_line("   ");
    REQUIRE_FALSE(blank.has_value());
    CHECK_THAT(blank.error().message,
               Contains("dòng lệnh đọc trống") && Contains("command line is empty"));
}
