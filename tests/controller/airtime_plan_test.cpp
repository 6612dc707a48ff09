// The airtime audit of a campaign from a plan file: coverage against its quotas (plays per day,
// airtime per week, the share of nodes), areas grouped by level name, and a plan applied again
// that leaves the report of the past as it was.
#include <catch2/catch.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/booking/plan_booking.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr std::int64_t kHourUs = 3600 * kSecondUs;
constexpr std::int64_t kDayUs = 24 * kHourUs;
/// Wednesday 2026-11-25 00:00 in Vietnam.
constexpr std::int64_t kDay0 = 1'795'539'600LL * kSecondUs;
const schedules::Date kFirstDay{std::chrono::year{2026}, std::chrono::month{11},
                                std::chrono::day{25}};

/// Two loudspeakers in the commune of Tả Van and one in the ward of Sa Pa, one campaign.
std::string plan_text(const std::string& bao_lu, const std::string& sat_lo,
                      const std::string& title, const std::string& items, int plays_per_day) {
    return fmt::format(R"(
[[areas]]
path = "vn"
name = "Việt Nam"
level = "country"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "07:00"
  [[areas.windows]]
  name = "chieu"
  start = "17:00"
  end = "18:00"

[[areas]]
path = "vn/lao-cai"
name = "Tỉnh Lào Cai"
level = "province"

[[areas]]
path = "vn/lao-cai/sa-pa"
name = "Thị xã Sa Pa"
level = "district"

[[areas]]
path = "vn/lao-cai/sa-pa/ta-van"
name = "Xã Tả Van"
level = "commune"

[[areas]]
path = "vn/lao-cai/sa-pa/sa-pa"
name = "Phường Sa Pa"
level = "ward"

[[nodes]]
id = "ta-van"
area = "vn/lao-cai/sa-pa/ta-van"
count = 2

[[nodes]]
id = "sa-pa-01"
area = "vn/lao-cai/sa-pa/sa-pa"

[[items]]
id = "bao-lu"
title = "Phòng chống bão lũ"
duration = "3s"
media = "{}"

[[items]]
id = "sat-lo"
title = "Cảnh báo sạt lở"
duration = "4s"
media = "{}"

[[campaigns]]
id = "thien-tai"
title = "{}"
owner = "UBND thị xã Sa Pa"
areas = ["vn/lao-cai/sa-pa"]
items = [{}]
from = 2026-11-25
until = 2026-11-30
  [campaigns.quotas]
  plays_per_day = {}
  airtime = "12s"
  airtime_per = "week"
  coverage = "60%"
)",
                       bao_lu, sat_lo, title, items, plays_per_day);
}

struct Planned : ControllerFixture {
    std::string bao_lu = tone(3.0, 440);
    std::string sat_lo = tone(4.0, 660);
    std::filesystem::path file = dir / "ke-hoach.toml";
    std::map<std::string, std::uint64_t> seq;

    void apply(const std::string& title, const std::string& items, int plays_per_day,
               schedules::Date from, std::int64_t now) {
        write_file(file, plan_text(bao_lu, sat_lo, title, items, plays_per_day));
        auto applied = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::apply_plan(tx, file, from, 3, now, false);
        });
        REQUIRE(applied.has_value());
        REQUIRE(applied->applied);
    }

    /// `node_id` confirms its plays of local day `day` (0 = 25 November); `failed_first`: the
    /// first of them failed.
    void confirm_day(const std::string& node_id, int day, bool failed_first = false) {
        SQLite::Statement q(*db,
                            "SELECT slot_id, campaign_id, start_us, duration_us FROM slots "
                            "WHERE node_id = ? AND start_us >= ? AND start_us < ? ORDER BY "
                            "start_us");
        q.bind(1, node_id);
        q.bind(2, static_cast<int64_t>(kDay0 + day * kDayUs));
        q.bind(3, static_cast<int64_t>(kDay0 + (day + 1) * kDayUs));
        wire::PlaybackReport report;
        while (q.executeStep()) {
            auto* c = report.add_confirmations();
            c->set_seq(++seq[node_id]);
            c->set_slot_id(q.getColumn(0).getString());
            c->set_campaign_id(q.getColumn(1).getString());
            c->set_planned_start_us(q.getColumn(2).getInt64());
            if (failed_first && report.confirmations_size() == 1) {
                c->set_outcome(wire::FAILED);
                c->set_reason("pipeline: could not link");
                continue;
            }
            c->set_outcome(wire::PLAYED);
            c->set_actual_start_us(q.getColumn(2).getInt64());
            c->set_actual_end_us(q.getColumn(2).getInt64() + q.getColumn(3).getInt64());
        }
        REQUIRE(report.confirmations_size() == 2);
        REQUIRE(loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::ingest_confirmations(tx, node_id, report, kDay0 + (day + 1) * kDayUs);
        }));
    }

    lc::AirtimeReport report(std::int64_t from, std::int64_t to, std::int64_t now,
                             lc::Grouping by = lc::Grouping::node,
                             const std::string& level_name = {}) {
        auto r = lc::airtime_report(*db, {.campaign_id = "thien-tai",
                                          .from_us = from,
                                          .to_us = to,
                                          .by = by,
                                          .level_name = level_name,
                                          .now_us = now});
        REQUIRE(r.has_value());
        return *r;
    }
};

const lc::AirtimeRow& row(const lc::AirtimeReport& r, const std::string& key) {
    for (const auto& x : r.rows) {
        if (x.key == key) {
            return x;
        }
    }
    FAIL("no row " << key);
    return r.total;
}

}  // namespace

TEST_CASE("coverage is checked against the plan's quotas, node by node") {
    Planned f;
    f.apply("Phòng chống thiên tai", R"("bao-lu", "sat-lo")", 2, kFirstDay, kNow);
    REQUIRE(f.count("slots") == 18);  // 3 nodes × 3 days × 2 plays
    // ta-van-01 plays everything; ta-van-02 fails one play on Thursday; sa-pa-01 reports
    // Wednesday, then nothing.
    for (int day = 0; day < 3; ++day) {
        f.confirm_day("ta-van-01", day);
        f.confirm_day("ta-van-02", day, day == 1);
    }
    f.confirm_day("sa-pa-01", 0);
    const std::int64_t now = kDay0 + 3 * kDayUs + 12 * kHourUs;

    auto r = f.report(kDay0, kDay0 + 3 * kDayUs, now);
    CHECK(r.quota_source == f.file.string());
    REQUIRE(r.quotas.size() == 2);
    CHECK(r.quotas[0].quota == "plays_per_day");
    CHECK(r.quotas[0].required == 2);
    CHECK(r.quotas[0].coverage_required == Approx(0.6));
    CHECK(r.quotas[1].quota == "airtime_per_week");
    CHECK(r.quotas[1].required == 12 * kSecondUs);
    CHECK(r.total.nodes_targeted == 3);
    // 2 plays a day: only ta-van-01 (1 of 3, 60 % asked: not met). 12 s in the week: the
    // nodes of Tả Van aired 21 s and 17–18 s, sa-pa-01 7 s (2 of 3: met).
    CHECK(r.total.quota_nodes_met == std::vector<std::int64_t>{1, 2});
    CHECK(r.total.nodes_met == 1);
    CHECK(row(r, "ta-van-01").nodes_met == 1);
    CHECK(row(r, "ta-van-02").quota_nodes_met == std::vector<std::int64_t>{0, 1});
    CHECK(row(r, "sa-pa-01").quota_nodes_met == std::vector<std::int64_t>{0, 0});
    CHECK(row(r, "sa-pa-01").bucket(lc::Bucket::not_yet_reported).plays == 4);
    auto json = lc::to_json(r);
    CHECK(json["quotas"][0]["met"] == false);
    CHECK(json["quotas"][1]["met"] == true);
    CHECK(json["quotas"][1]["required"] == 12.0);
    CHECK(json["quotas"][1]["unit"] == "seconds");
    const std::string table = lc::render_table(r, lc::Language::vi);
    INFO(table);
    CHECK(table.find("2 lượt/ngày: 1/3 nút (33.3%), yêu cầu 60.0% — KHÔNG ĐẠT") !=
          std::string::npos);
    CHECK(table.find("12 giây/tuần: 2/3 nút (66.7%), yêu cầu 60.0% — đạt") != std::string::npos);
    const std::string csv = lc::render_csv(r, lc::Language::en);
    CHECK(csv.find(",Nodes met: 2 plays a day,Nodes met: 12 s/week\r\n") != std::string::npos);
    CHECK(csv.find("\r\nTotal,vn/lao-cai/sa-pa,") == std::string::npos);  // no area asked
    CHECK(csv.find("\r\nTotal,*,18,") != std::string::npos);

    // Two days of the week's three: the week asks 2/3 of 12 s (8 s); sa-pa-01 aired 7 s.
    auto two = f.report(kDay0, kDay0 + 2 * kDayUs, now);
    CHECK(two.total.quota_nodes_met == std::vector<std::int64_t>{1, 2});
    // Wednesday alone: everyone played both plays; 12 s × 1/3 = 4 s asked.
    auto wednesday = f.report(kDay0, kDay0 + kDayUs, now);
    CHECK(wednesday.total.quota_nodes_met == std::vector<std::int64_t>{3, 3});
    CHECK(wednesday.total.nodes_met == 3);

    // Areas by the plans' level names: the ward of Sa Pa is no commune, so it is cut at the
    // depth communes have.
    auto communes = f.report(kDay0, kDay0 + 3 * kDayUs, now, lc::Grouping::area, "commune");
    CHECK(communes.query.level == 4);
    REQUIRE(communes.rows.size() == 2);
    CHECK(communes.rows[0].key == "vn/lao-cai/sa-pa/sa-pa");
    CHECK(communes.rows[0].nodes_targeted == 1);
    CHECK(communes.rows[1].key == "vn/lao-cai/sa-pa/ta-van");
    CHECK(communes.rows[1].nodes_targeted == 2);
    CHECK(communes.rows[1].nodes_met == 1);
    auto districts = f.report(kDay0, kDay0 + 3 * kDayUs, now, lc::Grouping::area, "district");
    REQUIRE(districts.rows.size() == 1);
    CHECK(districts.rows[0].key == "vn/lao-cai/sa-pa");
    CHECK(districts.rows[0].planned_plays == 18);
}

TEST_CASE("a plan applied again leaves the report of the past as it was") {
    Planned f;
    f.apply("Phòng chống thiên tai", R"("bao-lu", "sat-lo")", 2, kFirstDay, kNow);
    for (const auto& node : {"ta-van-01", "ta-van-02", "sa-pa-01"}) {
        f.confirm_day(node, 0);
    }
    const std::int64_t noon = kDay0 + kDayUs + 12 * kHourUs;  // Thursday noon
    auto outputs = [&] {
        auto r = f.report(kDay0, kDay0 + kDayUs, noon);
        return std::vector<std::string>{
            lc::to_json(r).dump(), lc::render_table(r, lc::Language::vi),
            lc::render_csv(r, lc::Language::vi), lc::render_html(r, lc::Language::vi)};
    };
    const auto before = outputs();
    const auto wednesday = f.report(kDay0, kDay0 + kDayUs, noon);
    CHECK(wednesday.campaign_name == "Phòng chống thiên tai");
    CHECK(wednesday.quotas.size() == 2);

    // Thursday noon: a new plan for the campaign, renamed, one item, one play a day. The
    // old plan's plays still ahead are taken back; Wednesday's stay.
    f.apply("Tên chiến dịch mới", R"("bao-lu")", 1,
            schedules::Date{std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{26}},
            noon);
    SQLite::Statement name(*f.db, "SELECT name FROM campaigns WHERE campaign_id = 'thien-tai'");
    REQUIRE(name.executeStep());
    CHECK(name.getColumn(0).getString() == "Tên chiến dịch mới");

    CHECK(outputs() == before);
    // The week as it stands now: Thursday's evening plays gave way to the new plan's.
    auto week = f.report(kDay0, kDay0 + 4 * kDayUs, noon);
    CHECK(week.campaign_name == "Tên chiến dịch mới");  // the name of the latest day's plays
    REQUIRE(week.quotas.size() == 2);  // those of the plan in force at the period's end
    CHECK(week.quotas[0].required == 1);
    CHECK(week.total.accounted_plays() == week.total.planned_plays);
}
