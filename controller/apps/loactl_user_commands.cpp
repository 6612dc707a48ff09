// loactl login, user add/list/disable, token issue/list/revoke and log list.
#include "loactl_user_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/action_log.hpp"
#include "loa/controller/people.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_common.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

/// One line typed at the terminal without echo, or read from a pipe.
std::string read_line(bool hidden, std::string_view prompt) {
    if (!hidden) {
        std::string line;
        std::getline(std::cin, line);
        return line;
    }
    std::cerr << prompt << std::flush;
    termios before{};
    const bool terminal = ::tcgetattr(STDIN_FILENO, &before) == 0;
    if (terminal) {
        termios quiet = before;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (terminal) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
    }
    std::cerr << "\n";
    return line;
}

/// The password: the first line of stdin when it is not a terminal (or with --password-stdin),
/// else typed twice at the terminal (`confirm`) or once. Empty after printing why not.
std::optional<std::string> read_password(bool from_stdin, bool confirm) {
    const bool typed = !from_stdin && ::isatty(STDIN_FILENO) == 1;
    std::string password = read_line(typed, "Mật khẩu / Password: ");
    if (!password.empty() && password.back() == '\r') {
        password.pop_back();
    }
    if (typed && confirm && read_line(true, "Nhập lại mật khẩu / Password again: ") != password) {
        refused({lc::Error::Code::invalid_input,
                 "hai lần nhập mật khẩu khác nhau / the two passwords differ"});
        return std::nullopt;
    }
    return password;
}

/// --expires: "never", or a time loactl accepts (now+30d, 2026-12-31).
lc::Result<std::optional<std::int64_t>> expiry(const std::string& text, std::int64_t now) {
    if (text == "never") {
        return std::optional<std::int64_t>{};
    }
    auto at = lc::parse_instant(text, now);
    if (!at) {
        return std::unexpected(
            lc::Error{lc::Error::Code::invalid_input, "--expires: " + at.error().message});
    }
    return std::optional<std::int64_t>{*at};
}

std::string optional_time(const std::optional<std::int64_t>& t) {
    return t ? lc::format_local(*t) : "";
}

nlohmann::json token_json(const lc::TokenRecord& t, std::int64_t now) {
    return {{"token_id", t.token_id},
            {"user", t.user_name},
            {"label", t.label},
            {"created", lc::format_local(t.created_us)},
            {"expires", optional_time(t.expires_us)},
            {"revoked", optional_time(t.revoked_us)},
            {"last_used", optional_time(t.last_used_us)},
            {"state", lc::token_state(t, now)}};
}

/// Prints a new token: only the secret on stdout (for `export LOA_TOKEN=$(loactl login …)`),
/// what it is on stderr; or everything as JSON.
void print_token(const lc::IssuedToken& issued, const lc::Principal& holder, bool json, bool vi) {
    const auto& t = issued.token;
    if (json) {
        auto out = token_json(t, t.created_us);
        out["token"] = issued.secret;
        out["role"] = lc::role_name(holder.role);
        out["area"] = holder.area;
        std::cout << out.dump(2) << "\n";
        return;
    }
    const std::string until =
        t.expires_us ? lc::format_local(*t.expires_us) : (vi ? "khi bị thu hồi" : "until revoked");
    fmt::print(stderr,
               fmt::runtime(vi ? "Mã truy cập #{} cho '{}' ({}, phạm vi {}), hết hạn {}. Chỉ "
                                 "hiện một lần; dùng: export LOA_TOKEN=…\n"
                               : "API token #{} for '{}' ({}, scope {}), expires {}. Shown "
                                 "once; use: export LOA_TOKEN=…\n"),
               t.token_id, holder.name, lc::role_name(holder.role),
               lc::scope_text(holder.area, vi ? lc::Language::vi : lc::Language::en), until);
    std::cout << issued.secret << "\n";
}

}  // namespace

UserCommands::UserCommands(CLI::App& app, const std::string& data) : data_(data) {
    login_ = app.add_subcommand("login", "check a password and print a new API token");
    login_->add_option("name", name_, "user name")->required();
    login_->add_flag("--password-stdin", password_stdin_, "read the password from stdin");
    login_->add_option("--label", label_, "what the token is for")->capture_default_str();
    login_->add_option("--expires", expires_, "when the token expires (now+8h, a date, never)")
        ->capture_default_str();

    auto* user = app.add_subcommand("user", "people: users, their roles and area scopes");
    user->require_subcommand(1);
    user_add_ = user->add_subcommand(
        "add", "add a user (the first one, an admin, needs no token while there is none)");
    user_add_->add_option("name", name_, "user name, e.g. op-ta-van")->required();
    user_add_->add_option("--role", role_, "admin, operator, approver or auditor")
        ->required()
        ->check(CLI::IsMember({"admin", "operator", "approver", "auditor"}));
    user_add_
        ->add_option("--area", area_,
                     "the area subtree they see and touch, e.g. vn/lao-cai/sa-pa; / for every "
                     "area")
        ->required();
    user_add_->add_option("--display-name", display_name_, "full name, e.g. \"Nguyễn Văn A\"");
    user_add_->add_flag("--password-stdin", password_stdin_, "read the password from stdin");
    user_list_ = user->add_subcommand("list", "users in your scope");
    user_disable_ = user->add_subcommand("disable", "refuse a user's password and tokens");
    user_disable_->add_option("name", name_, "user name")->required();

    auto* token = app.add_subcommand("token", "API tokens");
    token->require_subcommand(1);
    token_issue_ = token->add_subcommand("issue", "a new API token, for you or (admin) a user");
    token_issue_->add_option("--user", name_, "for this user (default: you)");
    token_issue_->add_option("--label", label_, "what the token is for")->capture_default_str();
    token_issue_
        ->add_option("--expires", expires_, "when the token expires (now+8h, a date, never)")
        ->capture_default_str();
    token_list_ = token->add_subcommand("list", "your tokens (admin: those of your scope)");
    token_list_->add_option("--user", name_, "only this user's");
    token_revoke_ = token->add_subcommand("revoke", "refuse a token from now on");
    token_revoke_->add_option("id", token_id_, "token number (loactl token list)")->required();

    auto* log = app.add_subcommand("log", "the action log: who did what, when, where");
    log->require_subcommand(1);
    log_list_ = log->add_subcommand("list", "actions in your scope, oldest first");
    log_list_->add_option("--since", since_, "from this time (now-1d, a date)");
    log_list_->add_option("--actor", actor_, "only this person's");
    log_list_->add_option("--action", action_, "only this action, or a family: media, node …");
    log_list_->add_option("--limit", limit_, "only the newest N");
    for (CLI::App* cmd : {login_, token_issue_, user_list_, token_list_, log_list_}) {
        add_lang(cmd, lang_);
    }
}

bool UserCommands::parsed() const {
    for (CLI::App* cmd : {login_, user_add_, user_list_, user_disable_, token_issue_, token_list_,
                          token_revoke_, log_list_}) {
        if (cmd->parsed()) {
            return true;
        }
    }
    return false;
}

int UserCommands::run(bool json) const {
    if (login_->parsed()) {
        return login(json);
    }
    if (user_add_->parsed()) {
        return add_user(json);
    }
    if (user_list_->parsed()) {
        return list_users(json);
    }
    if (user_disable_->parsed()) {
        return disable_user(json);
    }
    if (token_issue_->parsed()) {
        return issue_token(json);
    }
    if (token_list_->parsed()) {
        return list_tokens(json);
    }
    return token_revoke_->parsed() ? revoke_token(json) : list_log(json);
}

int UserCommands::login(bool json) const {
    const std::int64_t now = lc::now_us();
    auto expires = expiry(expires_, now);
    if (!expires) {
        return refused(expires.error());
    }
    auto password = read_password(password_stdin_, false);
    if (!password) {
        return 1;
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = lc::check_password(*db, name_, *password);
    if (!who) {
        lc::LoggedAction refusal;
        refusal.actor = name_;
        refusal.actor_role = "unknown";
        refusal.area = std::string(lc::kEveryArea);
        refusal.detail = {{"command", "login"}, {"reason", who.error().message}};
        if (auto found = lc::find_user(*db, name_)) {
            refusal.actor_role = lc::role_name(found->role);
            refusal.area = found->area;
        }
        log_access_refusal(*db, refusal);
        return refused(who.error());
    }
    Change change(*db, *who, "token.issue", who->name, who->area);
    auto issued = lc::issue_token(*db, who->user_id, label_, *expires, now);
    if (!issued) {
        return change.refused(issued.error());
    }
    change.done({{"token_id", issued->token.token_id},
                 {"label", label_},
                 {"expires", optional_time(issued->token.expires_us)},
                 {"via", "login"}});
    print_token(*issued, *who, json, lang_ == "vi");
    return 0;
}

int UserCommands::add_user(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto users = lc::count_users(*db);
    if (!users) {
        return refused(users.error());
    }
    const lc::Role role = *lc::role_from_name(role_);
    // The first user creates themself: nobody could have given them a token.
    const bool bootstrap = *users == 0;
    std::optional<lc::Principal> who;
    if (bootstrap) {
        if (role != lc::Role::admin) {
            return refused({lc::Error::Code::forbidden,
                            "người dùng đầu tiên phải là quản trị (--role admin) / the first "
                            "user must be an admin (--role admin)"});
        }
        who = lc::Principal{0, name_, role, area_, 0};
    } else {
        who = signed_in(*db, "user.add");
        if (!who) {
            return 1;
        }
    }
    Change change(*db, *who, "user.add", name_, area_);
    if (!bootstrap && !change.allowed(lc::Permission::manage_people)) {
        return 1;
    }
    auto password = read_password(password_stdin_, true);
    if (!password) {
        return 1;
    }
    const nlohmann::json what = {{"role", role_}, {"bootstrap", bootstrap}};
    auto added = lc::add_user(*db, {name_, display_name_, role, area_, *password}, lc::now_us());
    if (!added) {
        return change.refused(added.error(), what);
    }
    change.done(what);
    if (json) {
        std::cout << nlohmann::json{{"user", added->name},
                                    {"user_id", added->user_id},
                                    {"role", role_},
                                    {"area", added->area}}
                  << "\n";
        return 0;
    }
    fmt::print("Đã thêm người dùng '{}' ({}, phạm vi {}) / user '{}' added ({}, scope {})\n",
               added->name, role_, lc::scope_text(added->area, lc::Language::vi), added->name,
               role_, lc::scope_text(added->area, lc::Language::en));
    return 0;
}

int UserCommands::list_users(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "user.list");
    if (!who || !may_read(*db, *who, who->area, "user.list", lc::Permission::audit)) {
        return 1;
    }
    auto users = lc::list_users(*db, who->area);
    if (!users) {
        return refused(users.error());
    }
    const auto lang = language(lang_);
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& u : *users) {
        out.push_back({{"user", u.name},
                       {"user_id", u.user_id},
                       {"display_name", u.display_name},
                       {"role", lc::role_name(u.role)},
                       {"area", u.area},
                       {"created", lc::format_local(u.created_us)},
                       {"disabled", optional_time(u.disabled_us)}});
        text += fmt::format("{:<20} {:<9} {:<32} {}{}\n", u.name, lc::role_name(u.role),
                            lc::scope_text(u.area, lang), u.display_name,
                            u.disabled_us
                                ? (lang == lc::Language::vi ? "  (đã vô hiệu hoá)" : "  (disabled)")
                                : "");
    }
    return print_listing(json, out, users->empty(),
                         lang == lc::Language::vi ? "Không có người dùng nào." : "No users.",
                         [&] { return text; });
}

int UserCommands::disable_user(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "user.disable");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "user.disable", name_, who->area);
    auto user = lc::find_user(*db, name_);
    if (!user) {
        return change.refused(user.error());
    }
    change.set_area(user->area);
    if (!change.allowed(lc::Permission::manage_people)) {
        return 1;
    }
    if (user->user_id == who->user_id) {
        return change.refused({lc::Error::Code::forbidden,
                               "không tự vô hiệu hoá chính mình: nhờ một quản trị khác / you may "
                               "not disable yourself: ask another admin"});
    }
    auto disabled = lc::disable_user(*db, name_, lc::now_us());
    if (!disabled) {
        return change.refused(disabled.error());
    }
    change.done();
    if (json) {
        std::cout << nlohmann::json{{"user", name_},
                                    {"disabled", optional_time(disabled->disabled_us)}}
                  << "\n";
        return 0;
    }
    fmt::print(
        "Đã vô hiệu hoá '{}': mật khẩu và mã truy cập bị từ chối từ nay / '{}' disabled: "
        "its password and tokens are refused from now on\n",
        name_, name_);
    return 0;
}

int UserCommands::issue_token(bool json) const {
    const std::int64_t now = lc::now_us();
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "token.issue");
    if (!who) {
        return 1;
    }
    const std::string for_name = name_.empty() ? who->name : name_;
    Change change(*db, *who, "token.issue", for_name, who->area);
    auto holder = lc::find_user(*db, for_name);
    if (!holder) {
        return change.refused(holder.error());
    }
    change.set_area(holder->area);
    // Anyone may issue tokens for themself; for someone else it takes managing people there.
    if (holder->user_id != who->user_id && !change.allowed(lc::Permission::manage_people)) {
        return 1;
    }
    if (holder->disabled_us) {
        return change.refused({lc::Error::Code::forbidden,
                               fmt::format("người dùng '{}' đã bị vô hiệu hoá / user '{}' is "
                                           "disabled",
                                           for_name, for_name)});
    }
    auto expires = expiry(expires_, now);
    if (!expires) {
        return change.refused(expires.error());
    }
    auto issued = lc::issue_token(*db, holder->user_id, label_, *expires, now);
    if (!issued) {
        return change.refused(issued.error());
    }
    change.done({{"token_id", issued->token.token_id},
                 {"label", label_},
                 {"expires", optional_time(issued->token.expires_us)}});
    print_token(*issued, {holder->user_id, holder->name, holder->role, holder->area, 0}, json,
                lang_ == "vi");
    return 0;
}

int UserCommands::list_tokens(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "token.list");
    if (!who) {
        return 1;
    }
    // People see their own tokens; admins those of every user in their scope.
    std::int64_t only = who->user_id;
    if (lc::role_may(who->role, lc::Permission::manage_people)) {
        only = 0;
        if (!name_.empty()) {
            auto user = lc::find_user(*db, name_);
            if (!user) {
                return refused(user.error());
            }
            only = user->user_id;
        }
    }
    auto tokens = lc::list_tokens(*db, who->area, only);
    if (!tokens) {
        return refused(tokens.error());
    }
    const std::int64_t now = lc::now_us();
    const bool vi = lang_ == "vi";
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& t : *tokens) {
        out.push_back(token_json(t, now));
        const auto state = lc::token_state(t, now);
        const std::string state_text =
            !vi ? std::string(state)
                : (state == "valid" ? "còn hiệu lực"
                                    : (state == "revoked" ? "đã thu hồi" : "hết hạn"));
        text += fmt::format("#{:<5} {:<20} {:<16} {:<14} {} → {}\n", t.token_id, t.user_name,
                            t.label, state_text, lc::format_local(t.created_us),
                            t.expires_us ? lc::format_local(*t.expires_us) : "-");
    }
    return print_listing(json, out, tokens->empty(),
                         vi ? "Không có mã truy cập nào." : "No tokens.", [&] { return text; });
}

int UserCommands::revoke_token(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "token.revoke");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "token.revoke", fmt::format("#{}", token_id_), who->area);
    auto token = lc::find_token(*db, token_id_);
    if (!token) {
        return change.refused(token.error());
    }
    change.set_target(fmt::format("#{} ({})", token->token_id, token->user_name));
    change.set_area(token->user_area);
    if (token->user_id != who->user_id && !change.allowed(lc::Permission::manage_people)) {
        return 1;
    }
    auto revoked = lc::revoke_token(*db, token_id_, lc::now_us());
    if (!revoked) {
        return change.refused(revoked.error());
    }
    change.done({{"token_id", token_id_}, {"user", revoked->user_name}});
    if (json) {
        std::cout << token_json(*revoked, lc::now_us()).dump(2) << "\n";
        return 0;
    }
    fmt::print("Đã thu hồi mã truy cập #{} của '{}' / token #{} of '{}' revoked\n", token_id_,
               revoked->user_name, token_id_, revoked->user_name);
    return 0;
}

int UserCommands::list_log(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "log.list");
    if (!who || !may_read(*db, *who, who->area, "log.list", lc::Permission::audit)) {
        return 1;
    }
    lc::ActionFilter filter;
    if (!since_.empty()) {
        auto since = lc::parse_instant(since_, lc::now_us());
        if (!since) {
            return refused(since.error());
        }
        filter.since_us = *since;
    }
    filter.actor = actor_;
    filter.action = action_;
    filter.scope = who->area;
    filter.limit = limit_;
    auto actions = lc::list_actions(*db, filter);
    if (!actions) {
        return refused(actions.error());
    }
    return print_listing(
        json, lc::actions_json(*actions), actions->empty(),
        lang_ == "vi" ? "Nhật ký không có thao tác nào như vậy." : "No such actions in the log.",
        [&] { return lc::render_actions(*actions, language(lang_)); });
}

}  // namespace loa::loactl
