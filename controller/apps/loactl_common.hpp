// What loactl's commands share: refusals, opening the store, printing a listing, and who runs
// the command (token, role, scope) with the action log of what they change.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <SQLiteCpp/Database.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "loa/controller/action_log.hpp"
#include "loa/controller/airtime_report.hpp"
#include "loa/controller/error.hpp"
#include "loa/controller/people.hpp"

namespace loa::loactl {

/// Prints "loactl: <message>" on stderr; returns the exit code of a refusal, 1.
int refused(const controller::Error& error);

/// The database of the controller data directory `data`, migrated; null after printing why not.
std::unique_ptr<SQLite::Database> open_store(const std::string& data);

/// Adds `--lang vi|en` (how tables and messages read) to `cmd`, bound to `lang`.
CLI::Option* add_lang(CLI::App* cmd, std::string& lang);

/// "en" → English, anything else Vietnamese.
controller::Language language(const std::string& lang);

/// Prints a listing: `as_json` with --json, else `empty_text` when there is nothing, else what
/// `table` renders. Returns 0.
int print_listing(bool json, const nlohmann::json& as_json, bool empty, std::string_view empty_text,
                  const std::function<std::string()>& table);

/// Sets the API token commands present: --token, else $LOA_TOKEN (main, once parsed).
void use_token(std::string token);

/// Logs `entry` (actor, role, area, detail with "command" and "reason") as access.refused now.
void log_access_refusal(SQLite::Database& db, controller::LoggedAction entry);

/// The person behind the token, checked against the store; empty after printing why not and
/// logging the refusal as access.refused naming `command` (e.g. "node.list").
std::optional<controller::Principal> signed_in(SQLite::Database& db, std::string_view command);

/// True when `who` may read (or `what`, another permission that changes nothing) in `area`;
/// otherwise prints why, logs access.refused naming `command`, and returns false.
bool may_read(SQLite::Database& db, const controller::Principal& who, std::string_view area,
              std::string_view command, controller::Permission what = controller::Permission::read);

/// True when node `node_id` exists and `who` may read where it is; otherwise prints why (a
/// refusal of scope is logged as may_read logs it) and returns false.
bool may_read_node(SQLite::Database& db, const controller::Principal& who,
                   const std::string& node_id, std::string_view command);

/// One change a person makes through loactl: checked against their role and scope, and written
/// to the action log whether it is done or refused.
class Change {
  public:
    /// `action` as the log names it ("campaign.book"), `target` what it changes, `area` where
    /// the log files it.
    Change(SQLite::Database& db, const controller::Principal& who, std::string action,
           std::string target, std::string area);

    /// True when the person may do `what` in `area`; otherwise prints why, logs the change as
    /// refused, and returns false.
    bool allowed(controller::Permission what, std::string_view area);
    /// The same in the change's own area.
    bool allowed(controller::Permission what) { return allowed(what, area_); }

    /// Logs the change as done, with `detail`.
    void done(nlohmann::json detail = nlohmann::json::object());

    /// Prints `error`, logs the change as refused with it as the reason; returns 1.
    int refused(const controller::Error& error, nlohmann::json detail = nlohmann::json::object());

    /// Logs the change as refused with `reason`, for callers that print the refusal themselves.
    void log_refusal(std::string reason, nlohmann::json detail = nlohmann::json::object());

    void set_target(std::string target) { target_ = std::move(target); }
    void set_area(std::string area) { area_ = std::move(area); }

  private:
    void log(controller::Outcome outcome, nlohmann::json detail);

    SQLite::Database& db_;
    const controller::Principal& who_;
    std::string action_;
    std::string target_;
    std::string area_;
};

}  // namespace loa::loactl
