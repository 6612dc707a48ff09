// loactl report airtime as the real processes give it: a node that played and confirmed, one that
// never came up; CSV for spreadsheets (byte order mark, CRLF, Vietnamese intact) and a printable
// HTML page, table and JSON (issue 7).
#include "scenario.hpp"

using namespace loa::e2e;

namespace {

/// Runs loactl as the controller's first admin over its data directory; stdout (and stderr with
/// `errors`) and the exit status.
std::string run(Scenario& s, const std::string& args, int* status, bool errors = false) {
    return loa::test::capture_shell(
        fmt::format("{}{} --data {} {} {}", as_admin(s.controller_data()), LOA_LOACTL_BIN,
                    shell_quote(s.controller_data().string()), args,
                    errors ? "2>&1" : "2>>" + shell_quote((s.logs() / "loactl.log").string())),
        status);
}

std::vector<std::string> split(const std::string& text, const std::string& by) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t at; (at = text.find(by, start)) != std::string::npos; start = at + by.size()) {
        parts.push_back(text.substr(start, at - start));
    }
    parts.push_back(text.substr(start));
    return parts;
}

}  // namespace

TEST_CASE("loactl report airtime: CSV with a byte order mark, a printable page, every format",
          "[e2e]") {
    Scenario s;
    s.add_node("ta-van-01");
    s.add_node("y-ty-01", "vn/lao-cai/bat-xat/y-ty");  // booked, but its device never comes up
    const std::vector<Bulletin> bulletins = {s.tone(1.0, 440.0), s.tone(1.5, 660.0)};
    s.start_controller();
    s.start_node("ta-van-01");
    E2E_REQUIRE(s, loa::test::wait_until([&] { return s.seen({"ta-van-01"}); }, 10s));
    auto booked = s.add_campaign("bao-cao", bulletins, 6, "vn/lao-cai");
    CHECK(booked["slots_booked"] == 4);
    bool confirmed = loa::test::wait_until([&] { return s.confirmed("ta-van-01", "") == 2; },
                                           confirm_deadline(s, "ta-van-01"));
    E2E_REQUIRE(s, confirmed);
    // y-ty-01's plays are over too: not yet reported (it has been silent), not upcoming.
    REQUIRE(loa::test::wait_until([&] { return s.seconds_to_last_play_end("y-ty-01") <= 0; }, 30s));
    std::this_thread::sleep_for(100ms);

    const std::string report = "report airtime --campaign bao-cao --from now-1h --to now+1h";
    int status = -1;

    // CSV: a byte order mark, CRLF line ends, the header in Vietnamese, every cell.
    const std::string csv = run(s, report + " --format csv", &status);
    REQUIRE(status == 0);
    REQUIRE(csv.rfind("\xEF\xBB\xBF", 0) == 0);
    REQUIRE(csv.ends_with("\r\n"));
    auto records = split(csv.substr(3, csv.size() - 5), "\r\n");
    for (const auto& r : records) {
        CHECK(r.find('\n') == std::string::npos);
    }
    REQUIRE(records.size() == 4);  // header, two nodes (by area), total
    CHECK(records[0] ==
          "Nút,Khu vực,Lượt KH,Giây KH,Đã phát,Giây đã phát,Bị ngắt,Trễ,Thiếu tệp,Nút tắt,Lỗi,"
          "Mất,Chưa báo cáo,Chưa đến giờ,Ngoài KH,Giây ngoài KH,Im lặng,Lệch giờ,Nút có lượt KH,"
          "Nút đạt,Tỉ lệ đạt (%),Nút đạt: phát đủ mọi lượt theo kế hoạch");
    auto y_ty = split(records[1], ",");
    auto ta_van = split(records[2], ",");
    auto total = split(records[3], ",");
    REQUIRE(ta_van.size() == 22);
    REQUIRE(y_ty.size() == 22);
    REQUIRE(total.size() == 22);
    CHECK(y_ty[0] == "y-ty-01");
    CHECK(y_ty[1] == "vn/lao-cai/bat-xat/y-ty");
    CHECK(y_ty[2] == "2");
    CHECK(y_ty[4] == "0");
    CHECK(y_ty[12] == "2");  // not yet reported
    CHECK(y_ty[18] == "1");
    CHECK(y_ty[19] == "0");
    CHECK(ta_van[0] == "ta-van-01");
    CHECK(ta_van[2] == "2");
    CHECK(ta_van[4] == "2");
    CHECK(std::stod(ta_van[3]) == Approx(bulletins[0].seconds + bulletins[1].seconds).margin(0.01));
    CHECK(std::stod(ta_van[5]) == Approx(std::stod(ta_van[3])).margin(0.2));
    for (std::size_t i = 6; i < 18; ++i) {  // through silent and off time
        INFO("column " << i);
        CHECK(ta_van[i] == (i == 15 ? "0.000" : "0"));
    }
    CHECK(ta_van[19] == "1");
    CHECK(total[0] == "Tổng");
    CHECK(total[2] == "4");
    CHECK(total[4] == "2");
    CHECK(total[12] == "2");
    CHECK(total[18] == "2");
    CHECK(total[19] == "1");
    CHECK(total[20] == "50.0");

    // By day, in English: the header changes language, the figures do not.
    const std::string by_day = run(s, report + " --by day --format csv --lang en", &status);
    REQUIRE(status == 0);
    CHECK(by_day.rfind("\xEF\xBB\xBF"
                       "Day,Planned,Planned s,Played,",
                       0) == 0);
    CHECK(by_day.find("\r\nTotal,4,") != std::string::npos);

    // HTML: one page, printable on A4, Vietnamese intact, both charts.
    const std::string html = run(s, report + " --format html", &status);
    REQUIRE(status == 0);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<html lang=\"vi\">") != std::string::npos);
    CHECK(html.find("@page { size: A4") != std::string::npos);
    CHECK(html.find("Báo cáo thời lượng phát — chiến dịch bao-cao (Phòng chống thiên tai)") !=
          std::string::npos);
    CHECK(html.find("Chưa báo cáo") != std::string::npos);
    std::size_t svgs = 0;
    for (std::size_t at = 0; (at = html.find("<svg", at)) != std::string::npos; ++at) {
        ++svgs;
    }
    CHECK(svgs == 2);
    CHECK(html.find("data-key=\"vn/lao-cai/sa-pa\"") != std::string::npos);
    CHECK(html.find("data-key=\"vn/lao-cai/bat-xat\"") != std::string::npos);
    CHECK(html.ends_with("</html>\n"));
    const std::string english = run(s, report + " --format html --lang en", &status);
    REQUIRE(status == 0);
    CHECK(english.find("<html lang=\"en\">") != std::string::npos);
    CHECK(english.find("Airtime report — campaign bao-cao") != std::string::npos);

    // --json is --format json; the table has a total line.
    const auto json = nlohmann::json::parse(run(s, report + " --json", &status));
    REQUIRE(status == 0);
    CHECK(json["total"]["planned_plays"] == 4);
    CHECK(json["total"]["confirmed_plays"] == 2);
    CHECK(json["total"]["not_yet_reported"] == 2);
    CHECK(json["adds_up"] == true);
    const auto same = nlohmann::json::parse(run(s, report + " --format json", &status));
    CHECK(same["rows"] == json["rows"]);
    const std::string table = run(s, report + " --by area --level 4", &status);
    REQUIRE(status == 0);
    CHECK(table.find("theo khu vực cấp 4") != std::string::npos);
    CHECK(table.find("vn/lao-cai/sa-pa/ta-van") != std::string::npos);
    CHECK(table.find("\nTổng ") != std::string::npos);

    // Bad input: a grouping that does not exist is refused (1), a format loactl does not know
    // is a bad command line (2).
    const std::string refused = run(s, report + " --by thon", &status, true);
    CHECK(status == 1);
    CHECK(refused.find("'thon' is not a grouping") != std::string::npos);
    run(s, report + " --format pdf", &status, true);
    CHECK(status == 2);
}
