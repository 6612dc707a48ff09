// The airtime report for people and programs: an aligned table, JSON, CSV for spreadsheets and a
// printable HTML page with SVG charts, in Vietnamese or English.
#include <algorithm>
#include <cmath>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"

namespace loa::controller {

namespace {

constexpr double kSecond = 1e6;

struct Words {
    const char* vi;
    const char* en;
    const char* in(Language l) const { return l == Language::vi ? vi : en; }
};

/// The figures of a row, in the order every format shows them.
enum class Figure {
    planned_plays,
    planned_seconds,
    confirmed_plays,
    confirmed_seconds,
    interrupted,
    late,
    media_missing,
    node_offline,
    failed,
    missing,
    not_yet_reported,
    upcoming,
    unplanned_plays,
    unplanned_seconds,
    silent,
    off_time,
};
constexpr Figure kFigures[] = {
    Figure::planned_plays,     Figure::planned_seconds,   Figure::confirmed_plays,
    Figure::confirmed_seconds, Figure::interrupted,       Figure::late,
    Figure::media_missing,     Figure::node_offline,      Figure::failed,
    Figure::missing,           Figure::not_yet_reported,  Figure::upcoming,
    Figure::unplanned_plays,   Figure::unplanned_seconds, Figure::silent,
    Figure::off_time,
};

Words header_of(Figure f) {
    switch (f) {
        case Figure::planned_plays:
            return {"Lượt KH", "Planned"};
        case Figure::planned_seconds:
            return {"Giây KH", "Planned s"};
        case Figure::confirmed_plays:
            return {"Đã phát", "Played"};
        case Figure::confirmed_seconds:
            return {"Giây đã phát", "Aired s"};
        case Figure::interrupted:
            return {"Bị ngắt", "Interrupted"};
        case Figure::late:
            return {"Trễ", "Late"};
        case Figure::media_missing:
            return {"Thiếu tệp", "Media missing"};
        case Figure::node_offline:
            return {"Nút tắt", "Node offline"};
        case Figure::failed:
            return {"Lỗi", "Failed"};
        case Figure::missing:
            return {"Mất", "Missing"};
        case Figure::not_yet_reported:
            return {"Chưa báo cáo", "Not yet reported"};
        case Figure::upcoming:
            return {"Chưa đến giờ", "Upcoming"};
        case Figure::unplanned_plays:
            return {"Ngoài KH", "Unplanned"};
        case Figure::unplanned_seconds:
            return {"Giây ngoài KH", "Unplanned s"};
        case Figure::silent:
            return {"Im lặng", "Silent"};
        case Figure::off_time:
            break;
    }
    return {"Lệch giờ", "Off time"};
}

bool is_seconds(Figure f) {
    return f == Figure::planned_seconds || f == Figure::confirmed_seconds ||
           f == Figure::unplanned_seconds;
}

std::int64_t value_of(const AirtimeRow& r, Figure f) {
    switch (f) {
        case Figure::planned_plays:
            return r.planned_plays;
        case Figure::planned_seconds:
            return r.planned_us;
        case Figure::confirmed_plays:
            return r.confirmed_plays;
        case Figure::confirmed_seconds:
            return r.confirmed_us;
        case Figure::interrupted:
            return r.bucket(Bucket::interrupted).plays;
        case Figure::late:
            return r.bucket(Bucket::late).plays;
        case Figure::media_missing:
            return r.bucket(Bucket::media_missing).plays;
        case Figure::node_offline:
            return r.bucket(Bucket::node_offline).plays;
        case Figure::failed:
            return r.bucket(Bucket::failed).plays;
        case Figure::missing:
            return r.bucket(Bucket::missing).plays;
        case Figure::not_yet_reported:
            return r.bucket(Bucket::not_yet_reported).plays;
        case Figure::upcoming:
            return r.bucket(Bucket::upcoming).plays;
        case Figure::unplanned_plays:
            return r.unplanned_plays;
        case Figure::unplanned_seconds:
            return r.unplanned_us;
        case Figure::silent:
            return r.silent;
        case Figure::off_time:
            break;
    }
    return r.off_time;
}

/// Seconds with `decimals` places and '.' as the decimal point, whatever the locale.
std::string seconds(std::int64_t us, int decimals = 2) {
    return fmt::format("{:.{}f}", static_cast<double>(us) / kSecond, decimals);
}

std::string cell(const AirtimeRow& r, Figure f, int decimals = 2) {
    const std::int64_t v = value_of(r, f);
    return is_seconds(f) ? seconds(v, decimals) : std::to_string(v);
}

std::string percent(std::int64_t part, std::int64_t whole) {
    return whole == 0 ? "-" : fmt::format("{:.1f}", 100.0 * static_cast<double>(part) / whole);
}

/// The columns naming a row, before the figures.
std::vector<std::string> key_headers(Grouping by, Language l) {
    const bool vi = l == Language::vi;
    switch (by) {
        case Grouping::node:
            return vi ? std::vector<std::string>{"Nút", "Khu vực"}
                      : std::vector<std::string>{"Node", "Area"};
        case Grouping::area:
            return {vi ? "Khu vực" : "Area"};
        case Grouping::day:
            return {vi ? "Ngày" : "Day"};
        case Grouping::week:
            return {vi ? "Tuần" : "Week"};
        case Grouping::month:
            break;
    }
    return {vi ? "Tháng" : "Month"};
}

std::vector<std::string> key_cells(const AirtimeReport& report, const AirtimeRow& r, bool total,
                                   Language l) {
    const std::string first = total ? (l == Language::vi ? "Tổng" : "Total") : r.key;
    if (report.query.by == Grouping::node) {
        return {first, total ? (report.query.area.empty() ? "*" : report.query.area) : r.area_path};
    }
    return {first};
}

std::string grouping_text(const AirtimeReport& report, Language l) {
    const bool vi = l == Language::vi;
    switch (report.query.by) {
        case Grouping::node:
            return vi ? "theo nút" : "by node";
        case Grouping::area:
            return report.query.level_name.empty()
                       ? fmt::format(fmt::runtime(vi ? "theo khu vực cấp {}" : "by area, level {}"),
                                     report.query.level)
                       : fmt::format(fmt::runtime(vi ? "theo khu vực cấp {}" : "by area, level {}"),
                                     report.query.level_name);
        case Grouping::day:
            return vi ? "theo ngày" : "by day";
        case Grouping::week:
            return vi ? "theo tuần (ISO, giờ địa phương)" : "by ISO week (local time)";
        case Grouping::month:
            break;
    }
    return vi ? "theo tháng" : "by month";
}

std::string duration_text(std::int64_t us, Language l) {
    const bool vi = l == Language::vi;
    if (us % (60 * 1'000'000) == 0) {
        return fmt::format(fmt::runtime(vi ? "{} phút" : "{} min"), us / 60'000'000);
    }
    return fmt::format(fmt::runtime(vi ? "{} giây" : "{} s"),
                       us % 1'000'000 == 0 ? std::to_string(us / 1'000'000) : seconds(us));
}

std::string quota_text(const QuotaCheck& q, Language l) {
    const bool vi = l == Language::vi;
    if (q.quota == "as_planned") {
        return vi ? "phát đủ mọi lượt theo kế hoạch" : "every booked play played";
    }
    if (q.quota == "plays_per_day") {
        return fmt::format(fmt::runtime(vi ? "{} lượt/ngày" : "{} plays a day"), q.required);
    }
    const char* per = q.quota == "airtime_per_day"    ? (vi ? "ngày" : "day")
                      : q.quota == "airtime_per_week" ? (vi ? "tuần" : "week")
                                                      : (vi ? "tháng" : "month");
    return fmt::format("{}/{}", duration_text(q.required, l), per);
}

bool quota_met(const AirtimeReport& report, std::size_t i) {
    const auto& t = report.total;
    const std::int64_t met = i < t.quota_nodes_met.size() ? t.quota_nodes_met[i] : 0;
    return t.nodes_targeted == 0 ||
           static_cast<double>(met) >=
               report.quotas[i].coverage_required * static_cast<double>(t.nodes_targeted) - 1e-9;
}

std::string title(const AirtimeReport& report, Language l) {
    return fmt::format(
        fmt::runtime(l == Language::vi ? "Báo cáo thời lượng phát — chiến dịch {} ({})"
                                       : "Airtime report — campaign {} ({})"),
        report.query.campaign_id, report.campaign_name);
}

std::string period_text(const AirtimeReport& report, Language l) {
    const bool vi = l == Language::vi;
    return fmt::format(fmt::runtime(vi ? "Từ {} đến {}{}; {}" : "From {} to {}{}; {}"),
                       format_local(report.query.from_us), format_local(report.query.to_us),
                       report.query.area.empty()
                           ? ""
                           : fmt::format("{}{}", vi ? ", khu vực " : ", area ", report.query.area),
                       grouping_text(report, l));
}

/// "2026-11-24 05:30" in UTC+7.
std::string local_minute(std::int64_t us) {
    const std::string t = format_local(us);
    return t.substr(0, 10) + " " + t.substr(11, 5);
}

/// What each column means, one line each.
std::vector<std::string> legend(Language l) {
    if (l == Language::vi) {
        return {
            "Mỗi lượt theo kế hoạch (KH) nằm trong đúng một cột: Đã phát + Bị ngắt + Trễ + Thiếu "
            "tệp + Nút tắt + Lỗi + Mất + Chưa báo cáo + Chưa đến giờ = Lượt KH.",
            "Giây đã phát: thời lượng các lượt KH thực sự phát (cả phần đã phát của lượt bị ngắt).",
            "Bị ngắt: bị bản tin khẩn cấp cắt ngang. Trễ: nút đến giờ quá muộn để phát (sau mất "
            "điện…). Thiếu tệp: nút chưa có tệp đã kiểm tra. Nút tắt: phần mềm hoặc thiết bị tắt "
            "khi đến giờ. Lỗi: lỗi khác.",
            "Mất: chưa có xác nhận nhưng nút đã báo cáo các lượt sau — sẽ không đến nữa. Chưa báo "
            "cáo: nút im lặng từ đó hoặc còn thiếu số thứ tự — có thể còn đến. Chưa đến giờ: "
            "chưa phát xong lúc lập báo cáo.",
            "Ngoài KH: lượt phát của chiến dịch không có trong kế hoạch (bản tin khẩn cấp gửi cho "
            "chiến dịch). Im lặng: lượt đã phát có mức đỉnh dưới -50 dBFS.",
            "Lệch giờ: lượt KH đã phát nhưng bắt đầu lệch quá 30 giây so với giờ đã đặt, tính theo "
            "đồng hồ của bộ điều khiển (đồng hồ của nút đã được hiệu chỉnh); vẫn được tính ở cột "
            "của nó.",
        };
    }
    return {
        "Every planned play is in exactly one column: Played + Interrupted + Late + Media missing "
        "+ Node offline + Failed + Missing + Not yet reported + Upcoming = Planned.",
        "Aired s: what planned plays actually aired (the aired part of interrupted plays too).",
        "Interrupted: cut short by an emergency. Late: the node was too late to start it (after a "
        "power cut …). Media missing: the node did not hold the verified file. Node offline: the "
        "agent or the device was down when it was due. Failed: any other failure.",
        "Missing: no confirmation, but the node has reported later plays: it will not come. Not "
        "yet reported: the node has been silent since, or numbers are missing: it may still come. "
        "Upcoming: not over when the report was made.",
        "Unplanned: plays of the campaign that aired without being booked (emergencies sent for "
        "it). Silent: plays that aired with their peak below -50 dBFS.",
        "Off time: planned plays that aired but started more than 30 s from their booked time on "
        "the controller's clock (the node's clock corrected); still counted in their column.",
    };
}

bool adds_up(const AirtimeReport& report) {
    auto ok = [](const AirtimeRow& r) { return r.accounted_plays() == r.planned_plays; };
    return ok(report.total) && std::all_of(report.rows.begin(), report.rows.end(), ok);
}

nlohmann::json row_json(const AirtimeReport& report, const AirtimeRow& r) {
    nlohmann::json j;
    j["key"] = r.key;
    if (report.query.by == Grouping::node && r.key != "*") {
        j["node"] = r.node_id;
    }
    if (!r.area_path.empty()) {
        j["area"] = r.area_path;
    }
    j["planned_plays"] = r.planned_plays;
    j["planned_seconds"] = static_cast<double>(r.planned_us) / kSecond;
    j["confirmed_plays"] = r.confirmed_plays;
    j["confirmed_seconds"] = static_cast<double>(r.confirmed_us) / kSecond;
    nlohmann::json planned_seconds;
    for (std::size_t b = 0; b < kBucketCount; ++b) {
        const auto name = std::string(bucket_name(static_cast<Bucket>(b)));
        j[name] = r.buckets[b].plays;
        planned_seconds[name] = static_cast<double>(r.buckets[b].planned_us) / kSecond;
    }
    j["planned_seconds_by_bucket"] = planned_seconds;
    j["unconfirmed"] = r.unconfirmed();
    j["unplanned_plays"] = r.unplanned_plays;
    j["unplanned_seconds"] = static_cast<double>(r.unplanned_us) / kSecond;
    j["airtime_seconds"] = static_cast<double>(r.airtime_us()) / kSecond;
    j["silent"] = r.silent;
    j["off_time"] = r.off_time;
    j["nodes_targeted"] = r.nodes_targeted;
    j["nodes_met"] = r.nodes_met;
    j["quota_nodes_met"] = r.quota_nodes_met;
    return j;
}

// ---- HTML ------------------------------------------------------------------------------------

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

constexpr const char* kPlannedFill = "#9e9e9e";
constexpr const char* kConfirmedFill = "#1565c0";

/// Horizontal bars, two per group: planned seconds (grey) over confirmed seconds (blue).
std::string bar_chart(const std::vector<AirtimeRow>& rows, const std::string& label, Language l) {
    const bool vi = l == Language::vi;
    constexpr int kWidth = 680, kLabel = 170, kBars = 400, kBar = 11, kGroup = 30, kTop = 26;
    std::int64_t most = 1;
    for (const auto& r : rows) {
        most = std::max({most, r.planned_us, r.confirmed_us});
    }
    const int height = kTop + static_cast<int>(rows.size()) * kGroup + 4;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" "
        "aria-label=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">\n",
        escape(label), kWidth, height, kWidth, height);
    const std::string planned_word = vi ? "Kế hoạch" : "Planned";
    const std::string confirmed_word = vi ? "Đã phát (xác nhận)" : "Confirmed (aired)";
    svg += fmt::format(
        "<rect x=\"{}\" y=\"4\" width=\"12\" height=\"{}\" fill=\"{}\"/><text x=\"{}\" "
        "y=\"14\">{}</text><rect x=\"{}\" y=\"4\" width=\"12\" height=\"{}\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"14\">{}</text>\n",
        kLabel, kBar, kPlannedFill, kLabel + 16, escape(planned_word), kLabel + 140, kBar,
        kConfirmedFill, kLabel + 156, escape(confirmed_word));
    int y = kTop;
    for (const auto& r : rows) {
        svg += fmt::format("<g class=\"bars\" data-key=\"{}\">", escape(r.key));
        svg += fmt::format("<text x=\"0\" y=\"{}\">{}</text>", y + kBar + 3, escape(r.key));
        int bar_y = y;
        for (const auto& [kind, us, word] :
             {std::tuple{"planned", r.planned_us, planned_word},
              std::tuple{"confirmed", r.confirmed_us, confirmed_word}}) {
            const double width =
                static_cast<double>(kBars) * static_cast<double>(us) / static_cast<double>(most);
            svg += fmt::format(
                "<rect class=\"{}\" fill=\"{}\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" "
                "height=\"{}\" data-seconds=\"{}\"><title>{}: {} s</title></rect><text "
                "class=\"value\" x=\"{:.1f}\" y=\"{}\">{}</text>",
                kind, kind == std::string_view("planned") ? kPlannedFill : kConfirmedFill, kLabel,
                bar_y, width, kBar, seconds(us), escape(word), seconds(us), kLabel + width + 4,
                bar_y + kBar - 1, seconds(us));
            bar_y += kBar + 2;
        }
        svg += "</g>\n";
        y += kGroup;
    }
    return svg + "</svg>\n";
}

constexpr const char* kStyle = R"css(
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; font-size: 9pt; color: #111;
       max-width: 186mm; margin: 0 auto; }
h1 { font-size: 14pt; margin: 0 0 4pt; }
h2 { font-size: 11pt; margin: 12pt 0 4pt; page-break-after: avoid; break-after: avoid; }
p.meta { margin: 0 0 2pt; }
table { border-collapse: collapse; width: 100%; font-size: 7.5pt; }
th, td { border: 0.5pt solid #888; padding: 1pt 3pt; }
th { background: #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 1.5pt solid #333; }
tr { page-break-inside: avoid; break-inside: avoid; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 9px; }
svg.chart text.value { fill: #333; }
.warn { color: #b00020; font-weight: bold; }
ul.legend { font-size: 8pt; color: #333; padding-left: 14pt; }
@media print {
  body { max-width: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg.chart, table.quotas { page-break-inside: avoid; break-inside: avoid; }
}
)css";

}  // namespace

std::string render_table(const AirtimeReport& report, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header = key_headers(report.query.by, language);
    const std::size_t first_right = header.size();
    for (Figure f : kFigures) {
        header.push_back(header_of(f).in(language));
    }
    header.push_back(vi ? "Đạt chỉ tiêu" : "Met quota");
    auto cells_of = [&](const AirtimeRow& r, bool total) {
        auto cells = key_cells(report, r, total, language);
        for (Figure f : kFigures) {
            cells.push_back(cell(r, f));
        }
        cells.push_back(fmt::format("{}/{}", r.nodes_met, r.nodes_targeted));
        return cells;
    };
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : report.rows) {
        rows.push_back(cells_of(r, false));
    }
    std::string out = title(report, language) + "\n" + period_text(report, language) + "\n" +
                      fmt::format(fmt::runtime(vi ? "Lập lúc {}\n\n" : "Made at {}\n\n"),
                                  format_local(report.query.now_us));
    out += detail::render_text_table(header, rows, first_right, cells_of(report.total, true));

    out += vi ? "\nĐộ phủ — số nút đạt / số nút có lượt phát theo kế hoạch"
              : "\nCoverage — nodes that met / nodes with plays booked";
    out += report.quota_source.empty()
               ? (vi ? " (chiến dịch không có chỉ tiêu: nút đạt khi phát đủ mọi lượt KH):\n"
                     : " (the campaign has no quotas: a node meets it when every booked play "
                       "played):\n")
               : fmt::format(fmt::runtime(vi ? " (chỉ tiêu từ {}):\n" : " (quotas from {}):\n"),
                             report.quota_source);
    for (std::size_t i = 0; i < report.quotas.size(); ++i) {
        const auto& q = report.quotas[i];
        const std::int64_t met =
            i < report.total.quota_nodes_met.size() ? report.total.quota_nodes_met[i] : 0;
        out += fmt::format(
            fmt::runtime(vi ? "  • {}: {}/{} nút ({}%), yêu cầu {}% — {}\n"
                            : "  • {}: {}/{} nodes ({}%), {}% required — {}\n"),
            quota_text(q, language), met, report.total.nodes_targeted,
            percent(met, report.total.nodes_targeted),
            fmt::format("{:.1f}", 100 * q.coverage_required),
            quota_met(report, i) ? (vi ? "đạt" : "met") : (vi ? "KHÔNG ĐẠT" : "NOT MET"));
    }

    out += fmt::format(fmt::runtime(vi ? "\nPhát vào im lặng (mức đỉnh dưới {} dBFS): {} lượt\n"
                                       : "\nAired into silence (peak below {} dBFS): {} {}\n"),
                       kSilenceThresholdDbfs, report.total.silent,
                       report.total.silent == 1 ? "play" : "plays");
    for (const auto& s : report.silent_plays) {
        out +=
            fmt::format(fmt::runtime(vi ? "  ! {} {} {} {} s, đỉnh {:.1f} dBFS, RMS {:.1f} dBFS\n"
                                        : "  ! {} {} {} {} s, peak {:.1f} dBFS, RMS {:.1f} dBFS\n"),
                        local_minute(s.planned_start_us), s.node_id, s.area_path,
                        seconds(s.aired_us), s.peak_dbfs, s.rms_dbfs);
    }
    if (report.total.silent > static_cast<std::int64_t>(report.silent_plays.size())) {
        out += fmt::format(
            fmt::runtime(vi ? "  … và {} lượt nữa\n" : "  … and {} more\n"),
            report.total.silent - static_cast<std::int64_t>(report.silent_plays.size()));
    }
    out += "\n";
    for (const auto& line : legend(language)) {
        out += line + "\n";
    }
    if (!adds_up(report)) {
        out += vi ? "! Có dòng mà tổng các cột khác Lượt KH: báo lỗi này.\n"
                  : "! Some row's columns do not add up to Planned: please report it.\n";
    }
    return out;
}

nlohmann::json to_json(const AirtimeReport& report, Language language) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : report.rows) {
        rows.push_back(row_json(report, r));
    }
    auto list = [&](const std::vector<AirtimeRow>& in) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : in) {
            out.push_back(row_json(report, r));
        }
        return out;
    };
    nlohmann::json quotas = nlohmann::json::array();
    for (std::size_t i = 0; i < report.quotas.size(); ++i) {
        const auto& q = report.quotas[i];
        const bool airtime = q.quota.starts_with("airtime");
        const std::int64_t met =
            i < report.total.quota_nodes_met.size() ? report.total.quota_nodes_met[i] : 0;
        quotas.push_back(
            {{"quota", q.quota},
             {"required", airtime ? static_cast<double>(q.required) / kSecond
                                  : static_cast<double>(q.required)},
             {"unit", airtime ? "seconds" : (q.quota == "as_planned" ? "" : "plays")},
             {"coverage_required", q.coverage_required},
             {"nodes_targeted", report.total.nodes_targeted},
             {"nodes_met", met},
             {"share", report.total.nodes_targeted == 0
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(static_cast<double>(met) /
                                            static_cast<double>(report.total.nodes_targeted))},
             {"met", quota_met(report, i)},
             {"label", quota_text(q, language)}});
    }
    nlohmann::json silent = nlohmann::json::array();
    for (const auto& s : report.silent_plays) {
        silent.push_back({{"node", s.node_id},
                          {"area", s.area_path},
                          {"slot", s.slot_id},
                          {"planned_start", format_local(s.planned_start_us)},
                          {"aired_seconds", static_cast<double>(s.aired_us) / kSecond},
                          {"peak_dbfs", s.peak_dbfs},
                          {"rms_dbfs", s.rms_dbfs}});
    }
    nlohmann::json labels;
    for (Figure f : kFigures) {
        labels[std::string(header_of(f).en)] = header_of(f).in(language);
    }
    return {{"campaign", report.query.campaign_id},
            {"campaign_name", report.campaign_name},
            {"area", report.query.area},
            {"from", format_local(report.query.from_us)},
            {"to", format_local(report.query.to_us)},
            {"generated", format_local(report.query.now_us)},
            {"by", std::string(grouping_name(report.query.by))},
            {"level", report.query.level},
            {"level_name", report.query.level_name},
            {"silence_threshold_dbfs", kSilenceThresholdDbfs},
            {"quota_source", report.quota_source},
            {"quotas", quotas},
            {"rows", rows},
            {"total", row_json(report, report.total)},
            {"by_area", list(report.by_area)},
            {"by_week", list(report.by_week)},
            {"silent_plays", silent},
            {"silent_plays_total", report.total.silent},
            {"adds_up", adds_up(report)},
            {"labels", labels}};
}

std::string render_csv(const AirtimeReport& report, Language language) {
    const bool vi = language == Language::vi;
    auto field = [](const std::string& text) {
        if (text.find_first_of(",\"\r\n") == std::string::npos) {
            return text;
        }
        std::string quoted = "\"";
        for (char c : text) {
            quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        }
        return quoted + "\"";
    };
    auto line = [&](const std::vector<std::string>& fields) {
        std::string out;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            out += (i ? "," : "") + field(fields[i]);
        }
        return out + "\r\n";
    };
    std::vector<std::string> header = key_headers(report.query.by, language);
    for (Figure f : kFigures) {
        header.push_back(header_of(f).in(language));
    }
    header.push_back(vi ? "Nút có lượt KH" : "Nodes targeted");
    header.push_back(vi ? "Nút đạt" : "Nodes met");
    header.push_back(vi ? "Tỉ lệ đạt (%)" : "Met (%)");
    for (const auto& q : report.quotas) {
        header.push_back(fmt::format(fmt::runtime(vi ? "Nút đạt: {}" : "Nodes met: {}"),
                                     quota_text(q, language)));
    }
    auto fields_of = [&](const AirtimeRow& r, bool total) {
        auto fields = key_cells(report, r, total, language);
        for (Figure f : kFigures) {
            fields.push_back(cell(r, f, 3));
        }
        fields.push_back(std::to_string(r.nodes_targeted));
        fields.push_back(std::to_string(r.nodes_met));
        fields.push_back(percent(r.nodes_met, r.nodes_targeted));
        for (std::size_t i = 0; i < report.quotas.size(); ++i) {
            fields.push_back(
                std::to_string(i < r.quota_nodes_met.size() ? r.quota_nodes_met[i] : 0));
        }
        return fields;
    };
    std::string out = "\xEF\xBB\xBF";  // UTF-8 byte order mark: spreadsheets then read UTF-8
    out += line(header);
    for (const auto& r : report.rows) {
        out += line(fields_of(r, false));
    }
    out += line(fields_of(report.total, true));
    return out;
}

std::string render_html(const AirtimeReport& report, Language language) {
    const bool vi = language == Language::vi;
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        vi ? "vi" : "en", escape(title(report, language)), kStyle, escape(title(report, language)));
    out += fmt::format("<p class=\"meta\">{}</p>\n", escape(period_text(report, language)));
    out += fmt::format("<p class=\"meta\">{}</p>\n",
                       escape(fmt::format(fmt::runtime(vi ? "Lập lúc {}" : "Made at {}"),
                                          format_local(report.query.now_us))));

    // The summary table.
    out += "<table class=\"summary\">\n<thead><tr>";
    for (const auto& h : key_headers(report.query.by, language)) {
        out += "<th>" + escape(h) + "</th>";
    }
    for (Figure f : kFigures) {
        out += "<th>" + escape(header_of(f).in(language)) + "</th>";
    }
    out +=
        std::string("<th>") + (vi ? "Đạt chỉ tiêu" : "Met quota") + "</th></tr></thead>\n<tbody>\n";
    auto row_html = [&](const AirtimeRow& r, bool total) {
        std::string tr = total ? "<tr class=\"total\">" : "<tr>";
        for (const auto& k : key_cells(report, r, total, language)) {
            tr += "<td>" + escape(k) + "</td>";
        }
        for (Figure f : kFigures) {
            tr += "<td class=\"n\">" + cell(r, f) + "</td>";
        }
        tr += fmt::format("<td class=\"n\">{}/{}</td></tr>\n", r.nodes_met, r.nodes_targeted);
        return tr;
    };
    for (const auto& r : report.rows) {
        out += row_html(r, false);
    }
    out += row_html(report.total, true);
    out += "</tbody>\n</table>\n";

    out += std::string("<h2>") + (vi ? "Độ phủ" : "Coverage") + "</h2>\n<p>" +
           escape(report.quota_source.empty()
                      ? (vi ? "Chiến dịch không có chỉ tiêu: nút đạt khi phát đủ mọi lượt theo kế "
                              "hoạch."
                            : "The campaign has no quotas: a node meets it when every booked play "
                              "played.")
                      : fmt::format(fmt::runtime(vi ? "Chỉ tiêu từ {}." : "Quotas from {}."),
                                    report.quota_source)) +
           "</p>\n<table class=\"quotas\">\n<thead><tr>";
    const std::vector<std::string> quota_header =
        vi ? std::vector<std::string>{"Chỉ tiêu",  "Nút đạt",     "Nút có lượt KH",
                                      "Tỉ lệ (%)", "Yêu cầu (%)", "Kết quả"}
           : std::vector<std::string>{"Quota",     "Nodes met",    "Nodes targeted",
                                      "Share (%)", "Required (%)", "Result"};
    for (const auto& h : quota_header) {
        out += "<th>" + h + "</th>";
    }
    out += "</tr></thead>\n<tbody>\n";
    for (std::size_t i = 0; i < report.quotas.size(); ++i) {
        const auto& q = report.quotas[i];
        const std::int64_t met =
            i < report.total.quota_nodes_met.size() ? report.total.quota_nodes_met[i] : 0;
        const bool ok = quota_met(report, i);
        out += fmt::format(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td "
            "class=\"n\">{}</td><td class=\"n\">{:.1f}</td><td{}>{}</td></tr>\n",
            escape(quota_text(q, language)), met, report.total.nodes_targeted,
            percent(met, report.total.nodes_targeted), 100 * q.coverage_required,
            ok ? "" : " class=\"warn\"",
            ok ? (vi ? "đạt" : "met") : (vi ? "KHÔNG ĐẠT" : "NOT MET"));
    }
    out += "</tbody>\n</table>\n";

    const std::string by_area = vi ? "Giây theo kế hoạch và đã phát, theo khu vực"
                                   : "Planned and confirmed seconds per area";
    const std::string by_week =
        vi ? "Giây theo kế hoạch và đã phát, theo tuần" : "Planned and confirmed seconds per week";
    out += "<h2>" + escape(by_area) + "</h2>\n" + bar_chart(report.by_area, by_area, language);
    out += "<h2>" + escape(by_week) + "</h2>\n" + bar_chart(report.by_week, by_week, language);

    out +=
        fmt::format("<h2>{}</h2>\n<p>{}</p>\n", vi ? "Phát vào im lặng" : "Aired into silence",
                    escape(fmt::format(fmt::runtime(vi ? "{} lượt có mức đỉnh dưới {} dBFS."
                                                       : "{} plays with their peak below {} dBFS."),
                                       report.total.silent, kSilenceThresholdDbfs)));
    if (!report.silent_plays.empty()) {
        out += "<table class=\"silent\">\n<thead><tr>";
        const std::vector<std::string> silent_header =
            vi ? std::vector<std::string>{"Giờ KH",    "Nút",         "Khu vực",   "Lượt",
                                          "Giây phát", "Đỉnh (dBFS)", "RMS (dBFS)"}
               : std::vector<std::string>{"Planned", "Node",        "Area",      "Slot",
                                          "Aired s", "Peak (dBFS)", "RMS (dBFS)"};
        for (const auto& h : silent_header) {
            out += "<th>" + h + "</th>";
        }
        out += "</tr></thead>\n<tbody>\n";
        for (const auto& s : report.silent_plays) {
            out += fmt::format(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td "
                "class=\"n\">{:.1f}</td><td class=\"n\">{:.1f}</td></tr>\n",
                escape(local_minute(s.planned_start_us)), escape(s.node_id), escape(s.area_path),
                escape(s.slot_id), seconds(s.aired_us), s.peak_dbfs, s.rms_dbfs);
        }
        out += "</tbody>\n</table>\n";
    }
    out += "<ul class=\"legend\">\n";
    for (const auto& line : legend(language)) {
        out += "<li>" + escape(line) + "</li>\n";
    }
    out += "</ul>\n";
    if (!adds_up(report)) {
        out += std::string("<p class=\"warn\">") +
               (vi ? "Có dòng mà tổng các cột khác Lượt KH." : "Some row does not add up.") +
               "</p>\n";
    }
    return out + "</body>\n</html>\n";
}

}  // namespace loa::controller
