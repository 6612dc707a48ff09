// loactl login, user add/list/disable/password, token issue/list/revoke and log list: requests to
// the controller's API (api_people.cpp, api_session.cpp).
#include "loactl_user_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <iostream>
#include <optional>
#include <utility>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/error.hpp"
#include "loactl_api.hpp"
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
std::optional<std::string> read_password(bool from_stdin, bool confirm,
                                         std::string_view prompt = "Mật khẩu / Password: ") {
    const bool typed = !from_stdin && ::isatty(STDIN_FILENO) == 1;
    std::string password = read_line(typed, prompt);
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

/// A path segment as a URL holds it: letters, digits and -._~ as they are, the rest %XX.
std::string path_segment(const std::string& text) {
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

/// Prints a new token the API answered (login, token issue): only the secret on stdout (for
/// `export LOA_TOKEN=$(loactl login …)`), what it is on stderr; or the whole answer as JSON.
int print_token(const ApiAnswer& answer, bool json, bool vi) {
    if (!answer.ok()) {
        return print_refusal(answer);
    }
    if (json) {
        std::cout << answer.body;
        if (!answer.body.empty() && answer.body.back() != '\n') {
            std::cout << "\n";
        }
        return 0;
    }
    const auto t = nlohmann::json::parse(answer.body, nullptr, false);
    if (!t.is_object() || !t.contains("token")) {
        std::cerr << "loactl: câu trả lời không có mã truy cập / the answer holds no token: "
                  << answer.body << "\n";
        return 1;
    }
    const std::string expires = t.value("expires", "");
    const std::string until =
        !expires.empty() ? expires : (vi ? "khi bị thu hồi" : "until revoked");
    fmt::print(stderr,
               fmt::runtime(vi ? "Mã truy cập #{} cho '{}' ({}, phạm vi {}), hết hạn {}. Chỉ "
                                 "hiện một lần; dùng: export LOA_TOKEN=…\n"
                               : "API token #{} for '{}' ({}, scope {}), expires {}. Shown "
                                 "once; use: export LOA_TOKEN=…\n"),
               t.value("token_id", std::int64_t{0}), t.value("user", ""), t.value("role", ""),
               lc::scope_text(t.value("area", ""), vi ? lc::Language::vi : lc::Language::en),
               until);
    if (t.contains("note") && t["note"].is_string()) {
        std::cerr << t["note"].get<std::string>() << "\n";  // e.g. held while the disk is full
    }
    std::cout << t["token"].get<std::string>() << "\n";
    return 0;
}

}  // namespace

UserCommands::UserCommands(CLI::App& app, const std::string& /*data*/) {
    login_ = app.add_subcommand("login", "check a password and print a new API token");
    login_->add_option("name", name_, "user name")->required();
    login_->add_flag("--password-stdin", password_stdin_, "read the password from stdin");
    login_->add_option("--label", label_, "what the token is for")->capture_default_str();
    login_->add_option("--expires", expires_,
                       "when the token expires (now+8h, a date; default 30 days, at most the "
                       "controller's --max-token-days)");

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
    user_password_ = user->add_subcommand(
        "password",
        "đổi mật khẩu của mình (cần mật khẩu hiện tại) hoặc, quản trị viên, đặt mật khẩu cho người "
        "khác; các mã truy cập khác của người đó bị thu hồi / change your password (the current "
        "one is asked) or, as an admin, set another's; their other tokens are revoked");
    user_password_->add_option("name", name_, "user name (default: you)");
    user_password_->add_flag("--password-stdin", password_stdin_,
                             "đọc từ stdin: mật khẩu hiện tại rồi mật khẩu mới, mỗi cái một "
                             "dòng (người khác: chỉ mật khẩu mới) / read from stdin: the current "
                             "password, then the new one, a line each (another's: the new one "
                             "only)");

    auto* token = app.add_subcommand("token", "API tokens");
    token->require_subcommand(1);
    token_issue_ = token->add_subcommand("issue", "a new API token, for you or (admin) a user");
    token_issue_->add_option("--user", name_, "for this user (default: you)");
    token_issue_->add_option("--label", label_, "what the token is for")->capture_default_str();
    token_issue_->add_option("--expires", expires_,
                             "when the token expires (now+8h, a date; default 30 days, at most "
                             "the controller's --max-token-days)");
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
    for (CLI::App* cmd :
         {login_, token_issue_, user_list_, user_password_, token_list_, log_list_}) {
        add_lang(cmd, lang_);
    }
}

bool UserCommands::parsed() const {
    for (CLI::App* cmd : {login_, user_add_, user_list_, user_disable_, user_password_,
                          token_issue_, token_list_, token_revoke_, log_list_}) {
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
    if (user_password_->parsed()) {
        return change_password(json);
    }
    if (token_issue_->parsed()) {
        return issue_token(json);
    }
    if (token_list_->parsed()) {
        return list_tokens(json);
    }
    return token_revoke_->parsed() ? revoke_token(json) : list_log(json);
}

// Each command is one request: the controller checks who may do it, logs it and words the
// answer; loactl reads the password and prints.

int UserCommands::login(bool json) const {
    auto password = read_password(password_stdin_, false);
    if (!password) {
        return 1;
    }
    nlohmann::json body = {{"name", name_}, {"password", *password}, {"label", label_}};
    if (!expires_.empty()) {
        body["expires"] = expires_;
    }
    auto answer = send(with_json({"POST", "/api/v1/login"}, body));
    return answer ? print_token(*answer, json, lang_ == "vi") : 1;
}

int UserCommands::add_user(bool json) const {
    nlohmann::json body = {{"name", name_}, {"role", role_}, {"area", area_}};
    if (!display_name_.empty()) {
        body["display_name"] = display_name_;
    }
    // Asked first without the password: a refusal comes before anyone types one.
    auto checked = send(with_json({"POST", "/api/v1/users", {{"dry_run", "true"}}}, body));
    if (!checked) {
        return 1;
    }
    if (!checked->ok()) {
        return print_refusal(*checked);
    }
    auto password = read_password(password_stdin_, true);
    if (!password) {
        return 1;
    }
    body["password"] = *password;
    return loactl::run(with_json({"POST", "/api/v1/users"}, body), json, lang_);
}

int UserCommands::list_users(bool json) const {
    return loactl::run({"GET", "/api/v1/users"}, json, lang_);
}

int UserCommands::disable_user(bool json) const {
    return loactl::run({"POST", "/api/v1/users/" + path_segment(name_) + "/disable"}, json, lang_);
}

int UserCommands::change_password(bool json) const {
    // Whose: the controller says who the token stands for; one's own needs the current password.
    auto me = send({"GET", "/api/v1/whoami"});
    if (!me) {
        return 1;
    }
    if (!me->ok()) {
        return print_refusal(*me);
    }
    const auto who = nlohmann::json::parse(me->body, nullptr, false);
    const std::string my_name = who.is_object() ? who.value("user", "") : "";
    const std::string name = name_.empty() ? my_name : name_;
    nlohmann::json body;
    if (name == my_name) {
        auto current =
            read_password(password_stdin_, false, "Mật khẩu hiện tại / Current password: ");
        if (!current) {
            return 1;
        }
        body["current_password"] = *current;
    }
    auto password = read_password(password_stdin_, true, "Mật khẩu mới / New password: ");
    if (!password) {
        return 1;
    }
    body["password"] = *password;
    return loactl::run(
        with_json({"POST", "/api/v1/users/" + path_segment(name) + "/password"}, body), json,
        lang_);
}

int UserCommands::issue_token(bool json) const {
    nlohmann::json body = {{"label", label_}};
    if (!expires_.empty()) {
        body["expires"] = expires_;
    }
    if (!name_.empty()) {
        body["user"] = name_;
    }
    auto answer = send(with_json({"POST", "/api/v1/tokens"}, body));
    return answer ? print_token(*answer, json, lang_ == "vi") : 1;
}

int UserCommands::list_tokens(bool json) const {
    ApiCall call{"GET", "/api/v1/tokens"};
    if (!name_.empty()) {
        call.query.emplace("user", name_);
    }
    return loactl::run(call, json, lang_);
}

int UserCommands::revoke_token(bool json) const {
    return loactl::run({"POST", fmt::format("/api/v1/tokens/{}/revoke", token_id_)}, json, lang_);
}

int UserCommands::list_log(bool json) const {
    ApiCall call{"GET", "/api/v1/actions"};
    for (const auto& [name, value] :
         {std::pair{"since", since_}, std::pair{"actor", actor_}, std::pair{"action", action_}}) {
        if (!value.empty()) {
            call.query.emplace(name, value);
        }
    }
    if (limit_ > 0) {
        call.query.emplace("limit", std::to_string(limit_));
    }
    return loactl::run(call, json, lang_);
}

}  // namespace loa::loactl
