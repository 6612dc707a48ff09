// API reports: airtime planned against confirmed, per campaign, area and period.
#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/airtime_report.hpp"
#include "loa/controller/campaign_book.hpp"
#include "loa/controller/scope_queries.hpp"

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
    auto report = airtime_report(request.db(), query);
    if (!report) {
        return std::unexpected(report.error());
    }
    return listing(request, to_json(*report),
                   [&] { return render_table(*report, request.language()); });
}

}  // namespace

std::vector<Route> report_routes() {
    return {
        {"GET", "/api/v1/reports/airtime", false,
         "Planned against confirmed airtime of a campaign, with the difference explained", airtime},
    };
}

}  // namespace loa::controller::api
