// loactl media missing on the command line: what a node lacks for its coming plays, until the
// node reports it ready.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/store/database.hpp"
#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using loa::e2e::shell_quote;
namespace lc = loa::controller;

namespace {

// `loactl --data DIR/data ARGS` run by the first admin, as a shell command.
std::string loactl(const TempDir& dir, const std::string& args) {
    return fmt::format("{}{} --data {} {}", loa::e2e::as_admin(dir / "data"), LOA_LOACTL_BIN,
                       shell_quote((dir / "data").string()), args);
}

// Runs loactl and requires exit 0; returns its stdout.
std::string loactl_ok(const TempDir& dir, const std::string& args) {
    int status = -1;
    std::string out = capture_shell(loactl(dir, args), &status);
    INFO(args << "\n" << out);
    REQUIRE(status == 0);
    return out;
}

// Terminal columns before byte `index` of `line` (UTF-8, precomposed Vietnamese).
std::size_t column_of(const std::string& line, std::size_t index) {
    std::size_t columns = 0;
    for (std::size_t i = 0; i < index; ++i) {
        columns += (static_cast<unsigned char>(line[i]) & 0xc0) != 0x80 ? 1 : 0;
    }
    return columns;
}

}  // namespace

TEST_CASE(
    "loactl media missing lists a node's media for its coming plays until the node reports "
    "it ready") {
    TempDir dir;
    auto tone = dir / "ban-tin.wav";
    make_tone(tone, 3.0);
    auto imported = nlohmann::json::parse(loactl_ok(
        dir, "--json media import --title 'Bản tin thiên tai' " + shell_quote(tone.string())));
    const std::string hash = imported["media_hash"];
    loactl_ok(dir, "media approve " + hash);
    loactl_ok(dir, "node add ta-van-01 --kind speaker --area vn/lao-cai/sa-pa/ta-van");
    loactl_ok(dir, "campaign add thien-tai --name 'Phòng chống thiên tai' --item " + hash +
                       " --area vn/lao-cai --start now+1h --end now+2h");

    auto missing = nlohmann::json::parse(loactl_ok(dir, "media missing --json"));
    INFO(missing.dump(2));
    REQUIRE(missing.size() == 1);
    CHECK(missing[0]["node"] == "ta-van-01");
    CHECK(missing[0]["media_hash"] == hash);
    CHECK(missing[0]["title"] == "Bản tin thiên tai");
    CHECK(missing[0]["state"] == "unreported");
    CHECK(missing[0]["bytes_held"] == 0);
    CHECK(missing[0]["total_size"] == std::filesystem::file_size(dir / "data" / "media" / hash));
    CHECK(missing[0]["plays"] == 1);
    CHECK(missing[0]["reported"] == "");
    CHECK(nlohmann::json::parse(loactl_ok(dir, "media missing --json --node ta-van-01")).size() ==
          1);

    // For people: Vietnamese by default, columns aligned whatever the diacritics.
    std::string table = loactl_ok(dir, "media missing");
    INFO(table);
    auto header_at = table.find("Trạng thái");
    auto state_at = table.find("chưa báo cáo");
    REQUIRE(header_at != std::string::npos);
    REQUIRE(state_at != std::string::npos);
    auto line_start = [&](std::size_t at) { return table.rfind('\n', at) + 1; };
    CHECK(column_of(table.substr(line_start(header_at)), header_at - line_start(header_at)) ==
          column_of(table.substr(line_start(state_at)), state_at - line_start(state_at)));
    CHECK(table.find("Bản tin thiên tai") != std::string::npos);
    CHECK(table.find(hash.substr(0, 12)) != std::string::npos);
    CHECK(loactl_ok(dir, "media missing --lang en").find("not reported") != std::string::npos);

    // The node reports the file ready, as the controller records a MediaStatus.
    {
        auto db = lc::open_database(dir / "data" / "controller.db");
        REQUIRE(db.has_value());
        loa::wire::MediaStatus status;
        auto* item = status.add_items();
        item->set_media_hash(hash);
        item->set_state(loa::wire::MEDIA_READY);
        item->set_bytes_held(missing[0]["total_size"]);
        item->set_total_size(missing[0]["total_size"]);
        REQUIRE(loa::controller::write_directly(**db, [&](loa::controller::WriteTx& tx) {
                    return lc::record_media_status(tx, "ta-van-01", status, lc::now_us());
                }).has_value());
    }
    CHECK(loactl_ok(dir, "media missing --json") == "[]\n");
    CHECK(loactl_ok(dir, "media missing") ==
          "Đã sẵn sàng: mọi nút có đủ nội dung cho các lượt phát trong 24 giờ tới.\n");
    CHECK(loactl_ok(dir, "media missing --lang en --node ta-van-01 --hours 48") ==
          "Everything ready: node ta-van-01 holds the media for the plays in the next 48 "
          "hours.\n");

    int status = -1;
    std::string refused = capture_shell(loactl(dir, "media missing --node ke-la 2>&1"), &status);
    CHECK(status == 1);
    CHECK(refused.find("ke-la") != std::string::npos);
}
