// The airtime report over real loopback HTTP: every grouping and format (JSON, table, CSV with a
// byte order mark as a download, the printable HTML page), both languages, the report's scope,
// and refusals of bad parameters naming the parameter.
#include <catch2/catch.hpp>

#include "api_fixture.hpp"

using namespace loa;
using namespace loa::test;

namespace {

/// Two communes, a campaign booked in one of them; the report window covers its plays.
struct ReportApi {
    ReportApi() {
        api.node("ta-van-01", ApiFixture::kCommune);
        api.node("ta-van-02", ApiFixture::kCommune);
        api.node("ban-ho-01", ApiFixture::kOtherCommune);
        const std::string media = api.tone(2.0);
        auto booked = api.post("/api/v1/campaigns", "operator",
                               {{"campaign", "phong-chong-lu"},
                                {"name", "Phòng chống lũ quét"},
                                {"owner", "UBND xã Tả Van"},
                                {"items", {media}},
                                {"areas", {ApiFixture::kCommune}},
                                {"start", "now+1m"},
                                {"end", "now+2h"}});
        REQUIRE(booked.status == 201);
        slots = booked.json().at("slots_booked").get<int>();
        REQUIRE(slots > 0);
    }
    std::string report(const std::string& params) const {
        return "/api/v1/reports/airtime?campaign=phong-chong-lu&from=now-1h&to=now%2B3h" + params;
    }
    ApiFixture api;
    int slots = 0;
};

}  // namespace

TEST_CASE("API report: every grouping answers with the same totals, in the scope of the reader",
          "[api][report]") {
    ReportApi r;
    for (const std::string by : {"node", "area", "area-level", "day", "week", "month"}) {
        INFO("by=" << by);
        auto answer = r.api.get(r.report("&by=" + by), "auditor");
        REQUIRE(answer.status == 200);
        const auto json = answer.json();
        CHECK(json.at("by") == (by == "area-level" ? "area" : by));
        CHECK(json.at("total").at("planned_plays") == r.slots);
        CHECK(json.at("total").at("confirmed_plays") == 0);
        CHECK(json.at("adds_up") == true);
        REQUIRE_FALSE(json.at("rows").empty());
    }
    auto nodes = r.api.get(r.report("&by=node"), "auditor").json();
    CHECK(nodes.at("rows").size() == 2);  // the two nodes of the commune the campaign targets
    auto communes = r.api.get(r.report("&by=area&level=4"), "auditor").json();
    REQUIRE(communes.at("rows").size() == 1);
    CHECK(communes.at("rows")[0].at("key") == ApiFixture::kCommune);
    auto districts = r.api.get(r.report("&by=area&level=3"), "auditor").json();
    REQUIRE(districts.at("rows").size() == 1);
    CHECK(districts.at("rows")[0].at("key") == "vn/lao-cai/sa-pa");

    // The operator of another commune sees neither the campaign nor its report.
    auto other = r.api.get(r.report(""), "other-operator");
    CHECK(other.status == 403);
    CHECK(r.api.get(r.report(""), "").status == 401);
    auto outside = r.api.get(r.report("&area=vn/ha-noi"), "operator");
    CHECK(outside.status == 403);
}

TEST_CASE("API report: CSV is a UTF-8 download with a BOM, HTML a printable page, vi and en",
          "[api][report]") {
    ReportApi r;
    auto csv = r.api.get(r.report("&by=node&format=csv"), "auditor");
    REQUIRE(csv.status == 200);
    CHECK(csv.content_type.find("text/csv") == 0);
    CHECK(csv.body.rfind("\xEF\xBB\xBF", 0) == 0);
    CHECK(csv.body.find("\r\n") != std::string::npos);
    CHECK(csv.body.find("ta-van-01") != std::string::npos);
    CHECK(csv.body.find("ta-van-02") != std::string::npos);
    const std::string disposition = csv.headers.find("Content-Disposition")->second;
    CHECK(disposition.find("attachment; filename=\"airtime-phong-chong-lu-") == 0);
    CHECK(disposition.find(".csv\"") != std::string::npos);

    auto vi = r.api.get(r.report("&format=html&lang=vi"), "auditor");
    REQUIRE(vi.status == 200);
    CHECK(vi.content_type.find("text/html") == 0);
    CHECK(vi.body.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(vi.body.find("<html lang=\"vi\">") != std::string::npos);
    CHECK(vi.body.find("<svg") != std::string::npos);
    CHECK(vi.body.find("size: A4") != std::string::npos);
    CHECK(vi.body.find("Phòng chống lũ quét") != std::string::npos);
    auto en = r.api.get(r.report("&format=html&lang=en"), "auditor");
    CHECK(en.body.find("<html lang=\"en\">") != std::string::npos);
    CHECK(en.body != vi.body);

    auto table = r.api.get(r.report("&format=table&lang=vi"), "auditor");
    REQUIRE(table.status == 200);
    CHECK(table.content_type.find("text/plain") == 0);
    CHECK(table.body.find("Phòng chống lũ quét") != std::string::npos);
    auto json_en = r.api.get(r.report("&lang=en"), "auditor").json();
    auto json_vi = r.api.get(r.report("&lang=vi"), "auditor").json();
    CHECK(json_en.at("total") == json_vi.at("total"));  // figures do not depend on the language
    CHECK(json_en.at("labels") != json_vi.at("labels"));
}

TEST_CASE("API report: bad parameters are refused naming the parameter", "[api][report]") {
    ReportApi r;
    auto by = r.api.get(r.report("&by=year"), "auditor");
    CHECK(by.status == 400);
    CHECK(by.error().find("by") != std::string::npos);
    CHECK(by.error().find("year") != std::string::npos);
    auto format = r.api.get(r.report("&format=pdf"), "auditor");
    CHECK(format.status == 400);
    CHECK(format.error().find("pdf") != std::string::npos);
    auto level = r.api.get(r.report("&by=area&level=0"), "auditor");
    CHECK(level.status == 400);
    CHECK(level.error().find("level") != std::string::npos);
    auto no_campaign = r.api.get("/api/v1/reports/airtime?from=now-1h&to=now", "auditor");
    CHECK(no_campaign.status == 400);
    CHECK(no_campaign.error().find("campaign") != std::string::npos);
    auto unknown =
        r.api.get("/api/v1/reports/airtime?campaign=khong-co&from=now-1h&to=now%2B3h", "auditor");
    CHECK(unknown.status == 404);
    auto bad_from =
        r.api.get("/api/v1/reports/airtime?campaign=phong-chong-lu&from=hom-qua&to=now", "auditor");
    CHECK(bad_from.status == 400);
    CHECK(bad_from.error().find("from") != std::string::npos);
}
