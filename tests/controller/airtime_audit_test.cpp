// The airtime audit over a scripted week of a small network (issue 7, acceptance 2): plays,
// failures, an emergency cutting a play short, silence, a node that reports late and a play whose
// confirmation never comes. Every figure of the report is checked against the script, in the
// report itself and in its table, JSON, CSV and HTML.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <regex>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/audit/confirmation_ingest.hpp"
#include "loa/controller/fleet/emergencies.hpp"
#include "loa/controller/fleet/node_status.hpp"
#include "server_fixture.hpp"

using namespace loa;
using namespace loa::test;
namespace lc = loa::controller;

namespace {

constexpr std::int64_t kHourUs = 3600 * kSecondUs;
constexpr std::int64_t kDayUs = 24 * kHourUs;
/// The campaign's week: Wednesday 2026-11-25 00:00 to Wednesday 2026-12-02 00:00 in Vietnam,
/// across an ISO week (W48 ends on Sunday the 29th) and a month.
constexpr std::int64_t kWeekStart = 1'795'539'600LL * kSecondUs;
constexpr std::int64_t kWeekEnd = kWeekStart + 7 * kDayUs;
/// Monday 30 November, noon: the mid-week report.
constexpr std::int64_t kMonday = kWeekStart + 5 * kDayUs + 12 * kHourUs;
/// Wednesday 2 December, noon: the report once the week is over.
constexpr std::int64_t kAfter = kWeekEnd + 12 * kHourUs;
/// How much of the play the emergency cut short aired.
constexpr std::int64_t kInterruptedAiredUs = 1'250'000;
constexpr std::int64_t kEmergencyAiredUs = 2'000'000;

const char* const kTaVan = "vn/lao-cai/sa-pa/ta-van";
const char* const kYTy = "vn/lao-cai/bat-xat/y-ty";
const std::vector<std::string> kNodes = {"ta-van-01", "ta-van-02", "y-ty-01", "y-ty-02"};
const char* const kCampaignName = "Phòng chống thiên tai & sạt lở <2026>";

/// What the script makes of a play.
enum class Script { played, silent, interrupted, pipeline, late, media_missing, restarted, never };

Script script(const std::string& node, int day, int n) {
    if (node == "ta-van-01") {
        if (day == 2 && n == 0) {
            return Script::silent;
        }
        if (day == 4 && n == 1) {
            return Script::interrupted;
        }
    }
    if (node == "ta-van-02") {
        if (day == 1 && n == 0) {
            return Script::pipeline;
        }
        if (day == 3 && n == 1) {
            return Script::late;
        }
        if (day == 5 && n == 0) {
            return Script::media_missing;
        }
        if (day == 5 && n == 1) {
            return Script::restarted;
        }
    }
    if (node == "y-ty-02" && day == 2 && n == 1) {
        return Script::never;  // the node never had it: no confirmation will come
    }
    return Script::played;
}

struct Slot {
    std::string slot_id, campaign_id, item_id, media_hash;
    std::int64_t start_us = 0, duration_us = 0;
    int day = 0, n = 0;  ///< local day of the week (0 = Wednesday) and place in the day
};

/// The figures the script says a group of plays must have.
struct Expected {
    std::int64_t planned = 0, planned_us = 0, played = 0, aired_us = 0;
    std::map<lc::Bucket, std::pair<std::int64_t, std::int64_t>> buckets;  // plays, planned µs
    std::int64_t unplanned = 0, unplanned_us = 0, silent = 0;
    std::set<std::string> targeted, not_met;
};

std::string secs(std::int64_t us, int decimals) {
    return fmt::format("{:.{}f}", static_cast<double>(us) / 1e6, decimals);
}

std::string date_of_day(int day) {
    static const char* const kDates[] = {"2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28",
                                         "2026-11-29", "2026-11-30", "2026-12-01"};
    return kDates[day];
}

struct Week : RunningServer {
    std::string a, b;                                // 2 s and 3 s bulletins
    std::map<std::string, std::vector<Slot>> slots;  // by node, in time order
    std::map<std::string, std::uint64_t> next_seq;
    std::string emergency_id;
    const Slot* interrupted = nullptr;

    Week() {
        node("ta-van-01", kTaVan);
        node("ta-van-02", kTaVan);
        node("y-ty-01", kYTy);
        node("y-ty-02", kYTy);
        a = tone(2.0, 440);
        b = tone(3.0, 660);
        lc::CampaignSpec spec = campaign("thien-tai", {a, b}, {"vn/lao-cai"});
        spec.name = kCampaignName;
        spec.window_start_us = kWeekStart;
        spec.window_end_us = kWeekEnd;
        auto booked = loa::controller::write_directly(
            *db, [&](loa::controller::WriteTx& tx) { return lc::add_campaign(tx, spec, kNow); });
        REQUIRE(booked.has_value());
        REQUIRE(booked->slots_booked == 56);  // each item once a day, 7 days, 4 nodes
        SQLite::Statement q(*db,
                            "SELECT node_id, slot_id, campaign_id, item_id, media_hash, start_us, "
                            "duration_us FROM slots ORDER BY node_id, start_us");
        while (q.executeStep()) {
            Slot s{q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), q.getColumn(4).getString(),
                   q.getColumn(5).getInt64(),  q.getColumn(6).getInt64()};
            s.day = static_cast<int>((s.start_us - kWeekStart) / kDayUs);
            auto& list = slots[q.getColumn(0).getString()];
            s.n = !list.empty() && list.back().day == s.day ? list.back().n + 1 : 0;
            list.push_back(s);
        }
        for (const auto& id : kNodes) {
            REQUIRE(slots[id].size() == 14);
            for (const auto& s : slots[id]) {
                REQUIRE(s.day >= 0);
                REQUIRE(s.day < 7);
                REQUIRE(s.n < 2);
            }
            next_seq[id] = 1;
        }
        const Slot& cut = slot("ta-van-01", 4, 1);
        interrupted = &cut;
        lc::EmergencySpec e;
        e.media_hash = a;
        e.node_ids = {"ta-van-01"};
        e.expires_us = cut.start_us + kHourUs;
        e.campaign_id = "thien-tai";
        auto sent = loa::controller::write_directly(
            *db, [&](loa::controller::WriteTx& tx) { return lc::send_emergency(tx, e, kNow); });
        REQUIRE(sent.has_value());
        emergency_id = sent->emergency_id;
    }

    const Slot& slot(const std::string& node_id, int day, int n) {
        for (const auto& s : slots[node_id]) {
            if (s.day == day && s.n == n) {
                return s;
            }
        }
        FAIL("no such play");
        return slots[node_id].front();
    }

    /// The confirmations `node_id` writes for its plays of days [first, last], as its agent
    /// would, numbered on from its last number.
    wire::PlaybackReport confirmations(const std::string& node_id, int first, int last) {
        wire::PlaybackReport report;
        for (const auto& s : slots[node_id]) {
            if (s.day < first || s.day > last) {
                continue;
            }
            const Script what = script(node_id, s.day, s.n);
            if (what == Script::never) {
                continue;
            }
            auto* c = report.add_confirmations();
            c->set_seq(next_seq[node_id]++);
            c->set_slot_id(s.slot_id);
            c->set_campaign_id(s.campaign_id);
            c->set_item_id(s.item_id);
            c->set_media_hash(s.media_hash);
            c->set_planned_start_us(s.start_us);
            const std::int64_t start = s.start_us + 20'000;
            auto aired = [&](std::int64_t us, double peak, double rms) {
                c->set_actual_start_us(start);
                c->set_actual_end_us(start + us);
                auto* levels = c->mutable_levels();
                levels->set_peak_dbfs(peak);
                levels->set_rms_dbfs(rms);
                levels->set_silent_seconds(peak < -50 ? static_cast<double>(us) / 1e6 : 0.0);
                levels->set_measured_seconds(static_cast<double>(us) / 1e6);
                levels->set_silence_threshold_dbfs(-50);
            };
            switch (what) {
                case Script::played:
                    c->set_outcome(wire::PLAYED);
                    aired(s.duration_us, -3.0, -20.0);
                    break;
                case Script::silent:
                    c->set_outcome(wire::PLAYED);
                    aired(s.duration_us, -62.5, -71.0);
                    break;
                case Script::interrupted: {
                    c->set_outcome(wire::INTERRUPTED);
                    c->set_reason("emergency");
                    aired(kInterruptedAiredUs, -4.0, -21.0);
                    // The emergency's own play follows at once.
                    auto* e = report.add_confirmations();
                    e->set_seq(next_seq[node_id]++);
                    e->set_slot_id("emergency:" + emergency_id + ":1");
                    e->set_emergency_id(emergency_id);
                    e->set_item_id(a);
                    e->set_media_hash(a);
                    const std::int64_t at = start + kInterruptedAiredUs + 50'000;
                    e->set_planned_start_us(at);
                    e->set_actual_start_us(at);
                    e->set_actual_end_us(at + kEmergencyAiredUs);
                    e->set_outcome(wire::PLAYED);
                    break;
                }
                case Script::pipeline:
                    c->set_outcome(wire::FAILED);
                    c->set_reason("pipeline: no element \"opusdec\"");
                    break;
                case Script::late:
                    c->set_outcome(wire::SKIPPED);
                    c->set_reason("late");
                    break;
                case Script::media_missing:
                    c->set_outcome(wire::FAILED);
                    c->set_reason("media-missing");
                    break;
                case Script::restarted:
                    c->set_outcome(wire::FAILED);
                    c->set_reason("agent-restarted");
                    c->set_actual_start_us(start);
                    break;
                case Script::never:
                    break;
            }
        }
        return report;
    }

    void report_days(const std::string& node_id, int first, int last, std::int64_t at) {
        auto acked = loa::controller::write_directly(*db, [&](loa::controller::WriteTx& tx) {
            return lc::ingest_confirmations(tx, node_id, confirmations(node_id, first, last), at);
        });
        REQUIRE(acked.has_value());
    }

    lc::AirtimeReport report(lc::Grouping by, std::int64_t now, int level = 0,
                             const std::string& area = "vn/lao-cai") {
        auto r = lc::airtime_report(*db, {.campaign_id = "thien-tai",
                                          .area = area,
                                          .from_us = kWeekStart,
                                          .to_us = kWeekEnd,
                                          .by = by,
                                          .level = level,
                                          .now_us = now});
        REQUIRE(r.has_value());
        return *r;
    }

    /// The script's figures, per group of (node, day) as `key` names them. `reported` says up
    /// to which day each node's confirmations are in.
    std::map<std::string, Expected> expected(
        const std::function<std::string(const std::string& node, int day)>& key,
        const std::map<std::string, int>& reported, std::int64_t now) {
        std::map<std::string, Expected> out;
        for (const auto& id : kNodes) {
            for (const auto& s : slots[id]) {
                Expected& e = out[key(id, s.day)];
                e.planned += 1;
                e.planned_us += s.duration_us;
                e.targeted.insert(id);
                const Script what = script(id, s.day, s.n);
                lc::Bucket bucket = lc::Bucket::played;
                if (s.day > reported.at(id) || what == Script::never) {
                    bucket = s.start_us + s.duration_us > now ? lc::Bucket::upcoming
                             : what == Script::never          ? lc::Bucket::missing
                                                              : lc::Bucket::not_yet_reported;
                } else {
                    switch (what) {
                        case Script::played:
                            e.aired_us += s.duration_us;
                            break;
                        case Script::silent:
                            e.aired_us += s.duration_us;
                            e.silent += 1;
                            break;
                        case Script::interrupted:
                            bucket = lc::Bucket::interrupted;
                            e.aired_us += kInterruptedAiredUs;
                            e.unplanned += 1;
                            e.unplanned_us += kEmergencyAiredUs;
                            break;
                        case Script::pipeline:
                            bucket = lc::Bucket::failed;
                            break;
                        case Script::late:
                            bucket = lc::Bucket::late;
                            break;
                        case Script::media_missing:
                            bucket = lc::Bucket::media_missing;
                            break;
                        case Script::restarted:
                            bucket = lc::Bucket::node_offline;
                            break;
                        case Script::never:
                            break;
                    }
                }
                e.played += bucket == lc::Bucket::played ? 1 : 0;
                if (bucket != lc::Bucket::played) {
                    e.not_met.insert(id);
                }
                e.buckets[bucket].first += 1;
                e.buckets[bucket].second += s.duration_us;
            }
        }
        return out;
    }
};

std::int64_t met(const Expected& e) {
    return static_cast<std::int64_t>(e.targeted.size() - e.not_met.size());
}

Expected sum(const std::map<std::string, Expected>& rows) {
    Expected t;
    for (const auto& [key, e] : rows) {
        t.planned += e.planned;
        t.planned_us += e.planned_us;
        t.played += e.played;
        t.aired_us += e.aired_us;
        for (const auto& [b, v] : e.buckets) {
            t.buckets[b].first += v.first;
            t.buckets[b].second += v.second;
        }
        t.unplanned += e.unplanned;
        t.unplanned_us += e.unplanned_us;
        t.silent += e.silent;
        t.targeted.insert(e.targeted.begin(), e.targeted.end());
        t.not_met.insert(e.not_met.begin(), e.not_met.end());
    }
    return t;
}

std::int64_t plays_in(const Expected& e, lc::Bucket b) {
    auto it = e.buckets.find(b);
    return it == e.buckets.end() ? 0 : it->second.first;
}

std::int64_t us_in(const Expected& e, lc::Bucket b) {
    auto it = e.buckets.find(b);
    return it == e.buckets.end() ? 0 : it->second.second;
}

constexpr lc::Bucket kAll[] = {
    lc::Bucket::played,        lc::Bucket::interrupted,      lc::Bucket::late,
    lc::Bucket::media_missing, lc::Bucket::node_offline,     lc::Bucket::failed,
    lc::Bucket::missing,       lc::Bucket::not_yet_reported, lc::Bucket::upcoming};

void check_row(const lc::AirtimeRow& r, const Expected& e) {
    INFO("row " << r.key);
    CHECK(r.planned_plays == e.planned);
    CHECK(r.planned_us == e.planned_us);
    CHECK(r.confirmed_plays == e.played);
    CHECK(r.confirmed_us == e.aired_us);
    for (auto b : kAll) {
        INFO("bucket " << lc::bucket_name(b));
        CHECK(r.bucket(b).plays == plays_in(e, b));
        CHECK(r.bucket(b).planned_us == us_in(e, b));
    }
    CHECK(r.accounted_plays() == r.planned_plays);  // every planned play in exactly one bucket
    std::int64_t bucket_us = 0;
    for (const auto& b : r.buckets) {
        bucket_us += b.planned_us;
    }
    CHECK(bucket_us == r.planned_us);
    CHECK(r.unplanned_plays == e.unplanned);
    CHECK(r.unplanned_us == e.unplanned_us);
    CHECK(r.silent == e.silent);
    CHECK(r.nodes_targeted == static_cast<std::int64_t>(e.targeted.size()));
    CHECK(r.nodes_met == met(e));
    REQUIRE(r.quota_nodes_met.size() == 1);
    CHECK(r.quota_nodes_met[0] == met(e));
}

/// The figures of a row as the table and the HTML print them (seconds to 1/100), or as the
/// CSV writes them (to 1/1000, and coverage in three columns plus one per quota).
std::vector<std::string> figures(const Expected& e, bool csv) {
    const int d = csv ? 3 : 2;
    std::vector<std::string> out = {std::to_string(e.planned), secs(e.planned_us, d),
                                    std::to_string(e.played), secs(e.aired_us, d)};
    for (auto b : {lc::Bucket::interrupted, lc::Bucket::late, lc::Bucket::media_missing,
                   lc::Bucket::node_offline, lc::Bucket::failed, lc::Bucket::missing,
                   lc::Bucket::not_yet_reported, lc::Bucket::upcoming}) {
        out.push_back(std::to_string(plays_in(e, b)));
    }
    out.push_back(std::to_string(e.unplanned));
    out.push_back(secs(e.unplanned_us, d));
    out.push_back(std::to_string(e.silent));
    out.push_back("0");  // off time: every play of the scripted week aired on its booked time
    const auto targeted = static_cast<std::int64_t>(e.targeted.size());
    if (csv) {
        out.push_back(std::to_string(targeted));
        out.push_back(std::to_string(met(e)));
        out.push_back(targeted == 0 ? "-"
                                    : fmt::format("{:.1f}", 100.0 * static_cast<double>(met(e)) /
                                                                static_cast<double>(targeted)));
        out.push_back(std::to_string(met(e)));
    } else {
        out.push_back(fmt::format("{}/{}", met(e), targeted));
    }
    return out;
}

std::vector<std::string> split_lines(const std::string& text, const std::string& end) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t at; (at = text.find(end, start)) != std::string::npos;
         start = at + end.size()) {
        lines.push_back(text.substr(start, at - start));
    }
    if (start < text.size()) {
        lines.push_back(text.substr(start));
    }
    return lines;
}

/// Table cells: columns are two spaces or more apart; no cell holds two spaces.
std::vector<std::string> table_cells(const std::string& line) {
    std::vector<std::string> cells;
    std::string current;
    int spaces = 0;
    for (char c : line) {
        if (c == ' ') {
            ++spaces;
            continue;
        }
        if (spaces >= 2 && !current.empty()) {
            cells.push_back(current);
            current.clear();
        } else if (spaces == 1) {
            current += ' ';
        }
        spaces = 0;
        current += c;
    }
    if (!current.empty()) {
        cells.push_back(current);
    }
    return cells;
}

/// RFC 4180 fields of one CSV record.
std::vector<std::string> csv_fields(const std::string& record) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < record.size(); ++i) {
        const char c = record[i];
        if (quoted) {
            if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    return fields;
}

/// The cells of every <tr> of the first <table class="NAME">.
std::vector<std::vector<std::string>> html_rows(const std::string& html, const std::string& name) {
    const auto begin = html.find("<table class=\"" + name + "\">");
    REQUIRE(begin != std::string::npos);
    const auto end = html.find("</table>", begin);
    const std::string table = html.substr(begin, end - begin);
    std::vector<std::vector<std::string>> rows;
    static const std::regex kRow("<tr[^>]*>(.*?)</tr>");
    static const std::regex kCell("<t[dh][^>]*>(.*?)</t[dh]>");
    for (std::sregex_iterator r(table.begin(), table.end(), kRow), stop; r != stop; ++r) {
        const std::string tr = (*r)[1];
        std::vector<std::string> cells;
        for (std::sregex_iterator c(tr.begin(), tr.end(), kCell); c != stop; ++c) {
            cells.push_back((*c)[1]);
        }
        rows.push_back(cells);
    }
    return rows;
}

/// The planned and confirmed seconds the SVG bars of group `key` carry.
std::pair<std::string, std::string> bars(const std::string& html, const std::string& key,
                                         std::size_t from) {
    const auto g = html.find("<g class=\"bars\" data-key=\"" + key + "\">", from);
    REQUIRE(g != std::string::npos);
    const std::string group = html.substr(g, html.find("</g>", g) - g);
    static const std::regex kPlanned("class=\"planned\"[^>]*data-seconds=\"([0-9.]+)\"");
    static const std::regex kConfirmed("class=\"confirmed\"[^>]*data-seconds=\"([0-9.]+)\"");
    std::smatch p, c;
    REQUIRE(std::regex_search(group, p, kPlanned));
    REQUIRE(std::regex_search(group, c, kConfirmed));
    return {p[1], c[1]};
}

/// Checks every figure of `report` against `rows` (by row key) in the report, its JSON, its
/// table, its CSV and its HTML, in Vietnamese. `key_cells` are the cells naming a row.
void check_everywhere(const lc::AirtimeReport& report, const std::map<std::string, Expected>& rows,
                      const std::map<std::string, Expected>& areas,
                      const std::map<std::string, Expected>& weeks,
                      const std::function<std::vector<std::string>(const std::string&)>& key_cells,
                      const std::vector<std::string>& total_cells) {
    const Expected total = sum(rows);
    // The report itself.
    REQUIRE(report.rows.size() == rows.size());
    for (const auto& r : report.rows) {
        REQUIRE(rows.contains(r.key));
        check_row(r, rows.at(r.key));
    }
    check_row(report.total, total);
    REQUIRE(report.by_area.size() == areas.size());
    for (const auto& r : report.by_area) {
        REQUIRE(areas.contains(r.key));
        check_row(r, areas.at(r.key));
    }
    REQUIRE(report.by_week.size() == weeks.size());
    for (const auto& r : report.by_week) {
        REQUIRE(weeks.contains(r.key));
        check_row(r, weeks.at(r.key));
    }

    // JSON.
    const auto json = lc::to_json(report, lc::Language::vi);
    CHECK(json["campaign"] == "thien-tai");
    CHECK(json["campaign_name"] == kCampaignName);
    CHECK(json["adds_up"] == true);
    CHECK(json["silence_threshold_dbfs"] == -50.0);
    REQUIRE(json["quotas"].size() == 1);
    CHECK(json["quotas"][0]["quota"] == "as_planned");
    CHECK(json["quotas"][0]["nodes_targeted"] == total.targeted.size());
    CHECK(json["quotas"][0]["nodes_met"] == met(total));
    CHECK(json["quotas"][0]["met"] == (met(total) == static_cast<int>(total.targeted.size())));
    auto check_json = [&](const nlohmann::json& j, const Expected& e) {
        INFO("json row " << j.dump());
        CHECK(j["planned_plays"] == e.planned);
        CHECK(j["planned_seconds"].get<double>() == static_cast<double>(e.planned_us) / 1e6);
        CHECK(j["confirmed_plays"] == e.played);
        CHECK(j["confirmed_seconds"].get<double>() == static_cast<double>(e.aired_us) / 1e6);
        std::int64_t unconfirmed = 0;
        for (auto b : kAll) {
            const std::string name(lc::bucket_name(b));
            CHECK(j[name] == plays_in(e, b));
            CHECK(j["planned_seconds_by_bucket"][name].get<double>() ==
                  static_cast<double>(us_in(e, b)) / 1e6);
            if (b == lc::Bucket::missing || b == lc::Bucket::not_yet_reported ||
                b == lc::Bucket::upcoming) {
                unconfirmed += plays_in(e, b);
            }
        }
        CHECK(j["unconfirmed"] == unconfirmed);
        CHECK(j["unplanned_plays"] == e.unplanned);
        CHECK(j["unplanned_seconds"].get<double>() == static_cast<double>(e.unplanned_us) / 1e6);
        CHECK(j["airtime_seconds"].get<double>() ==
              static_cast<double>(e.aired_us + e.unplanned_us) / 1e6);
        CHECK(j["silent"] == e.silent);
        CHECK(j["nodes_targeted"] == e.targeted.size());
        CHECK(j["nodes_met"] == met(e));
        CHECK(j["quota_nodes_met"][0] == met(e));
    };
    REQUIRE(json["rows"].size() == rows.size());
    for (const auto& j : json["rows"]) {
        check_json(j, rows.at(j["key"].get<std::string>()));
    }
    check_json(json["total"], total);
    for (const auto& j : json["by_area"]) {
        check_json(j, areas.at(j["key"].get<std::string>()));
    }
    for (const auto& j : json["by_week"]) {
        check_json(j, weeks.at(j["key"].get<std::string>()));
    }

    // The table: one line per row, its cells in order, then the total.
    const std::string table = lc::render_table(report, lc::Language::vi);
    INFO(table);
    CHECK(table.find("Báo cáo thời lượng phát — chiến dịch thien-tai (" +
                     std::string(kCampaignName) + ")") != std::string::npos);
    const auto lines = split_lines(table, "\n");
    auto line_of = [&](const std::vector<std::string>& keys) -> std::vector<std::string> {
        for (const auto& l : lines) {
            auto cells = table_cells(l);
            if (cells.size() > keys.size() && std::equal(keys.begin(), keys.end(), cells.begin())) {
                return cells;
            }
        }
        FAIL("no line for " << keys.front());
        return {};
    };
    for (const auto& [key, e] : rows) {
        auto want = key_cells(key);
        const auto f = figures(e, false);
        const auto got = line_of(want);
        want.insert(want.end(), f.begin(), f.end());
        CHECK(got == want);
    }
    {
        auto want = total_cells;
        const auto f = figures(total, false);
        want.insert(want.end(), f.begin(), f.end());
        CHECK(line_of(total_cells) == want);
    }
    CHECK(table.find(fmt::format("phát đủ mọi lượt theo kế hoạch: {}/{} nút", met(total),
                                 total.targeted.size())) != std::string::npos);
    CHECK(table.find(fmt::format("Phát vào im lặng (mức đỉnh dưới -50 dBFS): {} lượt",
                                 total.silent)) != std::string::npos);

    // CSV: a byte order mark, CRLF, a Vietnamese header, every cell.
    const std::string csv = lc::render_csv(report, lc::Language::vi);
    REQUIRE(csv.rfind("\xEF\xBB\xBF", 0) == 0);
    CHECK(csv.ends_with("\r\n"));
    const auto records = split_lines(csv.substr(3), "\r\n");
    for (const auto& r : records) {
        CHECK(r.find('\n') == std::string::npos);  // no bare LF anywhere
    }
    REQUIRE(records.size() == rows.size() + 2);
    const auto header = csv_fields(records[0]);
    CHECK(header[header.size() - 20] == "Lượt KH");
    CHECK(header.back() == "Nút đạt: phát đủ mọi lượt theo kế hoạch");
    for (std::size_t i = 1; i < records.size(); ++i) {
        const auto fields = csv_fields(records[i]);
        REQUIRE(fields.size() == header.size());
        const bool is_total = i + 1 == records.size();
        const std::size_t keys = header.size() - 20;
        std::vector<std::string> key(fields.begin(), fields.begin() + static_cast<long>(keys));
        const Expected& e = is_total ? total : rows.at(key.front());
        CHECK(key == (is_total ? total_cells : key_cells(key.front())));
        CHECK(std::vector<std::string>(fields.begin() + static_cast<long>(keys), fields.end()) ==
              figures(e, true));
    }

    // HTML: printable on A4, every figure of the summary table, the bars' values.
    const std::string html = lc::render_html(report, lc::Language::vi);
    CHECK(html.find("@page { size: A4") != std::string::npos);
    CHECK(html.find("@media print") != std::string::npos);
    CHECK(html.find("<html lang=\"vi\">") != std::string::npos);
    CHECK(html.find("Phòng chống thiên tai &amp; sạt lở &lt;2026&gt;") != std::string::npos);
    CHECK(html.find("<2026>") == std::string::npos);  // escaped everywhere
    const auto summary = html_rows(html, "summary");
    REQUIRE(summary.size() == rows.size() + 2);  // the header, the rows, the total
    for (std::size_t i = 1; i < summary.size(); ++i) {
        const bool is_total = i + 1 == summary.size();
        const std::size_t keys = is_total ? total_cells.size() : key_cells(summary[i][0]).size();
        std::vector<std::string> key(summary[i].begin(),
                                     summary[i].begin() + static_cast<long>(keys));
        const Expected& e = is_total ? total : rows.at(key.front());
        CHECK(key == (is_total ? total_cells : key_cells(key.front())));
        CHECK(std::vector<std::string>(summary[i].begin() + static_cast<long>(keys),
                                       summary[i].end()) == figures(e, false));
    }
    const auto quotas = html_rows(html, "quotas");
    REQUIRE(quotas.size() == 2);
    CHECK(quotas[1][1] == std::to_string(met(total)));
    CHECK(quotas[1][2] == std::to_string(total.targeted.size()));
    CHECK(std::count(html.begin(), html.end(), '<') > 0);
    const auto week_chart = html.find("theo tuần</h2>");
    REQUIRE(week_chart != std::string::npos);
    for (const auto& [key, e] : areas) {
        INFO("area bars " << key);
        CHECK(bars(html, key, 0) == std::pair{secs(e.planned_us, 2), secs(e.aired_us, 2)});
    }
    for (const auto& [key, e] : weeks) {
        INFO("week bars " << key);
        CHECK(bars(html, key, week_chart) == std::pair{secs(e.planned_us, 2), secs(e.aired_us, 2)});
    }
    if (total.silent > 0) {
        REQUIRE(report.silent_plays.size() == 1);
        const auto silent = html_rows(html, "silent");
        REQUIRE(silent.size() == 2);
        CHECK(silent[1][1] == "ta-van-01");
        CHECK(silent[1][5] == "-62.5");
        CHECK(silent[1][6] == "-71.0");
    }
}

std::string area_of(const std::string& node) {
    return node.starts_with("ta-van") ? kTaVan : kYTy;
}

std::string week_of_day(int day) {
    return day < 5 ? "2026-W48" : "2026-W49";
}

}  // namespace

TEST_CASE("a scripted week: every planned play explained, in every format") {
    Week w;

    // Up to Monday: three nodes report everything due; y-ty-01 went quiet after Friday, with six
    // confirmations numbered and still in its outbox (its heartbeat says so).
    w.report_days("ta-van-01", 0, 5, kMonday);
    w.report_days("ta-van-02", 0, 2, kMonday - kDayUs);  // two reports for this one
    w.report_days("ta-van-02", 3, 5, kMonday);
    w.report_days("y-ty-01", 0, 2, kWeekStart + 3 * kDayUs);
    w.report_days("y-ty-02", 0, 5, kMonday);
    w.next_seq["y-ty-01"] += 6;  // numbered, not sent
    wire::Heartbeat hb;
    hb.set_last_seq(12);
    REQUIRE(loa::controller::write_directly(*w.db, [&](loa::controller::WriteTx& tx) {
        return lc::record_heartbeat(tx, "y-ty-01", hb, kMonday);
    }));

    std::map<std::string, int> reported = {
        {"ta-van-01", 5}, {"ta-van-02", 5}, {"y-ty-01", 2}, {"y-ty-02", 5}};
    auto by_node = [](const std::string& node, int) { return node; };
    auto by_commune = [](const std::string& node, int) { return area_of(node); };
    auto by_district = [](const std::string& node, int) {
        return std::string(node.starts_with("ta-van") ? "vn/lao-cai/sa-pa" : "vn/lao-cai/bat-xat");
    };
    auto by_day = [](const std::string&, int day) { return date_of_day(day); };
    auto by_week = [](const std::string&, int day) { return week_of_day(day); };
    auto by_month = [](const std::string&, int day) {
        return std::string(day < 6 ? "2026-11" : "2026-12");
    };
    auto node_keys = [](const std::string& key) {
        return std::vector<std::string>{key, area_of(key)};
    };
    auto one_key = [](const std::string& key) { return std::vector<std::string>{key}; };
    const std::vector<std::string> node_total = {"Tổng", "vn/lao-cai"};
    const std::vector<std::string> total = {"Tổng"};

    SECTION("Monday: y-ty-01 not yet reported, a play of y-ty-02 missing, Tuesday upcoming") {
        auto rows = w.expected(by_node, reported, kMonday);
        // The script as the auditor would read it.
        const Expected t = sum(rows);
        CHECK(t.planned == 56);
        CHECK(t.played == 36);
        CHECK(plays_in(t, lc::Bucket::interrupted) == 1);
        CHECK(plays_in(t, lc::Bucket::late) == 1);
        CHECK(plays_in(t, lc::Bucket::media_missing) == 1);
        CHECK(plays_in(t, lc::Bucket::node_offline) == 1);
        CHECK(plays_in(t, lc::Bucket::failed) == 1);
        CHECK(plays_in(t, lc::Bucket::missing) == 1);
        CHECK(plays_in(t, lc::Bucket::not_yet_reported) == 6);
        CHECK(plays_in(t, lc::Bucket::upcoming) == 8);
        CHECK(t.unplanned == 1);
        CHECK(t.silent == 1);
        CHECK(met(t) == 0);

        const auto report = w.report(lc::Grouping::node, kMonday);
        CHECK(report.campaign_name == kCampaignName);
        CHECK(report.quota_source.empty());
        CHECK(report.query.level == 3);  // one below vn/lao-cai: the districts
        check_everywhere(report, rows, w.expected(by_district, reported, kMonday),
                         w.expected(by_week, reported, kMonday), node_keys, node_total);

        const auto by_area = w.report(lc::Grouping::area, kMonday, 4);
        check_everywhere(by_area, w.expected(by_commune, reported, kMonday),
                         w.expected(by_commune, reported, kMonday),
                         w.expected(by_week, reported, kMonday), one_key, total);
        const auto daily = w.report(lc::Grouping::day, kMonday);
        check_everywhere(daily, w.expected(by_day, reported, kMonday),
                         w.expected(by_district, reported, kMonday),
                         w.expected(by_week, reported, kMonday), one_key, total);
    }

    SECTION("after the week: y-ty-01's confirmations arrive late and move to confirmed") {
        // y-ty-01 comes back and sends the rest through the controller's socket, as its agent
        // would; Tuesday's plays of the others come in too.
        w.report_days("ta-van-01", 6, 6, kAfter);
        w.report_days("ta-van-02", 6, 6, kAfter);
        w.report_days("y-ty-02", 6, 6, kAfter);
        {
            auto node = w.connect_as("y-ty-01");  // enrolled before the server's thread runs
            w.start();
            node->join("y-ty-01");
            w.next_seq["y-ty-01"] -= 6;  // the six numbered before, then Tuesday's two
            wire::Envelope e;
            *e.mutable_playback_report() = w.confirmations("y-ty-01", 3, 6);
            REQUIRE(e.playback_report().confirmations_size() == 8);
            CHECK(e.playback_report().confirmations(0).seq() == 7);
            node->send(e);
            auto ack = node->receive(wire::Envelope::kReportAck);
            CHECK(ack.report_ack().seqs_size() == 8);
        }
        w.stop = true;
        w.thread.join();
        hb.set_last_seq(14);
        REQUIRE(loa::controller::write_directly(*w.db, [&](loa::controller::WriteTx& tx) {
            return lc::record_heartbeat(tx, "y-ty-01", hb, kAfter);
        }));
        reported = {{"ta-van-01", 6}, {"ta-van-02", 6}, {"y-ty-01", 6}, {"y-ty-02", 6}};

        auto rows = w.expected(by_node, reported, kAfter);
        const Expected t = sum(rows);
        CHECK(t.played == 50);
        CHECK(plays_in(t, lc::Bucket::not_yet_reported) == 0);
        CHECK(plays_in(t, lc::Bucket::upcoming) == 0);
        CHECK(plays_in(t, lc::Bucket::missing) == 1);
        CHECK(met(t) == 1);  // only y-ty-01 played every booked play
        CHECK(met(rows.at("y-ty-01")) == 1);

        const auto report = w.report(lc::Grouping::node, kAfter);
        check_everywhere(report, rows, w.expected(by_district, reported, kAfter),
                         w.expected(by_week, reported, kAfter), node_keys, node_total);
        const auto weekly = w.report(lc::Grouping::week, kAfter);
        check_everywhere(weekly, w.expected(by_week, reported, kAfter),
                         w.expected(by_district, reported, kAfter),
                         w.expected(by_week, reported, kAfter), one_key, total);
        const auto monthly = w.report(lc::Grouping::month, kAfter);
        check_everywhere(monthly, w.expected(by_month, reported, kAfter),
                         w.expected(by_district, reported, kAfter),
                         w.expected(by_week, reported, kAfter), one_key, total);

        // One commune only: the other commune's nodes are not in it.
        const auto y_ty = w.report(lc::Grouping::node, kAfter, 0, kYTy);
        REQUIRE(y_ty.rows.size() == 2);
        CHECK(y_ty.rows[0].key == "y-ty-01");
        CHECK(y_ty.total.planned_plays == 28);
        CHECK(y_ty.total.confirmed_plays == 27);
        CHECK(y_ty.total.bucket(lc::Bucket::missing).plays == 1);

        // English headers and words.
        const std::string en = lc::render_table(report, lc::Language::en);
        CHECK(en.find("Not yet reported") != std::string::npos);
        CHECK(en.find("every booked play played: 1/4 nodes (25.0%), 100.0% required — NOT MET") !=
              std::string::npos);
        CHECK(lc::render_csv(report, lc::Language::en).find("Node,Area,Planned,Planned s") !=
              std::string::npos);
        CHECK(lc::render_html(report, lc::Language::en).find("<html lang=\"en\">") !=
              std::string::npos);
    }
}

TEST_CASE("a period that cuts days reads those days play by play, and agrees with the rollup") {
    Week w;
    w.report_days("ta-van-01", 0, 6, kAfter);
    w.report_days("ta-van-02", 0, 6, kAfter);
    w.report_days("y-ty-01", 0, 6, kAfter);
    w.report_days("y-ty-02", 0, 6, kAfter);
    // The whole week, and the same week from an instant before its first play to one after its
    // last: every number is the same.
    auto whole = w.report(lc::Grouping::node, kAfter);
    std::int64_t first = kWeekEnd, last = kWeekStart;
    for (const auto& [node, slots] : w.slots) {
        for (const auto& s : slots) {
            first = std::min(first, s.start_us);
            last = std::max(last, s.start_us);
        }
    }
    auto cut = lc::airtime_report(*w.db, {.campaign_id = "thien-tai",
                                          .area = "vn/lao-cai",
                                          .from_us = first,
                                          .to_us = last + 1,
                                          .now_us = kAfter});
    REQUIRE(cut.has_value());
    cut->query.from_us = whole.query.from_us;
    cut->query.to_us = whole.query.to_us;
    CHECK(lc::to_json(*cut) == lc::to_json(whole));

    // A period inside one day holds just that day's plays.
    const Slot& s = w.slot("ta-van-02", 1, 0);
    auto one = lc::airtime_report(*w.db, {.campaign_id = "thien-tai",
                                          .area = kTaVan,
                                          .from_us = s.start_us,
                                          .to_us = s.start_us + 1,
                                          .now_us = kAfter});
    REQUIRE(one.has_value());
    CHECK(one->total.planned_plays == 2);  // both nodes of Tả Van play at the same time
    CHECK(one->total.bucket(lc::Bucket::failed).plays == 1);
    CHECK(one->total.confirmed_plays == 1);
}

TEST_CASE("grouping by a level name needs a plan that names levels") {
    Week w;
    auto r = lc::airtime_report(*w.db, {.campaign_id = "thien-tai",
                                        .from_us = kWeekStart,
                                        .to_us = kWeekEnd,
                                        .by = lc::Grouping::area,
                                        .level_name = "commune",
                                        .now_us = kAfter});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("level 'commune'") != std::string::npos);
    // Without an area, one level below what every node shares: the districts of Lào Cai.
    auto d = w.report(lc::Grouping::area, kAfter, 0, "");
    CHECK(d.query.level == 3);
    REQUIRE(d.rows.size() == 2);
    CHECK(d.rows[0].key == "vn/lao-cai/bat-xat");
    CHECK(d.rows[1].key == "vn/lao-cai/sa-pa");
    CHECK_FALSE(lc::parse_grouping("commune").has_value());
    CHECK(lc::parse_grouping("area-level").value() == lc::Grouping::area);
}

TEST_CASE("nothing done later changes a report of the past") {
    Week w;
    for (const auto& id : kNodes) {
        w.report_days(id, 0, 6, kAfter);
    }
    struct Outputs {
        std::string json, table, csv, html;
        bool operator==(const Outputs&) const = default;
    };
    auto outputs = [&] {
        std::vector<Outputs> all;
        for (auto by : {lc::Grouping::node, lc::Grouping::area, lc::Grouping::day}) {
            const auto r = w.report(by, kAfter, by == lc::Grouping::area ? 4 : 0);
            all.push_back({lc::to_json(r).dump(), lc::render_table(r, lc::Language::vi),
                           lc::render_csv(r, lc::Language::vi),
                           lc::render_html(r, lc::Language::en)});
        }
        return all;
    };
    const auto before = outputs();
    const std::int64_t later = kAfter + kDayUs;

    // The campaign renamed, a node moved to another commune, an item withdrawn (its plays ahead
    // taken back), a new campaign booked on the same nodes.
    w.db->exec("UPDATE campaigns SET name = 'Tên mới' WHERE campaign_id = 'thien-tai'");
    w.db->exec(
        "UPDATE nodes SET area_path = 'vn/lao-cai/bac-ha/ban-pho' WHERE node_id = 'y-ty-02'");
    REQUIRE(loa::controller::write_directly(*w.db, [&](loa::controller::WriteTx& tx) {
        return lc::decide_media(tx, w.b, "/", lc::Decision::rejected, "approver", "sai nội dung",
                                later);
    }));
    auto next = w.campaign("thien-tai-2", {w.a}, {"vn/lao-cai"});
    next.window_start_us = later + kHourUs;
    next.window_end_us = later + 3 * kDayUs;
    REQUIRE(loa::controller::write_directly(
        *w.db, [&](loa::controller::WriteTx& tx) { return lc::add_campaign(tx, next, later); }));

    // Confirmed plays can be neither taken back nor moved; confirmations never change.
    SQLite::Statement drop(
        *w.db, "DELETE FROM slots WHERE campaign_id = 'thien-tai' AND node_id = 'ta-van-01'");
    CHECK(drop.exec() == 0);
    CHECK_THROWS(w.db->exec("UPDATE slots SET start_us = start_us + 1"));
    CHECK_THROWS(w.db->exec("DELETE FROM confirmations"));
    CHECK_THROWS(w.db->exec("UPDATE confirmations SET outcome = 'played'"));
    // A played slot cannot be booked again either.
    const Slot& s = w.slot("ta-van-01", 0, 0);
    SQLite::Statement again(*w.db,
                            "INSERT INTO slots (node_id, slot_id, campaign_id, item_id, "
                            "media_hash, title, start_us, duration_us) VALUES ('ta-van-01', ?, "
                            "'thien-tai', 'x', 'x', 'x', ?, 1)");
    again.bind(1, s.slot_id);
    again.bind(2, static_cast<int64_t>(s.start_us));
    CHECK(again.exec() == 0);

    // What a future "delete" would do: the campaign, its media and a node gone from the store.
    w.db->exec("PRAGMA foreign_keys = OFF");
    w.db->exec(
        "DELETE FROM campaign_items; DELETE FROM campaign_areas; DELETE FROM emergencies; "
        "DELETE FROM commands; DELETE FROM campaigns WHERE campaign_id = 'thien-tai'; "
        "DELETE FROM approvals; DELETE FROM media; DELETE FROM node_keys WHERE node_id = "
        "'ta-van-02'; DELETE FROM nodes WHERE node_id = 'ta-van-02'");
    w.db->exec("PRAGMA foreign_keys = ON");
    CHECK(w.count("campaigns") == 1);  // only thien-tai-2

    const auto after = outputs();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        INFO("report " << i);
        CHECK(after[i].json == before[i].json);
        CHECK(after[i].table == before[i].table);
        CHECK(after[i].csv == before[i].csv);
        CHECK(after[i].html == before[i].html);
    }
    CHECK(before[0].json.find(kCampaignName) != std::string::npos);
    CHECK(w.report(lc::Grouping::node, kAfter).campaign_name == kCampaignName);
}
