// Inside the HTTP API: what a route handler is given (the request, the person, the database) and
// returns, the action log of changes made through it, and the tables of routes per resource.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json.hpp>

#include "http_server.hpp"
#include "loa/controller/api/http_api.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/people/held_tokens.hpp"
#include "loa/controller/people/people.hpp"
#include "loa/controller/store/store.hpp"
#include "login_throttle.hpp"

namespace loa::controller {

class NodeGateway;

namespace api {

/// Which access refusals get an action-log row of their own: a few a minute per source address;
/// the rest of a minute's are counted in one row. One per server.
class RefusalLimiter {
  public:
    /// Whether a refusal from `source` at `now` gets a row of its own; sets `summary` to the count
    /// of the last window's refusals left out, to write first (0: none).
    bool gets_row(const std::string& source, std::int64_t now, std::uint64_t& summary);

  private:
    struct Window {
        std::int64_t start_us = 0;
        int rows = 0;
        std::uint64_t suppressed = 0;
    };
    std::mutex mutex_;
    std::map<std::string, Window> windows_;
};

/// What the process around the API offers handlers.
struct Services {
    std::filesystem::path data_dir;
    std::int64_t heartbeat_interval_ms = 30'000;
    const NodeGateway* nodes = nullptr;  ///< null when the API runs without the node side
    Store* store = nullptr;              ///< the database: its writer and this thread's reader
    bool metrics_open = false;           ///< ApiOptions::metrics_open
    std::int64_t max_token_lifetime_us = 365LL * 86'400'000'000;
    const http::HttpServer* http = nullptr;  ///< the edge serving the API, for /metrics
    LoginLimits login_limits;                ///< ApiOptions::login_limits
    // The server's own guards, shared by every request (never null while it serves).
    RefusalLimiter* refusals = nullptr;
    LoginThrottle* logins = nullptr;
    PasswordGate* passwords = nullptr;
    HeldTokens* held_tokens = nullptr;  ///< sign-ins made while the disk was full
};

/// One request being handled.
class Request {
  public:
    Request(const http::HttpRequest& http, const Services& services,
            std::map<std::string, std::string> path_params, std::string request_id,
            std::int64_t now);

    /// This thread's read-only connection: what handlers read. Every change goes through
    /// store().writer(), mostly by way of a Change.
    SQLite::Database& db() const { return services_.store->reader(); }
    Store& store() const { return *services_.store; }
    const Services& services() const { return services_; }
    std::int64_t now() const { return now_; }
    const std::string& request_id() const { return request_id_; }
    const http::HttpRequest& http() const { return http_; }

    /// The person behind the token; set for every route that is not open.
    const Principal& who() const { return *who_; }
    bool signed_in() const { return who_.has_value(); }
    void sign_in(Principal who) { who_ = std::move(who); }

    /// A parameter of the path ("{node_id}").
    const std::string& path(const std::string& name) const;
    /// A query parameter, or `fallback` when absent.
    std::string query(const std::string& name, std::string fallback = {}) const;
    bool has_query(const std::string& name) const;
    /// All values of a repeated query parameter (?area=a&area=b).
    std::vector<std::string> queries(const std::string& name) const;
    /// The body as a JSON object; invalid_input saying where the JSON is broken otherwise.
    Result<nlohmann::json> body() const;
    /// The body as sent, when the route keeps it in memory (JSON); a route that takes a file has
    /// it in body_file() (POST and PUT bodies are read only after the token was checked).
    const std::string& raw_body() const { return http_.body; }
    /// The body of a route that takes a file (BodyKind::file): a 0600 file the edge removes when
    /// the request ends unless the handler renames it away; empty path when none was sent.
    const std::filesystem::path& body_file() const { return http_.body_file; }
    std::uint64_t body_size() const { return http_.body_bytes; }

    /// ?lang=en: English; anything else Vietnamese.
    Language language() const;
    /// ?format=table (text/plain for people, as loactl prints it) rather than JSON.
    bool wants_table() const;

  private:
    const http::HttpRequest& http_;
    const Services& services_;
    std::map<std::string, std::string> path_params_;
    std::string request_id_;
    std::int64_t now_;
    std::optional<Principal> who_;
};

/// What a handler answers.
struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::string file_name;                       ///< for downloads (CSV, HTML): Content-Disposition
    std::map<std::string, std::string> headers;  ///< more headers, e.g. X-Loa-Feasible
};

using Handler = std::function<Result<Reply>(Request&)>;

/// What a route takes as its body. GET and DELETE take none whatever this says.
enum class BodyKind {
    json,  ///< JSON, at most kMaxJsonBodyBytes and nested at most kMaxJsonDepth, kept in memory
    file,  ///< a file (media, a plan), streamed to disk as it arrives, up to the route's limit
};

/// Largest JSON body, and its deepest nesting (docs/http-edge.md).
inline constexpr std::uint64_t kMaxJsonBodyBytes = 1024 * 1024;
inline constexpr std::size_t kMaxJsonDepth = 64;

struct Route {
    std::string method;
    std::string path;  ///< "/api/v1/nodes/{node_id}"
    bool open = false;
    std::string summary;
    Handler handle;
    BodyKind body = BodyKind::json;
    std::uint64_t max_file_bytes = 0;  ///< BodyKind::file: larger bodies are refused with 413
};

/// JSON, or the table `table` renders when the request asks for ?format=table.
Reply listing(const Request& request, const nlohmann::json& json,
              const std::function<std::string()>& table);
/// A JSON reply.
Reply json_reply(const nlohmann::json& json, int status = 200);

/// A refusal answered as the API answers errors, with a status of its own (429, 503) that no
/// Error::Code maps to; `retry_after_s` > 0 adds Retry-After.
Reply error_reply(const Request& request, int status, std::string_view code,
                  const std::string& message, std::int64_t retry_after_s = 0);

/// 503 for a password check that found no turn (PasswordGate): come back in a second.
Reply passwords_busy(const Request& request);

/// The expiry of a new API token from what was asked: "" gives 30 days, or the longest a token
/// may last (Services::max_token_lifetime_us) if that is shorter. Refused (invalid_input, saying
/// the limit): a time already past, "never", or a time beyond the longest lifetime.
Result<std::int64_t> token_expiry(const Request& request, const std::string& asked);

/// A required string field of a JSON body; invalid_input naming the field otherwise.
Result<std::string> field(const nlohmann::json& body, std::string_view name);
/// An optional string field ("" when absent); invalid_input if present but not a string.
Result<std::string> optional_field(const nlohmann::json& body, std::string_view name);

/// An instant given as text (ISO 8601, a date, now+2h) in `name`; invalid_input naming it.
Result<std::int64_t> instant_field(const Request& request, std::string_view name, std::string text,
                                   bool end_of_day = false);

/// Refuses (forbidden, logged as access.refused) a read outside the person's scope.
Result<void> may_read(Request& request, std::string_view area, std::string_view what,
                      Permission permission = Permission::read);

/// Logs a refusal of access (no token, a bad token, outside the scope) as access.refused, at most
/// a few rows a minute per source address (the rest are counted in one row): a stranger cannot
/// grow the append-only log without limit.
void log_access_refusal(const Request& request, LoggedAction entry);

/// One change a person makes through the API: checked against their role and scope, and written
/// to the action log whether it is done or refused (with the request id, to find it in the
/// daemon's log). A change that is done and its row are one transaction (commit()).
class Change {
  public:
    Change(Request& request, std::string action, std::string target, std::string area);

    /// Done when the person may do `what` in `area`; otherwise the refusal, logged.
    Result<void> allowed(Permission what, std::string_view area);
    Result<void> allowed(Permission what) { return allowed(what, area_); }

    /// Runs `work(WriteTx&) -> Result<T>` in the writer; when it succeeds, the change's row is
    /// written in the same transaction, its detail `detail(const T&)` (or `detail()` for
    /// Result<void>). The answer comes once committed. A refusal is not logged here: call
    /// refused() with what to say.
    template <typename F, typename D>
    auto commit(F&& work, D&& detail) -> std::invoke_result_t<F&, WriteTx&>;

    /// Long work (the schedules engine): `compute(SQLite::Database& snapshot) -> Result<C>` on a
    /// snapshot, then `write(WriteTx&, C&) -> Result<T>` in the writer with the change's row, as
    /// commit() does; computed again if the schedule moved meanwhile (compute_then_commit).
    template <typename C, typename W, typename D>
    auto compute_and_commit(C&& compute, W&& write, D&& detail);

    /// Writes the change's row as done inside `tx` (what commit() does).
    void done(WriteTx& tx, nlohmann::json detail = nlohmann::json::object());
    /// Logs the change as refused with `error` as the reason (its own small change) and returns
    /// it.
    std::unexpected<Error> refused(Error error, nlohmann::json detail = nlohmann::json::object());

    void set_target(std::string target) { target_ = std::move(target); }
    void set_area(std::string area) { area_ = std::move(area); }

  private:
    template <typename T, typename D>
    nlohmann::json detail_of(const Result<T>& result, D& detail) {
        if constexpr (std::is_void_v<T>) {
            return detail();
        } else {
            return detail(*result);
        }
    }

    Request& request_;
    std::string action_;
    std::string target_;
    std::string area_;
};

template <typename F, typename D>
auto Change::commit(F&& work, D&& detail) -> std::invoke_result_t<F&, WriteTx&> {
    return request_.store().writer().run([&](WriteTx& tx) -> std::invoke_result_t<F&, WriteTx&> {
        auto result = work(tx);
        if (result) {
            done(tx, detail_of(result, detail));
        }
        return result;
    });
}

template <typename C, typename W, typename D>
auto Change::compute_and_commit(C&& compute, W&& write, D&& detail) {
    using Computed = typename std::invoke_result_t<C&, SQLite::Database&>::value_type;
    return compute_then_commit(request_.store(), compute, [&](WriteTx& tx, Computed& computed) {
        auto result = write(tx, computed);
        if (result) {
            done(tx, detail_of(result, detail));
        }
        return result;
    });
}

// The routes of each resource, in the files named after them.
std::vector<Route> session_routes();    // api_session.cpp: login, whoami
std::vector<Route> people_routes();     // api_people.cpp: users, tokens, the action log
std::vector<Route> area_routes();       // api_areas.cpp
std::vector<Route> node_routes();       // api_nodes.cpp: list, status, enroll, revoke, commands
std::vector<Route> media_routes();      // api_media.cpp: upload, list, approve, reject
std::vector<Route> campaign_routes();   // api_campaigns.cpp: create, check, accept, pause
std::vector<Route> schedule_routes();   // api_schedules.cpp: per node, area, day
std::vector<Route> emergency_routes();  // api_emergencies.cpp
std::vector<Route> report_routes();     // api_reports.cpp
std::vector<Route> metrics_routes();    // api_metrics.cpp: /metrics for Prometheus

}  // namespace api
}  // namespace loa::controller
