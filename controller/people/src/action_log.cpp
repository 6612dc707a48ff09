// Appending to the action log and reading it back, filtered, as a table or JSON.
#include "loa/controller/people/action_log.hpp"

#include <limits>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/node_errors.hpp"

namespace loa::controller {

namespace {

std::string_view outcome_name(Outcome outcome) {
    return outcome == Outcome::done ? "done" : "refused";
}

/// Table cells hold at most this many characters (a media hash is cut); --json has everything.
constexpr std::size_t kDetailChars = 100;
constexpr std::size_t kTargetChars = 24;

/// `text` cut to `chars` code points, "…" marking the cut.
std::string shortened(const std::string& text, std::size_t chars) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool starts = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
        if (starts && seen++ == chars) {
            return text.substr(0, i) + "…";
        }
    }
    return text;
}

/// The cell a table shows for a row's detail: the reason of a refusal, else the detail's fields.
std::string detail_cell(const LoggedAction& a) {
    if (a.detail.contains("reason") && a.detail["reason"].is_string()) {
        return shortened(a.detail["reason"].get<std::string>(), kDetailChars);
    }
    std::string text;
    for (const auto& [key, value] : a.detail.items()) {
        text += fmt::format("{}{}={}", text.empty() ? "" : " ", key,
                            value.is_string() ? value.get<std::string>() : value.dump());
    }
    return text.empty() ? "-" : shortened(text, kDetailChars);
}

/// How much of each field a row keeps (bytes, cut at a character boundary).
constexpr std::size_t kMaxNameBytes = 128;
constexpr std::size_t kMaxTargetBytes = 512;
constexpr std::size_t kMaxDetailStringBytes = 1024;
constexpr std::size_t kMaxDetailBytes = 8192;

/// `text` valid UTF-8 and at most `bytes` long, cut at a character boundary; a cut says how much
/// was left out.
std::string bounded_field(std::string_view text, std::size_t bytes) {
    std::string valid = nlohmann::json(std::string(text))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // dump() quoted and escaped it; take the text back.
    valid = nlohmann::json::parse(valid).get<std::string>();
    if (valid.size() <= bytes) {
        return valid;
    }
    std::size_t cut = bytes;
    while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return fmt::format("{}…(+{} byte)", valid.substr(0, cut), valid.size() - cut);
}

/// The detail as stored: every string in it bounded, and the whole bounded too.
std::string bounded_detail(const nlohmann::json& detail) {
    nlohmann::json copy = detail;
    std::function<void(nlohmann::json&)> bound = [&](nlohmann::json& j) {
        if (j.is_string()) {
            j = bounded_field(j.get_ref<const std::string&>(), kMaxDetailStringBytes);
        } else if (j.is_structured()) {
            for (auto& child : j) {
                bound(child);
            }
        }
    };
    bound(copy);
    std::string text = copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > kMaxDetailBytes) {
        text = nlohmann::json{{"truncated", bounded_field(text, kMaxDetailBytes)}}.dump();
    }
    return text;
}

/// `text` as a terminal may show it: control characters (which could move the cursor, erase a
/// line or forge a row on an auditor's terminal) written as \xNN.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

/// "2026-11-24 05:30:00": the local time to the second.
std::string when_text(std::int64_t at_us) {
    std::string text = format_local(at_us).substr(0, 19);
    text[10] = ' ';
    return text;
}

}  // namespace

Result<std::int64_t> record_action(WriteTx& tx, const LoggedAction& entry) {
    SQLite::Database& db = tx.db();
    return guard_storage([&]() -> Result<std::int64_t> {
        SQLite::Statement insert(db,
                                 "INSERT INTO action_log (at_us, actor, actor_role, action, "
                                 "target, area_path, outcome, detail) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        // Whatever a stranger sent (a 4 MiB login name) is kept only in part: the log is
        // append-only, so a row must never be able to grow it by more than a few kilobytes.
        insert.bind(1, static_cast<int64_t>(entry.at_us));
        insert.bind(2, bounded_field(entry.actor, kMaxNameBytes));
        insert.bind(3, bounded_field(entry.actor_role, kMaxNameBytes));
        insert.bind(4, bounded_field(entry.action, kMaxNameBytes));
        insert.bind(5, bounded_field(entry.target, kMaxTargetBytes));
        insert.bind(6, bounded_field(entry.area, kMaxTargetBytes));
        insert.bind(7, std::string(outcome_name(entry.outcome)));
        insert.bind(8, bounded_detail(entry.detail));
        insert.exec();
        // A refusal of a node's message is that node's last error (the fleet view).
        if (entry.actor.starts_with("node:") && entry.outcome == Outcome::refused) {
            const auto reason =
                entry.detail.is_object() ? entry.detail.find("reason") : entry.detail.end();
            NodeErrors(tx).record(
                entry.actor.substr(5), "refused-message", entry.at_us, entry.action,
                reason != entry.detail.end() && reason->is_string() ? reason->get<std::string>()
                                                                    : std::string());
        }
        return db.getLastInsertRowid();
    });
}

Result<std::int64_t> record_action(WriteTx& tx, const Principal& who, std::string action,
                                   std::string target, std::string area, Outcome outcome,
                                   nlohmann::json detail, std::int64_t now) {
    LoggedAction entry;
    entry.at_us = now;
    entry.actor = who.name;
    entry.actor_role = std::string(role_name(who.role));
    entry.action = std::move(action);
    entry.target = std::move(target);
    entry.area = std::move(area);
    entry.outcome = outcome;
    entry.detail = detail.is_object() ? std::move(detail) : nlohmann::json{{"value", detail}};
    if (who.token_id != 0) {
        entry.detail["token_id"] = who.token_id;
    }
    return record_action(tx, entry);
}

Result<std::vector<LoggedAction>> list_actions(SQLite::Database& db, const ActionFilter& filter) {
    return guard_storage([&]() -> Result<std::vector<LoggedAction>> {
        // Newest first so that LIMIT keeps the newest; turned back to oldest first below.
        SQLite::Statement q(db,
                            "SELECT action_id, at_us, actor, actor_role, action, target, "
                            "area_path, outcome, detail FROM action_log "
                            "WHERE at_us >= ?1 AND (?2 = '' OR actor = ?2) "
                            "AND (?3 = '' OR action = ?3 OR substr(action, 1, length(?3) + 1) = "
                            "?3 || '.') ORDER BY action_id DESC");
        q.bind(1, static_cast<int64_t>(
                      filter.since_us.value_or(std::numeric_limits<std::int64_t>::min())));
        q.bind(2, filter.actor);
        q.bind(3, filter.action);
        std::vector<LoggedAction> rows;
        while (q.executeStep()) {
            const std::string area = q.getColumn(6).getString();
            if (!in_scope(filter.scope, area)) {
                continue;
            }
            LoggedAction a;
            a.action_id = q.getColumn(0).getInt64();
            a.at_us = q.getColumn(1).getInt64();
            a.actor = q.getColumn(2).getString();
            a.actor_role = q.getColumn(3).getString();
            a.action = q.getColumn(4).getString();
            a.target = q.getColumn(5).getString();
            a.area = area;
            a.outcome = q.getColumn(7).getString() == "done" ? Outcome::done : Outcome::refused;
            a.detail = nlohmann::json::parse(q.getColumn(8).getString(), nullptr, false);
            if (a.detail.is_discarded()) {
                a.detail = nlohmann::json{{"text", q.getColumn(8).getString()}};
            }
            rows.push_back(std::move(a));
            if (filter.limit != 0 && rows.size() == filter.limit) {
                break;
            }
        }
        return std::vector<LoggedAction>(rows.rbegin(), rows.rend());
    });
}

std::string_view outcome_text(Outcome outcome, Language language) {
    const bool vi = language == Language::vi;
    if (outcome == Outcome::done) {
        return vi ? "xong" : "done";
    }
    return vi ? "TỪ CHỐI" : "REFUSED";
}

std::string render_actions(const std::vector<LoggedAction>& actions, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Số",        "Lúc",  "Người",   "Vai trò", "Thao tác",
                                      "Đối tượng", "Vùng", "Kết quả", "Chi tiết"}
           : std::vector<std::string>{"No",     "At",   "Who",     "Role",  "Action",
                                      "Target", "Area", "Outcome", "Detail"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : actions) {
        // Every cell printable: a name or reason a stranger chose must not drive the terminal.
        rows.push_back({std::to_string(a.action_id), when_text(a.at_us),
                        printable(shortened(a.actor, kTargetChars)), printable(a.actor_role),
                        printable(a.action),
                        a.target.empty() ? "-" : printable(shortened(a.target, kTargetChars)),
                        printable(scope_text(a.area, language)),
                        std::string(outcome_text(a.outcome, language)), printable(detail_cell(a))});
    }
    std::vector<bool> right(header.size(), false);
    right[0] = true;
    return detail::render_text_table(header, rows, right);
}

nlohmann::json actions_json(const std::vector<LoggedAction>& actions) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : actions) {
        out.push_back({{"id", a.action_id},
                       {"at", format_local(a.at_us)},
                       {"at_us", a.at_us},
                       {"actor", a.actor},
                       {"role", a.actor_role},
                       {"action", a.action},
                       {"target", a.target},
                       {"area", a.area},
                       {"outcome", outcome_name(a.outcome)},
                       {"detail", a.detail}});
    }
    return out;
}

}  // namespace loa::controller
