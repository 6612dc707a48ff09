// What API handlers share: reading a request (path, query, JSON body), answering in JSON or as a
// table, scope checks and the action log of changes made through the API.
#include <algorithm>
#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "http_api_routes.hpp"

namespace loa::controller::api {

Request::Request(const http::HttpRequest& http, const Services& services,
                 std::map<std::string, std::string> path_params, std::string request_id,
                 std::int64_t now)
    : http_(http),
      services_(services),
      path_params_(std::move(path_params)),
      request_id_(std::move(request_id)),
      now_(now) {}

const std::string& Request::path(const std::string& name) const {
    static const std::string none;
    auto it = path_params_.find(name);
    return it == path_params_.end() ? none : it->second;
}

std::string Request::query(const std::string& name, std::string fallback) const {
    return http_.query_value(name, std::move(fallback));
}

bool Request::has_query(const std::string& name) const {
    return http_.has_query(name);
}

std::vector<std::string> Request::queries(const std::string& name) const {
    std::vector<std::string> out;
    auto [from, to] = http_.query.equal_range(name);
    for (auto it = from; it != to; ++it) {
        out.push_back(it->second);
    }
    return out;
}

Result<nlohmann::json> Request::body() const {
    const std::string& body = http_.body;
    if (body.empty()) {
        return nlohmann::json::object();
    }
    // Before parsing: nlohmann's parser spends memory per level, and a stranger may nest deep.
    if (auto why = http::json_nesting_problem(body, kMaxJsonDepth); !why.empty()) {
        return fail(
            Error::Code::invalid_input,
            fmt::format("JSON lồng quá sâu (tối đa {} tầng) / the body nests deeper than {} "
                        "levels: {}",
                        kMaxJsonDepth, kMaxJsonDepth, why));
    }
    try {
        auto json = nlohmann::json::parse(body);
        if (!json.is_object()) {
            return fail(Error::Code::invalid_input,
                        "nội dung phải là một đối tượng JSON / the body must be a JSON object");
        }
        return json;
    } catch (const nlohmann::json::parse_error& e) {
        // Only where: the parser's own message quotes what it read, which may be a password.
        return fail(Error::Code::invalid_input,
                    fmt::format("JSON hỏng ở byte {} / the body is not valid JSON at byte {}",
                                e.byte, e.byte));
    }
}

Language Request::language() const {
    return query("lang") == "en" ? Language::en : Language::vi;
}

bool Request::wants_table() const {
    return query("format") == "table";
}

Reply listing(const Request& request, const nlohmann::json& json,
              const std::function<std::string()>& table) {
    if (request.wants_table()) {
        return {200, table(), "text/plain; charset=utf-8", {}};
    }
    return json_reply(json);
}

Reply json_reply(const nlohmann::json& json, int status) {
    return {status, json.dump(2) + "\n", "application/json; charset=utf-8", {}};
}

Result<std::string> field(const nlohmann::json& body, std::string_view name) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("thiếu trường \"{}\" (chuỗi) / field \"{}\" (a string) is "
                                "required",
                                name, name));
    }
    return it->get<std::string>();
}

Result<std::string> optional_field(const nlohmann::json& body, std::string_view name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        return std::string{};
    }
    if (!it->is_string()) {
        return fail(
            Error::Code::invalid_input,
            fmt::format("trường \"{}\" phải là chuỗi / field \"{}\" must be a string", name, name));
    }
    return it->get<std::string>();
}

Result<std::int64_t> instant_field(const Request& request, std::string_view name, std::string text,
                                   bool end_of_day) {
    if (text.empty()) {
        return fail(
            Error::Code::invalid_input,
            fmt::format("thiếu \"{}\" (thời điểm) / \"{}\" (an instant) is required", name, name));
    }
    auto at = parse_instant(text, request.now(), end_of_day);
    if (!at) {
        return fail(Error::Code::invalid_input, fmt::format("{}: {}", name, at.error().message));
    }
    return *at;
}

namespace {

/// Refusal rows per source address per minute; the rest of a minute's refusals from that address
/// are counted and written as one row when the next refusal after the minute comes.
constexpr int kRefusalRowsPerMinute = 10;
constexpr std::int64_t kRefusalWindowUs = 60'000'000;
/// Addresses followed at once; past it, the quietest are forgotten (memory stays flat).
constexpr std::size_t kRefusalSources = 4096;

/// Tokens last this long unless asked otherwise (and the longest lifetime is not shorter).
constexpr std::int64_t kDefaultTokenUs = 30LL * 86'400'000'000;

/// An action-log row that could not be written. A full disk is the writer's to log (once, when
/// it begins), not once per refused request.
void log_unwritten_row(const std::string& request_id, const Error& error) {
    if (error.code == Error::Code::storage_full) {
        spdlog::debug("http {}: the action log row waits: the disk is full", request_id);
        return;
    }
    spdlog::error("http {}: the action log could NOT be written: {}", request_id, error.message);
}

}  // namespace

bool RefusalLimiter::gets_row(const std::string& source, std::int64_t now, std::uint64_t& summary) {
    std::lock_guard lock(mutex_);
    summary = 0;
    if (windows_.size() >= kRefusalSources && !windows_.contains(source)) {
        for (auto it = windows_.begin(); it != windows_.end();) {
            it = now - it->second.start_us >= kRefusalWindowUs && it->second.suppressed == 0
                     ? windows_.erase(it)
                     : std::next(it);
        }
        if (windows_.size() >= kRefusalSources) {
            return false;  // a flood from very many addresses: counted nowhere but the daemon log
        }
    }
    Window& w = windows_[source];
    if (now - w.start_us >= kRefusalWindowUs) {
        summary = w.suppressed;
        w = {now, 0, 0};
    }
    if (w.rows >= kRefusalRowsPerMinute) {
        ++w.suppressed;
        return false;
    }
    ++w.rows;
    return true;
}

Reply error_reply(const Request& request, int status, std::string_view code,
                  const std::string& message, std::int64_t retry_after_s) {
    Reply reply = json_reply(
        {{"error", {{"code", code}, {"message", message}, {"request_id", request.request_id()}}}},
        status);
    if (retry_after_s > 0) {
        reply.headers["Retry-After"] = std::to_string(retry_after_s);
    }
    return reply;
}

Reply passwords_busy(const Request& request) {
    spdlog::warn("http {}: no turn to check a password ({} at once): answered 503",
                 request.request_id(), request.services().login_limits.passwords_at_once);
    return error_reply(request, 503, "unavailable",
                       "máy điều khiển đang bận kiểm tra các mật khẩu khác: thử lại sau 1 giây / "
                       "the controller is busy checking other passwords: try again in 1 s",
                       1);
}

Result<std::int64_t> token_expiry(const Request& request, const std::string& asked) {
    const std::int64_t longest = request.services().max_token_lifetime_us;
    const std::string limit_vi = lifetime_text(longest, Language::vi);
    const std::string limit_en = lifetime_text(longest, Language::en);
    if (asked.empty()) {
        return request.now() + (longest > 0 ? std::min(kDefaultTokenUs, longest) : kDefaultTokenUs);
    }
    if (asked == "never") {
        return fail(Error::Code::invalid_input,
                    fmt::format("expires: không được chọn 'never': mã truy cập dùng được tối đa {} "
                                "(loa-controller --max-token-days) / 'never' is not allowed: a "
                                "token lasts at most {} (loa-controller --max-token-days)",
                                limit_vi, limit_en));
    }
    auto at = instant_field(request, "expires", asked);
    if (!at) {
        return std::unexpected(at.error());
    }
    if (*at <= request.now()) {
        return fail(Error::Code::invalid_input, "expires: thời hạn đã qua / the expiry has passed");
    }
    if (longest > 0 && *at - request.now() > longest) {
        return fail(Error::Code::invalid_input,
                    fmt::format("expires: tối đa {} kể từ bây giờ (loa-controller "
                                "--max-token-days) / at most {} from now (loa-controller "
                                "--max-token-days)",
                                limit_vi, limit_en));
    }
    return *at;
}

void log_access_refusal(const Request& request, LoggedAction entry) {
    entry.action = "access.refused";
    entry.target = entry.detail.value("request", "");
    entry.outcome = Outcome::refused;
    entry.detail["request_id"] = request.request_id();
    if (entry.at_us == 0) {
        entry.at_us = now_us();
    }
    const std::string source = request.http().remote_address;
    entry.detail["from"] = source;
    std::uint64_t summary = 0;
    const bool row = request.services().refusals->gets_row(source, entry.at_us, summary);
    if (!row && summary == 0) {
        spdlog::debug("http {}: refusal not logged (more than {} a minute from {})",
                      request.request_id(), kRefusalRowsPerMinute, source);
        return;
    }
    auto logged = request.store().writer().run([&](WriteTx& tx) -> Result<void> {
        if (summary > 0) {
            LoggedAction more;
            more.at_us = entry.at_us;
            more.actor = "system";
            more.actor_role = "system";
            more.action = "access.refused";
            more.area = std::string(kEveryArea);
            more.outcome = Outcome::refused;
            more.detail = {{"from", source},
                           {"count", summary},
                           {"reason",
                            "more refusals from this address in a minute than the log "
                            "keeps one by one"}};
            if (auto r = record_action(tx, more); !r) {
                return std::unexpected(r.error());
            }
        }
        if (row) {
            if (auto r = record_action(tx, entry); !r) {
                return std::unexpected(r.error());
            }
        }
        return {};
    });
    if (!logged) {
        log_unwritten_row(request.request_id(), logged.error());
    }
}

Result<void> may_read(Request& request, std::string_view area, std::string_view what,
                      Permission permission) {
    auto allowed = authorize(request.who(), permission, area);
    if (allowed) {
        return {};
    }
    LoggedAction refusal;
    refusal.at_us = request.now();
    refusal.actor = request.who().name;
    refusal.actor_role = std::string(role_name(request.who().role));
    refusal.area = std::string(area);
    refusal.detail = {{"request", request.http().method + " " + request.http().path},
                      {"command", what},
                      {"reason", allowed.error().message}};
    log_access_refusal(request, refusal);
    return allowed;
}

Change::Change(Request& request, std::string action, std::string target, std::string area)
    : request_(request),
      action_(std::move(action)),
      target_(std::move(target)),
      area_(std::move(area)) {}

Result<void> Change::allowed(Permission what, std::string_view area) {
    auto allowed = authorize(request_.who(), what, area);
    if (allowed) {
        return {};
    }
    area_ = std::string(area);  // filed where it was refused
    return refused(allowed.error(), {{"permission", permission_name(what)}});
}

void Change::done(WriteTx& tx, nlohmann::json detail) {
    detail["request_id"] = request_.request_id();
    auto logged = record_action(tx, request_.who(), action_, target_, area_, Outcome::done,
                                std::move(detail), request_.now());
    if (!logged) {
        // The change and its row are one: without the row, the change is undone.
        throw std::runtime_error("the action log could not be written: " + logged.error().message);
    }
}

std::unexpected<Error> Change::refused(Error error, nlohmann::json detail) {
    if (error.code == Error::Code::storage_full) {
        // Its row could not be written either: the daemon's log has the condition (once) and
        // the request (its access line); the answer says what was not done.
        error.message = storage_full_message(target_.empty() ? action_ : action_ + " " + target_);
        return std::unexpected(std::move(error));
    }
    detail["reason"] = error.message;
    detail["request_id"] = request_.request_id();
    auto logged = request_.store().writer().run([&](WriteTx& tx) {
        return record_action(tx, request_.who(), action_, target_, area_, Outcome::refused,
                             std::move(detail), request_.now());
    });
    if (!logged) {
        log_unwritten_row(request_.request_id(), logged.error());
    }
    return std::unexpected(std::move(error));
}

}  // namespace loa::controller::api
