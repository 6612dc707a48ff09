// Storing campaigns; their plays are booked on nodes by the schedules engine (booking.cpp).
#include "loa/controller/booking/campaign_book.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/identifiers.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::controller {

Result<BookingResult> add_campaign(SQLite::Database& db, const CampaignSpec& spec, std::int64_t now,
                                   const BookingRules& rules) {
    auto invalid = [&](std::string why) {
        return fail(Error::Code::invalid_input,
                    fmt::format("campaign '{}': {}", spec.campaign_id, why));
    };
    if (auto why = detail::identifier_problem(spec.campaign_id); !why.empty()) {
        return invalid(why);
    }
    if (spec.name.empty()) {
        return invalid("it has no name");
    }
    if (spec.window_end_us <= spec.window_start_us) {
        return invalid("the window ends before it starts");
    }
    if (spec.window_end_us <= now) {
        return invalid("the window is already over");
    }
    if (spec.media_hashes.empty()) {
        return invalid("it has no items");
    }
    if (spec.areas.empty()) {
        return invalid("it targets no area");
    }
    for (const auto& area : spec.areas) {
        if (auto why = schedules::area_path_problem(area); !why.empty()) {
            return invalid(fmt::format("area '{}': {}", area, why));
        }
    }
    return in_transaction(db, [&]() -> Result<BookingResult> {
        SQLite::Statement exists(db, "SELECT 1 FROM campaigns WHERE campaign_id = ?");
        exists.bind(1, spec.campaign_id);
        if (exists.executeStep()) {
            return fail(Error::Code::conflict,
                        fmt::format("campaign '{}' already exists", spec.campaign_id));
        }
        SQLite::Statement media(db, "SELECT 1 FROM media WHERE media_hash = ?");
        for (std::size_t i = 0; i < spec.media_hashes.size(); ++i) {
            media.bind(1, spec.media_hashes[i]);
            bool found = media.executeStep();
            media.reset();
            if (!found) {
                return invalid(
                    fmt::format("item {} '{}' is not imported media (see loactl "
                                "media list)",
                                i + 1, spec.media_hashes[i]));
            }
            // Only approved media airs ("thẩm định"); nothing is stored otherwise.
            if (auto why = detail::approval_problem(db, spec.media_hashes[i],
                                                    fmt::format("item {}", i + 1));
                !why.empty()) {
                return fail(Error::Code::forbidden,
                            fmt::format("campaign '{}': {}", spec.campaign_id, why));
            }
        }
        SQLite::Statement insert(
            db,
            "INSERT INTO campaigns (campaign_id, name, owner, window_start_us, "
            "window_end_us, booked_us) VALUES (?, ?, ?, ?, ?, ?)");
        insert.bind(1, spec.campaign_id);
        insert.bind(2, spec.name);
        insert.bind(3, spec.owner);
        insert.bind(4, static_cast<int64_t>(spec.window_start_us));
        insert.bind(5, static_cast<int64_t>(spec.window_end_us));
        insert.bind(6, static_cast<int64_t>(now));
        insert.exec();
        SQLite::Statement item(db, "INSERT INTO campaign_items VALUES (?, ?, ?)");
        for (std::size_t i = 0; i < spec.media_hashes.size(); ++i) {
            item.bind(1, spec.campaign_id);
            item.bind(2, static_cast<int>(i + 1));
            item.bind(3, spec.media_hashes[i]);
            item.exec();
            item.reset();
        }
        SQLite::Statement area(db, "INSERT OR IGNORE INTO campaign_areas VALUES (?, ?)");
        for (const auto& a : spec.areas) {
            area.bind(1, spec.campaign_id);
            area.bind(2, a);
            area.exec();
            area.reset();
        }
        std::vector<std::string> nodes;
        SQLite::Statement all(db, "SELECT node_id FROM nodes ORDER BY node_id");
        while (all.executeStep()) {
            nodes.push_back(all.getColumn(0).getString());
        }
        return detail::book(db, nodes, {spec.campaign_id}, now, rules);
    });
}

Result<BookingResult> book_node(SQLite::Database& db, const std::string& node_id, std::int64_t now,
                                const BookingRules& rules) {
    return in_transaction(
        db, [&]() -> Result<BookingResult> { return detail::book(db, {node_id}, {}, now, rules); });
}

Result<CampaignSpec> find_campaign(SQLite::Database& db, const std::string& campaign_id) {
    return guard_storage([&]() -> Result<CampaignSpec> {
        SQLite::Statement q(db,
                            "SELECT name, owner, window_start_us, window_end_us FROM campaigns "
                            "WHERE campaign_id = ?");
        q.bind(1, campaign_id);
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no campaign '{}'", campaign_id));
        }
        CampaignSpec spec{campaign_id,
                          q.getColumn(0).getString(),
                          q.getColumn(1).getString(),
                          q.getColumn(2).getInt64(),
                          q.getColumn(3).getInt64(),
                          {},
                          {}};
        SQLite::Statement items(
            db, "SELECT media_hash FROM campaign_items WHERE campaign_id = ? ORDER BY position");
        items.bind(1, campaign_id);
        while (items.executeStep()) {
            spec.media_hashes.push_back(items.getColumn(0).getString());
        }
        SQLite::Statement areas(
            db, "SELECT area_path FROM campaign_areas WHERE campaign_id = ? ORDER BY area_path");
        areas.bind(1, campaign_id);
        while (areas.executeStep()) {
            spec.areas.push_back(areas.getColumn(0).getString());
        }
        return spec;
    });
}

Result<std::vector<CampaignSpec>> list_campaigns(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::vector<CampaignSpec>> {
        SQLite::Statement q(db,
                            "SELECT campaign_id FROM campaigns ORDER BY window_start_us, "
                            "campaign_id");
        std::vector<CampaignSpec> campaigns;
        while (q.executeStep()) {
            auto campaign = find_campaign(db, q.getColumn(0).getString());
            if (!campaign) {
                return std::unexpected(campaign.error());
            }
            campaigns.push_back(std::move(*campaign));
        }
        return campaigns;
    });
}

}  // namespace loa::controller
