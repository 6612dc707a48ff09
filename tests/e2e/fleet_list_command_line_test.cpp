// loactl node list on the command line: the fleet at a glance, filtered to the nodes offline with
// a short runway, as a table (aligned, Vietnamese or English) and as JSON, within the person's
// area scope.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/store/database.hpp"
#include "scenario.hpp"
#include "test_support.hpp"

using namespace loa::test;
using loa::e2e::shell_quote;
namespace lc = loa::controller;
namespace wire = loa::wire;

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kHourUs = 3600 * kSecondUs;

// `loactl --data DIR/data ARGS` with `token` (the first admin's when empty), as a shell command.
std::string loactl(const TempDir& dir, const std::string& args, const std::string& token = {}) {
    const std::string who =
        token.empty() ? loa::e2e::as_admin(dir / "data") : "LOA_TOKEN=" + shell_quote(token) + " ";
    return fmt::format("{}{} --data {} {}", who, LOA_LOACTL_BIN,
                       shell_quote((dir / "data").string()), args);
}

// Runs loactl and requires exit 0; returns its stdout.
std::string loactl_ok(const TempDir& dir, const std::string& args, const std::string& token = {}) {
    int status = -1;
    std::string out = capture_shell(loactl(dir, args, token), &status);
    INFO(args << "\n" << out);
    REQUIRE(status == 0);
    return out;
}

// Runs loactl, requires exit `code`, returns stdout and stderr together.
std::string loactl_exit(const TempDir& dir, const std::string& args, int code,
                        const std::string& token = {}) {
    int status = -1;
    std::string out = capture_shell(loactl(dir, args + " 2>&1", token), &status);
    INFO(args << "\n" << out);
    CHECK(status == code);
    return out;
}

std::vector<std::string> nodes_of(const nlohmann::json& list) {
    std::vector<std::string> out;
    for (const auto& row : list) {
        out.push_back(row["node"]);
    }
    return out;
}

// Terminal columns before `text` in `line` (UTF-8, precomposed Vietnamese).
std::size_t column_of(const std::string& line, const std::string& text) {
    const auto at = line.find(text);
    REQUIRE(at != std::string::npos);
    std::size_t columns = 0;
    for (std::size_t i = 0; i < at; ++i) {
        columns += (static_cast<unsigned char>(line[i]) & 0xc0) != 0x80 ? 1 : 0;
    }
    return columns;
}

// The line of `table` that starts with `start` and holds `also`.
std::string line_of(const std::string& table, const std::string& start,
                    const std::string& also = {}) {
    std::istringstream lines(table);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with(start) && line.find(also) != std::string::npos) {
            return line;
        }
    }
    FAIL("no line starting with '" << start << "' in\n" << table);
    return {};
}

}  // namespace

TEST_CASE(
    "loactl node list --offline --runway-below 24h: the nodes that would fall silent, as a "
    "table and as JSON") {
    TempDir dir;
    // gan-01 was heard 5 s ago; xa-01 and xa-02 five minutes ago (offline at the default 30 s
    // heartbeat); im-01 never. Runways: 5 h, 5 h, 48 h, none.
    loactl_ok(dir, "node add gan-01 --kind speaker --area vn/lao-cai/sa-pa/ta-van");
    loactl_ok(dir, "node add xa-01 --kind speaker --area vn/lao-cai/sa-pa/ban-ho");
    loactl_ok(dir, "node add xa-02 --kind panel --area vn/lao-cai/sa-pa/ban-ho");
    loactl_ok(dir, "node add im-01 --kind speaker --area vn/lao-cai/bat-xat");
    // A bulletin booked on xa-01 in three hours, which it never said it holds.
    auto tone = dir / "lu-quet.wav";
    make_tone(tone, 2.0);
    auto imported = nlohmann::json::parse(loactl_ok(
        dir, "--json media import --title 'Cảnh báo lũ quét' " + shell_quote(tone.string())));
    const std::string hash = imported["media_hash"];
    loactl_ok(dir, "media approve " + hash);
    loactl_ok(dir, "campaign add lu-quet --name 'Phòng chống lũ quét' --item " + hash +
                       " --area vn/lao-cai/sa-pa/ban-ho --start now+3h --end now+4h");
    {
        auto db = lc::open_database(dir / "data" / "controller.db");
        REQUIRE(db.has_value());
        const std::int64_t now = lc::now_us();
        auto heard = [&](const std::string& node, std::int64_t ago_s, std::int64_t runway_h) {
            wire::Heartbeat h;
            h.set_state("idle");
            h.set_agent_version("loa-node 0.3.0");
            h.set_clock_offset_us(-3'000);
            h.set_schedule_horizon_end_us(now + 7 * 24 * kHourUs);
            h.set_runway_end_us(now + runway_h * kHourUs);
            REQUIRE(loa::controller::write_directly(**db, [&](loa::controller::WriteTx& tx) {
                        return lc::record_heartbeat(tx, node, h, now - ago_s * kSecondUs);
                    }).has_value());
        };
        heard("gan-01", 5, 5);
        heard("xa-01", 300, 5);
        heard("xa-02", 300, 48);
        // xa-01's last play failed: a play booked for it (only those count).
        (*db)->exec(
            "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, title, "
            "start_us, duration_us) VALUES ('xa-01', 'lu-quet/1@1', 'lu-quet', 'i', 'h', '', "
            "1, 2000000)");
        wire::PlaybackReport report;
        auto* c = report.add_confirmations();
        c->set_seq(1);
        c->set_slot_id("lu-quet/1@1");
        c->set_outcome(wire::FAILED);
        c->set_reason("alsa: device busy");
        REQUIRE(loa::controller::write_directly(**db, [&](loa::controller::WriteTx& tx) {
            return lc::ingest_confirmations(tx, "xa-01", report, now - 310 * kSecondUs);
        }));
    }

    // No filter: every node, with the fields `node list --json` always had.
    auto all = nlohmann::json::parse(loactl_ok(dir, "--json node list"));
    INFO(all.dump(2));
    CHECK(nodes_of(all) == std::vector<std::string>{"im-01", "xa-01", "xa-02", "gan-01"});
    CHECK(all[0]["kind"] == "speaker");
    CHECK(all[0]["area"] == "vn/lao-cai/bat-xat");
    CHECK(all[0]["last_seen"] == "-");
    CHECK(all[0]["agent_version"] == "");
    CHECK(all[3]["agent_version"] == "loa-node 0.3.0");
    CHECK(all[3]["online"] == true);

    auto short_offline =
        nlohmann::json::parse(loactl_ok(dir, "node list --offline --runway-below 24h --json"));
    INFO(short_offline.dump(2));
    REQUIRE(nodes_of(short_offline) == std::vector<std::string>{"im-01", "xa-01"});
    const auto& never = short_offline[0];
    CHECK(never["online"] == false);
    CHECK(never["connection"] == "never");
    CHECK(never["runway_hours"].is_null());
    CHECK(never["last_error"].is_null());
    CHECK(never["media_missing_24h"]["count"] == 0);
    const auto& xa = short_offline[1];
    CHECK(xa["online"] == false);
    CHECK(xa["connection"] == "offline");
    CHECK(xa["agent_version"] == "loa-node 0.3.0");
    CHECK(xa["clock_offset_us"] == -3'000);
    CHECK(xa["runway_hours"].get<double>() == Approx(5.0).margin(0.05));
    CHECK(xa["media_missing_24h"]["count"] == 1);
    CHECK(xa["media_missing_24h"]["media"][0]["media_hash"] == hash);
    CHECK(xa["media_missing_24h"]["media"][0]["title"] == "Cảnh báo lũ quét");
    CHECK(xa["media_missing_24h"]["media"][0]["state"] == "unreported");
    CHECK(xa["last_error"]["source"] == "confirmation");
    CHECK(xa["last_error"]["reason"] == "alsa: device busy");
    // The same in other words: minutes, days, plain hours.
    CHECK(nodes_of(nlohmann::json::parse(loactl_ok(
              dir, "node list --offline --runway-below 1440m --json"))) == nodes_of(short_offline));
    CHECK(nodes_of(nlohmann::json::parse(
              loactl_ok(dir, "node list --offline --runway-below 2d --json"))) ==
          std::vector<std::string>{"im-01", "xa-01", "xa-02"});
    CHECK(nodes_of(nlohmann::json::parse(loactl_ok(dir, "node list --runway-below 24 --json"))) ==
          std::vector<std::string>{"im-01", "xa-01", "gan-01"});

    // For people: Vietnamese by default, columns aligned whatever the diacritics.
    const std::string table = loactl_ok(dir, "node list --offline --runway-below 24h");
    INFO(table);
    CHECK(
        table.starts_with("Nút mất liên lạc (không nghe thấy trong 90 s), tự chủ dưới 24 giờ "
                          "hoặc chưa báo cáo:\n\n"));
    CHECK(table.find("gan-01") == std::string::npos);
    CHECK(table.find("xa-02") == std::string::npos);
    const std::string header = line_of(table, "Nút ", "Liên lạc");
    const std::string im = line_of(table, "im-01");
    const std::string xa_row = line_of(table, "xa-01");
    CHECK(column_of(im, "chưa kết nối") == column_of(header, "Liên lạc"));
    CHECK(column_of(xa_row, "mất liên lạc") == column_of(header, "Liên lạc"));
    CHECK(column_of(xa_row, "cụm loa") == column_of(header, "Loại"));
    CHECK(column_of(xa_row, "loa-node 0.3.0") == column_of(header, "Phiên bản"));
    CHECK(column_of(xa_row, "1: Cảnh báo lũ quét") == column_of(header, "Thiếu nội dung 24 giờ"));
    CHECK(column_of(xa_row, "phát hỏng (lu-quet/1@1): alsa: device busy") ==
          column_of(header, "Lỗi gần nhất"));
    CHECK(xa_row.find("5 phút trước") != std::string::npos);
    CHECK(column_of(im, "chưa bao giờ") == column_of(header, "Nghe lần cuối"));
    // Right-aligned numbers end where their heading ends.
    CHECK(column_of(xa_row, "-3.0 ms") + 7 == column_of(header, "Lệch giờ") + 8);

    const std::string en = loactl_ok(dir, "node list --offline --runway-below 24h --lang en");
    INFO(en);
    CHECK(en.starts_with(
        "Nodes offline (not heard for 90 s), with less than 24 hours of runway or none reported:"));
    CHECK(en.find("never connected") != std::string::npos);
    CHECK(en.find("play failed (lu-quet/1@1): alsa: device busy") != std::string::npos);

    // Told a slower heartbeat (10 min), xa-01 and xa-02 are online again.
    CHECK(nodes_of(nlohmann::json::parse(
              loactl_ok(dir, "node list --offline --heartbeat-ms 600000 --json"))) ==
          std::vector<std::string>{"im-01"});
    CHECK(nodes_of(nlohmann::json::parse(
              loactl_ok(dir, "node list --offline --area vn/lao-cai/sa-pa --json"))) ==
          std::vector<std::string>{"xa-01", "xa-02"});
    CHECK(loactl_ok(dir, "node list --offline --area vn/lao-cai/sa-pa/ta-van") ==
          "Không có nút nào mất liên lạc (không nghe thấy trong 90 s), ở "
          "vn/lao-cai/sa-pa/ta-van.\n");

    // Bad values are refused with the reason (exit 1); a bad command line is exit 2.
    CHECK(loactl_exit(dir, "node list --runway-below soon", 1)
              .starts_with("loactl: --runway-below: runway 'soon' is not a duration"));
    CHECK(loactl_exit(dir, "node list --area vn//x", 1).find("--area 'vn//x'") !=
          std::string::npos);
    loactl_exit(dir, "node list --heartbeat-ms 0", 2);

    // A commune operator sees the nodes of its commune only, and is refused another area.
    int status = -1;
    const std::string added =
        capture_shell("printf '%s\\n' mat-khau-bat-xat | " +
                          loactl(dir,
                                 "user add op-bat-xat --role operator --area vn/lao-cai/bat-xat "
                                 "--password-stdin 2>&1"),
                      &status);
    INFO(added);
    REQUIRE(status == 0);
    const std::string login_out = capture_shell(
        fmt::format("printf '%s\\n' mat-khau-bat-xat | env -u LOA_TOKEN {} --data {} --json login "
                    "op-bat-xat --password-stdin",
                    LOA_LOACTL_BIN, shell_quote((dir / "data").string())),
        &status);
    INFO(login_out);
    REQUIRE(status == 0);
    const std::string op = nlohmann::json::parse(login_out)["token"];
    CHECK(nodes_of(nlohmann::json::parse(loactl_ok(dir, "--json node list --offline", op))) ==
          std::vector<std::string>{"im-01"});
    CHECK(loactl_exit(dir, "node list --area vn/lao-cai/sa-pa", 1, op).find("outside its scope") !=
          std::string::npos);
}
