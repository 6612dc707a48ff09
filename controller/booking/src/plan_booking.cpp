// Applying a plan file: nodes registered, campaigns stored, compiled timelines booked as slots.
#include "loa/controller/booking/plan_booking.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/booking/booking.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/content/approval_gate.hpp"
#include "loa/controller/plans/plan_file.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

namespace sch = loa::schedules;

namespace {

std::string joined(const std::vector<PlanFileProblem>& problems) {
    std::string text;
    for (const auto& p : problems) {
        text += (text.empty() ? "" : "\n") + p.text();
    }
    return text;
}

/// Media of the plan's items must be imported; their probed durations are what plays (a still
/// slide keeps the duration the plan gives it).
std::vector<PlanFileProblem> bind_media(SQLite::Database& db, sch::Plan& plan,
                                        const std::string& source) {
    std::vector<PlanFileProblem> problems;
    SQLite::Statement media(db, "SELECT duration_us FROM media WHERE media_hash = ?");
    for (auto& item : plan.items) {
        if (item.kind == sch::ItemKind::relay) {
            continue;
        }
        for (auto& v : item.variants) {
            if (v.media.empty()) {
                problems.push_back({source, item.origin.line, 0,
                                    fmt::format("item '{}' ({} version) names no media: give the "
                                                "hash loactl media import printed (media = \"…\")",
                                                item.id, v.language)});
                continue;
            }
            media.bind(1, v.media);
            if (media.executeStep()) {
                // A still picture has no length of its own: a slide shows for the duration the
                // plan gives it. Everything else plays for what was probed.
                const std::int64_t probed = media.getColumn(0).getInt64();
                if (probed > 0 || item.kind != sch::ItemKind::slide) {
                    v.duration_us = probed;
                }
            } else {
                problems.push_back({source, item.origin.line, 0,
                                    fmt::format("item '{}' ({} version): media {} is not imported "
                                                "(see loactl media list)",
                                                item.id, v.language, v.media)});
            }
            media.reset();
        }
    }
    return problems;
}

/// Items whose media is not approved for air in every area a campaign plays them in, each with
/// its line. An item no campaign plays never airs.
std::vector<PlanFileProblem> unapproved_media(SQLite::Database& db, const sch::Plan& plan,
                                              const std::string& source) {
    std::map<std::string, std::vector<std::string>> played_in;
    for (const auto& c : plan.campaigns) {
        for (const auto& id : c.items) {
            auto& areas = played_in[id];
            for (const auto& area : c.areas) {
                if (std::find(areas.begin(), areas.end(), area) == areas.end()) {
                    areas.push_back(area);
                }
            }
        }
    }
    std::vector<PlanFileProblem> problems;
    for (const auto& item : plan.items) {
        for (const auto& v : item.variants) {
            if (item.kind == sch::ItemKind::relay || v.media.empty()) {
                continue;
            }
            const auto what = fmt::format("item '{}' ({} version)", item.id, v.language);
            if (auto why = detail::approval_problem(db, v.media, played_in[item.id], what);
                !why.empty()) {
                problems.push_back({source, item.origin.line, 0, why});
            }
        }
    }
    return problems;
}

/// Asks `may_touch` about every area the plan changes: its nodes', its campaigns', and those of
/// the previous plan's campaigns, whose plays it takes back.
Result<void> check_areas(SQLite::Database& db, const sch::Plan& plan, const AreaCheck& may_touch) {
    if (!may_touch) {
        return {};
    }
    std::set<std::string> areas;
    for (const auto& node : plan.nodes) {
        areas.insert(node.area);
    }
    for (const auto& c : plan.campaigns) {
        areas.insert(c.areas.begin(), c.areas.end());
    }
    SQLite::Statement previous(db,
                               "SELECT DISTINCT a.area_path FROM campaign_areas a JOIN campaigns c "
                               "USING (campaign_id) WHERE c.plan_id IS NOT NULL");
    while (previous.executeStep()) {
        areas.insert(previous.getColumn(0).getString());
    }
    for (const auto& area : areas) {
        if (auto allowed = may_touch(area); !allowed) {
            return allowed;
        }
    }
    return {};
}

/// Asks `may_use` about every media the plan's items name, as every other booking path asks
/// about the media it books (POST /campaigns).
Result<void> check_media_scope(const sch::Plan& plan, const std::string& source,
                               const MediaCheck& may_use) {
    if (!may_use) {
        return {};
    }
    for (const auto& item : plan.items) {
        for (const auto& v : item.variants) {
            if (item.kind == sch::ItemKind::relay || v.media.empty()) {
                continue;
            }
            if (auto allowed = may_use(v.media); !allowed) {
                return fail(allowed.error().code, fmt::format("{}:{}: item '{}' ({} version): {}",
                                                              source, item.origin.line, item.id,
                                                              v.language, allowed.error().message));
            }
        }
    }
    return {};
}

}  // namespace

Result<PreparedPlan> prepare_plan(SQLite::Database& db, const std::filesystem::path& file,
                                  sch::Date from, int days, std::int64_t now, bool accept_shortfall,
                                  const BookingRules& rules, const AreaCheck& may_touch,
                                  const MediaCheck& may_use) {
    PreparedPlan p;
    p.source = file.string();
    p.from = from;
    p.days = days;
    p.now = now;
    p.accept_shortfall = accept_shortfall;
    // The text is read once: what is stored in `plans` is exactly what was compiled.
    auto text = read_plan_text(file);
    if (!text) {
        return fail(Error::Code::invalid_input, joined(text.error()));
    }
    p.text = std::move(*text);
    auto plan = parse_plan(p.text, p.source);
    if (!plan) {
        return fail(Error::Code::invalid_input, joined(plan.error()));
    }
    p.plan = std::move(*plan);
    p.earliest = now + rules.lead_us;
    const std::string& source = p.source;
    return guard_storage([&]() -> Result<PreparedPlan> {
        if (auto problems = bind_media(db, p.plan, source); !problems.empty()) {
            return fail(Error::Code::invalid_input, joined(problems));
        }
        if (auto allowed = check_areas(db, p.plan, may_touch); !allowed) {
            return std::unexpected(allowed.error());
        }
        if (auto allowed = check_media_scope(p.plan, source, may_use); !allowed) {
            return std::unexpected(allowed.error());
        }
        if (auto problems = unapproved_media(db, p.plan, source); !problems.empty()) {
            return fail(Error::Code::forbidden, joined(problems));
        }
        // Campaigns of the plan applied before: their plays not yet due are taken back.
        SQLite::Statement prev_q(db, "SELECT campaign_id FROM campaigns WHERE plan_id IS NOT NULL");
        while (prev_q.executeStep()) {
            p.previous.insert(prev_q.getColumn(0).getString());
        }
        SQLite::Statement adhoc(
            db, "SELECT 1 FROM campaigns WHERE campaign_id = ? AND plan_id IS NULL");
        for (const auto& c : p.plan.campaigns) {
            adhoc.bind(1, c.id);
            const bool clash = adhoc.executeStep();
            adhoc.reset();
            if (clash) {
                return fail(Error::Code::conflict,
                            fmt::format("{}:{}: campaign '{}' already exists as a campaign booked "
                                        "with loactl campaign add",
                                        source, c.origin.line, c.id));
            }
        }
        SQLite::Statement node_q(db, "SELECT area_path, kind FROM nodes WHERE node_id = ?");
        SQLite::Statement busy_q(db,
                                 "SELECT campaign_id, start_us, start_us + duration_us FROM slots "
                                 "WHERE node_id = ? AND start_us + duration_us > ?");
        for (auto& node : p.plan.nodes) {
            node_q.bind(1, node.id);
            if (node_q.executeStep()) {
                const std::string kind = node.kind == sch::NodeKind::panel ? "panel" : "speaker";
                if (node_q.getColumn(0).getString() != node.area ||
                    node_q.getColumn(1).getString() != kind) {
                    return fail(Error::Code::conflict,
                                fmt::format("{}:{}: node '{}' is registered as a {} in {}, not a "
                                            "{} in {}",
                                            source, node.origin.line, node.id,
                                            node_q.getColumn(1).getString(),
                                            node_q.getColumn(0).getString(), kind, node.area));
                }
            } else {
                p.unknown_nodes.push_back(node.id);
            }
            node_q.reset();
            busy_q.bind(1, node.id);
            busy_q.bind(2, static_cast<int64_t>(now));
            while (busy_q.executeStep()) {
                const std::int64_t start = busy_q.getColumn(1).getInt64();
                if (p.previous.contains(busy_q.getColumn(0).getString()) && start >= p.earliest) {
                    continue;  // taken back below
                }
                node.busy.push_back({start, busy_q.getColumn(2).getInt64()});
            }
            busy_q.reset();
        }
        SQLite::Statement paused_q(db,
                                   "SELECT campaign_id FROM campaigns WHERE paused_us IS NOT "
                                   "NULL");
        while (paused_q.executeStep()) {
            p.paused.insert(paused_q.getColumn(0).getString());
        }

        sch::PlanCompiler compiler;
        auto compiled = compiler.compile(p.plan, {from, days, p.earliest});
        if (!compiled) {
            std::vector<PlanFileProblem> problems;
            for (const auto& problem : compiled.error()) {
                problems.push_back({source, problem.line, 0, problem.what});
            }
            return fail(Error::Code::invalid_input, joined(problems));
        }
        p.compiled = std::move(*compiled);
        return std::move(p);
    });
}

Result<PlanApplication> commit_plan(WriteTx& tx, const PreparedPlan& p) {
    SQLite::Database& db = tx.db();
    PlanApplication result;
    result.compiled = p.compiled;
    if (!result.compiled.feasible && !p.accept_shortfall) {
        return result;  // not applied: the caller shows the report
    }
    const sch::Plan& plan = p.plan;
    return in_savepoint(tx, [&]() -> Result<PlanApplication> {
        SQLite::Statement plan_row(db,
                                   "INSERT INTO plans (source, text, from_date, days, applied_us, "
                                   "feasible) VALUES (?, ?, ?, ?, ?, ?)");
        plan_row.bind(1, p.source);
        plan_row.bind(2, p.text);
        plan_row.bind(3, date_text(p.from));
        plan_row.bind(4, p.days);
        plan_row.bind(5, static_cast<int64_t>(p.now));
        plan_row.bind(6, result.compiled.feasible ? 1 : 0);
        plan_row.exec();
        result.plan_id = db.getLastInsertRowid();

        SQLite::Statement add_node(db,
                                   "INSERT INTO nodes (node_id, kind, area_path, time_zone, "
                                   "created_us) VALUES (?, ?, ?, ?, ?)");
        for (const auto& id : p.unknown_nodes) {
            const auto node = std::find_if(plan.nodes.begin(), plan.nodes.end(),
                                           [&](const sch::Node& n) { return n.id == id; });
            add_node.bind(1, node->id);
            add_node.bind(2, node->kind == sch::NodeKind::panel ? "panel" : "speaker");
            add_node.bind(3, node->area);
            add_node.bind(4, sch::kDefaultTimeZone);
            add_node.bind(5, static_cast<int64_t>(p.now));
            add_node.exec();
            add_node.reset();
            ++result.nodes_registered;
        }

        SQLite::Statement take_back(db,
                                    "DELETE FROM slots WHERE campaign_id = ? AND start_us >= ?");
        for (const auto& id : p.previous) {
            take_back.bind(1, id);
            take_back.bind(2, static_cast<int64_t>(p.earliest));
            result.slots_replaced += static_cast<std::size_t>(take_back.exec());
            take_back.reset();
        }

        std::map<std::string, const sch::Item*> items;
        for (const auto& item : plan.items) {
            items[item.id] = &item;
        }
        const std::int64_t window_start = vietnam_midnight_us(p.from);
        const std::int64_t window_end = vietnam_midnight_us(
            sch::Date{std::chrono::sys_days{p.from} + std::chrono::days{p.days}});
        SQLite::Statement drop_items(db, "DELETE FROM campaign_items WHERE campaign_id = ?");
        SQLite::Statement drop_areas(db, "DELETE FROM campaign_areas WHERE campaign_id = ?");
        SQLite::Statement upsert(
            db,
            "INSERT INTO campaigns (campaign_id, name, owner, window_start_us, window_end_us, "
            "booked_us, plan_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (campaign_id) DO "
            "UPDATE SET name = ?2, owner = ?3, window_start_us = ?4, window_end_us = ?5, "
            "booked_us = ?6, plan_id = ?7");
        SQLite::Statement add_item(db, "INSERT INTO campaign_items VALUES (?, ?, ?)");
        SQLite::Statement add_area(db, "INSERT OR IGNORE INTO campaign_areas VALUES (?, ?)");
        for (const auto& c : plan.campaigns) {
            for (auto* q : {&drop_items, &drop_areas}) {
                q->bind(1, c.id);
                q->exec();
                q->reset();
            }
            upsert.bind(1, c.id);
            upsert.bind(2, c.title.empty() ? c.id : c.title);
            upsert.bind(3, c.owner);
            upsert.bind(4, static_cast<int64_t>(window_start));
            upsert.bind(5, static_cast<int64_t>(window_end));
            upsert.bind(6, static_cast<int64_t>(p.now));
            upsert.bind(7, static_cast<int64_t>(result.plan_id));
            upsert.exec();
            upsert.reset();
            int position = 0;
            for (const auto& id : c.items) {
                for (const auto& v : items.at(id)->variants) {
                    if (v.media.empty()) {
                        continue;
                    }
                    add_item.bind(1, c.id);
                    add_item.bind(2, ++position);
                    add_item.bind(3, v.media);
                    add_item.exec();
                    add_item.reset();
                }
            }
            for (const auto& a : c.areas) {
                add_area.bind(1, c.id);
                add_area.bind(2, a);
                add_area.exec();
                add_area.reset();
            }
        }

        // A paused campaign keeps its place in the plan but books nothing until it is resumed.
        detail::SlotWriter slots(db);
        std::size_t relays = 0;
        std::size_t held = 0;
        for (const auto& [node, index] : result.compiled.node_timeline) {
            for (const auto& play : result.compiled.timelines[index]->plays) {
                if (play.kind == sch::ItemKind::relay) {
                    ++relays;
                    continue;
                }
                if (p.paused.contains(play.campaign)) {
                    ++held;
                    continue;
                }
                result.slots_booked += slots.book(node, play, items.at(play.item)->title);
            }
        }
        if (held > 0) {
            result.notes.push_back(fmt::format(
                "{} plays of paused campaigns not booked: they are booked when the campaign is "
                "resumed and the plan applied again",
                held));
        }
        if (relays > 0) {
            result.notes.push_back(
                fmt::format("{} relay plays are planned but not sent: node agents cannot play a "
                            "live stream yet",
                            relays));
        }
        result.applied = true;
        return result;
    });
}

Result<PlanApplication> apply_plan(WriteTx& tx, const std::filesystem::path& file, sch::Date from,
                                   int days, std::int64_t now, bool accept_shortfall,
                                   const BookingRules& rules, const AreaCheck& may_touch,
                                   const MediaCheck& may_use) {
    auto prepared =
        prepare_plan(tx.db(), file, from, days, now, accept_shortfall, rules, may_touch, may_use);
    if (!prepared) {
        return std::unexpected(prepared.error());
    }
    return commit_plan(tx, *prepared);
}

}  // namespace loa::controller
