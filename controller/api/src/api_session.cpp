// API sign-in: a name and password exchanged for an API token, and who a token stands for.

#include "http_api_routes.hpp"

namespace loa::controller::api {

namespace {

constexpr std::int64_t kDefaultLoginTokenUs = 30LL * 86'400'000'000;

std::string optional_time(const std::optional<std::int64_t>& at) {
    return at ? format_local(*at) : "";
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
    // Without "expires" a token lasts 30 days, as loactl login's do; "never" is asked for.
    std::optional<std::int64_t> expires = request.now() + kDefaultLoginTokenUs;
    if (*expires_text == "never") {
        expires.reset();
    } else if (!expires_text->empty()) {
        auto at = instant_field(request, "expires", *expires_text);
        if (!at) {
            return std::unexpected(at.error());
        }
        if (*at <= request.now()) {
            return fail(Error::Code::invalid_input,
                        "expires: thời hạn đã qua / the expiry has passed");
        }
        expires = *at;
    }
    auto& db = request.db();
    auto who = check_password(db, *name, *password);
    if (!who) {
        LoggedAction refusal;
        refusal.at_us = request.now();
        refusal.actor = *name;
        refusal.actor_role = "unknown";
        refusal.area = std::string(kEveryArea);
        refusal.detail = {{"request", "POST /api/v1/login"}, {"reason", who.error().message}};
        if (auto found = find_user(db, *name)) {
            refusal.actor_role = std::string(role_name(found->role));
            refusal.area = found->area;
        }
        log_access_refusal(request, refusal);
        return std::unexpected(who.error());
    }
    request.sign_in(*who);
    Change change(request, "token.issue", who->name, who->area);
    auto issued = change.commit(
        [&](WriteTx& tx) {
            return issue_token(tx, who->user_id, label->empty() ? "api login" : *label, expires,
                               request.now());
        },
        [](const IssuedToken& i) {
            return nlohmann::json{{"token_id", i.token.token_id},
                                  {"label", i.token.label},
                                  {"expires", optional_time(i.token.expires_us)},
                                  {"via", "login"}};
        });
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
