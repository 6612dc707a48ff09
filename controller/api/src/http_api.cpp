// The HTTP API on the HTTP edge: routes matched and tokens checked before any body is read, a
// body policy per route, cross-site changes refused, every request and failure logged, errors
// answered as JSON that says what and why.
#include "loa/controller/api/http_api.hpp"

#include <algorithm>
#include <any>
#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>
#include <variant>

#include <sys/statvfs.h>

#include <spdlog/spdlog.h>

#include "http_api_routes.hpp"
#include "http_server.hpp"
#include "loa/controller/store/store.hpp"

namespace loa::controller {

namespace {

/// HTTP status of a refusal.
int status_of(Error::Code code) {
    switch (code) {
        case Error::Code::invalid_input:
            return 400;
        case Error::Code::forbidden:
            return 403;
        case Error::Code::not_found:
            return 404;
        case Error::Code::conflict:
            return 409;
        case Error::Code::media:
            return 422;
        case Error::Code::storage:
            return 500;
        case Error::Code::storage_full:
            return 507;  // Insufficient Storage: nothing changed, the same request works later
    }
    return 500;
}

std::string_view code_name(Error::Code code) {
    switch (code) {
        case Error::Code::invalid_input:
            return "invalid_input";
        case Error::Code::forbidden:
            return "forbidden";
        case Error::Code::not_found:
            return "not_found";
        case Error::Code::conflict:
            return "conflict";
        case Error::Code::media:
            return "media";
        case Error::Code::storage:
            return "storage";
        case Error::Code::storage_full:
            return "storage_full";
    }
    return "storage";
}

std::string error_body(std::string_view code, const std::string& message,
                       const std::string& request_id) {
    return nlohmann::json{
        {"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}}
        .dump();
}

/// A route with the names of its path parameters and the pattern its path matches.
struct CompiledRoute {
    api::Route route;
    std::vector<std::string> params;  ///< names of the path's {parameters}, in order
    std::regex pattern;
};

CompiledRoute compile(api::Route route) {
    static const std::regex param("\\{([a-z_]+)\\}");
    std::vector<std::string> names;
    for (std::sregex_iterator it(route.path.begin(), route.path.end(), param), end; it != end;
         ++it) {
        names.push_back((*it)[1].str());
    }
    std::regex pattern(std::regex_replace(route.path, param, "([^/]+)"));
    return {std::move(route), std::move(names), std::move(pattern)};
}

std::vector<api::Route> all_routes() {
    std::vector<api::Route> routes;
    for (auto&& group :
         {api::session_routes(), api::people_routes(), api::area_routes(), api::node_routes(),
          api::media_routes(), api::campaign_routes(), api::schedule_routes(),
          api::emergency_routes(), api::report_routes(), api::metrics_routes()}) {
        routes.insert(routes.end(), group.begin(), group.end());
    }
    return routes;
}

std::string new_request_id() {
    static std::atomic<std::uint64_t> next{1};
    static const auto start = static_cast<std::uint64_t>(now_us() / 1'000'000) & 0xffffff;
    return fmt::format("{:06x}-{:06x}", start, next.fetch_add(1));
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

http::HttpResponse json_response(int status, std::string_view code, const std::string& message,
                                 const std::string& request_id) {
    http::HttpResponse out;
    out.status = status;
    out.content_type = "application/json";
    out.body = error_body(code, message, request_id);
    out.headers.emplace_back("X-Request-Id", request_id);
    return out;
}

/// "host:port" of an Origin header ("https://loa.example:8443" → "loa.example:8443"); the
/// scheme's default port is left out, as a Host header leaves it out.
std::string origin_authority(std::string_view origin) {
    const auto scheme_end = origin.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    const std::string_view scheme = origin.substr(0, scheme_end);
    std::string authority(origin.substr(scheme_end + 3));
    if ((scheme == "http" && authority.ends_with(":80")) ||
        (scheme == "https" && authority.ends_with(":443"))) {
        authority.erase(authority.rfind(':'));
    }
    std::transform(authority.begin(), authority.end(), authority.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return authority;
}

/// Why a state-changing request must be refused as cross-site (empty when it need not): a
/// browser says where a request comes from (Origin, Sec-Fetch-Site), so a page elsewhere cannot
/// make a signed-in browser, or one on the controller's own machine, change anything. Clients
/// that are not browsers (loactl, scripts) send neither and are not affected.
std::string cross_site_problem(const http::HttpRequest& head) {
    if (head.method == "GET" || head.method == "HEAD") {
        return {};
    }
    if (head.header("Sec-Fetch-Site") == "cross-site") {
        return "Sec-Fetch-Site: cross-site";
    }
    const std::string& origin = head.header("Origin");
    if (origin.empty()) {
        return {};
    }
    std::string host = head.header("Host");
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (origin == "null" || origin_authority(origin) != host) {
        return fmt::format("Origin {} is not this controller ({})", origin.substr(0, 200),
                           host.substr(0, 200));
    }
    return {};
}

/// Room an upload must leave on the controller's disk beyond its own bytes: the Opus copy an
/// import makes (24 kbit/s) and the database's rows for it.
constexpr std::uint64_t kUploadHeadroomBytes = 8ull * 1024 * 1024;

/// Why an upload of `announced` bytes (nullopt: chunked, size unknown) cannot be taken into
/// `dir` now; empty when there is room. Checked before any byte of it is read, so a full disk
/// refuses at once instead of after a long transfer.
std::string upload_room_problem(const std::filesystem::path& dir,
                                std::optional<std::uint64_t> announced) {
    struct statvfs fs {};
    if (dir.empty() || ::statvfs(dir.c_str(), &fs) != 0) {
        return {};  // cannot tell: the edge's own write reports ENOSPC as 507
    }
    const std::uint64_t free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    const std::uint64_t needed = announced.value_or(0) + kUploadHeadroomBytes;
    if (free >= needed) {
        return {};
    }
    constexpr double kMiB = 1024.0 * 1024.0;
    const std::string size = announced ? fmt::format("{:.1f} MiB", *announced / kMiB) : "?";
    return fmt::format(
        "đĩa của máy điều khiển còn trống {:.1f} MiB, không đủ cho tệp gửi lên ({}) và {:.0f} MiB "
        "dự phòng: tệp không được nhận, không có gì thay đổi; giải phóng chỗ trống trên đĩa rồi "
        "thử lại / the controller's disk has {:.1f} MiB free, not enough for the upload ({}) and "
        "{:.0f} MiB to spare: the file was not taken and nothing changed; free space on its disk "
        "and try again",
        free / kMiB, size, kUploadHeadroomBytes / kMiB, free / kMiB, size,
        kUploadHeadroomBytes / kMiB);
}

/// What admit learnt, handed to handle.
struct Admitted {
    const CompiledRoute* route = nullptr;
    std::map<std::string, std::string> params;
    std::optional<Principal> who;
    std::string request_id;
    std::chrono::steady_clock::time_point started;
};

}  // namespace

struct ApiServer::Impl {
    ApiOptions options;
    api::Services services;
    std::unique_ptr<http::HttpServer> server;
    std::vector<CompiledRoute> routes;
    std::unique_ptr<Store> own_store;  ///< when the API was given none
    std::unique_ptr<api::RefusalLimiter> refusals = std::make_unique<api::RefusalLimiter>();
    std::unique_ptr<api::LoginThrottle> logins;
    std::unique_ptr<api::PasswordGate> passwords;
    std::unique_ptr<HeldTokens> held_tokens = std::make_unique<HeldTokens>();

    http::Admission admit(const http::HttpRequest& head);
    http::HttpResponse handle(http::HttpRequest& http);
    Result<void> authenticate(api::Request& request);
    /// The route `head` asks for and its path parameters; 404 or 405 otherwise.
    std::variant<std::pair<const CompiledRoute*, std::map<std::string, std::string>>,
                 http::HttpResponse>
    route_of(const http::HttpRequest& head, const std::string& request_id) const;
    void log(const http::HttpRequest& http, const std::string& request_id, int status,
             std::chrono::steady_clock::time_point started, const std::string& who,
             std::size_t bytes, const std::string& failure) const;
};

Result<void> ApiServer::Impl::authenticate(api::Request& request) {
    auto& db = request.db();
    LoggedAction refusal;
    refusal.at_us = request.now();
    refusal.actor = "unknown";
    refusal.actor_role = "unknown";
    refusal.area = std::string(kEveryArea);
    refusal.detail = {{"request", request.http().method + " " + request.http().path}};
    const std::string token = bearer_token(request.http());
    if (token.empty()) {
        const auto users = count_users(db);
        const std::string why =
            users && *users == 0
                ? "chưa có người dùng nào: tạo quản trị viên đầu tiên bằng loactl user add TÊN "
                  "--role admin --area / --password-stdin / no users yet: create the first "
                  "admin with loactl user add NAME --role admin --area / --password-stdin"
                : "cần đăng nhập: cho mã truy cập (loactl login TÊN; --token hoặc LOA_TOKEN; "
                  "tiêu đề Authorization: Bearer …) / sign in first: give an API token (loactl "
                  "login NAME; --token or LOA_TOKEN; the header Authorization: Bearer …)";
        refusal.detail["reason"] = why;
        api::log_access_refusal(request, refusal);
        return fail(Error::Code::forbidden, why);
    }
    auto who = authenticate_token(db, token, request.now(), services.max_token_lifetime_us);
    if (!who && who.error().code == Error::Code::forbidden) {
        // Not in the database: perhaps a sign-in's while the disk was full, held in memory.
        if (auto held = services.held_tokens->authenticate(db, token, request.now(),
                                                           services.max_token_lifetime_us)) {
            who = std::move(*held);
        }
    }
    services.held_tokens->write_later(request.store().writer(), request.now());
    if (!who) {
        // Revoked or expired: the log names whose token it was.
        if (auto holder = token_holder(db, token)) {
            refusal.actor = holder->name;
            refusal.actor_role = std::string(role_name(holder->role));
            refusal.area = holder->area;
            refusal.detail["token_id"] = holder->token_id;
        }
        refusal.detail["reason"] = who.error().message;
        api::log_access_refusal(request, refusal);
        return std::unexpected(who.error());
    }
    // That the token was used is recorded at most once a minute, without waiting for it. While
    // the disk is full it is not tried: the first use after space returns records it (the
    // recorded last use stays older than a minute), and a full disk never refuses a reader.
    if (who->token_id != 0 &&
        (!who->token_last_used_us || *who->token_last_used_us < request.now() - 60'000'000) &&
        !request.store().writer().disk_full()) {
        const std::int64_t token_id = who->token_id;
        const std::int64_t now = request.now();
        request.store().writer().post(
            [token_id, now](WriteTx& tx) { return note_token_use(tx, token_id, now); }, {});
    }
    request.sign_in(*who);
    return {};
}

std::variant<std::pair<const CompiledRoute*, std::map<std::string, std::string>>,
             http::HttpResponse>
ApiServer::Impl::route_of(const http::HttpRequest& head, const std::string& request_id) const {
    bool other_method = false;
    std::smatch match;
    for (const auto& compiled : routes) {
        if (!std::regex_match(head.path, match, compiled.pattern)) {
            continue;
        }
        if (compiled.route.method != head.method) {
            other_method = true;
            continue;
        }
        std::map<std::string, std::string> params;
        for (std::size_t i = 0; i < compiled.params.size() && i + 1 < match.size(); ++i) {
            params[compiled.params[i]] = match[i + 1].str();
        }
        return std::pair{&compiled, std::move(params)};
    }
    const std::string path = head.path.substr(0, 200);
    if (other_method) {
        return json_response(
            405, "invalid_input",
            fmt::format("{} không dùng được với {} / {} does not take {}", path,
                        head.method.substr(0, 16), path, head.method.substr(0, 16)),
            request_id);
    }
    return json_response(
        404, "not_found",
        fmt::format("không có {} {} / no such endpoint: {} {}", head.method.substr(0, 16), path,
                    head.method.substr(0, 16), path),
        request_id);
}

http::Admission ApiServer::Impl::admit(const http::HttpRequest& head) {
    Admitted admitted;
    admitted.started = std::chrono::steady_clock::now();
    admitted.request_id = new_request_id();
    auto refuse = [&](http::HttpResponse response, const std::string& why) {
        log(head, admitted.request_id, response.status, admitted.started,
            admitted.who ? admitted.who->name : "-", 0, why);
        return response;
    };
    try {
        auto found = route_of(head, admitted.request_id);
        if (auto* refusal = std::get_if<http::HttpResponse>(&found)) {
            return refuse(std::move(*refusal), refusal->body);
        }
        auto& [route, params] = std::get<0>(found);
        admitted.route = route;
        admitted.params = std::move(params);
        api::Request request(head, services, admitted.params, admitted.request_id, now_us());
        if (auto cross = cross_site_problem(head); !cross.empty()) {
            const std::string why = fmt::format(
                "yêu cầu từ trang khác bị từ chối ({}) / a cross-site request is refused ({})",
                cross, cross);
            LoggedAction refusal;
            refusal.at_us = request.now();
            refusal.actor = "unknown";
            refusal.actor_role = "unknown";
            refusal.area = std::string(kEveryArea);
            refusal.detail = {{"request", head.method + " " + head.path}, {"reason", why}};
            api::log_access_refusal(request, refusal);
            return refuse(json_response(403, "forbidden", why, admitted.request_id), why);
        }
        const bool open =
            route->route.open || (route->route.path == "/metrics" && services.metrics_open);
        if (!open) {
            if (auto signed_in = authenticate(request); !signed_in) {
                return refuse(json_response(401, "unauthenticated", signed_in.error().message,
                                            admitted.request_id),
                              signed_in.error().message);
            }
            admitted.who = request.who();
        }
        http::BodyPolicy policy;
        if (head.method == "GET" || head.method == "DELETE") {
            policy.max_bytes = 0;
        } else if (route->route.body == api::BodyKind::file) {
            if (auto room = upload_room_problem(options.data_dir / "uploads", head.content_length);
                !room.empty()) {
                return refuse(json_response(507, "storage_full", room, admitted.request_id), room);
            }
            policy.max_bytes = route->route.max_file_bytes;
            policy.storage = http::BodyPolicy::Storage::file;
            // A big file over a slow link takes long; a stranger's trickle is cut all the same.
            policy.deadline = std::chrono::seconds(60);
            policy.min_bytes_per_second = 32 * 1024;
        } else {
            policy.max_bytes = api::kMaxJsonBodyBytes;
            policy.deadline = std::chrono::seconds(30);
        }
        policy.context = std::move(admitted);
        return policy;
    } catch (const std::exception& e) {
        const std::string why = fmt::format("lỗi máy chủ / server error: {}", e.what());
        return refuse(json_response(500, "storage", why, admitted.request_id), why);
    }
}

http::HttpResponse ApiServer::Impl::handle(http::HttpRequest& http) {
    auto admitted = std::any_cast<Admitted>(std::move(http.context));
    const auto& compiled = *admitted.route;
    http::HttpResponse res;
    res.headers.emplace_back("X-Request-Id", admitted.request_id);
    std::string who_text =
        admitted.who ? fmt::format("{}({})", admitted.who->name, role_name(admitted.who->role))
                     : "-";
    std::string failure;
    try {
        api::Request request(http, services, std::move(admitted.params), admitted.request_id,
                             now_us());
        if (admitted.who) {
            request.sign_in(*admitted.who);
        }
        Result<api::Reply> reply = compiled.route.handle(request);
        if (reply) {
            res.status = reply->status;
            if (!reply->file_name.empty()) {
                res.headers.emplace_back(
                    "Content-Disposition",
                    fmt::format("attachment; filename=\"{}\"", reply->file_name));
            }
            for (const auto& [name, value] : reply->headers) {
                res.headers.emplace_back(name, value);
            }
            res.content_type = reply->content_type;
            res.body = std::move(reply->body);
            if (res.status >= 400) {
                // A refusal a handler answered itself (429, 503): its reason goes to the log too.
                const auto body = nlohmann::json::parse(res.body, nullptr, false);
                if (body.is_object() && body.contains("error") && body["error"].is_object()) {
                    failure = body["error"].value("message", "");
                }
            }
        } else {
            const bool unauthenticated = !compiled.route.open && !request.signed_in();
            res.status = unauthenticated ? 401 : status_of(reply.error().code);
            failure = reply.error().message;
            if (reply.error().code == Error::Code::storage_full &&
                failure == storage_full_message()) {
                // The writer's words name no request: say which one was not done.
                failure = storage_full_message(http.method + " " + http.path.substr(0, 200));
            }
            res.content_type = "application/json";
            res.body =
                error_body(unauthenticated ? "unauthenticated" : code_name(reply.error().code),
                           failure, admitted.request_id);
        }
        if (request.signed_in() && who_text == "-") {
            who_text = fmt::format("{}({})", request.who().name, role_name(request.who().role));
        }
    } catch (const std::exception& e) {
        res.status = 500;
        failure = fmt::format("lỗi máy chủ / server error: {}", e.what());
        res.content_type = "application/json";
        res.body = error_body("storage", failure, admitted.request_id);
    }
    log(http, admitted.request_id, res.status, admitted.started, who_text, res.body.size(),
        failure);
    return res;
}

void ApiServer::Impl::log(const http::HttpRequest& http, const std::string& request_id, int status,
                          std::chrono::steady_clock::time_point started, const std::string& who,
                          std::size_t bytes, const std::string& failure) const {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // The target with its query (never a secret: tokens travel in a header, passwords in
    // bodies, which are not logged), cut: a stranger chooses it.
    const std::string target = http.target.substr(0, 512);
    // 507 (the disk is full) is logged as a warning: the condition itself is logged once by the
    // writer, not once per request.
    if (status >= 500 && status != 507) {
        spdlog::error("http {} {} {} → {} in {:.1f} ms by {} from {}: {}", request_id, http.method,
                      target, status, ms, who, http.remote_address, failure);
    } else if (status >= 400) {
        spdlog::warn("http {} {} {} → {} in {:.1f} ms by {} from {}: {}", request_id, http.method,
                     target, status, ms, who, http.remote_address, failure);
    } else {
        spdlog::info("http {} {} {} → {} in {:.1f} ms by {} from {}, {} bytes", request_id,
                     http.method, target, status, ms, who, http.remote_address, bytes);
    }
}

ApiServer::ApiServer(ApiOptions options, Store* store, const NodeGateway* nodes)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->services.store = store;
    impl_->services.data_dir = impl_->options.data_dir;
    impl_->services.heartbeat_interval_ms = impl_->options.heartbeat_interval_ms;
    impl_->services.nodes = nodes;
    impl_->services.metrics_open = impl_->options.metrics_open;
    impl_->services.max_token_lifetime_us = impl_->options.max_token_lifetime_us;
    impl_->services.login_limits = impl_->options.login_limits;
    impl_->logins = std::make_unique<api::LoginThrottle>(impl_->options.login_limits);
    impl_->passwords = std::make_unique<api::PasswordGate>(impl_->options.login_limits);
    impl_->services.refusals = impl_->refusals.get();
    impl_->services.logins = impl_->logins.get();
    impl_->services.passwords = impl_->passwords.get();
    impl_->services.held_tokens = impl_->held_tokens.get();
    for (auto& route : all_routes()) {
        impl_->routes.push_back(compile(std::move(route)));
    }
}

ApiServer::~ApiServer() {
    stop();
}

Result<void> ApiServer::start() {
    auto& impl = *impl_;
    if (impl.services.store == nullptr) {
        auto opened = Store::open(impl.options.data_dir / "controller.db");
        if (!opened) {
            return std::unexpected(opened.error());
        }
        impl.own_store = std::move(*opened);
        impl.services.store = impl.own_store.get();
    }
    const bool tls = !impl.options.tls_certificate.empty() || !impl.options.tls_key.empty();
    if (tls && (impl.options.tls_certificate.empty() || impl.options.tls_key.empty())) {
        return fail(Error::Code::invalid_input,
                    "TLS needs both a certificate and a key (--http-tls-cert, --http-tls-key)");
    }
    http::HttpServerOptions edge;
    edge.host = impl.options.host;
    edge.port = impl.options.port;
    edge.tls_certificate = impl.options.tls_certificate;
    edge.tls_key = impl.options.tls_key;
    edge.workers = impl.options.workers;
    // Uploads land beside the data they become (a rename, not a copy, moves them into place).
    edge.upload_directory = impl.options.data_dir / "uploads";
    std::error_code made;
    std::filesystem::create_directories(edge.upload_directory, made);
    std::filesystem::permissions(edge.upload_directory, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, made);
    edge.render_error = [](int status, const std::string& message) {
        http::HttpResponse out;
        out.status = status;
        out.content_type = "application/json";
        out.body = error_body(status == 404   ? "not_found"
                              : status == 507 ? "storage_full"
                              : status >= 500 ? "unavailable"
                                              : "invalid_input",
                              message, "-");
        return out;
    };
    impl.server = std::make_unique<http::HttpServer>(
        std::move(edge), [&impl](const http::HttpRequest& head) { return impl.admit(head); },
        [&impl](http::HttpRequest& request) { return impl.handle(request); });
    // Set before the first request can come: /metrics reads it.
    impl.services.http = impl.server.get();
    if (auto started = impl.server->start(); !started) {
        impl.services.http = nullptr;
        impl.server.reset();
        return fail(Error::Code::invalid_input,
                    fmt::format("HTTP API: {}", started.error().message));
    }
    spdlog::info("HTTP API on {}://{}:{}", tls ? "https" : "http", impl.options.host,
                 impl.server->port());
    return {};
}

void ApiServer::stop() {
    if (impl_ && impl_->server) {
        impl_->server->stop();
    }
}

int ApiServer::port() const {
    return impl_->server ? impl_->server->port() : 0;
}

std::vector<ApiRouteInfo> ApiServer::routes() {
    std::vector<ApiRouteInfo> out;
    for (const auto& r : all_routes()) {
        out.push_back({r.method, r.path, r.open, r.summary});
    }
    return out;
}

}  // namespace loa::controller
