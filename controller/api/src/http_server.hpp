// The HTTP edge: an asynchronous HTTP/1.1 server (Boost.Beast on Asio, optionally TLS) whose every
// limit is bounded (header bytes, body bytes per request, whole-request deadlines, connections in
// all and per source, a bounded worker queue) and whose memory stays flat whatever a client sends.
// It knows nothing of routes, tokens or the database: the API decides through two callbacks.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "loa/controller/common/error.hpp"

namespace loa::controller::http {

/// Orders header names without regard to case ("content-type" == "Content-Type").
struct CaseInsensitiveLess {
    bool operator()(std::string_view a, std::string_view b) const;
    using is_transparent = void;
};

using HttpHeaders = std::multimap<std::string, std::string, CaseInsensitiveLess>;

/// One request. `admit` sees it before its body is read (body fields empty); `handle` sees it with
/// its body, either in `body` or, for a route whose policy streams to disk, in `body_file`.
struct HttpRequest {
    std::string method;  ///< "GET", "POST", … as sent
    std::string target;  ///< as sent: "/api/v1/media?name=a%20b.wav"
    std::string path;    ///< the target's path, percent-decoded: "/api/v1/media"
    /// Query parameters, percent-decoded ('+' is a space), repeated ones kept in order.
    std::multimap<std::string, std::string> query;
    HttpHeaders headers;
    std::string remote_address;  ///< "203.0.113.7" (IPv4-mapped IPv6 addresses as IPv4)
    /// The declared Content-Length; empty for a chunked body or none.
    std::optional<std::uint64_t> content_length;
    bool chunked = false;  ///< Transfer-Encoding: chunked

    std::string body;  ///< the body, when kept in memory
    /// The body, when streamed: a file (mode 0600) in HttpServerOptions::upload_directory,
    /// removed when the request ends unless the handler moved it away (rename it to keep it).
    std::filesystem::path body_file;
    std::uint64_t body_bytes = 0;  ///< the body's size, wherever it is
    /// What `admit` learnt and handed on in BodyPolicy::context (the person, the route), so that
    /// `handle` need not work it out again.
    std::any context;

    /// The first value of a header; "" when absent.
    const std::string& header(std::string_view name) const;
    bool has_query(const std::string& name) const { return query.contains(name); }
    /// The first value of a query parameter, or `fallback`.
    std::string query_value(const std::string& name, std::string fallback = {}) const;
};

/// An answer. Content-Length and Connection are the server's to set.
struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// How much body a request may send, where it goes, and how long it may take: `admit`'s answer.
struct BodyPolicy {
    enum class Storage { memory, file };

    /// Larger bodies are answered 413: at once when Content-Length says so (nothing read), as
    /// soon as a chunked body passes it otherwise. 0: no body allowed.
    std::uint64_t max_bytes = 1024 * 1024;
    Storage storage = Storage::memory;
    /// The body must be complete within `deadline` plus one second per `min_bytes_per_second`
    /// bytes received (0: no allowance; the deadline alone), counted from its first byte awaited.
    /// A client slower than that is cut; so a stranger holds a connection for a bounded time.
    std::chrono::milliseconds deadline = std::chrono::seconds(30);
    std::uint64_t min_bytes_per_second = 0;
    /// Handed to `handle` as HttpRequest::context.
    std::any context;
};

/// What `admit` decides: read the body under this policy, or answer now with this response (the
/// body unread; the connection then closes when a body was announced).
using Admission = std::variant<BodyPolicy, HttpResponse>;

/// Called after the headers arrive, before any byte of the body is read, on a worker thread.
using AdmitFunction = std::function<Admission(const HttpRequest&)>;
/// Called when the body is complete, on a worker thread. May block (database work).
using HandleFunction = std::function<HttpResponse(HttpRequest&)>;
/// Renders the server's own refusals (400, 413, 431, 503, …) with a message "vi / en". Runs on an
/// I/O thread: must not block.
using ErrorRenderer = std::function<HttpResponse(int status, const std::string& message)>;

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    int port = 0;  ///< 0: a free port of the kernel's choosing (port() tells which)
    /// HTTPS with this PEM certificate chain and PEM key when both are given.
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_key;
    /// Where streamed bodies are written (files "loa-upload-*", mode 0600; ones a crash left are
    /// removed at start). Needed only when some policy says Storage::file.
    std::filesystem::path upload_directory;

    std::size_t io_threads = 2;      ///< network only: they never wait on disk or a callback
    std::size_t workers = 8;         ///< threads running admit and handle
    std::size_t worker_queue = 256;  ///< callbacks waiting for a worker; beyond it 503
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_source = 256;  ///< per remote address
    std::size_t max_header_bytes = 16 * 1024;      ///< request line and headers; beyond it 431
    /// Bodies kept in memory, all requests together; beyond it 503 (memory stays bounded).
    std::uint64_t max_memory_bodies_bytes = 64 * 1024 * 1024;

    std::chrono::milliseconds tls_handshake_timeout = std::chrono::seconds(10);
    /// From the connection (or, on a kept-alive one, the request's first byte) to the end of the
    /// headers: a client that drips its headers is cut.
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
    /// A kept-alive connection with no new request is closed after this.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
    /// Writing a response: this plus one second per `min_response_bytes_per_second` bytes.
    std::chrono::milliseconds response_timeout = std::chrono::seconds(30);
    std::uint64_t min_response_bytes_per_second = 16 * 1024;
    /// stop(): requests under way may finish within this; then every connection is cut.
    std::chrono::milliseconds stop_grace = std::chrono::seconds(5);

    /// The server's own refusals; plain text by default.
    ErrorRenderer render_error;
};

/// Counters for /metrics and tests; each read is a snapshot.
struct HttpServerStats {
    std::uint64_t connections_open = 0;
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;       ///< over a connection cap
    std::uint64_t requests = 0;                  ///< requests whose headers were complete
    std::uint64_t refused_too_large = 0;         ///< 413
    std::uint64_t refused_header_too_large = 0;  ///< 431
    std::uint64_t refused_busy = 0;              ///< 503: worker queue or body memory full
    std::uint64_t malformed = 0;                 ///< 400: not HTTP
    std::uint64_t timeouts = 0;                  ///< connections cut at a deadline
    std::uint64_t body_bytes_read = 0;           ///< bytes of bodies taken for requests
};

/// Serves HTTP/1.1 (keep-alive, chunked bodies, Expect: 100-continue) on its own threads until
/// stop() or destruction.
class HttpServer {
  public:
    HttpServer(HttpServerOptions options, AdmitFunction admit, HandleFunction handle);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and starts serving (once); fails (invalid_input, saying which) when the address cannot
    /// be bound, the TLS files cannot be used or the upload directory is not writable.
    Result<void> start();
    /// Stops accepting, lets requests under way finish within stop_grace, cuts the rest and joins
    /// every thread. Idempotent.
    void stop();

    int port() const;  ///< after start()
    bool tls() const;
    HttpServerStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Why a JSON text nests deeper than `max_depth` arrays and objects ("" when it does not), found
/// by a scan that costs no memory: call it before parsing a body, because nlohmann's parser
/// spends about 75 bytes per level (20 MB of "[" took 1.5 GB). Strings are skipped correctly;
/// anything else malformed is left for the parser to report.
std::string json_nesting_problem(std::string_view text, std::size_t max_depth = 64);

}  // namespace loa::controller::http
