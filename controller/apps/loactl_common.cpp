// Refusals, the store and listings as loactl prints them; signing in and logging changes.
#include "loactl_common.hpp"

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "loa/controller/action_log.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/time_text.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

/// The token every command of this process presents (use_token).
std::string& token() {
    static std::string presented;
    return presented;
}

}  // namespace

void log_access_refusal(SQLite::Database& db, lc::LoggedAction entry) {
    entry.at_us = lc::now_us();
    entry.action = "access.refused";
    entry.outcome = lc::Outcome::refused;
    // A failure to log is said, not fatal: the refusal stands either way.
    if (auto logged = lc::record_action(db, entry); !logged) {
        std::cerr << "loactl: nhật ký thao tác / action log: " << logged.error().message << "\n";
    }
}

int refused(const lc::Error& error) {
    std::cerr << "loactl: " << error.message << "\n";
    return 1;
}

std::unique_ptr<SQLite::Database> open_store(const std::string& data) {
    auto db = controller::open_database(std::filesystem::path(data) / "controller.db");
    if (!db) {
        refused(db.error());
        return nullptr;
    }
    return std::move(*db);
}

CLI::Option* add_lang(CLI::App* cmd, std::string& lang) {
    return cmd->add_option("--lang", lang, "vi or en")
        ->check(CLI::IsMember({"vi", "en"}))
        ->capture_default_str();
}

controller::Language language(const std::string& lang) {
    return lang == "en" ? controller::Language::en : controller::Language::vi;
}

int print_listing(bool json, const nlohmann::json& as_json, bool empty, std::string_view empty_text,
                  const std::function<std::string()>& table) {
    if (json) {
        std::cout << as_json.dump(2) << "\n";
    } else if (empty) {
        std::cout << empty_text << "\n";
    } else {
        std::cout << table();
    }
    return 0;
}

void use_token(std::string presented) {
    token() = std::move(presented);
}

std::optional<lc::Principal> signed_in(SQLite::Database& db, std::string_view command) {
    lc::LoggedAction refusal;
    refusal.actor = "unknown";
    refusal.actor_role = "unknown";
    refusal.area = std::string(lc::kEveryArea);
    refusal.detail = {{"command", command}};
    if (token().empty()) {
        const auto users = lc::count_users(db);
        const std::string why =
            users && *users == 0
                ? "chưa có người dùng nào: tạo quản trị viên đầu tiên bằng loactl user add TÊN "
                  "--role admin --area / --password-stdin / no users yet: create the first "
                  "admin with loactl user add NAME --role admin --area / --password-stdin"
                : "cần đăng nhập: cho mã truy cập bằng --token hoặc biến LOA_TOKEN (loactl "
                  "login TÊN) / sign in first: give an API token with --token or LOA_TOKEN "
                  "(loactl login NAME)";
        refusal.detail["reason"] = why;
        log_access_refusal(db, refusal);
        refused({lc::Error::Code::forbidden, why});
        return std::nullopt;
    }
    auto who = lc::authenticate_token(db, token(), lc::now_us());
    if (who) {
        return *who;
    }
    // Revoked or expired: the log names whose token it was.
    if (auto holder = lc::token_holder(db, token())) {
        refusal.actor = holder->name;
        refusal.actor_role = std::string(lc::role_name(holder->role));
        refusal.area = holder->area;
        refusal.detail["token_id"] = holder->token_id;
    }
    refusal.detail["reason"] = who.error().message;
    log_access_refusal(db, refusal);
    refused(who.error());
    return std::nullopt;
}

bool may_read(SQLite::Database& db, const lc::Principal& who, std::string_view area,
              std::string_view command, lc::Permission what) {
    auto allowed = lc::authorize(who, what, area);
    if (allowed) {
        return true;
    }
    lc::LoggedAction refusal;
    refusal.actor = who.name;
    refusal.actor_role = std::string(lc::role_name(who.role));
    refusal.area = std::string(area);
    refusal.detail = {{"command", command}, {"reason", allowed.error().message}};
    log_access_refusal(db, refusal);
    refused(allowed.error());
    return false;
}

bool may_read_node(SQLite::Database& db, const lc::Principal& who, const std::string& node_id,
                   std::string_view command) {
    auto node = lc::find_node(db, node_id);
    if (!node) {
        refused(node.error());
        return false;
    }
    return may_read(db, who, node->area_path, command);
}

Change::Change(SQLite::Database& db, const lc::Principal& who, std::string action,
               std::string target, std::string area)
    : db_(db),
      who_(who),
      action_(std::move(action)),
      target_(std::move(target)),
      area_(std::move(area)) {}

bool Change::allowed(lc::Permission what, std::string_view area) {
    auto allowed = lc::authorize(who_, what, area);
    if (allowed) {
        return true;
    }
    area_ = std::string(area);  // filed where it was refused
    refused(allowed.error(), {{"permission", lc::permission_name(what)}});
    return false;
}

void Change::done(nlohmann::json detail) {
    log(lc::Outcome::done, std::move(detail));
}

int Change::refused(const lc::Error& error, nlohmann::json detail) {
    log_refusal(error.message, std::move(detail));
    return loactl::refused(error);
}

void Change::log_refusal(std::string reason, nlohmann::json detail) {
    detail["reason"] = std::move(reason);
    log(lc::Outcome::refused, std::move(detail));
}

void Change::log(lc::Outcome outcome, nlohmann::json detail) {
    auto logged = lc::record_action(db_, who_, action_, target_, area_, outcome, std::move(detail),
                                    lc::now_us());
    if (!logged) {
        // The change itself stands (or stays refused); the operator must know the log lacks it.
        std::cerr << "loactl: KHÔNG ghi được nhật ký thao tác / the action log could NOT be "
                     "written: "
                  << logged.error().message << "\n";
    }
}

}  // namespace loa::loactl
