// The action log: who did what, when and where — every change made by a person and every
// refusal — appended and never changed (the database's triggers refuse UPDATE and DELETE).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/people/people.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

enum class Outcome { done, refused };

/// One row of the log. Action names: media.import, media.approve, media.reject,
/// campaign.book, plan.apply, emergency.send, emergency.cancel, node.add, node.enroll,
/// node.revoke, node.command, user.add, user.disable, token.issue, token.revoke and
/// access.refused (a failed login or token, or a read outside someone's scope).
struct LoggedAction {
    std::int64_t action_id = 0;  ///< set by the log
    std::int64_t at_us = 0;
    std::string actor;       ///< a user name, "node:<id>", "system", or what was presented
    std::string actor_role;  ///< admin/operator/approver/auditor, node, system or unknown
    std::string action;
    std::string target;  ///< what it was done to: a media hash, campaign id, node id, user …
    std::string area;    ///< where: an area path or kEveryArea
    Outcome outcome = Outcome::done;
    nlohmann::json detail = nlohmann::json::object();  ///< refusals carry "reason"
};

/// Appends `entry` (its action_id is ignored) and returns the new action_id.
Result<std::int64_t> record_action(WriteTx& tx, const LoggedAction& entry);

/// Appends what `who` did (or was refused) at `now`: the person's name and role as actor.
Result<std::int64_t> record_action(WriteTx& tx, const Principal& who, std::string action,
                                   std::string target, std::string area, Outcome outcome,
                                   nlohmann::json detail, std::int64_t now);

/// Which rows list_actions returns; every field narrows.
struct ActionFilter {
    std::optional<std::int64_t> since_us;  ///< at or after
    std::string actor;                     ///< "" : anyone
    /// "" : any; "media" matches media.import, media.approve …; "media.import" only itself.
    std::string action;
    std::string scope = std::string(kEveryArea);  ///< rows whose area lies in this subtree
    std::size_t limit = 0;                        ///< the newest N; 0 : all
};

/// Rows matching `filter`, oldest first.
Result<std::vector<LoggedAction>> list_actions(SQLite::Database& db, const ActionFilter& filter);

/// "xong" / "done", "TỪ CHỐI" / "REFUSED".
std::string_view outcome_text(Outcome outcome, Language language);

/// One row per action: when, who (role), what, target, area, outcome, and the reason or detail.
std::string render_actions(const std::vector<LoggedAction>& actions, Language language);

/// The rows as JSON objects: {id, at, actor, role, action, target, area, outcome, detail}.
nlohmann::json actions_json(const std::vector<LoggedAction>& actions);

}  // namespace loa::controller
