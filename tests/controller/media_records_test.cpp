// Media records on real SQLite files: each area that imports the same bytes (or has them shared
// with it) holds a record of its own with its own approval; media airs only where an approved
// record covers; rejecting a record takes back only what it let air; old databases migrate.
#include <catch2/catch.hpp>

#include <fmt/core.h>

#include "controller_fixture.hpp"
#include "loa/controller/booking/plan_booking.hpp"
#include "loa/controller/content/approval.hpp"
#include "loa/controller/fleet/emergencies.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kProvince = "vn/lao-cai";
constexpr const char* kTaVan = "vn/lao-cai/sa-pa/ta-van";
constexpr const char* kBanHo = "vn/lao-cai/sa-pa/ban-ho";

/// Imports `file` as `by` of `area`, titled `title`.
lc::ImportResult import_in(ControllerFixture& f, const std::filesystem::path& file,
                           const std::string& area, const std::string& by,
                           const std::string& title = "Bản tin") {
    lc::ImportOptions options;
    options.area = area;
    options.by = by;
    auto imported = lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::import_media(tx, f.store, file, title, kNow, options);
    });
    INFO((imported ? std::string() : imported.error().message));
    REQUIRE(imported.has_value());
    return *imported;
}

lc::Result<lc::DecisionResult> decide(ControllerFixture& f, const std::string& hash,
                                      const std::string& area, lc::Decision decision) {
    return lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::decide_media(tx, hash, area, decision, "duyet-" + area, "", kNow);
    });
}

/// The record of `hash` in `area`, which must exist.
lc::MediaArea record(ControllerFixture& f, const std::string& hash, const std::string& area) {
    auto records = lc::media_areas(*f.db, hash);
    REQUIRE(records.has_value());
    for (const auto& r : *records) {
        if (r.area_path == area) {
            return r;
        }
    }
    FAIL("no record of " << hash << " in " << area);
    return {};
}

std::int64_t slots_on(ControllerFixture& f, const std::string& node_id,
                      const std::string& media_hash = {}) {
    SQLite::Statement q(*f.db,
                        "SELECT count(*) FROM slots WHERE node_id = ?1 AND (?2 = '' OR "
                        "media_hash = ?2)");
    q.bind(1, node_id);
    q.bind(2, media_hash);
    q.executeStep();
    return q.getColumn(0).getInt64();
}

lc::Result<lc::BookingResult> book(ControllerFixture& f, const std::string& id,
                                   std::vector<std::string> hashes,
                                   std::vector<std::string> areas) {
    return lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::add_campaign(tx, f.campaign(id, std::move(hashes), std::move(areas)), kNow);
    });
}

}  // namespace

TEST_CASE(
    "the same bytes imported in another area get a record of their own there, and "
    "nobody's record widens or changes") {
    ControllerFixture f;
    const auto file = f.dir / "ban-tin.wav";
    make_tone(file, 1.0);
    const auto first = import_in(f, file, kTaVan, "op-ta-van", "Bản tin Tả Van");
    CHECK_FALSE(first.already_present);
    CHECK(first.record.area_path == kTaVan);
    CHECK(first.record.approval == "pending");
    CHECK(first.record.via == "import");
    CHECK(first.record.added_by == "op-ta-van");
    const std::string hash = first.media.media_hash;
    REQUIRE(decide(f, hash, kTaVan, lc::Decision::approved));

    const auto second = import_in(f, file, kBanHo, "op-ban-ho", "Tin Bản Hồ");
    CHECK_FALSE(second.already_present);  // new to Bản Hồ
    CHECK(second.media.media_hash == hash);
    CHECK(second.record.area_path == kBanHo);
    CHECK(second.record.approval == "pending");
    CHECK(second.record.title == "Tin Bản Hồ");
    const auto mine = record(f, hash, kTaVan);
    CHECK(mine.approval == "approved");
    CHECK(mine.title == "Bản tin Tả Van");
    CHECK(mine.added_by == "op-ta-van");
    CHECK(f.count("media") == 1);
    CHECK(f.count("media_areas") == 2);

    // Again in Bản Hồ: its own record is found; a province above both gets one of its own too.
    const auto again = import_in(f, file, kBanHo, "op-ban-ho-2", "khác");
    CHECK(again.already_present);
    CHECK(again.record.title == "Tin Bản Hồ");
    CHECK(again.record.added_by == "op-ban-ho");
    CHECK_FALSE(import_in(f, file, kProvince, "op-tinh").already_present);
    CHECK(f.count("media_areas") == 3);
    CHECK(record(f, hash, kTaVan).approval == "approved");

    // An area that is not one is refused, and nothing changes.
    lc::ImportOptions bad;
    bad.area = "Lào Cai";
    CHECK_FALSE(lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::import_media(tx, f.store, file, "", kNow, bad);
    }));
    CHECK(f.count("media_areas") == 3);
}

TEST_CASE("media airs only where an approved record's area holds the target area") {
    ControllerFixture f;
    f.node("ta-van-01", kTaVan);
    f.node("ban-ho-01", kBanHo);
    const auto file = f.dir / "ban-tin.wav";
    make_tone(file, 2.0);
    const std::string hash = import_in(f, file, kTaVan, "op-ta-van").media.media_hash;
    REQUIRE(decide(f, hash, kTaVan, lc::Decision::approved));
    import_in(f, file, kBanHo, "op-ban-ho");

    // Bản Hồ's record is pending: Tả Van's approval does not air it in Bản Hồ.
    auto in_b = book(f, "ban-ho", {hash}, {kBanHo});
    REQUIRE_FALSE(in_b.has_value());
    CHECK(in_b.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(in_b.error().message, Contains("item 1") && Contains("not approved") &&
                                         Contains(kBanHo) && Contains("chưa được phê duyệt"));
    // A provincial campaign needs a provincial record: Tả Van's covers Tả Van only.
    auto provincial = book(f, "toan-tinh", {hash}, {kProvince});
    REQUIRE_FALSE(provincial.has_value());
    CHECK_THAT(provincial.error().message,
               Contains("no record of it there") && Contains("loactl media share"));
    lc::EmergencySpec spec;
    spec.media_hash = hash;
    spec.area = kProvince;
    spec.expires_us = kNow + 3600 * kSecondUs;
    auto emergency = lc::write_directly(
        *f.db, [&](lc::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); });
    REQUIRE_FALSE(emergency.has_value());
    CHECK(emergency.error().code == lc::Error::Code::forbidden);
    CHECK(f.count("campaigns") == 0);
    CHECK(f.count("emergencies") == 0);

    // In Tả Van it books, and sends to Tả Van's node; not to Bản Hồ's.
    REQUIRE(book(f, "ta-van", {hash}, {kTaVan}));
    CHECK(slots_on(f, "ta-van-01") > 0);
    spec.area.clear();
    spec.node_ids = {"ban-ho-01"};
    CHECK_FALSE(lc::write_directly(
        *f.db, [&](lc::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); }));
    spec.node_ids = {"ta-van-01"};
    CHECK(lc::write_directly(*f.db,
                             [&](lc::WriteTx& tx) { return lc::send_emergency(tx, spec, kNow); }));

    // Shared with the province and approved there, the provincial campaign books on both.
    auto shared = lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::share_media(tx, hash, kProvince, "Bản tin tỉnh", "op-tinh", kNow);
    });
    REQUIRE(shared.has_value());
    CHECK(shared->via == "share");
    CHECK(shared->approval == "pending");
    CHECK(lc::write_directly(*f.db,
                             [&](lc::WriteTx& tx) {
                                 return lc::share_media(tx, hash, kProvince, "x", "op-tinh", kNow);
                             })
              .error()
              .code == lc::Error::Code::conflict);
    CHECK(lc::write_directly(*f.db,
                             [&](lc::WriteTx& tx) {
                                 return lc::share_media(tx, std::string(64, 'e'), kProvince, "x",
                                                        "op-tinh", kNow);
                             })
              .error()
              .code == lc::Error::Code::not_found);
    REQUIRE(decide(f, hash, kProvince, lc::Decision::approved));
    auto both = book(f, "toan-tinh", {hash}, {kProvince});
    REQUIRE(both.has_value());
    CHECK(both->nodes_targeted == 2);
    CHECK(slots_on(f, "ban-ho-01") > 0);
}

TEST_CASE(
    "rejecting a record takes back the plays on nodes of its area that no other approved "
    "record covers, and re-booking follows the records") {
    ControllerFixture f;
    f.node("ta-van-01", kTaVan);
    f.node("ban-ho-01", kBanHo);
    const auto tone_x = f.dir / "x.wav";
    const auto tone_y = f.dir / "y.wav";
    make_tone(tone_x, 2.0, 22050, 440.0);
    make_tone(tone_y, 2.0, 22050, 660.0);
    std::string x, y;
    for (const char* area : {kTaVan, kBanHo}) {
        x = import_in(f, tone_x, area, "op").media.media_hash;
        y = import_in(f, tone_y, area, "op").media.media_hash;
        REQUIRE(decide(f, x, area, lc::Decision::approved));
        REQUIRE(decide(f, y, area, lc::Decision::approved));
    }
    REQUIRE(book(f, "hai-xa", {x, y}, {kTaVan, kBanHo}));
    REQUIRE(slots_on(f, "ta-van-01", y) == 1);
    REQUIRE(slots_on(f, "ban-ho-01", y) == 1);

    // Bản Hồ rejects its record of Y: Bản Hồ's play of Y goes, Tả Van's stays.
    auto rejected = decide(f, y, kBanHo, lc::Decision::rejected);
    REQUIRE(rejected.has_value());
    CHECK(rejected->plays_taken_back == 1);
    CHECK(rejected->previous == "approved");
    CHECK(slots_on(f, "ban-ho-01", y) == 0);
    CHECK(slots_on(f, "ban-ho-01", x) == 1);
    CHECK(slots_on(f, "ta-van-01", y) == 1);
    CHECK(record(f, y, kTaVan).approval == "approved");
    auto twice = decide(f, y, kBanHo, lc::Decision::rejected);
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().code == lc::Error::Code::conflict);
    auto none = decide(f, y, kProvince, lc::Decision::approved);
    REQUIRE_FALSE(none.has_value());
    CHECK(none.error().code == lc::Error::Code::not_found);

    // Nodes added later get what their area's records let air: X and Y in Tả Van, X in Bản Hồ.
    f.node("ta-van-02", kTaVan);
    f.node("ban-ho-02", kBanHo);
    CHECK(slots_on(f, "ta-van-02", x) == 1);
    CHECK(slots_on(f, "ta-van-02", y) == 1);
    CHECK(slots_on(f, "ban-ho-02", x) == 1);
    CHECK(slots_on(f, "ban-ho-02", y) == 0);
    SQLite::Statement campaigns(*f.db, "SELECT DISTINCT campaign_id FROM slots");
    std::set<std::string> ids;
    while (campaigns.executeStep()) {
        ids.insert(campaigns.getColumn(0).getString());
    }
    CHECK(ids == std::set<std::string>{"hai-xa"});  // the parts' plays carry the campaign's id

    // A province approval covers Bản Hồ: rejecting Tả Van's record of X then keeps Tả Van's
    // plays of X, which the province's record covers.
    REQUIRE(lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::share_media(tx, x, kProvince, "X", "op-tinh", kNow);
    }));
    REQUIRE(decide(f, x, kProvince, lc::Decision::approved));
    auto covered = decide(f, x, kTaVan, lc::Decision::rejected);
    REQUIRE(covered.has_value());
    CHECK(covered->plays_taken_back == 0);
    CHECK(slots_on(f, "ta-van-01", x) == 1);
    auto history = lc::approval_history(*f.db, x);
    REQUIRE(history.has_value());
    REQUIRE(history->size() == 4);
    CHECK(history->back().area_path == kTaVan);
    CHECK(history->back().decision == lc::Decision::rejected);
}

TEST_CASE("a plan's items must be approved in every area its campaigns play them, named by line") {
    ControllerFixture f;
    const auto file = f.dir / "ban-tin.wav";
    make_tone(file, 2.0);
    const std::string hash = import_in(f, file, kTaVan, "op-ta-van").media.media_hash;
    REQUIRE(decide(f, hash, kTaVan, lc::Decision::approved));
    const auto plan = f.dir / "ke-hoach.toml";
    write_file(plan, fmt::format(R"([[areas]]
path = "vn"
name = "Việt Nam"
  [[areas.windows]]
  name = "sang"
  start = "06:00"
  end = "07:00"

[[areas]]
path = "vn/lao-cai"
name = "Lào Cai"

[[nodes]]
id = "ta-van-01"
area = "{}"

[[items]]
id = "ban-tin"
title = "Bản tin"
duration = "2s"
media = "{}"

[[campaigns]]
id = "toan-tinh"
title = "Toàn tỉnh"
areas = ["vn/lao-cai"]
items = ["ban-tin"]
from = 2026-11-24
until = 2026-11-30
  [campaigns.quotas]
  plays_per_day = 1

[[areas]]
path = "vn/lao-cai/sa-pa"
name = "Sa Pa"

[[areas]]
path = "{}"
name = "Tả Van"
)",
                                 kTaVan, hash, kTaVan));
    const schedules::Date today{std::chrono::year{2026}, std::chrono::month{11},
                                std::chrono::day{24}};
    auto applied = lc::write_directly(
        *f.db, [&](lc::WriteTx& tx) { return lc::apply_plan(tx, plan, today, 2, kNow, true); });
    REQUIRE_FALSE(applied.has_value());
    CHECK(applied.error().code == lc::Error::Code::forbidden);
    CHECK_THAT(applied.error().message, Contains("ke-hoach.toml:17:") &&
                                            Contains("item 'ban-tin'") &&
                                            Contains("not approved for air in vn/lao-cai"));
    CHECK(f.count("plans") == 0);
    REQUIRE(lc::write_directly(*f.db, [&](lc::WriteTx& tx) {
        return lc::share_media(tx, hash, kProvince, "Bản tin", "op-tinh", kNow);
    }));
    REQUIRE(decide(f, hash, kProvince, lc::Decision::approved));
    auto again = lc::write_directly(
        *f.db, [&](lc::WriteTx& tx) { return lc::apply_plan(tx, plan, today, 2, kNow, true); });
    INFO((again ? std::string() : again.error().message));
    REQUIRE(again.has_value());
    CHECK(again->applied);
}

TEST_CASE(
    "media of a version 11 database becomes one record each, with its area, approval, "
    "decisions and importer") {
    TempDir dir;
    const auto file = dir / "controller.db";
    {
        // A database of this version taken back to version 11 where steps 12 to 14 touch it: no
        // records, the approval on the media row, decisions without an area. Then media as
        // version 11 left it: Tả Van's approved, one widened to Sa Pa by a second import
        // (the old behaviour), one from before people ('/', pending).
        auto opened = lc::open_database(file);
        REQUIRE(opened.has_value());
        auto& db = **opened;
        db.exec(
            // Step 15 (store faults) undone first, then step 14 (clock offsets).
            "ALTER TABLE node_status DROP COLUMN store_full;"
            "ALTER TABLE node_status DROP COLUMN confirmations_held;"
            "ALTER TABLE node_status DROP COLUMN store_rebuilt_us;"
            "DROP INDEX confirmations_off_time; DROP TABLE node_clock_offsets;"
            "ALTER TABLE confirmations DROP COLUMN node_start_us;"
            "ALTER TABLE confirmations DROP COLUMN node_end_us;"
            "ALTER TABLE confirmations DROP COLUMN clock_offset_us;"
            "ALTER TABLE confirmations DROP COLUMN clock_measured_us;"
            "ALTER TABLE confirmations DROP COLUMN off_by_us;"
            "ALTER TABLE confirmations DROP COLUMN off_time;"
            "ALTER TABLE airtime_rollup DROP COLUMN off_time;"
            "ALTER TABLE node_status DROP COLUMN clock_state;"
            "ALTER TABLE node_status DROP COLUMN clock_age_us;"
            "ALTER TABLE media DROP COLUMN warnings;"
            "DROP TABLE media_areas; DROP INDEX approvals_by_media;"
            "DROP TRIGGER schedule_media_changed;"
            "ALTER TABLE approvals DROP COLUMN area_path;"
            "ALTER TABLE media ADD COLUMN approval TEXT NOT NULL DEFAULT 'pending' "
            "CHECK (approval IN ('pending', 'approved', 'rejected'));"
            "CREATE TRIGGER schedule_media_changed AFTER UPDATE OF duration_us, kind, approval, "
            "area_path ON media BEGIN UPDATE change_counters SET value = value + 1 "
            "WHERE topic = 'schedule'; END;"
            "UPDATE schema_version SET version = 11;");
        db.exec(
            "INSERT INTO media (media_hash, title, original_name, container, codec, "
            "sample_rate, channels, duration_us, size_bytes, imported_us, original_hash, kind, "
            "approval, area_path) VALUES "
            "('aa', 'Bản tin Tả Van', 'a.wav', 'ogg', 'opus', 48000, 1, 2000000, 9000, 10, "
            "'a0', 'audio', 'approved', 'vn/lao-cai/sa-pa/ta-van'),"
            "('bb', 'Tin chung', 'b.wav', 'ogg', 'opus', 48000, 1, 2000000, 9000, 20, "
            "'b0', 'audio', 'approved', 'vn/lao-cai/sa-pa'),"
            "('cc', 'Cũ', 'c.wav', 'ogg', 'opus', 48000, 1, 2000000, 9000, 30, "
            "'c0', 'audio', 'pending', '/');"
            "INSERT INTO approvals (media_hash, decided_us, decided_by, decision, note) VALUES "
            "('aa', 11, 'duyet-ta-van', 'approved', 'đã nghe'),"
            "('bb', 21, 'duyet-ta-van', 'approved', '');"
            "INSERT INTO action_log (at_us, actor, actor_role, action, target, area_path, "
            "outcome, detail) VALUES "
            "(10, 'op-ta-van', 'operator', 'media.import', 'aa', 'vn/lao-cai/sa-pa/ta-van', "
            "'done', '{}'),"
            "(20, 'op-ta-van', 'operator', 'media.import', 'bb', 'vn/lao-cai/sa-pa/ta-van', "
            "'done', '{}'),"
            "(25, 'op-ban-ho', 'operator', 'media.import', 'bb', 'vn/lao-cai/sa-pa/ban-ho', "
            "'done', '{}');");
    }
    auto opened = lc::open_database(file);
    INFO((opened ? std::string() : opened.error().message));
    REQUIRE(opened.has_value());
    auto& db = **opened;
    CHECK(lc::schema_version(db) == lc::kSchemaVersion);
    auto records = lc::list_media_areas(db);
    REQUIRE(records.has_value());
    REQUIRE(records->size() == 3);
    const auto& a = records->at(0);
    CHECK(a.media_hash == "aa");
    CHECK(a.area_path == kTaVan);
    CHECK(a.approval == "approved");
    CHECK(a.title == "Bản tin Tả Van");
    CHECK(a.via == "import");
    CHECK(a.added_by == "op-ta-van");
    CHECK(a.added_us == 10);
    CHECK(records->at(1).area_path == "vn/lao-cai/sa-pa");  // as widened: kept, not guessed back
    CHECK(records->at(1).added_by == "op-ta-van");          // the first import
    CHECK(records->at(2).area_path == "/");
    CHECK(records->at(2).approval == "pending");
    CHECK(records->at(2).added_by.empty());
    auto history = lc::approval_history(db, "aa");
    REQUIRE(history.has_value());
    REQUIRE(history->size() == 1);
    CHECK(history->at(0).area_path == kTaVan);
    CHECK(history->at(0).note == "đã nghe");

    // The approval column is gone: nothing can read a state that no longer decides anything.
    CHECK_THROWS(SQLite::Statement(db, "SELECT approval FROM media"));
    // Records are decided on as any other.
    auto rejected = lc::write_directly(db, [&](lc::WriteTx& tx) {
        return lc::decide_media(tx, "aa", kTaVan, lc::Decision::rejected, "duyet", "", 40);
    });
    REQUIRE(rejected.has_value());
    CHECK(rejected->previous == "approved");
}
