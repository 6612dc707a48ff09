// The controller's HTTP/JSON API: what operators, approvers, auditors and their scripts (and
// loactl) use, authenticated with API tokens and checked against roles and area scopes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loa/controller/common/error.hpp"

namespace loa::controller {

class NodeGateway;
class Store;

/// How sign-ins are throttled (docs/security.md). Failed passwords are counted per user name and
/// per source address (an IPv6 address by its /64) within `window`; at the count, that name or
/// address is refused with 429 for `lockout`, without its password being checked. All in memory.
struct LoginLimits {
    int failures_per_name = 5;
    int failures_per_address = 20;
    std::chrono::seconds window{15 * 60};
    std::chrono::seconds lockout{15 * 60};
    /// Names and addresses followed at once: past it, the stalest are forgotten, so memory stays
    /// bounded whatever names a stranger tries.
    std::size_t names_tracked = 10'000;
    std::size_t addresses_tracked = 10'000;
    /// Argon2id costs 64 MiB and about 0.1 s a password: at most this many are hashed or checked
    /// at once; `passwords_waiting` more wait up to `password_wait` for their turn, and the rest
    /// are answered 503 with Retry-After.
    std::size_t passwords_at_once = 2;
    std::size_t passwords_waiting = 4;
    std::chrono::milliseconds password_wait{2'000};
};

struct ApiOptions {
    /// Where to listen. Loopback by default; remote use over TLS (--http-tls-*), served by the
    /// controller itself or by a reverse proxy (docs/api.md).
    std::string host = "127.0.0.1";
    int port = 5610;  ///< 0: any free port (tests)
    std::filesystem::path data_dir;
    /// The heartbeat interval nodes were told: a node silent for 3 of them is offline.
    std::int64_t heartbeat_interval_ms = 30'000;
    /// Serve HTTPS with this certificate and key (PEM) when both are given.
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_key;
    /// Serve /metrics without a token (a Prometheus on the same host, say); by default a scrape
    /// signs in like every other request.
    bool metrics_open = false;
    /// The longest an API token lasts (--max-token-days): an expiry asked for beyond it, or
    /// "never", is refused (400); without one a token lasts 30 days or this, whichever is
    /// shorter; a token older than this is refused whatever its expiry (tokens made before).
    std::int64_t max_token_lifetime_us = 365LL * 86'400'000'000;
    LoginLimits login_limits;
    /// Threads running requests (the HTTP edge's workers; docs/http-edge.md).
    std::size_t workers = 8;
};

/// One route the API serves, as documented in docs/openapi.json.
struct ApiRouteInfo {
    std::string method;   ///< "GET", "POST", …
    std::string path;     ///< OpenAPI form: "/api/v1/nodes/{node_id}"
    bool open = false;    ///< served without a token
    std::string summary;  ///< one line, English
};

/// Serves the API on its own threads until stop() or destruction. Each request is logged (who,
/// what, status, time taken) and so is every failure, with the reason.
class ApiServer {
  public:
    /// `store` is the database the API reads and changes through its writer; when null, the API
    /// opens `<data_dir>/controller.db` with a writer of its own (loactl serving itself).
    /// `nodes`, when given, is the ZeroMQ side of the same process: /metrics reads its counters.
    explicit ApiServer(ApiOptions options, Store* store = nullptr,
                       const NodeGateway* nodes = nullptr);
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Binds the port and starts serving; fails when the port is taken or TLS files are bad.
    Result<void> start();
    void stop();

    /// The port bound (after start()).
    int port() const;

    /// Every route, in the order they are matched.
    static std::vector<ApiRouteInfo> routes();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace loa::controller
