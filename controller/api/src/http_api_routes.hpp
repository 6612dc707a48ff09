// Inside the HTTP API: what a route handler is given (the request, the person, the database) and
// returns, the action log of changes made through it, and the tables of routes per resource.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json.hpp>

#include "loa/controller/people/action_log.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/api/http_api.hpp"
#include "loa/controller/people/people.hpp"
#include "loa/controller/common/time_text.hpp"

namespace httplib {
struct Request;
}

namespace loa::controller {

class ControllerServer;

namespace api {

/// What the process around the API offers handlers.
struct Services {
    std::filesystem::path data_dir;
    std::int64_t heartbeat_interval_ms = 30'000;
    const ControllerServer* nodes = nullptr;  ///< null when the API runs without the node side
};

/// One request being handled.
class Request {
  public:
    Request(const httplib::Request& http, SQLite::Database& db, const Services& services,
            std::map<std::string, std::string> path_params, std::string request_id,
            std::int64_t now);

    SQLite::Database& db() const { return db_; }
    const Services& services() const { return services_; }
    std::int64_t now() const { return now_; }
    const std::string& request_id() const { return request_id_; }
    const httplib::Request& http() const { return http_; }

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
    /// The body as sent (POST and PUT bodies are read after the token was checked).
    const std::string& raw_body() const { return body_; }
    void set_body(std::string body) { body_ = std::move(body); }

    /// ?lang=en: English; anything else Vietnamese.
    Language language() const;
    /// ?format=table (text/plain for people, as loactl prints it) rather than JSON.
    bool wants_table() const;

  private:
    const httplib::Request& http_;
    SQLite::Database& db_;
    const Services& services_;
    std::map<std::string, std::string> path_params_;
    std::string request_id_;
    std::int64_t now_;
    std::optional<Principal> who_;
    std::string body_;
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

struct Route {
    std::string method;
    std::string path;  ///< "/api/v1/nodes/{node_id}"
    bool open = false;
    std::string summary;
    Handler handle;
};

/// JSON, or the table `table` renders when the request asks for ?format=table.
Reply listing(const Request& request, const nlohmann::json& json,
              const std::function<std::string()>& table);
/// A JSON reply.
Reply json_reply(const nlohmann::json& json, int status = 200);

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

/// Logs a refusal of access (no token, a bad token, outside the scope) as access.refused.
void log_access_refusal(SQLite::Database& db, LoggedAction entry, const std::string& request_id);

/// One change a person makes through the API: checked against their role and scope, and written
/// to the action log whether it is done or refused (with the request id, to find it in the
/// daemon's log).
class Change {
  public:
    Change(Request& request, std::string action, std::string target, std::string area);

    /// Done when the person may do `what` in `area`; otherwise the refusal, logged.
    Result<void> allowed(Permission what, std::string_view area);
    Result<void> allowed(Permission what) { return allowed(what, area_); }

    void done(nlohmann::json detail = nlohmann::json::object());
    /// Logs the change as refused with `error` as the reason and returns it.
    std::unexpected<Error> refused(Error error, nlohmann::json detail = nlohmann::json::object());

    void set_target(std::string target) { target_ = std::move(target); }
    void set_area(std::string area) { area_ = std::move(area); }

  private:
    void log(Outcome outcome, nlohmann::json detail);

    Request& request_;
    std::string action_;
    std::string target_;
    std::string area_;
};

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
