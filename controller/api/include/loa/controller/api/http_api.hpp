// The controller's HTTP/JSON API: what operators, approvers, auditors and their scripts (and
// loactl) use, authenticated with API tokens and checked against roles and area scopes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loa/controller/common/error.hpp"

namespace loa::controller {

class NodeGateway;
class Store;

struct ApiOptions {
    /// Where to listen. Loopback by default: remote use goes through a reverse proxy or TLS
    /// (docs/api.md).
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
    /// The longest an API token lasts: a login's and an issued token's expiry is capped at it,
    /// and "never" is refused.
    std::int64_t max_token_lifetime_us = 365LL * 86'400'000'000;
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
