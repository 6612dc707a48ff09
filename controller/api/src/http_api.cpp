// The HTTP API server: routes matched, tokens checked, one database connection per serving
// thread, every request and failure logged, errors answered as JSON that says what and why.
#include "loa/controller/api/http_api.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "http_api_routes.hpp"
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
    }
    return "storage";
}

std::string error_body(std::string_view code, const std::string& message,
                       const std::string& request_id) {
    return nlohmann::json{
        {"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}}
        .dump();
}

/// A route with the names of its path parameters.
struct CompiledRoute {
    api::Route route;
    std::vector<std::string> params;  ///< names of the path's {parameters}, in order
};

CompiledRoute compile(api::Route route) {
    static const std::regex param("\\{([a-z_]+)\\}");
    std::vector<std::string> names;
    for (std::sregex_iterator it(route.path.begin(), route.path.end(), param), end; it != end;
         ++it) {
        names.push_back((*it)[1].str());
    }
    return {std::move(route), std::move(names)};
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
std::string bearer_token(const httplib::Request& http) {
    const std::string header = http.get_header_value("Authorization");
    constexpr std::string_view prefix = "Bearer ";
    if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) {
        return {};
    }
    return header.substr(prefix.size());
}

}  // namespace

struct ApiServer::Impl {
    ApiOptions options;
    api::Services services;
    std::unique_ptr<httplib::Server> server;
    std::thread thread;
    int port = 0;
    std::vector<CompiledRoute> routes;

    std::unique_ptr<Store> own_store;  ///< when the API was given none

    void serve(const CompiledRoute& route, const httplib::Request& http, httplib::Response& res,
               const httplib::ContentReader* reader);
    Result<void> authenticate(api::Request& request);
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
    auto who = authenticate_token(db, token, request.now());
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
    // That the token was used is recorded at most once a minute, without waiting for it.
    if (!who->token_last_used_us || *who->token_last_used_us < request.now() - 60'000'000) {
        const std::int64_t token_id = who->token_id;
        const std::int64_t now = request.now();
        request.store().writer().post(
            [token_id, now](WriteTx& tx) { return note_token_use(tx, token_id, now); }, {});
    }
    request.sign_in(*who);
    return {};
}

void ApiServer::Impl::serve(const CompiledRoute& compiled, const httplib::Request& http,
                            httplib::Response& res, const httplib::ContentReader* reader) {
    const auto started = std::chrono::steady_clock::now();
    const std::string request_id = new_request_id();
    res.set_header("X-Request-Id", request_id);
    std::map<std::string, std::string> params;
    for (std::size_t i = 0; i < compiled.params.size() && i + 1 < http.matches.size(); ++i) {
        params[compiled.params[i]] = http.matches[i + 1].str();
    }
    std::string who_text = "-";
    std::string failure;
    try {
        api::Request request(http, services, std::move(params), request_id, now_us());
        Result<api::Reply> reply = [&]() -> Result<api::Reply> {
            if (!compiled.route.open) {
                if (auto signed_in = authenticate(request); !signed_in) {
                    return std::unexpected(signed_in.error());
                }
                who_text = fmt::format("{}({})", request.who().name, role_name(request.who().role));
            }
            if (reader) {
                // A streamed body (media uploads) is read only after the token was checked.
                std::string body;
                bool too_large = false;
                (*reader)([&](const char* data, std::size_t length) {
                    if (body.size() + length > options.max_body_bytes) {
                        too_large = true;
                        return false;
                    }
                    body.append(data, length);
                    return true;
                });
                if (too_large) {
                    return fail(Error::Code::invalid_input,
                                fmt::format("nội dung gửi lên quá lớn / the request body is over "
                                            "{} bytes",
                                            options.max_body_bytes));
                }
                request.set_body(std::move(body));
            }
            return compiled.route.handle(request);
        }();
        if (reply) {
            res.status = reply->status;
            if (!reply->file_name.empty()) {
                res.set_header("Content-Disposition",
                               fmt::format("attachment; filename=\"{}\"", reply->file_name));
            }
            for (const auto& [name, value] : reply->headers) {
                res.set_header(name, value);
            }
            res.set_content(std::move(reply->body), reply->content_type);
        } else {
            const bool unauthenticated = !compiled.route.open && !request.signed_in();
            res.status = unauthenticated ? 401 : status_of(reply.error().code);
            failure = reply.error().message;
            res.set_content(
                error_body(unauthenticated ? "unauthenticated" : code_name(reply.error().code),
                           failure, request_id),
                "application/json");
        }
    } catch (const std::exception& e) {
        res.status = 500;
        failure = fmt::format("lỗi máy chủ / server error: {}", e.what());
        res.set_content(error_body("storage", failure, request_id), "application/json");
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // The target with its query (never a secret: tokens travel in a header, passwords in
    // bodies, which are not logged).
    if (res.status >= 500) {
        spdlog::error("http {} {} {} → {} in {:.1f} ms by {} from {}: {}", request_id, http.method,
                      http.target, res.status, ms, who_text, http.remote_addr, failure);
    } else if (res.status >= 400) {
        spdlog::warn("http {} {} {} → {} in {:.1f} ms by {} from {}: {}", request_id, http.method,
                     http.target, res.status, ms, who_text, http.remote_addr, failure);
    } else {
        spdlog::info("http {} {} {} → {} in {:.1f} ms by {} from {}, {} bytes", request_id,
                     http.method, http.target, res.status, ms, who_text, http.remote_addr,
                     res.body.size());
    }
}

ApiServer::ApiServer(ApiOptions options, Store* store, const NodeGateway* nodes)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->services.store = store;
    impl_->services.data_dir = impl_->options.data_dir;
    impl_->services.heartbeat_interval_ms = impl_->options.heartbeat_interval_ms;
    impl_->services.nodes = nodes;
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
    if (tls) {
        if (impl.options.tls_certificate.empty() || impl.options.tls_key.empty()) {
            return fail(Error::Code::invalid_input,
                        "TLS needs both a certificate and a key (--http-tls-cert, --http-tls-key)");
        }
        auto server = std::make_unique<httplib::SSLServer>(impl.options.tls_certificate.c_str(),
                                                           impl.options.tls_key.c_str());
        if (!server->is_valid()) {
            return fail(
                Error::Code::invalid_input,
                fmt::format("TLS certificate {} or key {} cannot be used",
                            impl.options.tls_certificate.string(), impl.options.tls_key.string()));
        }
        impl.server = std::move(server);
    } else {
        impl.server = std::make_unique<httplib::Server>();
    }
    auto& http = *impl.server;
    http.set_payload_max_length(impl.options.max_body_bytes);
    for (const auto& route : impl.routes) {
        const CompiledRoute* r = &route;
        auto plain = [&impl, r](const httplib::Request& req, httplib::Response& res) {
            impl.serve(*r, req, res, nullptr);
        };
        auto streamed = [&impl, r](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
            impl.serve(*r, req, res, &reader);
        };
        const std::string pattern =
            std::regex_replace(route.route.path, std::regex("\\{[a-z_]+\\}"), "([^/]+)");
        if (route.route.method == "GET") {
            http.Get(pattern, plain);
        } else if (route.route.method == "POST") {
            http.Post(pattern, streamed);
        } else if (route.route.method == "PUT") {
            http.Put(pattern, streamed);
        } else if (route.route.method == "DELETE") {
            http.Delete(pattern, plain);
        }
    }
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) {
            return;
        }
        const std::string message = res.status == 404
                                        ? fmt::format("không có {} {} / no such endpoint: {} {}",
                                                      req.method, req.path, req.method, req.path)
                                        : fmt::format("HTTP {}", res.status);
        spdlog::warn("http - {} {} → {} from {}: {}", req.method, req.path, res.status,
                     req.remote_addr, message);
        res.set_content(error_body(res.status == 404 ? "not_found" : "invalid_input", message, "-"),
                        "application/json");
    });
    const int port =
        impl.options.port == 0
            ? http.bind_to_any_port(impl.options.host)
            : (http.bind_to_port(impl.options.host, impl.options.port) ? impl.options.port : -1);
    if (port < 0) {
        return fail(Error::Code::invalid_input,
                    fmt::format("HTTP API: cannot listen on {}:{} (in use, or not an address "
                                "here)",
                                impl.options.host, impl.options.port));
    }
    impl.port = port;
    impl.thread = std::thread([&http] { http.listen_after_bind(); });
    spdlog::info("HTTP API on {}://{}:{}", tls ? "https" : "http", impl.options.host, port);
    return {};
}

void ApiServer::stop() {
    if (impl_ && impl_->server) {
        impl_->server->stop();
        if (impl_->thread.joinable()) {
            impl_->thread.join();
        }
    }
}

int ApiServer::port() const {
    return impl_->port;
}

std::vector<ApiRouteInfo> ApiServer::routes() {
    std::vector<ApiRouteInfo> out;
    for (const auto& r : all_routes()) {
        out.push_back({r.method, r.path, r.open, r.summary});
    }
    return out;
}

}  // namespace loa::controller
