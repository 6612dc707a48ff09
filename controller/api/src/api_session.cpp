// API sign-in: a name and password exchanged for an API token, and who a token stands for.

#include <algorithm>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/common/identifiers.hpp"

namespace loa::controller::api {

namespace {

std::string optional_time(const std::optional<std::int64_t>& at) {
    return at ? format_local(*at) : "";
}

/// A refused sign-in as the log keeps it: the name tried, with the role and area of the person
/// of that name if there is one (`name` is a valid user name).
LoggedAction login_refusal(Request& request, const std::string& name, const std::string& reason) {
    LoggedAction refusal;
    refusal.at_us = request.now();
    refusal.actor = name;
    refusal.actor_role = "unknown";
    refusal.area = std::string(kEveryArea);
    refusal.detail = {{"request", "POST /api/v1/login"}, {"reason", reason}};
    if (auto found = find_user(request.db(), name)) {
        refusal.actor_role = std::string(role_name(found->role));
        refusal.area = found->area;
    }
    return refusal;
}

/// What a locked name or address is told, in both languages.
std::string lock_message(const Request& request, const std::string& name,
                         const LoginThrottle::Lock& lock, std::int64_t seconds) {
    if (lock.by_name) {
        return fmt::format(
            "quá nhiều lần đăng nhập sai cho '{}': thử lại sau {} giây (lúc {}) / too many failed "
            "sign-ins for '{}': try again in {} s (at {})",
            name, seconds, format_local(lock.until_us), name, seconds, format_local(lock.until_us));
    }
    const std::string from = address_key(request.http().remote_address);
    return fmt::format(
        "quá nhiều lần đăng nhập sai từ {}: thử lại sau {} giây (lúc {}) / too many failed "
        "sign-ins from {}: try again in {} s (at {})",
        from, seconds, format_local(lock.until_us), from, seconds, format_local(lock.until_us));
}

/// 429 for a locked name or address, logged; the password is never checked.
Reply locked_out(Request& request, const std::string& name, const LoginThrottle::Lock& lock) {
    const std::int64_t seconds =
        std::max<std::int64_t>(1, (lock.until_us - request.now() + 999'999) / 1'000'000);
    const std::string message = lock_message(request, name, lock, seconds);
    auto refusal = login_refusal(request, name, message);
    refusal.detail["locked_until"] = format_local(lock.until_us);
    log_access_refusal(request, refusal);
    return error_reply(request, 429, "throttled", message, seconds);
}

Result<Reply> login(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto name = field(*body, "name");
    auto password = field(*body, "password");
    if (!name || !password) {
        return std::unexpected(!name ? name.error() : password.error());
    }
    auto label = optional_field(*body, "label");
    auto expires_text = optional_field(*body, "expires");
    if (!label || !expires_text) {
        return std::unexpected(!label ? label.error() : expires_text.error());
    }
    // A name nobody can have (users' names are ids) is refused before any password is checked,
    // and never quoted: a stranger chose it, up to a megabyte of it.
    if (!detail::identifier_problem(*name).empty()) {
        const std::string why =
            "name: không phải tên người dùng nào (tên có 1 đến 64 ký tự a-z, 0-9, '-', '_', '.') / "
            "not a user name (names have 1 to 64 characters a-z, 0-9, '-', '_', '.')";
        LoggedAction refusal;
        refusal.at_us = request.now();
        refusal.actor = *name;  // cut and kept printable by the action log
        refusal.actor_role = "unknown";
        refusal.area = std::string(kEveryArea);
        refusal.detail = {{"request", "POST /api/v1/login"}, {"reason", why}};
        log_access_refusal(request, refusal);
        return fail(Error::Code::invalid_input, why);
    }
    auto expires = token_expiry(request, *expires_text);
    if (!expires) {
        return std::unexpected(expires.error());
    }
    auto& throttle = *request.services().logins;
    const std::string& from = request.http().remote_address;
    if (auto lock = throttle.locked(*name, from, request.now())) {
        return locked_out(request, *name, *lock);
    }
    Result<Principal> who = fail(Error::Code::storage, "not checked");
    {
        auto turn = request.services().passwords->enter();
        if (!turn) {
            return passwords_busy(request);
        }
        who = check_password(request.db(), *name, *password);
    }
    if (!who) {
        auto refusal = login_refusal(request, *name, who.error().message);
        if (who.error().code == Error::Code::forbidden) {
            if (auto lock = throttle.failed(*name, from, request.now())) {
                refusal.detail["locked_until"] = format_local(lock->until_us);
                refusal.detail["locked"] = lock->by_name ? "name" : "address";
            }
        }
        log_access_refusal(request, refusal);
        return std::unexpected(who.error());
    }
    throttle.succeeded(*name, request.now());
    request.sign_in(*who);
    Change change(request, "token.issue", who->name, who->area);
    auto issued = change.commit(
        [&](WriteTx& tx) {
            return issue_token(tx, who->user_id, label->empty() ? "api login" : *label, *expires,
                               request.now());
        },
        [](const IssuedToken& i) {
            return nlohmann::json{{"token_id", i.token.token_id},
                                  {"label", i.token.label},
                                  {"expires", optional_time(i.token.expires_us)},
                                  {"via", "login"}};
        });
    if (!issued && issued.error().code == Error::Code::storage_full) {
        // A full disk does not lock anyone out: the token is held in memory, valid now, and
        // written with its action-log row once there is room (held_tokens.hpp).
        auto held =
            request.services().held_tokens->hold(*who, label->empty() ? "api login" : *label,
                                                 *expires, request.now(), request.request_id());
        if (!held) {
            return change.refused(held.error());
        }
        return json_reply(
            {{"token", *held},
             {"token_id", 0},
             {"user", who->name},
             {"role", role_name(who->role)},
             {"area", who->area},
             {"expires", optional_time(*expires)},
             {"note",
              "đĩa của máy điều khiển đã đầy: mã truy cập này được giữ trong bộ nhớ, dùng được "
              "ngay và được ghi vào cơ sở dữ liệu khi có chỗ; nếu bộ điều khiển khởi động lại "
              "trước đó, hãy đăng nhập lại / the controller's disk is full: this token is held "
              "in memory, works now and is written to the database once there is room; if the "
              "controller restarts before then, sign in again"}},
            201);
    }
    if (!issued) {
        return change.refused(issued.error());
    }
    return json_reply({{"token", issued->secret},
                       {"token_id", issued->token.token_id},
                       {"user", who->name},
                       {"role", role_name(who->role)},
                       {"area", who->area},
                       {"expires", optional_time(issued->token.expires_us)}},
                      201);
}

Result<Reply> whoami(Request& request) {
    const auto& who = request.who();
    return json_reply({{"user", who.name},
                       {"role", role_name(who.role)},
                       {"area", who.area},
                       {"token_id", who.token_id}});
}

}  // namespace

std::vector<Route> session_routes() {
    return {
        {"POST", "/api/v1/login", true, "Exchange a name and password for an API token", login},
        {"GET", "/api/v1/whoami", false, "The person the token stands for", whoami},
    };
}

}  // namespace loa::controller::api
