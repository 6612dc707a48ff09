// loactl media import/list on the command line: panel media, import options, refusals, progress.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "media_fixtures.hpp"
#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using loa::e2e::shell_quote;

namespace {

// `loactl --data DIR/data ARGS` run by the first admin, as a shell command.
std::string loactl(const TempDir& dir, const std::string& args) {
    return fmt::format("{}{} --data {} {}", loa::e2e::as_admin(dir / "data"), LOA_LOACTL_BIN,
                       shell_quote((dir / "data").string()), args);
}

}  // namespace

TEST_CASE("loactl imports a picture for the panels and lists it with its kind and size") {
    TempDir dir;
    auto poster = dir / "poster.png";
    make_picture(poster, "192x64");
    int status = -1;
    std::string out =
        capture_shell(loactl(dir, "--json media import --for panel --title 'Áp phích' " +
                                      shell_quote(poster.string())),
                      &status);
    REQUIRE(status == 0);
    auto imported = nlohmann::json::parse(out);
    CHECK(imported["kind"] == "image");
    CHECK(imported["width"] == 192);
    CHECK(imported["height"] == 64);
    CHECK(imported["already_present"] == false);

    out = capture_shell(loactl(dir, "media import --for panel " + shell_quote(poster.string())),
                        &status);
    CHECK(status == 0);
    CHECK(out.find("(đã có / already imported)  image 192x64 png") != std::string::npos);

    auto listed = nlohmann::json::parse(capture_shell(loactl(dir, "--json media list")));
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["kind"] == "image");
    CHECK(listed[0]["width"] == 192);
    out = capture_shell(loactl(dir, "media list"));
    CHECK(out.find("image     192x64") != std::string::npos);
}

TEST_CASE("loactl refuses media with the reason and exit 1, and imports nothing") {
    TempDir dir;
    auto tone = dir / "ban-tin.wav";
    make_tone(tone, 3.0);
    std::string args;
    std::string why;  // Vietnamese first
    std::string en;
    SECTION("a picture for the loudspeakers") {
        auto poster = dir / "poster.png";
        make_picture(poster, "64x32");
        args = "media import " + shell_quote(poster.string());
        why = "poster.png: tệp PNG không có âm thanh";
        en = "a PNG file without sound; loudspeakers need sound";
    }
    SECTION("longer than --max-duration") {
        args = "media import --max-duration 2 " + shell_quote(tone.string());
        why = "ban-tin.wav: quá dài: dài 0:00:03";
        en = "raise the limit with --max-duration SECONDS";
    }
    SECTION("quieter than --silence-floor") {
        args = "media import --silence-floor -15 --target-lufs -14 " + shell_quote(tone.string());
        why = "ban-tin.wav: im lặng: độ to";
        en = "silence: its loudness is";
    }
    SECTION("an empty file") {
        auto empty = dir / "rong.mp3";
        loa::test::write_file(empty, "");
        args = "media import " + shell_quote(empty.string());
        why = "rong.mp3: tệp rỗng (0 byte)";
        en = "the file is empty (0 bytes)";
    }
    SECTION("a folder") {
        std::filesystem::create_directories(dir / "ban-tin-thang-5");
        args = "media import " + shell_quote((dir / "ban-tin-thang-5").string());
        why = "là một thư mục, không phải tệp";
        en = "is a folder, not a file";
    }
    SECTION("a file that is not there") {
        args = "media import " + shell_quote((dir / "khong-co.mp3").string());
        why = "khong-co.mp3: không có tệp này";
        en = "no such file";
    }
    SECTION("a bitrate Opus does not have") {
        args = "media import --bitrate 100 " + shell_quote(tone.string());
        why = "tốc độ bit Opus 100 bit/s nằm ngoài";
        en = "an Opus bitrate of 100 bit/s is outside";
    }
    int status = -1;
    std::string out = capture_shell(loactl(dir, args + " 2>&1"), &status);
    INFO(out);
    CHECK(status == 1);
    CHECK(out.find(why) != std::string::npos);
    CHECK(out.find(en) != std::string::npos);
    CHECK(capture_shell(loactl(dir, "--json media list")) == "[]\n");
}

TEST_CASE("loactl draws a progress bar on a terminal, and none into a pipe") {
    TempDir dir;
    auto first = dir / "ban-tin-1.wav";
    auto second = dir / "ban-tin-2.wav";
    make_tone(first, 5.0, 22050, 440.0);
    make_tone(second, 5.0, 22050, 660.0);

    // stderr into a pipe: the result on stdout and no bar.
    int status = -1;
    std::string piped = capture_shell(
        loactl(dir, "media import " + shell_quote(first.string())) + " 2>&1", &status);
    REQUIRE(status == 0);
    CHECK(piped.find('\r') == std::string::npos);

    // script(1) gives loactl a terminal: the bar goes through the stages, then is wiped.
    std::string command = loactl(dir, "media import " + shell_quote(second.string()));
    std::string tty =
        capture_shell(fmt::format("script -qec {} /dev/null", shell_quote(command)), &status);
    INFO(tty);
    REQUIRE(status == 0);
    CHECK(tty.find("\r[") != std::string::npos);
    CHECK(tty.find("chuẩn hoá / normalising  ban-tin-2.wav") != std::string::npos);
    CHECK(tty.find("100%") != std::string::npos);
    CHECK(tty.find("\r\033[K") != std::string::npos);  // wiped before the result line
}
