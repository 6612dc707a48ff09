// What API handlers share: reading a request (path, query, JSON body), answering in JSON or as a
// table, scope checks and the action log of changes made through the API.
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
        return fail(Error::Code::invalid_input,
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

struct RefusalWindow {
    std::int64_t start_us = 0;
    int rows = 0;
    std::uint64_t suppressed = 0;
};

/// Whether a refusal from `source` at `now` gets a row of its own; sets `summary` to the count
/// of the last window's suppressed refusals to write first (0: none).
bool refusal_gets_row(const std::string& source, std::int64_t now, std::uint64_t& summary) {
    static std::mutex mutex;
    static std::map<std::string, RefusalWindow> windows;
    std::lock_guard lock(mutex);
    summary = 0;
    if (windows.size() >= kRefusalSources && !windows.contains(source)) {
        for (auto it = windows.begin(); it != windows.end();) {
            it = now - it->second.start_us >= kRefusalWindowUs && it->second.suppressed == 0
                     ? windows.erase(it)
                     : std::next(it);
        }
        if (windows.size() >= kRefusalSources) {
            return false;  // a flood from very many addresses: counted nowhere but the daemon log
        }
    }
    RefusalWindow& w = windows[source];
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

}  // namespace

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
    const bool row = refusal_gets_row(source, entry.at_us, summary);
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
        spdlog::error("http {}: the action log could NOT be written: {}", request.request_id(),
                      logged.error().message);
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
    detail["reason"] = error.message;
    detail["request_id"] = request_.request_id();
    auto logged = request_.store().writer().run([&](WriteTx& tx) {
        return record_action(tx, request_.who(), action_, target_, area_, Outcome::refused,
                             std::move(detail), request_.now());
    });
    if (!logged) {
        spdlog::error("http {}: the action log could NOT be written: {}", request_.request_id(),
                      logged.error().message);
    }
    return std::unexpected(std::move(error));
}

}  // namespace loa::controller::api
