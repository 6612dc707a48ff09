// API reports: airtime planned against confirmed, per campaign, area and period.
#include <cctype>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/booking/campaign_book.hpp"
#include "scope_queries.hpp"

namespace loa::controller::api {

namespace {

Result<Reply> airtime(Request& request) {
    ReportQuery query;
    query.campaign_id = request.query("campaign");
    if (query.campaign_id.empty()) {
        return fail(Error::Code::invalid_input,
                    "thiếu chiến dịch (campaign=…) / campaign=… is required");
    }
    query.area = request.query("area");
    const auto& who = request.who();
    if (!query.area.empty()) {
        if (auto ok = may_read(request, query.area, "report.airtime"); !ok) {
            return std::unexpected(ok.error());
        }
    } else if (who.area != kEveryArea) {
        query.area = who.area;  // only the nodes this person may see
    }
    auto campaign = find_campaign(request.db(), query.campaign_id);
    if (!campaign) {
        return std::unexpected(campaign.error());
    }
    if (!campaign_in_scope(*campaign, who.area)) {
        auto ok = may_read(request, scope_of(campaign->areas), "report.airtime");
        return std::unexpected(ok ? Error{Error::Code::forbidden, "outside your scope"}
                                  : ok.error());
    }
    auto from = instant_field(request, "from", request.query("from"));
    auto to = instant_field(request, "to", request.query("to"), true);
    if (!from || !to) {
        return std::unexpected(!from ? from.error() : to.error());
    }
    query.from_us = *from;
    query.to_us = *to;
    query.now_us = request.now();
    auto by = parse_grouping(request.query("by", "area"));
    if (!by) {
        return fail(Error::Code::invalid_input, "by: " + by.error().message);
    }
    query.by = *by;
    if (const std::string level = request.query("level"); !level.empty()) {
        if (level.find_first_not_of("0123456789") == std::string::npos) {
            if (level.size() > 2 || std::stoi(level) < 1) {
                return fail(Error::Code::invalid_input,
                            fmt::format("level: '{}': độ sâu từ 1 (vn) đến 99 / a depth from 1 "
                                        "(vn) to 99, or a level name such as commune",
                                        level));
            }
            query.level = std::stoi(level);
        } else {
            query.level_name = level;
        }
    }
    const std::string format = request.query("format", "json");
    if (format != "json" && format != "table" && format != "csv" && format != "html") {
        return fail(Error::Code::invalid_input,
                    fmt::format("format: '{}': chọn json, table, csv hoặc html / one of json, "
                                "table, csv, html",
                                format));
    }
    auto report = airtime_report(request.db(), query);
    if (!report) {
        return std::unexpected(report.error());
    }
    const Language lang = request.language();
    Reply reply;
    // The download's name: only characters safe in a header and a file name.
    std::string file =
        fmt::format("airtime-{}-{}-{}", query.campaign_id, date_text(vietnam_date(query.from_us)),
                    date_text(vietnam_date(query.to_us - 1)));
    for (char& c : file) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
            c = '_';
        }
    }
    if (format == "csv") {
        reply.body = render_csv(*report, lang);
        reply.content_type = "text/csv; charset=utf-8";
        reply.file_name = file + ".csv";
    } else if (format == "html") {
        reply.body = render_html(*report, lang);
        reply.content_type = "text/html; charset=utf-8";
        reply.file_name = file + ".html";
    } else if (format == "table") {
        reply.body = render_table(*report, lang);
        reply.content_type = "text/plain; charset=utf-8";
    } else {
        reply = json_reply(to_json(*report, lang));
    }
    return reply;
}

}  // namespace

std::vector<Route> report_routes() {
    return {
        {"GET", "/api/v1/reports/airtime", false,
         "Planned against confirmed airtime of a campaign, with the difference explained "
         "(by=node|area|day|week|month, level=, format=json|table|csv|html, lang=vi|en)",
         airtime},
    };
}

}  // namespace loa::controller::api
