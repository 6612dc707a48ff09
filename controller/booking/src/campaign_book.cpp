// Storing campaigns; their plays are booked on nodes by the schedules engine (booking.cpp).
#include "loa/controller/booking/campaign_book.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/identifiers.hpp"
#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/schedules/area_path.hpp"

namespace loa::controller {

namespace {

/// What makes a campaign spec unacceptable on its own; empty when nothing does.
Result<void> check_spec(const CampaignSpec& spec, std::int64_t now) {
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
    return {};
}

/// What the store must hold for the campaign to be stored: no campaign of that id, every item
/// imported and approved for air in every area it targets. Read through `db` (a snapshot or the
/// writer's transaction).
Result<void> check_against_store(SQLite::Database& db, const CampaignSpec& spec) {
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
            return fail(Error::Code::invalid_input,
                        fmt::format("campaign '{}': item {} '{}' is not imported media (see "
                                    "loactl media list)",
                                    spec.campaign_id, i + 1, spec.media_hashes[i]));
        }
        // Only approved media airs ("thẩm định"), and only where an approved record of it covers
        // the target area: another area's approval is not this one's. Nothing is stored otherwise.
        if (auto why = detail::approval_problem(db, spec.media_hashes[i], spec.areas,
                                                fmt::format("item {}", i + 1));
            !why.empty()) {
            return fail(Error::Code::forbidden,
                        fmt::format("campaign '{}': {}", spec.campaign_id, why));
        }
    }
    return {};
}

std::vector<std::string> all_node_ids(SQLite::Database& db) {
    std::vector<std::string> nodes;
    SQLite::Statement all(db, "SELECT node_id FROM nodes ORDER BY node_id");
    while (all.executeStep()) {
        nodes.push_back(all.getColumn(0).getString());
    }
    return nodes;
}

}  // namespace

Result<CampaignBooking> plan_campaign(SQLite::Database& db, const CampaignSpec& spec,
                                      std::int64_t now, const BookingRules& rules) {
    if (auto ok = check_spec(spec, now); !ok) {
        return std::unexpected(ok.error());
    }
    return guard_storage([&]() -> Result<CampaignBooking> {
        if (auto ok = check_against_store(db, spec); !ok) {
            return std::unexpected(ok.error());
        }
        detail::BookingInput input;
        input.node_ids = all_node_ids(db);
        input.new_campaign = spec;
        return CampaignBooking{spec, now, detail::compute_booking(db, input, now, rules)};
    });
}

Result<BookingResult> commit_campaign(WriteTx& tx, const CampaignBooking& booking) {
    SQLite::Database& db = tx.db();
    const CampaignSpec& spec = booking.spec;
    return in_savepoint(tx, [&]() -> Result<BookingResult> {
        // Checked again in the writer: the snapshot the plays were computed on may be old.
        if (auto ok = check_against_store(db, spec); !ok) {
            return std::unexpected(ok.error());
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
        insert.bind(6, static_cast<int64_t>(booking.now));
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
        return detail::write_booking(tx, booking.plays);
    });
}

Result<BookingResult> add_campaign(WriteTx& tx, const CampaignSpec& spec, std::int64_t now,
                                   const BookingRules& rules) {
    auto planned = plan_campaign(tx.db(), spec, now, rules);
    if (!planned) {
        return std::unexpected(planned.error());
    }
    return commit_campaign(tx, *planned);
}

Result<BookingResult> book_node(WriteTx& tx, const std::string& node_id, std::int64_t now,
                                const BookingRules& rules) {
    return guard_storage([&]() -> Result<BookingResult> {
        detail::BookingInput input;
        input.node_ids = {node_id};
        return detail::write_booking(tx, detail::compute_booking(tx.db(), input, now, rules));
    });
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
