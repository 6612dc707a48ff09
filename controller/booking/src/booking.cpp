// Booking plays on nodes with the schedules engine: the store's campaigns become a plan whose
// areas broadcast all day, each campaign playing each of its items once a day inside its own
// window, around the plays already booked and never sooner than the lead time.
#include "loa/controller/booking/booking.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/content/approval_gate.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::controller::detail {

namespace sch = loa::schedules;

namespace {

/// A campaign as the engine sees it. One that mixes sound and pictures is two for the engine,
/// one per node kind, so that "each item once a day" counts the items a node can play: a
/// loudspeaker is not asked to play its one bulletin as often as the campaign has items.
struct StoredCampaign {
    sch::Campaign campaign;
    std::vector<sch::Item> items;
    std::string booked_as;  ///< the campaign's own id, which its slots carry
};

/// The engine id of the pictures part of a mixed campaign. Parts of a campaign whose areas may
/// air different items get "~<n>" (campaign ids never hold '~').
constexpr const char* kPanelPart = "~panel";

std::string booked_id(const std::string& engine_id) {
    return engine_id.substr(0, engine_id.find('~'));
}

/// A campaign's stored facts, read from its row or given by a spec not stored yet.
struct CampaignFacts {
    std::string id;
    std::string name;
    std::string owner;
    std::int64_t window_start_us = 0;
    std::int64_t window_end_us = 0;
    std::vector<std::string> media_hashes;  ///< in play order
    std::vector<std::string> areas;
};

/// The campaign's items that may air in each of its areas, in play order: an item airs in an
/// area only under an approved record of its media whose area holds it. An area inside another
/// of the campaign's areas gets only what the outer one does not already play there, so that a
/// node in both plays each item once. Areas that may air the same items are grouped.
std::map<std::vector<std::string>, std::vector<std::string>> items_by_area(
    SQLite::Database& db, const CampaignFacts& facts) {
    std::map<std::string, std::vector<std::string>> approved;
    for (const auto& hash : facts.media_hashes) {
        if (!approved.contains(hash)) {
            approved[hash] = approved_areas(db, hash);
        }
    }
    std::map<std::vector<std::string>, std::vector<std::string>> groups;
    for (const auto& area : facts.areas) {
        std::vector<std::string> items;
        for (const auto& hash : facts.media_hashes) {
            if (!covers(approved[hash], area)) {
                continue;
            }
            const bool outer_plays =
                std::any_of(facts.areas.begin(), facts.areas.end(), [&](const std::string& outer) {
                    return outer != area && in_scope(outer, area) && covers(approved[hash], outer);
                });
            if (!outer_plays) {
                items.push_back(hash);
            }
        }
        if (!items.empty()) {
            groups[items].push_back(area);
        }
    }
    return groups;
}

/// The campaign as the engine sees it (appended to `out`; nothing when none of its items may
/// air anywhere it targets).
void add_campaign_parts(SQLite::Database& db, const CampaignFacts& facts, std::int64_t earliest,
                        std::vector<StoredCampaign>& out) {
    SQLite::Statement media(db, "SELECT duration_us, title, kind FROM media WHERE media_hash = ?");
    std::map<std::string, sch::Item> known;
    for (const auto& hash : facts.media_hashes) {
        if (known.contains(hash)) {
            continue;
        }
        media.bind(1, hash);
        if (media.executeStep()) {
            sch::Item item;
            item.id = hash;
            item.title = media.getColumn(1).getString();
            // Panel media: video plays its length; a still image (a slide) shows for
            // kSlideUs. Loudspeakers get audio only, panels only pictures.
            const std::string kind = media.getColumn(2).getString();
            std::int64_t duration = media.getColumn(0).getInt64();
            if (kind == "video") {
                item.kind = sch::ItemKind::video;
            } else if (kind == "image") {
                item.kind = sch::ItemKind::slide;
                duration = kSlideUs;
            }
            item.variants.push_back({sch::kDefaultLanguage, item.id, duration});
            known.emplace(hash, std::move(item));
        }
        media.reset();
    }
    // Rejected after booking, or approved only for some of the areas: each group of areas gets
    // the items that may air there, and nothing airs where nothing may.
    const auto groups = items_by_area(db, facts);
    const std::int64_t start = std::max(facts.window_start_us, earliest);
    const std::int64_t end = facts.window_end_us;
    std::size_t group_number = 0;
    for (const auto& [hashes, areas] : groups) {
        StoredCampaign s;
        sch::Campaign& c = s.campaign;
        // One group keeps the campaign's own id; several are told apart (booked_id).
        c.id = groups.size() == 1 ? facts.id : fmt::format("{}~{}", facts.id, ++group_number);
        c.title = facts.name;
        c.owner = facts.owner;
        c.between = sch::Interval{start, end};
        c.period.first = vietnam_date(start);
        c.period.last = vietnam_date(end - 1);
        c.areas = areas;
        for (const auto& hash : hashes) {
            if (auto it = known.find(hash); it != known.end()) {
                sch::Item item = it->second;
                // Called what the record that lets it air here calls it.
                if (auto title = covering_title(db, hash, areas.front()); !title.empty()) {
                    item.title = std::move(title);
                }
                c.items.push_back(hash);
                s.items.push_back(std::move(item));
            }
        }
        if (s.items.empty()) {
            continue;
        }
        s.booked_as = facts.id;
        std::vector<sch::Item> sound, pictures;
        for (auto& item : s.items) {
            (item.kind == sch::ItemKind::audio ? sound : pictures).push_back(item);
        }
        // Each item once a day inside the window, in order.
        auto part = [&](std::vector<sch::Item> playable, std::string id, sch::NodeKind kind) {
            StoredCampaign p;
            p.campaign = c;
            p.campaign.id = std::move(id);
            p.campaign.items.clear();
            for (const auto& item : playable) {
                p.campaign.items.push_back(item.id);
            }
            p.campaign.node_kinds = {kind};
            p.campaign.quotas.plays_per_day = static_cast<int>(playable.size());
            p.items = std::move(playable);
            p.booked_as = facts.id;
            return p;
        };
        if (!sound.empty() && !pictures.empty()) {
            out.push_back(part(std::move(sound), c.id, sch::NodeKind::speaker));
            out.push_back(part(std::move(pictures), c.id + kPanelPart, sch::NodeKind::panel));
        } else {
            c.quotas.plays_per_day = static_cast<int>(c.items.size());
            out.push_back(std::move(s));
        }
    }
}

std::vector<StoredCampaign> load_campaigns(SQLite::Database& db,
                                           const std::vector<std::string>& ids,
                                           std::int64_t earliest, bool include_paused) {
    std::vector<StoredCampaign> out;
    SQLite::Statement all(db,
                          "SELECT campaign_id, name, owner, window_start_us, window_end_us "
                          "FROM campaigns WHERE window_end_us > ? AND plan_id IS NULL "
                          "AND (paused_us IS NULL OR ?)"
                          "ORDER BY booked_us, campaign_id");
    SQLite::Statement items(
        db, "SELECT media_hash FROM campaign_items WHERE campaign_id = ? ORDER BY position");
    SQLite::Statement areas(db, "SELECT area_path FROM campaign_areas WHERE campaign_id = ?");
    all.bind(1, static_cast<int64_t>(earliest));
    all.bind(2, include_paused ? 1 : 0);
    while (all.executeStep()) {
        CampaignFacts facts;
        facts.id = all.getColumn(0).getString();
        if (!ids.empty() && std::find(ids.begin(), ids.end(), facts.id) == ids.end()) {
            continue;
        }
        facts.name = all.getColumn(1).getString();
        facts.owner = all.getColumn(2).getString();
        facts.window_start_us = all.getColumn(3).getInt64();
        facts.window_end_us = all.getColumn(4).getInt64();
        items.bind(1, facts.id);
        while (items.executeStep()) {
            facts.media_hashes.push_back(items.getColumn(0).getString());
        }
        items.reset();
        areas.bind(1, facts.id);
        while (areas.executeStep()) {
            facts.areas.push_back(areas.getColumn(0).getString());
        }
        areas.reset();
        add_campaign_parts(db, facts, earliest, out);
    }
    return out;
}

struct StoredNode {
    sch::Node node;
    std::set<std::string> booked_campaigns;
};

/// Every ancestor of every path, the roots broadcasting all day.
std::vector<sch::Area> areas_for(const std::set<std::string>& paths) {
    std::set<std::string> all;
    for (const auto& path : paths) {
        for (std::size_t at = path.find('/'); at != std::string::npos;
             at = path.find('/', at + 1)) {
            all.insert(path.substr(0, at));
        }
        all.insert(path);
    }
    std::vector<sch::Area> areas;
    for (const auto& path : all) {
        sch::Area a;
        a.path = path;
        a.name = path;
        if (path.find('/') == std::string::npos) {
            sch::Window day;
            day.name = "ca-ngay";
            day.start_minute = 0;
            day.end_minute = 24 * 60;
            a.windows = std::vector<sch::Window>{day};
        }
        areas.push_back(std::move(a));
    }
    return areas;
}

}  // namespace

SlotWriter::SlotWriter(SQLite::Database& db)
    : insert_(db,
              "INSERT OR IGNORE INTO slots (node_id, slot_id, campaign_id, item_id, media_hash, "
              "title, start_us, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      days_(db) {}

std::size_t SlotWriter::book(const std::string& node_id, const sch::Play& play,
                             const std::string& title) {
    // The slots trigger counts the play in this row (docs/audit.md).
    days_.ensure(node_id, play.campaign, play.start_us);
    insert_.bind(1, node_id);
    insert_.bind(2, play.slot_id);
    insert_.bind(3, play.campaign);
    insert_.bind(4, play.item);
    insert_.bind(5, play.media);
    insert_.bind(6, title);
    insert_.bind(7, static_cast<int64_t>(play.start_us));
    insert_.bind(8, static_cast<int64_t>(play.end_us - play.start_us));
    const int changed = insert_.exec();
    insert_.reset();
    return static_cast<std::size_t>(changed);
}

BookingPlan compute_booking(SQLite::Database& db, const BookingInput& input, std::int64_t now,
                            const BookingRules& rules) {
    BookingPlan out;
    const std::int64_t earliest = now + rules.lead_us;
    std::vector<StoredCampaign> campaigns;
    if (input.new_campaign) {
        const CampaignSpec& spec = *input.new_campaign;
        add_campaign_parts(db,
                           {spec.campaign_id, spec.name, spec.owner, spec.window_start_us,
                            spec.window_end_us, spec.media_hashes, spec.areas},
                           earliest, campaigns);
    } else {
        campaigns = load_campaigns(db, input.campaign_ids, earliest, input.include_paused);
    }
    if (campaigns.empty()) {
        return out;
    }

    // Nodes, with what is already booked on them, grouped by which campaigns they still need.
    SQLite::Statement node_q(db, "SELECT area_path, kind FROM nodes WHERE node_id = ?");
    SQLite::Statement booked_q(db,
                               "SELECT campaign_id, start_us, start_us + duration_us FROM slots "
                               "WHERE node_id = ? AND start_us + duration_us > ?");
    std::map<std::set<std::string>, std::vector<sch::Node>> groups;
    auto kind_of = [](const std::string& kind) {
        return kind == "panel" ? sch::NodeKind::panel : sch::NodeKind::speaker;
    };
    for (const auto& id : input.node_ids) {
        node_q.bind(1, id);
        if (!node_q.executeStep()) {
            node_q.reset();
            continue;
        }
        StoredNode n;
        n.node = {
            id, node_q.getColumn(0).getString(), kind_of(node_q.getColumn(1).getString()), {}, {}};
        node_q.reset();
        booked_q.bind(1, id);
        booked_q.bind(2, static_cast<int64_t>(now));
        while (booked_q.executeStep()) {
            n.booked_campaigns.insert(booked_q.getColumn(0).getString());
            n.node.busy.push_back(
                {booked_q.getColumn(1).getInt64(), booked_q.getColumn(2).getInt64()});
        }
        booked_q.reset();
        groups[n.booked_campaigns].push_back(std::move(n.node));
    }
    for (const auto& n : input.new_nodes) {
        groups[{}].push_back({n.id, n.area, kind_of(n.kind), {}, {}});
    }

    BookingResult& result = out.result;
    for (auto& [booked, nodes] : groups) {
        sch::Plan plan;
        std::set<std::string> paths;
        std::map<std::string, sch::Item> items;
        std::int64_t last_end = earliest;
        for (const auto& stored : campaigns) {
            if (booked.contains(stored.booked_as)) {
                continue;  // a campaign is booked on a node once
            }
            plan.campaigns.push_back(stored.campaign);
            paths.insert(stored.campaign.areas.begin(), stored.campaign.areas.end());
            for (const auto& item : stored.items) {
                items.emplace(item.id, item);
            }
            last_end = std::max(last_end, stored.campaign.between->end_us);
        }
        if (plan.campaigns.empty()) {
            continue;
        }
        for (const auto& node : nodes) {
            paths.insert(node.area);
        }
        plan.nodes = nodes;
        plan.areas = areas_for(paths);
        for (auto& [id, item] : items) {
            plan.items.push_back(item);
        }
        const sch::Date from = vietnam_date(earliest);
        const int days = static_cast<int>(std::min<std::int64_t>(
            366,
            (std::chrono::sys_days{vietnam_date(last_end)} - std::chrono::sys_days{from}).count() +
                1));
        sch::PlanCompiler compiler;
        auto compiled = compiler.compile(plan, {from, days, earliest}, 1);
        if (!compiled) {
            for (const auto& p : compiled.error()) {
                result.unplaced.push_back(p.what);
            }
            continue;
        }
        for (const auto& node : nodes) {
            const bool targeted = std::any_of(
                plan.campaigns.begin(), plan.campaigns.end(), [&](const sch::Campaign& c) {
                    return std::any_of(c.areas.begin(), c.areas.end(), [&](const std::string& a) {
                        return node.area == a || node.area.starts_with(a + "/");
                    });
                });
            result.nodes_targeted += targeted ? 1 : 0;
            const auto& timeline = *compiled->timelines.at(compiled->node_timeline.at(node.id));
            for (sch::Play play : timeline.plays) {
                std::string title = items.at(play.item).title;
                play.campaign = booked_id(play.campaign);
                out.plays.push_back({node.id, std::move(play), std::move(title)});
            }
        }
        for (const auto& q : compiled->quotas) {
            if (!q.met && q.scope != "all targeted nodes") {
                result.unplaced.push_back(fmt::format(
                    "{} · {} · {}: {} of {} plays fit{}", q.scope, booked_id(q.campaign), q.period,
                    q.scheduled, q.required, q.reason.empty() ? "" : " — " + q.reason));
            }
        }
    }
    return out;
}

BookingResult write_booking(WriteTx& tx, const BookingPlan& plan) {
    BookingResult result = plan.result;
    SlotWriter slots(tx.db());
    for (const auto& p : plan.plays) {
        result.slots_booked += slots.book(p.node_id, p.play, p.title);
    }
    return result;
}

}  // namespace loa::controller::detail
