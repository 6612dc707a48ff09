// The fleet view: online by the heartbeat interval, runway, media missing for the next 24 h, the
// last error, the filters of `loactl node list`, and the online share per area.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "controller_fixture.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "loa/controller/people/action_log.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr std::int64_t kHourUs = 3600 * kSecondUs;
constexpr std::int64_t kIntervalMs = 30'000;

constexpr const char* kTaVan = "vn/lao-cai/sa-pa/ta-van";
constexpr const char* kBanHo = "vn/lao-cai/sa-pa/ban-ho";
constexpr const char* kBatXat = "vn/lao-cai/bat-xat";

/// A heartbeat received `ago_s` seconds before kNow whose runway ends `runway_h` hours after
/// kNow.
void heard(ControllerFixture& f, const std::string& node, std::int64_t ago_s, double runway_h,
           std::optional<std::int64_t> offset_us = {}) {
    wire::Heartbeat h;
    h.set_node_time_us(kNow - ago_s * kSecondUs);
    h.set_state("playing");
    h.set_agent_version("loa-node 0.3.0");
    h.set_schedule_horizon_end_us(kNow + 7 * 24 * kHourUs);
    h.set_runway_end_us(kNow + static_cast<std::int64_t>(runway_h * kHourUs));
    if (offset_us) {
        h.set_clock_offset_us(*offset_us);
    }
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_heartbeat(tx, node, h, kNow - ago_s * kSecondUs);
            }).has_value());
}

/// Imports a tone titled `title` and approves it; returns its hash.
std::string bulletin(ControllerFixture& f, const std::string& title, double frequency) {
    auto file = f.dir / fmt::format("{}.wav", frequency);
    make_tone(file, 2.0, 22050, frequency);
    auto imported = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::import_media(tx, f.store, file, title, kNow);
    });
    REQUIRE(imported.has_value());
    return f.approve(imported->media.media_hash);
}

/// Books one campaign of `hashes` on the nodes of `area`, its window opening `in_h` hours after
/// kNow.
void book(ControllerFixture& f, const std::string& id, std::vector<std::string> hashes,
          const std::string& area, std::int64_t in_h) {
    auto spec = f.campaign(id, std::move(hashes), {area});
    spec.window_start_us = kNow + in_h * kHourUs;
    spec.window_end_us = spec.window_start_us + kHourUs;
    auto booked = loa::controller::write_directly(
        *f.db, [&](loa::controller::WriteTx& tx) { return lc::add_campaign(tx, spec, kNow); });
    REQUIRE(booked.has_value());
    REQUIRE(booked->unplaced.empty());
}

std::vector<std::string> ids(const std::vector<lc::FleetNode>& fleet) {
    std::vector<std::string> out;
    for (const auto& n : fleet) {
        out.push_back(n.node_id);
    }
    return out;
}

const lc::FleetNode& find(const std::vector<lc::FleetNode>& fleet, const std::string& id) {
    for (const auto& n : fleet) {
        if (n.node_id == id) {
            return n;
        }
    }
    FAIL("no node " << id);
    return fleet.front();
}

/// Four nodes: heard 10 s ago (runway 5 h), 89 s ago (48 h), 91 s ago (5 h) and never.
struct Fleet : ControllerFixture {
    Fleet() {
        node("a-gan", kTaVan);
        node("b-sat", kBanHo);
        node("c-xa", kBanHo);
        node("d-im", kBatXat);
        heard(*this, "a-gan", 10, 5, 2'000);
        heard(*this, "b-sat", 89, 48, -75'000);
        heard(*this, "c-xa", 91, 5);
    }
};

}  // namespace

TEST_CASE("a node is online when heard within 3 heartbeat intervals, and not revoked") {
    const std::int64_t at = kNow - 90 * kSecondUs;
    CHECK(lc::node_online(at, false, kNow, kIntervalMs));  // exactly 3 intervals: still online
    CHECK_FALSE(lc::node_online(at - 1, false, kNow, kIntervalMs));
    CHECK_FALSE(lc::node_online(std::nullopt, false, kNow, kIntervalMs));
    CHECK_FALSE(lc::node_online(kNow, true, kNow, kIntervalMs));
    // A slower controller waits longer before calling a node offline.
    CHECK(lc::node_online(kNow - 170 * kSecondUs, false, kNow, 60'000));
}

TEST_CASE("the fleet view: online, last seen, agent, clock offset and runway of each node") {
    Fleet f;
    auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs);
    REQUIRE(fleet.has_value());
    // By area, then id.
    CHECK(ids(*fleet) == std::vector<std::string>{"d-im", "b-sat", "c-xa", "a-gan"});

    const auto& a = find(*fleet, "a-gan");
    CHECK(a.online);
    CHECK(a.connection() == "online");
    CHECK(a.last_seen_us == kNow - 10 * kSecondUs);
    CHECK(a.agent_version == "loa-node 0.3.0");
    CHECK(a.state == "playing");
    CHECK(a.clock_offset_us == 2'000);
    CHECK(a.runway_hours.value() == Approx(5.0));
    CHECK(find(*fleet, "b-sat").online);  // 89 s
    CHECK(find(*fleet, "b-sat").runway_hours.value() == Approx(48.0));
    const auto& c = find(*fleet, "c-xa");  // 91 s
    CHECK_FALSE(c.online);
    CHECK(c.connection() == "offline");
    CHECK(c.runway_hours.value() == Approx(5.0));
    const auto& d = find(*fleet, "d-im");
    CHECK_FALSE(d.online);
    CHECK(d.connection() == "never");
    CHECK_FALSE(d.last_seen_us.has_value());
    CHECK_FALSE(d.runway_hours.has_value());
    CHECK_FALSE(d.clock_offset_us.has_value());
    CHECK(d.agent_version.empty());

    // Six hours on, a runway of 5 h has run out: 0, not negative.
    auto later = lc::fleet_view(*f.db, kNow + 6 * kHourUs, kIntervalMs);
    REQUIRE(later.has_value());
    CHECK(find(*later, "a-gan").runway_hours.value() == 0.0);
    CHECK_FALSE(find(*later, "a-gan").online);

    // A revoked node is never online.
    f.db->exec("UPDATE nodes SET revoked_us = 1 WHERE node_id = 'a-gan'");
    auto revoked = lc::fleet_view(*f.db, kNow, kIntervalMs);
    CHECK(find(*revoked, "a-gan").connection() == "revoked");
    CHECK_FALSE(find(*revoked, "a-gan").online);
}

TEST_CASE("the fleet view's filters: offline, runway below, area, node, combined") {
    Fleet f;
    auto view = [&](lc::FleetFilter filter) {
        auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs, filter);
        REQUIRE(fleet.has_value());
        return ids(*fleet);
    };
    using Ids = std::vector<std::string>;
    CHECK(view({.offline_only = true}) == Ids{"d-im", "c-xa"});
    // Below 24 h: the 5 h runways and the node that never said.
    CHECK(view({.runway_below_hours = 24}) == Ids{"d-im", "c-xa", "a-gan"});
    CHECK(view({.offline_only = true, .runway_below_hours = 24}) == Ids{"d-im", "c-xa"});
    CHECK(view({.runway_below_hours = 5.5, .area = "vn/lao-cai/sa-pa"}) == Ids{"c-xa", "a-gan"});
    CHECK(view({.offline_only = true, .area = "vn/lao-cai/sa-pa"}) == Ids{"c-xa"});
    CHECK(view({.area = "vn/lao-cai/sa-pa/ban-ho"}) == Ids{"b-sat", "c-xa"});
    CHECK(view({.area = "/"}).size() == 4);
    CHECK(view({.area = "vn/ha-noi"}).empty());
    CHECK(view({.node_id = "b-sat"}) == Ids{"b-sat"});
    CHECK(view({.offline_only = true, .node_id = "b-sat"}).empty());
    // A slower heartbeat (60 s) puts c-xa back online: 91 s is within 180 s.
    auto slow = lc::fleet_view(*f.db, kNow, 60'000, {.offline_only = true});
    CHECK(ids(*slow) == Ids{"d-im"});

    auto unknown = lc::fleet_view(*f.db, kNow, kIntervalMs, {.node_id = "ke-la"});
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == lc::Error::Code::not_found);
    auto bad_area = lc::fleet_view(*f.db, kNow, kIntervalMs, {.area = "vn//x"});
    REQUIRE_FALSE(bad_area.has_value());
    CHECK(bad_area.error().code == lc::Error::Code::invalid_input);
    CHECK(bad_area.error().message.find("vn//x") != std::string::npos);
    CHECK_FALSE(lc::fleet_view(*f.db, kNow, 0).has_value());
}

TEST_CASE("runway thresholds read as hours, minutes, days or plain hours") {
    CHECK(lc::parse_runway_hours("24h").value() == Approx(24));
    CHECK(lc::parse_runway_hours("90m").value() == Approx(1.5));
    CHECK(lc::parse_runway_hours("2d").value() == Approx(48));
    CHECK(lc::parse_runway_hours("36").value() == Approx(36));
    CHECK(lc::parse_runway_hours("1.5").value() == Approx(1.5));
    CHECK(lc::parse_runway_hours("0").value() == 0.0);
    for (const char* bad : {"", "h", "-3", "-2h", "24x", "1.5h", "nan", "inf", "24 h"}) {
        INFO(bad);
        auto parsed = lc::parse_runway_hours(bad);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code == lc::Error::Code::invalid_input);
        CHECK(parsed.error().message.find("24h, 90m, 2d") != std::string::npos);
    }
}

TEST_CASE("media missing counts the plays of the next 24 h whose media the node does not hold") {
    Fleet f;
    const std::string soon = bulletin(f, "Bản tin phòng chống lũ quét", 440);
    const std::string held = bulletin(f, "Bản tin nông thôn mới", 550);
    const std::string later = bulletin(f, "Bản tin ngày mai", 660);
    book(f, "trong-3-gio", {soon, held}, kTaVan, 3);
    book(f, "sau-30-gio", {later}, kTaVan, 30);
    // The node holds one of the three, and is fetching the one due in 3 h.
    wire::MediaStatus status;
    auto* ready = status.add_items();
    ready->set_media_hash(held);
    ready->set_state(wire::MEDIA_READY);
    auto* fetching = status.add_items();
    fetching->set_media_hash(soon);
    fetching->set_state(wire::MEDIA_FETCHING);
    fetching->set_bytes_held(1000);
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_media_status(tx, "a-gan", status, kNow);
            }).has_value());

    auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs);
    REQUIRE(fleet.has_value());
    const auto& a = find(*fleet, "a-gan");
    REQUIRE(a.media_missing.size() == 1);  // the play in 30 h does not count yet
    CHECK(a.media_missing[0].media_hash == soon);
    CHECK(a.media_missing[0].title == "Bản tin phòng chống lũ quét");
    CHECK(a.media_missing[0].state == "fetching");
    CHECK(a.media_missing[0].first_play_us >= kNow + 3 * kHourUs);
    CHECK(find(*fleet, "b-sat").media_missing.empty());

    // Eight hours on, the play in 30 h is within 24 h; the one in 3 h has passed.
    auto on = lc::fleet_view(*f.db, kNow + 8 * kHourUs, kIntervalMs);
    const auto& a8 = find(*on, "a-gan");
    REQUIRE(a8.media_missing.size() == 1);
    CHECK(a8.media_missing[0].media_hash == later);
    CHECK(a8.media_missing[0].state == "unreported");

    auto json = lc::fleet_json(*fleet);
    const auto& row = json[3];
    REQUIRE(row["node"] == "a-gan");
    CHECK(row["media_missing_24h"]["count"] == 1);
    CHECK(row["media_missing_24h"]["media"][0]["title"] == "Bản tin phòng chống lũ quét");
    CHECK(row["media_missing_24h"]["media"][0]["state"] == "fetching");
    CHECK(row["media_missing_24h"]["media"][0]["plays"] == 1);
    CHECK(json[1]["media_missing_24h"]["count"] == 0);
    const std::string table = lc::render_fleet(*fleet, kNow, lc::Language::vi);
    INFO(table);
    CHECK(table.find("1: Bản tin phòng chống lũ quét") != std::string::npos);
}

TEST_CASE("the last error is the newest failure the controller knows of, and says where from") {
    Fleet f;
    // The plays the nodes confirm below were booked for them.
    for (const auto& [node, slot] :
         {std::pair{"a-gan", "c1/1@1"}, {"a-gan", "c1/4@1"}, {"c-xa", "c1/3@1"}}) {
        f.booked_slot(node, slot, kNow - 2 * kHourUs);
    }
    // a-gan: a failed play an hour ago, then a command it could not carry out half an hour ago.
    wire::PlaybackReport report;
    auto* failed = report.add_confirmations();
    failed->set_seq(1);
    failed->set_slot_id("c1/1@1");
    failed->set_planned_start_us(kNow - 2 * kHourUs);
    failed->set_outcome(wire::FAILED);
    failed->set_reason("decoder-error");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::ingest_confirmations(tx, "a-gan", report, kNow - kHourUs);
            }).has_value());
    wire::Command action;
    action.mutable_set_amplifier()->set_on(true);
    auto queued = loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::queue_command(tx, "a-gan", action, kNow - 2 * kHourUs);
    });
    REQUIRE(queued.has_value());
    wire::CommandResult result;
    result.set_command_id(queued->command_id);
    result.set_ok(false);
    result.set_message("no --amplifier-command is set");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_command_result(tx, "a-gan", result, kNow - kHourUs / 2);
            }).value());
    // b-sat: a confirmation that makes no sense, kept apart.
    wire::PlaybackReport odd;
    auto* played = odd.add_confirmations();
    played->set_seq(7);
    played->set_slot_id("c1/2@1");
    played->set_outcome(wire::PLAYED);  // with no start
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::ingest_confirmations(tx, "b-sat", odd, kNow - 5 * 60 * kSecondUs);
    }));
    // c-xa: a hello refused and logged; an older failed play does not hide it.
    wire::PlaybackReport older;
    auto* old_fail = older.add_confirmations();
    old_fail->set_seq(3);
    old_fail->set_slot_id("c1/3@1");
    old_fail->set_outcome(wire::FAILED);
    old_fail->set_reason("sink-error");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::ingest_confirmations(tx, "c-xa", older, kNow - 3 * kHourUs);
    }));
    lc::LoggedAction refusal;
    refusal.at_us = kNow - 2 * 60 * kSecondUs;
    refusal.actor = "node:c-xa";
    refusal.actor_role = "node";
    refusal.action = "node.hello";
    refusal.target = "c-xa";
    refusal.area = "/";
    refusal.outcome = lc::Outcome::refused;
    refusal.detail = {{"reason", "the node is revoked"}};
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
                return lc::record_action(tx, refusal);
            }).has_value());

    auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs);
    REQUIRE(fleet.has_value());
    const auto& a = find(*fleet, "a-gan").last_error.value();
    CHECK(a.source == "command");
    CHECK(a.at_us == kNow - kHourUs / 2);
    CHECK(a.subject == fmt::format("{} set-amplifier", queued->command_id));
    CHECK(a.reason == "no --amplifier-command is set");
    const auto& b = find(*fleet, "b-sat").last_error.value();
    CHECK(b.source == "refused-confirmation");
    CHECK(b.subject == "seq 7");
    CHECK(b.reason.find("without a start") != std::string::npos);
    const auto& c = find(*fleet, "c-xa").last_error.value();
    CHECK(c.source == "refused-message");
    CHECK(c.subject == "node.hello");
    CHECK(c.reason == "the node is revoked");
    CHECK_FALSE(find(*fleet, "d-im").last_error.has_value());

    // A play that fails after the command is the last error now: its reason and which play.
    wire::PlaybackReport later;
    auto* again = later.add_confirmations();
    again->set_seq(2);
    again->set_slot_id("c1/4@1");
    again->set_outcome(wire::FAILED);
    again->set_reason("decoder-error");
    REQUIRE(loa::controller::write_directly(*f.db, [&](loa::controller::WriteTx& tx) {
        return lc::ingest_confirmations(tx, "a-gan", later, kNow - kHourUs / 4);
    }));
    auto plays = lc::fleet_view(*f.db, kNow, kIntervalMs, {.node_id = "a-gan"});
    REQUIRE(plays.has_value());
    const auto& play = plays->at(0).last_error.value();
    CHECK(play.source == "confirmation");
    CHECK(play.subject == "c1/4@1");
    CHECK(play.reason == "decoder-error");
    CHECK(play.at_us == kNow - kHourUs / 4);

    const std::string vi = lc::render_fleet(*fleet, kNow, lc::Language::vi);
    INFO(vi);
    CHECK(vi.find("lệnh không được (" + std::to_string(queued->command_id) +
                  " set-amplifier): no --amplifier-command is set, 30 phút trước") !=
          std::string::npos);
    CHECK(vi.find("bị từ chối (node.hello): the node is revoked, 120 s trước") ==
          std::string::npos);  // 120 s is "2 phút"
    CHECK(vi.find("bị từ chối (node.hello): the node is revoked, 2 phút trước") !=
          std::string::npos);
    const std::string en = lc::render_fleet(*fleet, kNow, lc::Language::en);
    CHECK(en.find("confirmation refused (seq 7)") != std::string::npos);
    auto json = lc::fleet_json(*fleet);
    CHECK(json[0]["last_error"].is_null());
    CHECK(json[2]["last_error"]["source"] == "refused-message");
    CHECK(json[3]["last_error"]["reason"] == "no --amplifier-command is set");
    CHECK(json[3]["last_error"]["at"] == lc::format_local(kNow - kHourUs / 2));
}

TEST_CASE("the fleet table and JSON, in Vietnamese and English, columns aligned") {
    Fleet f;
    auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs);
    REQUIRE(fleet.has_value());
    const std::string vi = lc::render_fleet(*fleet, kNow, lc::Language::vi);
    INFO(vi);
    for (const char* text :
         {"Nút", "Liên lạc", "Tự chủ (giờ)", "Thiếu nội dung 24 giờ", "Lỗi gần nhất", "trực tuyến",
          "mất liên lạc", "chưa kết nối", "chưa bao giờ", "đang phát", "cụm loa", "10 s trước",
          "91 s trước", "2026-11-24 05:29", "loa-node 0.3.0", "-75.0 ms !", "+2.0 ms", "48.0",
          "lệch quá 50 ms"}) {
        CHECK(vi.find(text) != std::string::npos);
    }
    // The offline node's stale "playing" is not shown as what it does now.
    std::istringstream lines(vi);
    std::vector<std::string> rows;
    for (std::string line; std::getline(lines, line);) {
        rows.push_back(line);
    }
    REQUIRE(rows.size() >= 6);
    const auto c_row = std::find_if(rows.begin(), rows.end(),
                                    [](const std::string& r) { return r.starts_with("c-xa"); });
    REQUIRE(c_row != rows.end());
    CHECK(c_row->find("đang phát") == std::string::npos);
    // Columns start at the same terminal column in every row, whatever the diacritics.
    const auto column = [](const std::string& row, const std::string& text) {
        REQUIRE(row.find(text) != std::string::npos);
        std::size_t w = 0;
        for (unsigned char ch : row.substr(0, row.find(text))) {
            w += (ch & 0xc0) != 0x80 ? 1 : 0;
        }
        return w;
    };
    const auto a_row = std::find_if(rows.begin(), rows.end(),
                                    [](const std::string& r) { return r.starts_with("a-gan"); });
    REQUIRE(a_row != rows.end());
    CHECK(column(rows[2], "chưa kết nối") == column(rows[0], "Liên lạc"));
    CHECK(column(*c_row, "mất liên lạc") == column(rows[0], "Liên lạc"));
    CHECK(column(*a_row, "trực tuyến") == column(rows[0], "Liên lạc"));
    CHECK(column(*a_row, "đang phát") == column(rows[0], "Trạng thái"));
    CHECK(column(*a_row, "loa-node") == column(rows[0], "Phiên bản"));
    CHECK(column(*c_row, "loa-node") == column(rows[0], "Phiên bản"));

    const std::string en = lc::render_fleet(*fleet, kNow, lc::Language::en);
    INFO(en);
    for (const char* text : {"Connection", "Runway (h)", "Missing media (24 h)", "Last error",
                             "never connected", "offline", "speaker", "91 s ago"}) {
        CHECK(en.find(text) != std::string::npos);
    }

    auto json = lc::fleet_json(*fleet);
    REQUIRE(json.size() == 4);
    CHECK(json[0]["node"] == "d-im");
    CHECK(json[0]["last_seen"] == "-");
    CHECK(json[0]["online"] == false);
    CHECK(json[0]["connection"] == "never");
    CHECK(json[0]["runway_hours"].is_null());
    CHECK(json[0]["clock_offset_us"].is_null());
    CHECK(json[0]["heartbeat"].is_null());
    CHECK(json[1]["node"] == "b-sat");
    CHECK(json[1]["online"] == true);
    CHECK(json[1]["clock_offset_flagged"] == true);
    CHECK(json[1]["agent_version"] == "loa-node 0.3.0");
    CHECK(json[2]["connection"] == "offline");
    CHECK(json[2]["last_seen"] == lc::format_local(kNow - 91 * kSecondUs));
    CHECK(json[3]["runway_hours"].get<double>() == Approx(5.0));
    CHECK(json[3]["runway_end"] == lc::format_local(kNow + 5 * kHourUs));
    CHECK(json[3]["state"] == "playing");
}

TEST_CASE("the online share per area at a depth") {
    Fleet f;
    f.node("e-moi", kTaVan);
    f.db->exec("UPDATE nodes SET revoked_us = 1 WHERE node_id = 'e-moi'");  // left out
    CHECK(lc::area_at_depth("vn/lao-cai/sa-pa/ta-van", 2) == "vn/lao-cai");
    CHECK(lc::area_at_depth("vn/lao-cai/sa-pa/ta-van", 1) == "vn");
    CHECK(lc::area_at_depth("vn/lao-cai/bat-xat", 4) == "vn/lao-cai/bat-xat");
    CHECK(lc::area_at_depth("vn/lao-cai", 0) == "/");

    auto at3 = lc::online_by_area(*f.db, kNow, kIntervalMs, 3);
    REQUIRE(at3.has_value());
    REQUIRE(at3->size() == 2);
    CHECK(at3->at(0).area_path == "vn/lao-cai/bat-xat");
    CHECK(at3->at(0).nodes == 1);
    CHECK(at3->at(0).online == 0);
    CHECK(at3->at(0).share() == 0.0);
    CHECK(at3->at(1).area_path == "vn/lao-cai/sa-pa");
    CHECK(at3->at(1).nodes == 3);
    CHECK(at3->at(1).online == 2);  // 10 s and 89 s; not 91 s
    CHECK(at3->at(1).share() == Approx(2.0 / 3.0));

    auto at4 = lc::online_by_area(*f.db, kNow, kIntervalMs, 4, "vn/lao-cai/sa-pa");
    REQUIRE(at4.has_value());
    REQUIRE(at4->size() == 2);
    CHECK(at4->at(0).area_path == "vn/lao-cai/sa-pa/ban-ho");
    CHECK(at4->at(0).share() == Approx(0.5));
    CHECK(at4->at(1).area_path == "vn/lao-cai/sa-pa/ta-van");
    CHECK(at4->at(1).share() == 1.0);

    // The same from a fleet view.
    auto fleet = lc::fleet_view(*f.db, kNow, kIntervalMs);
    auto from_view = lc::online_by_area(*fleet, 2);
    REQUIRE(from_view.size() == 1);
    CHECK(from_view[0].area_path == "vn/lao-cai");
    CHECK(from_view[0].nodes == 4);
    CHECK(from_view[0].online == 2);
    CHECK(lc::online_by_area(*fleet, 0).at(0).area_path == "/");
    CHECK(lc::online_by_area(std::vector<lc::FleetNode>{}, 2).empty());
    CHECK_FALSE(lc::online_by_area(*f.db, kNow, kIntervalMs, 2, "vn//").has_value());
}
