// Storing campaigns and booking their plays on nodes with the schedules library.
#include "loa/controller/campaign_book.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "booking.hpp"
#include "identifiers.hpp"
#include "loa/controller/database.hpp"
#include "loa/schedules/area_path.hpp"
#include "loa/schedules/sequential_timeline.hpp"

namespace loa::controller {

namespace detail {

namespace {

std::vector<schedules::sequential::Campaign> load_campaigns(SQLite::Database& db,
                                                const std::vector<std::string>& ids,
                                                std::int64_t now, const BookingRules& rules) {
    std::vector<std::string> wanted = ids;
    if (wanted.empty()) {
        SQLite::Statement q(db,
                            "SELECT campaign_id FROM campaigns WHERE window_end_us > ? "
                            "ORDER BY booked_us, campaign_id");
        q.bind(1, static_cast<int64_t>(now));
        while (q.executeStep()) {
            wanted.push_back(q.getColumn(0).getString());
        }
    }
    std::vector<schedules::sequential::Campaign> campaigns;
    SQLite::Statement window(
        db, "SELECT window_start_us, window_end_us FROM campaigns WHERE campaign_id = ?");
    SQLite::Statement items(db,
                            "SELECT m.media_hash, m.size_bytes, m.duration_us, m.title "
                            "FROM campaign_items i JOIN media m USING (media_hash) "
                            "WHERE i.campaign_id = ? ORDER BY i.position");
    SQLite::Statement areas(db, "SELECT area_path FROM campaign_areas WHERE campaign_id = ?");
    for (const auto& id : wanted) {
        schedules::sequential::Campaign c;
        c.campaign_id = id;
        window.bind(1, id);
        if (!window.executeStep()) {
            window.reset();
            continue;
        }
        // Nothing is booked in the past or too soon for nodes to learn of it.
        c.window = {std::max(window.getColumn(0).getInt64(), now + rules.lead_us),
                    window.getColumn(1).getInt64()};
        window.reset();
        items.bind(1, id);
        while (items.executeStep()) {
            std::string hash = items.getColumn(0).getString();
            c.items.push_back({hash, hash,
                               static_cast<std::uint64_t>(items.getColumn(1).getInt64()),
                               items.getColumn(2).getInt64(), items.getColumn(3).getString()});
        }
        items.reset();
        areas.bind(1, id);
        while (areas.executeStep()) {
            c.target_areas.push_back(areas.getColumn(0).getString());
        }
        areas.reset();
        campaigns.push_back(std::move(c));
    }
    return campaigns;
}

}  // namespace

BookingResult book(SQLite::Database& db, const std::vector<std::string>& node_ids,
                   const std::vector<std::string>& campaign_ids, std::int64_t now,
                   const BookingRules& rules) {
    BookingResult result;
    auto campaigns = load_campaigns(db, campaign_ids, now, rules);
    SQLite::Statement area_of(db, "SELECT area_path FROM nodes WHERE node_id = ?");
    SQLite::Statement booked_q(db,
                               "SELECT slot_id, campaign_id, item_id, media_hash, title, start_us, "
                               "duration_us FROM slots WHERE node_id = ? AND "
                               "start_us + duration_us > ?");
    SQLite::Statement insert(db,
                             "INSERT OR IGNORE INTO slots (node_id, slot_id, campaign_id, item_id, "
                             "media_hash, title, start_us, duration_us) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& node_id : node_ids) {
        area_of.bind(1, node_id);
        if (!area_of.executeStep()) {
            area_of.reset();
            continue;
        }
        schedules::sequential::Node node{node_id, area_of.getColumn(0).getString()};
        area_of.reset();

        std::vector<schedules::sequential::PlannedSlot> booked;
        std::set<std::string> already;  // campaigns with plays on this node are not booked twice
        booked_q.bind(1, node_id);
        booked_q.bind(2, static_cast<int64_t>(now));
        while (booked_q.executeStep()) {
            schedules::sequential::PlannedSlot s;
            s.slot_id = booked_q.getColumn(0).getString();
            s.campaign_id = booked_q.getColumn(1).getString();
            s.item.item_id = booked_q.getColumn(2).getString();
            s.item.media_hash = booked_q.getColumn(3).getString();
            s.item.title = booked_q.getColumn(4).getString();
            s.start_us = booked_q.getColumn(5).getInt64();
            s.item.duration_us = booked_q.getColumn(6).getInt64();
            already.insert(s.campaign_id);
            booked.push_back(std::move(s));
        }
        booked_q.reset();

        std::vector<schedules::sequential::Campaign> todo;
        for (const auto& c : campaigns) {
            if (!already.contains(c.campaign_id)) {
                todo.push_back(c);
            }
        }
        auto timeline = schedules::sequential::sequential_timeline(node, todo, rules.gap_us, booked);
        bool targeted = std::any_of(todo.begin(), todo.end(), [&](const auto& c) {
            return std::any_of(c.target_areas.begin(), c.target_areas.end(), [&](const auto& a) {
                return schedules::area_contains(a, node.area_path);
            });
        });
        result.nodes_targeted += targeted ? 1 : 0;
        for (const auto& slot : timeline.slots) {
            insert.bind(1, node_id);
            insert.bind(2, slot.slot_id);
            insert.bind(3, slot.campaign_id);
            insert.bind(4, slot.item.item_id);
            insert.bind(5, slot.item.media_hash);
            insert.bind(6, slot.item.title);
            insert.bind(7, static_cast<int64_t>(slot.start_us));
            insert.bind(8, static_cast<int64_t>(slot.item.duration_us));
            result.slots_booked += static_cast<std::size_t>(insert.exec());
            insert.reset();
        }
        for (const auto& u : timeline.unplaced) {
            result.unplaced.push_back(
                fmt::format("{}: {} / {} — {}", node_id, u.campaign_id, u.item_id, u.reason));
        }
    }
    return result;
}

}  // namespace detail

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

}  // namespace loa::controller
