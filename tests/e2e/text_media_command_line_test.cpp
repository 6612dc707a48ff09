// loactl media tts and media slide, run as operators run them: real espeak-ng, real files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "scenario.hpp"
#include "test_support.hpp"

using loa::e2e::shell_quote;
using loa::test::capture_shell;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

struct Run {
    int status = -1;
    std::string out;  // stdout and stderr together
};

Run loactl(const TempDir& dir, const std::string& args) {
    Run run;
    // Run by the first admin of the data directory.
    run.out = capture_shell(fmt::format("{}{} --data {} {} 2>&1", loa::e2e::as_admin(dir / "data"),
                                        LOA_LOACTL_BIN, shell_quote((dir / "data").string()), args),
                            &run.status);
    return run;
}

nlohmann::json loactl_json(const TempDir& dir, const std::string& args) {
    Run run = loactl(dir, "--json " + args);
    INFO("loactl " << args << "\n" << run.out);
    REQUIRE(run.status == 0);
    auto parsed = nlohmann::json::parse(run.out, nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    return parsed;
}

}  // namespace

TEST_CASE("loactl media tts speaks a bulletin, imports it, and media list shows it") {
    TempDir dir;
    const std::string text = "Thông báo: chiều nay bà con thôn Tả Van họp tại nhà văn hoá.";
    auto imported = loactl_json(dir, "media tts --lang vi " + shell_quote(text));
    CHECK(imported.at("media_hash").get<std::string>().size() == 64);
    CHECK(imported.at("codec") == "opus");
    CHECK(imported.at("duration_seconds").get<double>() > 2.0);
    CHECK(imported.at("loudness_after_lufs").get<double>() == Approx(-23).margin(1.0));
    CHECK(imported.at("title") == text);  // short enough to be its own title
    CHECK(imported.at("already_present") == false);

    auto titled = loactl_json(dir, "media tts --title " + shell_quote("Cảnh báo rét đậm") + " -- " +
                                       shell_quote("-5 độ ở Sa Pa, bà con giữ ấm."));
    CHECK(titled.at("title") == "Cảnh báo rét đậm");

    auto listed = loactl_json(dir, "media list");
    REQUIRE(listed.size() == 2);
    std::set<std::string> hashes;
    for (const auto& m : listed) {
        hashes.insert(m.at("media_hash").get<std::string>());
    }
    CHECK(hashes.count(imported.at("media_hash").get<std::string>()) == 1);
    CHECK(hashes.count(titled.at("media_hash").get<std::string>()) == 1);
    // The synthesised WAV was a scratch file: nothing of it stays behind.
    CHECK(fs::is_empty(dir / "data" / "tmp"));

    Run plain = loactl(dir, "media tts " + shell_quote(text));
    CHECK(plain.status == 0);
    CHECK(plain.out.find(imported.at("media_hash").get<std::string>() + " (đã có") !=
          std::string::npos);
}

TEST_CASE("loactl media tts with a broken speech command says why and imports nothing") {
    TempDir dir;
    Run missing = loactl(dir, "media tts 'Xin chào' --command 'loa-no-such-tts -w {out}'");
    CHECK(missing.status == 1);
    CHECK(missing.out.find("không tìm thấy lệnh đọc 'loa-no-such-tts'") != std::string::npos);
    CHECK(missing.out.find("'loa-no-such-tts' not found") != std::string::npos);

    // Spoken by the controller: its refusal comes back through the API.
    Run failing = loactl(dir, "media tts 'Xin chào' --lang xx-none");
    CHECK(failing.status == 1);
    CHECK(failing.out.find("lệnh đọc 'espeak-ng' thất bại với mã thoát") != std::string::npos);
    CHECK(failing.out.find("failed with exit code") != std::string::npos);

    Run dashed = loactl(dir, "media tts 'Xin chào' --command 'espeak-ng -w {out}' --lang=-v");
    CHECK(dashed.status == 1);
    CHECK(dashed.out.find("'-v' không phải tên ngôn ngữ giọng đọc") != std::string::npos);
    CHECK(dashed.out.find("'-v' is not a voice language") != std::string::npos);

    CHECK(loactl_json(dir, "media list").empty());
}

TEST_CASE("loactl media slide renders a PNG for a board and refuses text that cannot fit") {
    TempDir dir;
    auto out = dir / "slide.png";
    auto slide = loactl_json(dir, "media slide " + shell_quote("Họp thôn lúc tám giờ sáng") +
                                      " --size 192x64 --out " + shell_quote(out.string()));
    CHECK(slide.at("path") == out.string());
    CHECK(slide.at("width") == 192);
    CHECK(slide.at("height") == 64);
    // The floor is the font's measured legible size (docs/text-media.md), reported with it.
    CHECK(slide.at("legible_min_px").get<int>() >= 10);
    CHECK(slide.at("font_px").get<int>() >= slide.at("legible_min_px").get<int>());
    CHECK(slide.at("font") == "DejaVu Sans");
    CHECK(loa::e2e::probe_seconds(out) != -1);  // ffprobe reads it as an image
    CHECK(loa::test::read_file(out).substr(1, 3) == "PNG");

    std::string long_text;
    for (int i = 0; i < 30; ++i) {
        long_text += "Phòng chống cháy rừng mùa khô. ";
    }
    auto refused_out = dir / "long.png";
    Run refused = loactl(dir, "media slide " + shell_quote(long_text) + " --size 128x32 --out " +
                                  shell_quote(refused_out.string()));
    CHECK(refused.status == 1);
    CHECK(refused.out.find("chữ không vừa bảng 128x32") != std::string::npos);
    CHECK(refused.out.find("does not fit on a 128x32 slide") != std::string::npos);
    CHECK(refused.out.find("keeps Vietnamese diacritics legible") != std::string::npos);
    CHECK_FALSE(fs::exists(refused_out));

    Run bad_size = loactl(dir, "media slide 'x' --size 192 --out " + shell_quote(out.string()));
    CHECK(bad_size.status != 0);
    CHECK(bad_size.out.find("WIDTHxHEIGHT") != std::string::npos);
}
