// API people: users, their tokens, and the action log — and the first admin, who needs no token.
#include <arpa/inet.h>

#include <charconv>

#include <fmt/core.h>

#include "http_api_routes.hpp"

namespace loa::controller::api {

namespace {

std::string optional_time(const std::optional<std::int64_t>& at) {
    return at ? format_local(*at) : "";
}

bool vietnamese(const Request& request) {
    return request.language() == Language::vi;
}

/// The body as a JSON object, for bodies that carry passwords: Request::body() checks the nesting
/// before parsing and says only where a broken body breaks, so neither the answer nor the daemon's
/// log (which records a refusal's message) can hold a password.
Result<nlohmann::json> secret_body(const Request& request) {
    return request.body();
}

/// The first error among `fields`, if any.
template <typename... Fields>
std::optional<Error> first_error(const Fields&... fields) {
    std::optional<Error> error;
    auto note = [&](const auto& f) {
        if (!error && !f) {
            error = f.error();
        }
    };
    (note(fields), ...);
    return error;
}

// --- The first admin -------------------------------------------------------------------------

/// Whether `address` (as the socket gave it) is this machine's loopback: 127.0.0.0/8, ::1, or
/// an IPv4 loopback address mapped into IPv6 (a server bound to "::").
bool loopback_address(const std::string& address) {
    in_addr v4{};
    if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    }
    return false;  // a zone (fe80::1%eth0) or anything else: not here
}

/// Whether the request was made on the controller's own machine: from a loopback address and
/// not relayed by a proxy (a reverse proxy on the same machine connects from loopback for
/// anyone; it says so in one of these headers).
bool from_this_machine(const http::HttpRequest& http) {
    for (const char* relayed : {"Forwarded", "X-Forwarded-For", "X-Real-IP"}) {
        if (http.headers.contains(relayed)) {
            return false;
        }
    }
    return loopback_address(http.remote_address);
}

/// The token of an "Authorization: Bearer …" header; "" without one.
std::string bearer_token(const http::HttpRequest& http) {
    const std::string header = http.header("Authorization");
    constexpr std::string_view prefix = "Bearer ";
    if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) {
        return {};
    }
    return header.substr(prefix.size());
}

/// A refusal of this open route's caller, logged as access.refused as the server logs those
/// of every other route.
LoggedAction access_refusal(const Request& request, const std::string& reason) {
    LoggedAction refusal;
    refusal.at_us = request.now();
    refusal.actor = "unknown";
    refusal.actor_role = "unknown";
    refusal.area = std::string(kEveryArea);
    refusal.detail = {{"request", request.http().method + " " + request.http().path},
                      {"from", request.http().remote_address},
                      {"reason", reason}};
    return refusal;
}

/// 401 with the API's error body: the server answers an open route's refusals by their code,
/// and this route's missing or bad token is a sign-in problem like everywhere else.
Reply unauthenticated(const Request& request, const std::string& message) {
    // The server's own line for it says "→ 401" at warning level, with the message.
    return json_reply({{"error",
                        {{"code", "unauthenticated"},
                         {"message", message},
                         {"request_id", request.request_id()}}}},
                      401);
}

/// POST /api/v1/users is open so that the first admin can be made; any token sent is checked
/// as the server checks it on the other routes. Empty when signed in; else the 401 answer.
std::optional<Reply> sign_in_with_token(Request& request, const std::string& token) {
    auto& db = request.db();
    auto who =
        authenticate_token(db, token, request.now(), request.services().max_token_lifetime_us);
    if (who) {
        request.sign_in(*who);
        return std::nullopt;
    }
    LoggedAction refusal = access_refusal(request, who.error().message);
    if (auto holder = token_holder(db, token)) {  // revoked or expired: whose it was
        refusal.actor = holder->name;
        refusal.actor_role = std::string(role_name(holder->role));
        refusal.area = holder->area;
        refusal.detail["token_id"] = holder->token_id;
    }
    log_access_refusal(request, refusal);
    return unauthenticated(request, who.error().message);
}

/// Without a token: empty when `user` may be the first one — no user yet, asked on this
/// machine, an admin — and then signed in as itself (the log's actor). Otherwise the refusal,
/// logged: 401 once there are users, as on every route; 403 for the rest.
Result<std::optional<Reply>> admit_first_user(Request& request, const NewUser& user) {
    auto& db = request.db();
    auto users = count_users(db);
    if (!users) {
        return std::unexpected(users.error());
    }
    std::string why;
    if (*users > 0) {
        why =
            "cần đăng nhập: gửi mã truy cập trong tiêu đề Authorization: Bearer … (POST "
            "/api/v1/login) / sign in first: send an API token as Authorization: Bearer … (POST "
            "/api/v1/login)";
        log_access_refusal(request, access_refusal(request, why));
        return unauthenticated(request, why);
    }
    if (!from_this_machine(request.http())) {
        why = fmt::format(
            "người dùng đầu tiên chỉ được tạo trên chính máy điều khiển (loopback), không qua "
            "mạng hay proxy; yêu cầu này đến từ {} / the first user is created only on the "
            "controller's own machine (loopback), not over the network or a proxy; this request "
            "came from {}",
            request.http().remote_address, request.http().remote_address);
    } else if (user.role != Role::admin) {
        why =
            "người dùng đầu tiên phải là quản trị (role admin) / the first user must be an admin "
            "(role admin)";
    }
    if (!why.empty()) {
        auto refusal = access_refusal(request, why);
        refusal.detail["user"] = user.name;
        log_access_refusal(request, refusal);
        return fail(Error::Code::forbidden, why);
    }
    request.sign_in({0, user.name, Role::admin, user.area, 0});
    return std::optional<Reply>{};
}

// --- Users -----------------------------------------------------------------------------------

Result<Reply> list_users_route(Request& request) {
    const auto& who = request.who();
    if (auto ok = may_read(request, who.area, "user.list", Permission::audit); !ok) {
        return std::unexpected(ok.error());
    }
    auto users = list_users(request.db(), who.area);
    if (!users) {
        return std::unexpected(users.error());
    }
    const auto lang = request.language();
    const bool vi = lang == Language::vi;
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& u : *users) {
        out.push_back({{"user", u.name},
                       {"user_id", u.user_id},
                       {"display_name", u.display_name},
                       {"role", role_name(u.role)},
                       {"area", u.area},
                       {"created", format_local(u.created_us)},
                       {"disabled", optional_time(u.disabled_us)}});
        text += fmt::format("{:<20} {:<9} {:<32} {}{}\n", u.name, role_name(u.role),
                            scope_text(u.area, lang), u.display_name,
                            u.disabled_us ? (vi ? "  (đã vô hiệu hoá)" : "  (disabled)") : "");
    }
    if (users->empty()) {
        text = vi ? "Không có người dùng nào.\n" : "No users.\n";
    }
    return listing(request, out, [&] { return text; });
}

Result<Reply> add_user_route(Request& request) {
    auto body = secret_body(request);
    if (!body) {
        return std::unexpected(body.error());
    }
    auto name = field(*body, "name");
    auto role_text = field(*body, "role");
    auto area = field(*body, "area");
    auto display_name = optional_field(*body, "display_name");
    // Checked by add_user once the person may add anyone: a refusal of role or scope comes
    // first, whatever the password.
    auto password = optional_field(*body, "password");
    if (auto error = first_error(name, role_text, area, display_name, password)) {
        return std::unexpected(*error);
    }
    const auto role = role_from_name(*role_text);
    if (!role) {
        return fail(Error::Code::invalid_input,
                    fmt::format("role: '{}' không phải một vai trò (admin, operator, approver, "
                                "auditor) / '{}' is not a role (admin, operator, approver, "
                                "auditor)",
                                *role_text, *role_text));
    }
    auto& db = request.db();
    const NewUser user{*name, *display_name, *role, *area, *password};
    const std::string token = bearer_token(request.http());
    const bool first = token.empty();
    if (first) {
        auto admitted = admit_first_user(request, user);
        if (!admitted) {
            return std::unexpected(admitted.error());
        }
        if (*admitted) {
            return **admitted;
        }
    } else if (auto refused = sign_in_with_token(request, token)) {
        return *refused;
    }
    Change change(request, "user.add", user.name, user.area);
    if (!first) {
        if (auto ok = change.allowed(Permission::manage_people); !ok) {
            return std::unexpected(ok.error());
        }
    }
    nlohmann::json what = {{"role", role_name(user.role)}, {"bootstrap", first}};
    if (first) {
        what["from"] = request.http().remote_address;
    }
    if (request.query("dry_run") == "true") {
        // Everything but the password checked, nothing stored: loactl asks before it prompts
        // for a password. A refusal is logged as the real one would be; a pass is not a change.
        if (auto ok = check_new_user(db, user); !ok) {
            return change.refused(ok.error(), what);
        }
        return json_reply({{"user", user.name},
                           {"role", role_name(user.role)},
                           {"area", user.area},
                           {"bootstrap", first},
                           {"dry_run", true}});
    }
    // Argon2id is slow on purpose: the password is hashed before the change is queued, a few at
    // a time (64 MiB each).
    NewUser hashed = user;
    {
        auto turn = request.services().passwords->enter();
        if (!turn) {
            return passwords_busy(request);
        }
        if (auto ok = hash_password(hashed); !ok) {
            return change.refused(ok.error(), what);
        }
    }
    auto added = change.commit(
        [&](WriteTx& tx) {
            return first ? add_first_user(tx, hashed, request.now())
                         : add_user(tx, hashed, request.now());
        },
        [&](const UserRecord&) { return what; });
    if (!added) {
        return change.refused(added.error(), what);
    }
    Reply reply =
        listing(request,
                {{"user", added->name},
                 {"user_id", added->user_id},
                 {"display_name", added->display_name},
                 {"role", role_name(added->role)},
                 {"area", added->area}},
                [&] {
                    return fmt::format(
                        "Đã thêm người dùng '{}' ({}, phạm vi {}) / user '{}' added "
                        "({}, scope {})\n",
                        added->name, role_name(added->role), scope_text(added->area, Language::vi),
                        added->name, role_name(added->role), scope_text(added->area, Language::en));
                });
    reply.status = 201;
    return reply;
}

Result<Reply> disable_user_route(Request& request) {
    const auto& who = request.who();
    const std::string& name = request.path("name");
    Change change(request, "user.disable", name, who.area);
    // A role without it is refused before anything is looked up: whether the name exists is
    // none of its business.
    if (!role_may(who.role, Permission::manage_people)) {
        return std::unexpected(change.allowed(Permission::manage_people).error());
    }
    auto user = find_user(request.db(), name);
    if (!user) {
        return change.refused(user.error());
    }
    change.set_area(user->area);
    if (auto ok = change.allowed(Permission::manage_people); !ok) {
        return std::unexpected(ok.error());
    }
    if (user->user_id == who.user_id) {
        return change.refused({Error::Code::forbidden,
                               "không tự vô hiệu hoá chính mình: nhờ một quản trị khác / you may "
                               "not disable yourself: ask another admin"});
    }
    auto disabled =
        change.commit([&](WriteTx& tx) { return disable_user(tx, name, request.now()); },
                      [](const UserRecord&) { return nlohmann::json::object(); });
    if (!disabled) {
        return change.refused(disabled.error());
    }
    return listing(request, {{"user", name}, {"disabled", optional_time(disabled->disabled_us)}},
                   [&] {
                       return fmt::format(
                           "Đã vô hiệu hoá '{}': mật khẩu và mã truy cập bị từ chối từ nay / "
                           "'{}' disabled: its password and tokens are refused from now on\n",
                           name, name);
                   });
}

/// POST /api/v1/users/{name}/password: your own with the current password, or (manage_people in
/// the person's area) another's without it. The person's other tokens are revoked in the same
/// change: whoever learnt the old password, or holds a token made with it, is out. The token
/// that made one's own change stays, so the session goes on.
Result<Reply> set_password_route(Request& request) {
    auto body = secret_body(request);
    if (!body) {
        return std::unexpected(body.error());
    }
    auto password = field(*body, "password");
    auto current = optional_field(*body, "current_password");
    if (auto error = first_error(password, current)) {
        return std::unexpected(*error);
    }
    const auto& who = request.who();
    const std::string& name = request.path("name");
    const bool own = name == who.name;
    Change change(request, "user.password", name, who.area);
    // Someone else's takes managing people, refused before the name is looked up.
    if (!own && !role_may(who.role, Permission::manage_people)) {
        return std::unexpected(change.allowed(Permission::manage_people).error());
    }
    auto user = find_user(request.db(), name);
    if (!user) {
        return change.refused(user.error());
    }
    change.set_area(user->area);
    if (!own) {
        if (auto ok = change.allowed(Permission::manage_people); !ok) {
            return std::unexpected(ok.error());
        }
    }
    const nlohmann::json what = {{"own", own}};
    if (own && current->empty()) {
        return change.refused(
            {Error::Code::invalid_input,
             "current_password: cần mật khẩu hiện tại để đổi mật khẩu của chính mình / "
             "current_password is needed to change your own password"},
            what);
    }
    if (auto why = password_problem(*password); !why.empty()) {
        return change.refused({Error::Code::invalid_input, "password: " + why}, what);
    }
    if (own) {
        // A stolen token must not become the password: the current one is checked, and guesses
        // count against the name and address as sign-ins do.
        auto& throttle = *request.services().logins;
        const std::string& from = request.http().remote_address;
        if (auto lock = throttle.locked(name, from, request.now())) {
            const std::int64_t seconds =
                std::max<std::int64_t>(1, (lock->until_us - request.now() + 999'999) / 1'000'000);
            const std::string why = fmt::format(
                "quá nhiều lần nhập sai mật khẩu hiện tại: thử lại sau {} giây / too many wrong "
                "current passwords: try again in {} s",
                seconds, seconds);
            (void)change.refused({Error::Code::forbidden, why}, what);
            return error_reply(request, 429, "throttled", why, seconds);
        }
        Result<Principal> checked = fail(Error::Code::storage, "not checked");
        {
            auto turn = request.services().passwords->enter();
            if (!turn) {
                return passwords_busy(request);
            }
            checked = check_password(request.db(), name, *current);
        }
        if (!checked) {
            if (checked.error().code != Error::Code::forbidden) {
                return change.refused(checked.error(), what);
            }
            throttle.failed(name, from, request.now());
            return change.refused({Error::Code::forbidden,
                                   "mật khẩu hiện tại không đúng / the current password is wrong"},
                                  what);
        }
        throttle.succeeded(name, request.now());
    }
    Result<std::string> hash = fail(Error::Code::storage, "not hashed");
    {
        auto turn = request.services().passwords->enter();
        if (!turn) {
            return passwords_busy(request);
        }
        hash = hash_new_password(*password);
    }
    if (!hash) {
        return change.refused(hash.error(), what);
    }
    const std::int64_t keep = own ? who.token_id : 0;
    auto changed = change.commit(
        [&](WriteTx& tx) { return set_password(tx, name, *hash, keep, request.now()); },
        [&](const PasswordChange& c) {
            return nlohmann::json{{"own", own}, {"revoked_tokens", c.revoked_tokens}};
        });
    if (!changed) {
        return change.refused(changed.error(), what);
    }
    nlohmann::json out = {{"user", name},
                          {"revoked_tokens", changed->revoked_tokens},
                          {"kept_token_id", keep != 0 ? nlohmann::json(keep) : nlohmann::json()}};
    return listing(request, out, [&] {
        return fmt::format(
            "Đã đổi mật khẩu của '{}'; {} mã truy cập khác của người này đã bị thu hồi{} / "
            "password of '{}' changed; {} other tokens of theirs revoked{}\n",
            name, changed->revoked_tokens, own ? " (mã đang dùng vẫn còn hiệu lực)" : "", name,
            changed->revoked_tokens, own ? " (the token in use stays valid)" : "");
    });
}

// --- Tokens ----------------------------------------------------------------------------------

nlohmann::json token_json(const TokenRecord& t, std::int64_t now, std::int64_t max_lifetime_us) {
    return {{"token_id", t.token_id},
            {"user", t.user_name},
            {"label", t.label},
            {"created", format_local(t.created_us)},
            {"expires", optional_time(t.expires_us)},
            {"revoked", optional_time(t.revoked_us)},
            {"last_used", optional_time(t.last_used_us)},
            {"state", token_state(t, now, max_lifetime_us)}};
}

Result<Reply> issue_token_route(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto for_name = optional_field(*body, "user");
    auto label = optional_field(*body, "label");
    auto expires_text = optional_field(*body, "expires");
    if (auto error = first_error(for_name, label, expires_text)) {
        return std::unexpected(*error);
    }
    const auto& who = request.who();
    if (for_name->empty()) {
        *for_name = who.name;
    }
    Change change(request, "token.issue", *for_name, who.area);
    if (*for_name != who.name && !role_may(who.role, Permission::manage_people)) {
        // Refused, whoever that is.
        return std::unexpected(change.allowed(Permission::manage_people).error());
    }
    auto holder = find_user(request.db(), *for_name);
    if (!holder) {
        return change.refused(holder.error());
    }
    change.set_area(holder->area);
    // Anyone may issue tokens for themself; for someone else it takes managing people there.
    if (holder->user_id != who.user_id) {
        if (auto ok = change.allowed(Permission::manage_people); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (holder->disabled_us) {
        return change.refused(
            {Error::Code::forbidden, fmt::format("người dùng '{}' đã bị vô hiệu hoá / user '{}' is "
                                                 "disabled",
                                                 holder->name, holder->name)});
    }
    auto expires = token_expiry(request, *expires_text);
    if (!expires) {
        return change.refused(expires.error());
    }
    const std::string token_label = label->empty() ? "api" : *label;
    // "token_id" in a row's detail is the token the person used (record_action sets it).
    auto issued = change.commit(
        [&](WriteTx& tx) {
            return issue_token(tx, holder->user_id, token_label, *expires, request.now());
        },
        [&](const IssuedToken& i) {
            return nlohmann::json{{"issued_token_id", i.token.token_id},
                                  {"label", token_label},
                                  {"expires", optional_time(i.token.expires_us)}};
        });
    if (!issued) {
        return change.refused(issued.error());
    }
    auto out = token_json(issued->token, request.now(), request.services().max_token_lifetime_us);
    out["token"] = issued->secret;
    out["role"] = role_name(holder->role);
    out["area"] = holder->area;
    return json_reply(out, 201);  // always JSON: the secret is for a program to keep
}

Result<Reply> list_tokens_route(Request& request) {
    const auto& who = request.who();
    // People see their own tokens; those who manage people, every token in their scope.
    const bool manager = role_may(who.role, Permission::manage_people);
    std::int64_t only = manager ? 0 : who.user_id;
    const std::string user_name = request.query("user");
    if (!user_name.empty() && user_name != who.name) {
        if (!manager) {  // refused before looking the name up
            if (auto ok = may_read(request, who.area, "token.list", Permission::manage_people);
                !ok) {
                return std::unexpected(ok.error());
            }
        }
        auto user = find_user(request.db(), user_name);
        if (!user) {
            return std::unexpected(user.error());
        }
        if (auto ok = may_read(request, user->area, "token.list", Permission::manage_people); !ok) {
            return std::unexpected(ok.error());
        }
        only = user->user_id;
    } else if (!user_name.empty()) {
        only = who.user_id;
    }
    auto tokens = list_tokens(request.db(), who.area, only);
    if (!tokens) {
        return std::unexpected(tokens.error());
    }
    const bool vi = vietnamese(request);
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& t : *tokens) {
        const std::int64_t longest = request.services().max_token_lifetime_us;
        out.push_back(token_json(t, request.now(), longest));
        const auto state = token_state(t, request.now(), longest);
        const std::string state_text =
            !vi ? std::string(state)
                : (state == "valid" ? "còn hiệu lực"
                                    : (state == "revoked" ? "đã thu hồi" : "hết hạn"));
        text += fmt::format("#{:<5} {:<20} {:<16} {:<14} {} → {}\n", t.token_id, t.user_name,
                            t.label, state_text, format_local(t.created_us),
                            t.expires_us ? format_local(*t.expires_us) : "-");
    }
    if (tokens->empty()) {
        text = vi ? "Không có mã truy cập nào.\n" : "No tokens.\n";
    }
    return listing(request, out, [&] { return text; });
}

/// A whole positive number from a path or query parameter; invalid_input naming it otherwise.
Result<std::int64_t> positive_number(std::string_view name, const std::string& text) {
    std::int64_t value = 0;
    const auto* end = text.data() + text.size();
    auto [at, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || at != end || value <= 0) {
        return fail(Error::Code::invalid_input,
                    fmt::format("{}: '{}' không phải số nguyên dương / '{}' is not a positive "
                                "whole number",
                                name, text, text));
    }
    return value;
}

Result<Reply> revoke_token_route(Request& request) {
    auto token_id = positive_number("token_id", request.path("token_id"));
    if (!token_id) {
        return std::unexpected(token_id.error());
    }
    const auto& who = request.who();
    Change change(request, "token.revoke", fmt::format("#{}", *token_id), who.area);
    auto token = find_token(request.db(), *token_id);
    if (!token) {
        return change.refused(token.error());
    }
    change.set_target(fmt::format("#{} ({})", token->token_id, token->user_name));
    change.set_area(token->user_area);
    // Anyone may revoke their own tokens; someone else's takes managing people there.
    if (token->user_id != who.user_id) {
        if (auto ok = change.allowed(Permission::manage_people); !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto revoked = change.commit(
        [&](WriteTx& tx) { return revoke_token(tx, *token_id, request.now()); },
        [&](const TokenRecord& r) {
            return nlohmann::json{{"revoked_token_id", *token_id}, {"user", r.user_name}};
        });
    if (!revoked) {
        return change.refused(revoked.error());
    }
    return listing(
        request, token_json(*revoked, request.now(), request.services().max_token_lifetime_us),
        [&] {
            return fmt::format("Đã thu hồi mã truy cập #{} của '{}' / token #{} of '{}' revoked\n",
                               *token_id, revoked->user_name, *token_id, revoked->user_name);
        });
}

// --- The action log --------------------------------------------------------------------------

Result<Reply> list_actions_route(Request& request) {
    const auto& who = request.who();
    if (auto ok = may_read(request, who.area, "log.list", Permission::audit); !ok) {
        return std::unexpected(ok.error());
    }
    ActionFilter filter;
    if (request.has_query("since")) {
        auto since = instant_field(request, "since", request.query("since"));
        if (!since) {
            return std::unexpected(since.error());
        }
        filter.since_us = *since;
    }
    if (request.has_query("limit")) {
        auto limit = positive_number("limit", request.query("limit"));
        if (!limit) {
            return std::unexpected(limit.error());
        }
        filter.limit = static_cast<std::size_t>(*limit);
    }
    filter.actor = request.query("actor");
    filter.action = request.query("action");
    filter.scope = who.area;
    auto actions = list_actions(request.db(), filter);
    if (!actions) {
        return std::unexpected(actions.error());
    }
    return listing(request, actions_json(*actions), [&] {
        if (actions->empty()) {
            return std::string(vietnamese(request) ? "Nhật ký không có thao tác nào như vậy.\n"
                                                   : "No such actions in the log.\n");
        }
        return render_actions(*actions, request.language());
    });
}

}  // namespace

std::vector<Route> people_routes() {
    return {
        {"GET", "/api/v1/users", false, "People in your scope (audit)", list_users_route},
        // Open: without a token it makes the first admin, on the controller's own machine only;
        // with one, the token is checked as on every other route.
        {"POST", "/api/v1/users", true,
         "Add a person (manage_people); the first admin needs no token, from loopback only",
         add_user_route},
        {"POST", "/api/v1/users/{name}/disable", false,
         "Refuse a person's password and tokens from now on (manage_people)", disable_user_route},
        {"POST", "/api/v1/users/{name}/password", false,
         "Change your own password (with the current one), or (manage_people) set another's",
         set_password_route},
        {"GET", "/api/v1/tokens", false,
         "Your API tokens; those who manage people: every token in their scope (user=… narrows)",
         list_tokens_route},
        {"POST", "/api/v1/tokens", false,
         "A new API token for you, or (manage_people) for another person", issue_token_route},
        {"POST", "/api/v1/tokens/{token_id}/revoke", false,
         "Revoke one of your tokens, or (manage_people) another person's", revoke_token_route},
        {"GET", "/api/v1/actions", false,
         "The action log in your scope, oldest first (audit; since, actor, action, limit)",
         list_actions_route},
    };
}

}  // namespace loa::controller::api
