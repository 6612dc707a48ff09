// The HTTP edge (http_server.hpp): Beast sessions on Asio strands, a bounded worker pool for the
// callbacks, a disk thread for streamed bodies, and the caps and deadlines that keep it flat.
#include "http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace loa::controller::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

/// Read per syscall and the most a connection buffers beyond its headers.
constexpr std::size_t kReadBufferBytes = 64 * 1024;
/// A body kept in memory grows by this; one streamed to a file is written in pieces of this.
constexpr std::size_t kMemoryChunkBytes = 64 * 1024;
constexpr std::size_t kFileChunkBytes = 256 * 1024;
/// After a last answer the server reads and drops at most this much for at most this long before
/// closing, so that a client still sending gets the answer before a reset (RFC 9112 §9.6).
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr auto kLingerTime = 1s;
/// Wait before accepting again when the process is out of descriptors.
constexpr auto kAcceptRetry = 100ms;
constexpr std::string_view kUploadPrefix = "loa-upload-";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

/// At most 10 refusal lines a second reach the log: a flood of strangers must not fill the
/// journal. What was left out is counted in the next line.
class RefusalLog {
  public:
    void warn(const std::string& line) {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        if (now - window_ >= 1s) {
            window_ = now;
            in_window_ = 0;
        }
        if (in_window_ >= 10) {
            ++suppressed_;
            return;
        }
        ++in_window_;
        if (suppressed_ > 0) {
            spdlog::warn("http: {} more refusals were not logged", suppressed_);
            suppressed_ = 0;
        }
        spdlog::warn("http: {}", line);
    }

  private:
    std::mutex mutex_;
    Clock::time_point window_{};
    int in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

/// Threads running jobs from a queue of bounded length; a full queue refuses a job rather than
/// growing. A job that throws is logged and the thread goes on.
class WorkerPool {
  public:
    WorkerPool(std::string name, std::size_t threads, std::size_t capacity)
        : name_(std::move(name)), capacity_(capacity) {
        for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
            threads_.emplace_back([this] { run(); });
        }
    }
    ~WorkerPool() { stop(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// False when the queue is full or the pool stopped: the job was not taken.
    bool try_post(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_ || jobs_.size() >= capacity_) {
                return false;
            }
            jobs_.push_back(std::move(job));
        }
        wake_.notify_one();
        return true;
    }

    /// Drops the jobs not started, waits for the running ones, joins. Idempotent.
    void stop() {
        std::deque<std::function<void()>> dropped;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            dropped.swap(jobs_);
        }
        wake_.notify_all();
        for (auto& thread : threads_) {
            if (thread.joinable()) {
                thread.join();
            }
        }
        // The dropped jobs hold sessions; released here, outside the lock.
    }

  private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (stopping_) {
                    return;
                }
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            try {
                job();
            } catch (const std::exception& e) {
                spdlog::error("http {}: a job failed: {}", name_, e.what());
            } catch (...) {
                spdlog::error("http {}: a job failed", name_);
            }
        }
    }

    std::string name_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

std::string percent_decode(std::string_view text, bool plus_is_space) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
    std::multimap<std::string, std::string> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        out.emplace(percent_decode(pair.substr(0, eq), true),
                    eq == std::string_view::npos ? std::string{}
                                                 : percent_decode(pair.substr(eq + 1), true));
    }
    return out;
}

std::string address_text(const tcp::endpoint& endpoint) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

HttpResponse plain_error(int status, const std::string& message) {
    return {status, "text/plain; charset=utf-8", message + "\n", {}};
}

std::string busy_message() {
    return "máy chủ đang bận, hãy thử lại sau giây lát / the server is busy, try again in a "
           "moment";
}

/// Writes all of `data` to `fd`; the errno of a failure, 0 when done.
int write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

/// A streamed body's file: created 0600 by mkostemp, removed when the request ends unless it is
/// no longer the same file (the handler moved it away).
struct BodyFile {
    fs::path path;
    int fd = -1;
    dev_t device = 0;
    ino_t inode = 0;

    /// Closes and removes it. Disk work: run it off the I/O threads.
    void discard() {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
        if (path.empty()) {
            return;
        }
        struct stat now {};
        if (::lstat(path.c_str(), &now) == 0 && now.st_dev == device && now.st_ino == inode) {
            ::unlink(path.c_str());
        }
        path.clear();
    }
};

/// Creates a body file in `dir`; the errno of a failure.
std::variant<BodyFile, int> create_body_file(const fs::path& dir) {
    std::string name = (dir / (std::string(kUploadPrefix) + "XXXXXX")).string();
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    struct stat st {};
    ::fstat(fd, &st);
    return BodyFile{name, fd, st.st_dev, st.st_ino};
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) <
               std::tolower(static_cast<unsigned char>(y));
    });
}

const std::string& HttpRequest::header(std::string_view name) const {
    static const std::string none;
    auto it = headers.find(name);
    return it == headers.end() ? none : it->second;
}

std::string HttpRequest::query_value(const std::string& name, std::string fallback) const {
    auto it = query.find(name);
    return it == query.end() ? std::move(fallback) : it->second;
}

std::string json_nesting_problem(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return fmt::format(
                    "JSON lồng quá sâu: hơn {} tầng mảng và đối tượng, ở byte {} / the JSON "
                    "nests deeper than {} arrays and objects, at byte {}",
                    max_depth, i, max_depth, i);
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return {};
}

// ---------------------------------------------------------------------------------------------

class SessionBase;

/// What every session shares: the options, the callbacks, the pools, the caps and the counters.
/// Sessions hold it, so it outlives the last of them.
struct Core {
    HttpServerOptions options;
    AdmitFunction admit;
    HandleFunction handle;
    std::unique_ptr<net::ssl::context> ssl;
    std::unique_ptr<WorkerPool> workers;
    std::unique_ptr<WorkerPool> disk;  ///< streamed bodies' files: opened, written, removed
    RefusalLog refusals;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> memory_bodies{0};

    struct Counters {
        std::atomic<std::uint64_t> accepted{0}, refused{0}, requests{0}, too_large{0},
            header_too_large{0}, busy{0}, malformed{0}, timeouts{0}, body_bytes{0};
    } counters;

    std::mutex mutex;  ///< guards what follows
    std::condition_variable sessions_changed;
    std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
    std::unordered_map<std::string, std::size_t> per_source;
    std::size_t open = 0;

    HttpResponse error(int status, const std::string& message) const {
        HttpResponse response;
        try {
            response = options.render_error ? options.render_error(status, message)
                                            : plain_error(status, message);
        } catch (const std::exception&) {
            response = plain_error(status, message);
        }
        response.status = status;
        return response;
    }

    /// Takes a connection slot for `source`; false (and nothing taken) over a cap.
    bool take_slot(const std::string& source, std::string& why) {
        std::lock_guard lock(mutex);
        if (open >= options.max_connections) {
            why = fmt::format("quá {} kết nối / over {} connections", options.max_connections,
                              options.max_connections);
            return false;
        }
        auto& mine = per_source[source];
        if (mine >= options.max_connections_per_source) {
            why = fmt::format("quá {} kết nối từ {} / over {} connections from {}",
                              options.max_connections_per_source, source,
                              options.max_connections_per_source, source);
            if (mine == 0) {
                per_source.erase(source);
            }
            return false;
        }
        ++mine;
        ++open;
        return true;
    }

    void release_slot(const std::string& source) {
        std::lock_guard lock(mutex);
        if (auto it = per_source.find(source); it != per_source.end() && --it->second == 0) {
            per_source.erase(it);
        }
        --open;
    }

    bool reserve_memory(std::uint64_t bytes) {
        if (memory_bodies.fetch_add(bytes) + bytes > options.max_memory_bodies_bytes) {
            memory_bodies.fetch_sub(bytes);
            return false;
        }
        return true;
    }
};

/// What stop() needs of a session, whatever its stream.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
  public:
    virtual ~SessionBase() = default;
    /// No new request; one waiting for its first header byte is closed now.
    virtual void post_stop() = 0;
    /// Closes the connection now, whatever it is doing.
    virtual void post_cut() = 0;
};

/// One connection: TLS handshake, then requests one after the other (keep-alive). Every step runs
/// on the connection's strand; callbacks run on the worker pool and file writes on the disk
/// thread, each posting its result back to the strand.
template <class Stream>
class Session : public SessionBase {
  public:
    Session(std::shared_ptr<Core> core, Stream stream, std::string remote)
        : core_(std::move(core)),
          stream_(std::move(stream)),
          remote_(std::move(remote)),
          buffer_(std::max(kReadBufferBytes, core_->options.max_header_bytes + 1024)) {}

    ~Session() override {
        end_request();
        {
            std::lock_guard lock(core_->mutex);
            core_->sessions.erase(this);
        }
        core_->release_slot(remote_);
        core_->sessions_changed.notify_all();
    }

    void start() {
        {
            std::lock_guard lock(core_->mutex);
            core_->sessions.emplace(this, weak_from_this());
        }
        net::dispatch(stream_.get_executor(), [self = self()] {
            if constexpr (kTls) {
                self->state_ = State::handshake;
                self->lowest().expires_after(self->core_->options.tls_handshake_timeout);
                self->stream_.async_handshake(
                    net::ssl::stream_base::server,
                    [self](beast::error_code ec) { self->on_handshake(ec); });
            } else {
                self->read_head(true);
            }
        });
    }

    void post_stop() override {
        net::post(stream_.get_executor(), [self = self()] {
            self->stopping_ = true;
            // Nothing asked yet: nothing to finish.
            if (self->state_ == State::idle || self->state_ == State::handshake ||
                self->state_ == State::header) {
                self->cut();
            }
        });
    }

    void post_cut() override {
        net::post(stream_.get_executor(), [self = self()] { self->cut(); });
    }

  private:
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
    enum class State { handshake, idle, header, admitting, body, handling, writing, closing };
    using Parser = bhttp::request_parser<bhttp::buffer_body>;

    std::shared_ptr<Session> self() {
        return std::static_pointer_cast<Session>(shared_from_this());
    }
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
    /// The target as sent (Beast lets no control character into it), cut to 200 bytes: what the
    /// log says of a request, never its decoded path, which a stranger could fill with escapes.
    std::string logged_target() const {
        if (request_.target.empty()) {
            return "-";
        }
        return request_.target.size() <= 200 ? request_.target
                                             : request_.target.substr(0, 200) + "…";
    }
    const HttpServerOptions& options() const { return core_->options; }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            if (ec == beast::error::timeout) {
                ++core_->counters.timeouts;
                core_->refusals.warn(fmt::format("{}: no TLS handshake within {} ms, cut", remote_,
                                                 options().tls_handshake_timeout.count()));
            }
            cut();
            return;
        }
        read_head(true);
    }

    /// The next request: on a kept-alive connection, its first byte within the idle timeout; then
    /// the whole header within the header timeout.
    void read_head(bool first) {
        if (stopping_ || core_->stopping) {
            cut();
            return;
        }
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
        // Counted here, against the route's policy. Not boost::none: Beast 1.74 compares a length
        // with the optional, and any length is "over" an empty one.
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        request_ = HttpRequest{};
        policy_ = BodyPolicy{};
        received_ = 0;
        keep_alive_ = false;
        has_body_ = false;
        version_ = 11;
        if (!first && buffer_.size() == 0) {
            state_ = State::idle;
            buffer_.shrink_to_fit();  // an idle connection holds no buffer
            lowest().expires_after(options().idle_timeout);
            stream_.async_read_some(
                buffer_.prepare(512), [self = self()](beast::error_code ec, std::size_t n) {
                    self->buffer_.commit(n);
                    if (ec) {
                        self->cut();  // idle too long, or gone: nothing was asked
                        return;
                    }
                    self->read_header();
                });
            return;
        }
        read_header();
    }

    void read_header() {
        state_ = State::header;
        lowest().expires_after(options().header_timeout);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            [self = self()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        if (ec) {
            if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
                ++core_->counters.header_too_large;
                refuse(431, fmt::format("phần đầu yêu cầu dài quá {} byte / the request header is "
                                        "over {} bytes",
                                        options().max_header_bytes, options().max_header_bytes));
            } else if (ec == beast::error::timeout) {
                ++core_->counters.timeouts;
                core_->refusals.warn(fmt::format("{}: headers not complete within {} ms, cut",
                                                 remote_, options().header_timeout.count()));
                cut();
            } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                       ec == net::error::eof || ec == net::error::connection_reset ||
                       ec == net::error::operation_aborted || ec == net::error::bad_descriptor ||
                       ec == net::ssl::error::stream_truncated) {
                cut();
            } else {
                ++core_->counters.malformed;
                refuse(400, fmt::format("yêu cầu HTTP hỏng: {} / malformed HTTP request: {}",
                                        ec.message(), ec.message()));
            }
            return;
        }
        ++core_->counters.requests;
        const auto& head = parser_->get();
        request_.method = std::string(head.method_string());
        request_.target = std::string(head.target());
        keep_alive_ = head.keep_alive();
        version_ = head.version();
        for (const auto& field : head) {
            request_.headers.emplace(std::string(field.name_string()), std::string(field.value()));
        }
        request_.remote_address = remote_;
        request_.chunked = parser_->chunked();
        if (const auto length = parser_->content_length()) {
            request_.content_length = *length;
        }
        has_body_ = request_.chunked || request_.content_length.value_or(0) > 0;
        const std::string_view target = request_.target;
        if (target.empty() || target.front() != '/') {
            ++core_->counters.malformed;
            refuse(400,
                   "đích của yêu cầu phải là một đường dẫn bắt đầu bằng / / the request "
                   "target must be a path starting with /");
            return;
        }
        const auto question = target.find('?');
        request_.path = percent_decode(target.substr(0, question), false);
        if (question != std::string_view::npos) {
            request_.query = parse_query(target.substr(question + 1));
        }
        admit();
    }

    /// Runs `admit` on a worker; the body stays unread until it answers.
    void admit() {
        state_ = State::admitting;
        lowest().expires_never();
        const bool queued = core_->workers->try_post([self = self()] {
            Admission admission;
            try {
                admission = self->core_->admit(self->request_);
            } catch (const std::exception& e) {
                admission = self->core_->error(
                    500, fmt::format("lỗi máy chủ: {} / server error: {}", e.what(), e.what()));
            }
            net::post(self->stream_.get_executor(),
                      [self, admission = std::move(admission)]() mutable {
                          self->on_admitted(std::move(admission));
                      });
        });
        if (!queued) {
            refuse_busy();
        }
    }

    void on_admitted(Admission admission) {
        if (auto* refusal = std::get_if<HttpResponse>(&admission)) {
            respond(std::move(*refusal), has_body_);
            return;
        }
        policy_ = std::move(std::get<BodyPolicy>(admission));
        request_.context = std::move(policy_.context);
        if (!has_body_) {
            handle();
            return;
        }
        if (policy_.max_bytes == 0) {
            ++core_->counters.too_large;
            refuse(413,
                   "đường dẫn này không nhận nội dung gửi lên / this route takes no "
                   "request body");
            return;
        }
        if (request_.content_length && *request_.content_length > policy_.max_bytes) {
            ++core_->counters.too_large;
            refuse(413, fmt::format("nội dung gửi lên dài {} byte, quá giới hạn {} byte / the "
                                    "request body of {} bytes is over the limit of {} bytes",
                                    *request_.content_length, policy_.max_bytes,
                                    *request_.content_length, policy_.max_bytes));
            return;
        }
        if (policy_.storage == BodyPolicy::Storage::file) {
            open_body_file();
        } else {
            if (request_.content_length && !reserve(*request_.content_length)) {
                return;
            }
            if (request_.content_length) {
                request_.body.reserve(*request_.content_length);
            }
            start_body();
        }
    }

    void open_body_file() {
        state_ = State::body;
        const fs::path dir = options().upload_directory;
        const bool queued = core_->disk->try_post([self = self(), dir] {
            auto created =
                dir.empty() ? std::variant<BodyFile, int>{ENOENT} : create_body_file(dir);
            net::post(self->stream_.get_executor(), [self, dir, created = std::move(created)] {
                if (const int* error = std::get_if<int>(&created)) {
                    self->refuse(*error == ENOSPC || *error == EDQUOT ? 507 : 500,
                                 fmt::format("không tạo được tệp tạm trong \"{}\": {} / cannot "
                                             "create a temporary file in \"{}\": {}",
                                             dir.string(), std::strerror(*error), dir.string(),
                                             std::strerror(*error)));
                    return;
                }
                self->file_ = std::get<BodyFile>(created);
                self->request_.body_file = self->file_.path;
                self->chunk_ = std::make_unique<char[]>(kFileChunkBytes);
                self->start_body();
            });
        });
        if (!queued) {
            cut();  // only when stopping
        }
    }

    /// Tells a client that waits for it (Expect: 100-continue) to send the body, then reads it.
    void start_body() {
        state_ = State::body;
        const std::string& expect = request_.header("Expect");
        if (version_ >= 11 && beast::iequals(expect, "100-continue")) {
            lowest().expires_after(options().response_timeout);
            net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                             [self = self()](beast::error_code ec, std::size_t) {
                                 if (ec) {
                                     self->cut();
                                     return;
                                 }
                                 self->body_started_ = Clock::now();
                                 self->read_body();
                             });
            return;
        }
        body_started_ = Clock::now();
        read_body();
    }

    /// Reads the next piece of the body: up to what the policy allows plus one byte (to notice a
    /// chunked body over it), within the body's deadline so far.
    void read_body() {
        const bool to_file = policy_.storage == BodyPolicy::Storage::file;
        std::uint64_t room = policy_.max_bytes + 1 - received_;
        if (request_.content_length) {
            room = *request_.content_length - received_;
        }
        const std::size_t piece = static_cast<std::size_t>(
            std::min<std::uint64_t>(room, to_file ? kFileChunkBytes : kMemoryChunkBytes));
        char* into = nullptr;
        if (to_file) {
            into = chunk_.get();
        } else {
            if (!request_.content_length && !reserve(piece)) {
                return;
            }
            const std::size_t old = request_.body.size();
            request_.body.resize(old + piece);
            into = request_.body.data() + old;
        }
        piece_ = piece;
        auto& body = parser_->get().body();
        body.data = into;
        body.size = piece;
        body.more = true;
        auto allowance = std::chrono::duration_cast<Clock::duration>(policy_.deadline);
        if (policy_.min_bytes_per_second > 0) {
            allowance += std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(static_cast<double>(received_ + piece) /
                                              static_cast<double>(policy_.min_bytes_per_second)));
        }
        lowest().expires_at(body_started_ + allowance);
        bhttp::async_read(
            stream_, buffer_, *parser_,
            [self = self()](beast::error_code ec, std::size_t) { self->on_body(ec); });
    }

    void on_body(beast::error_code ec) {
        if (ec == bhttp::error::need_buffer) {
            ec = {};
        }
        const std::size_t got = piece_ - parser_->get().body().size;
        received_ += got;
        core_->counters.body_bytes += got;
        const bool to_file = policy_.storage == BodyPolicy::Storage::file;
        if (!to_file) {
            request_.body.resize(request_.body.size() - parser_->get().body().size);
        }
        if (ec) {
            if (ec == beast::error::timeout) {
                ++core_->counters.timeouts;
                core_->refusals.warn(
                    fmt::format("{}: {} {}: body not complete in time ({} bytes of it), cut",
                                remote_, request_.method, logged_target(), received_));
                cut();
            } else if (ec == bhttp::error::partial_message || ec == net::error::eof ||
                       ec == net::error::connection_reset || ec == net::error::operation_aborted ||
                       ec == net::error::bad_descriptor ||
                       ec == net::ssl::error::stream_truncated) {
                cut();
            } else {
                ++core_->counters.malformed;
                refuse(400, fmt::format("nội dung gửi lên hỏng: {} / malformed request body: {}",
                                        ec.message(), ec.message()));
            }
            return;
        }
        if (received_ > policy_.max_bytes) {
            ++core_->counters.too_large;
            refuse(413, fmt::format("nội dung gửi lên vượt quá {} byte / the request body is over "
                                    "{} bytes",
                                    policy_.max_bytes, policy_.max_bytes));
            return;
        }
        const bool done = parser_->is_done();
        if (!to_file) {
            if (done) {
                handle();
            } else {
                read_body();
            }
            return;
        }
        write_piece(got, done);
    }

    /// Writes what arrived to the body's file on the disk thread (closing it after the last
    /// piece); the next read waits for it, so a connection has one piece in memory at most.
    void write_piece(std::size_t size, bool last) {
        const bool queued = core_->disk->try_post([self = self(), size, last] {
            int error = write_all(self->file_.fd, self->chunk_.get(), size);
            if (last && error == 0 && ::close(self->file_.fd) != 0) {
                error = errno;
            }
            if (last) {
                self->file_.fd = -1;
            }
            net::post(self->stream_.get_executor(), [self, error, last] {
                if (error != 0) {
                    const std::string dir = self->options().upload_directory.string();
                    self->refuse(error == ENOSPC || error == EDQUOT ? 507 : 500,
                                 fmt::format("không ghi được nội dung gửi lên vào \"{}\": {} / "
                                             "cannot write the upload in \"{}\": {}",
                                             dir, std::strerror(error), dir, std::strerror(error)));
                    return;
                }
                if (last) {
                    self->chunk_.reset();
                    self->handle();
                } else {
                    self->read_body();
                }
            });
        });
        if (!queued) {
            cut();
        }
    }

    /// Runs `handle` on a worker with the whole request.
    void handle() {
        state_ = State::handling;
        request_.body_bytes = received_;
        lowest().expires_never();
        const bool queued = core_->workers->try_post([self = self()] {
            HttpResponse response;
            try {
                response = self->core_->handle(self->request_);
            } catch (const std::exception& e) {
                response = self->core_->error(
                    500, fmt::format("lỗi máy chủ: {} / server error: {}", e.what(), e.what()));
            }
            net::post(self->stream_.get_executor(),
                      [self, response = std::move(response)]() mutable {
                          self->respond(std::move(response), false);
                      });
        });
        if (!queued) {
            refuse_busy();
        }
    }

    bool reserve(std::uint64_t bytes) {
        if (!core_->reserve_memory(bytes)) {
            ++core_->counters.busy;
            core_->refusals.warn(fmt::format("{}: {} {}: memory for bodies is full, 503", remote_,
                                             request_.method, logged_target()));
            HttpResponse busy = core_->error(503, busy_message());
            busy.headers.emplace_back("Retry-After", "5");
            respond(std::move(busy), true);
            return false;
        }
        reserved_ += bytes;
        return true;
    }

    void refuse_busy() {
        ++core_->counters.busy;
        core_->refusals.warn(
            fmt::format("{}: {} {}: workers busy, 503", remote_, request_.method, logged_target()));
        HttpResponse busy = core_->error(503, busy_message());
        busy.headers.emplace_back("Retry-After", "1");
        respond(std::move(busy), state_ != State::handling && has_body_);
    }

    /// The server's own refusal; the connection closes after it (the rest of the request is not
    /// read).
    void refuse(int status, const std::string& message) {
        if (status != 503) {
            core_->refusals.warn(fmt::format("{}: {} {} → {}: {}", remote_,
                                             request_.method.empty() ? "-" : request_.method,
                                             logged_target(), status, message));
        }
        respond(core_->error(status, message), true);
    }

    /// Writes `response`; then the next request, or a close when `close`, the client or stop()
    /// asks for one.
    void respond(HttpResponse response, bool close) {
        state_ = State::writing;
        close = close || !keep_alive_ || stopping_ || core_->stopping;
        response_.emplace();
        auto& out = *response_;
        out.version(version_ == 10 ? 10 : 11);
        // A status a callback made up must not throw on an I/O thread.
        out.result(static_cast<unsigned>(
            response.status >= 100 && response.status <= 599 ? response.status : 500));
        for (auto& [name, value] : response.headers) {
            out.insert(name, value);
        }
        if (!response.content_type.empty()) {
            out.set(bhttp::field::content_type, response.content_type);
        }
        const std::size_t size = response.body.size();
        if (request_.method == "HEAD") {
            out.content_length(size);
        } else {
            out.body() = std::move(response.body);
            out.prepare_payload();
        }
        out.keep_alive(!close);
        lowest().expires_after(
            options().response_timeout +
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(
                static_cast<double>(size) / static_cast<double>(std::max<std::uint64_t>(
                                                options().min_response_bytes_per_second, 1)))));
        bhttp::async_write(stream_, out, [self = self(), close](beast::error_code ec, std::size_t) {
            self->response_.reset();
            self->end_request();
            if (ec) {
                if (ec == beast::error::timeout) {
                    ++self->core_->counters.timeouts;
                }
                self->cut();
            } else if (close) {
                self->finish();
            } else {
                self->read_head(false);
            }
        });
    }

    /// Releases what the request held: its memory reservation, its body file (removed on the
    /// disk thread: unlinking a large file can take a while).
    void end_request() {
        if (reserved_ > 0) {
            core_->memory_bodies.fetch_sub(reserved_);
            reserved_ = 0;
        }
        request_.body.clear();
        request_.body.shrink_to_fit();
        chunk_.reset();
        if (file_.fd >= 0 || !file_.path.empty()) {
            BodyFile file = std::exchange(file_, BodyFile{});
            if (!core_->disk->try_post([file]() mutable { file.discard(); })) {
                file.discard();
            }
        }
    }

    /// Closes after an answer: TLS says goodbye; plain TCP stops sending, then reads and drops what
    /// the client still sends (a body or headers not read) until it closes, within a bound, so
    /// that its TCP stack does not answer our close with a reset that loses the answer.
    void finish() {
        state_ = State::closing;
        lowest().expires_after(kLingerTime);
        if constexpr (kTls) {
            stream_.async_shutdown([self = self()](beast::error_code) { self->cut(); });
        } else {
            beast::error_code ignored;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            linger();
        }
    }

    void linger() {
        if (!discard_) {
            discard_ = std::make_unique<char[]>(4096);
        }
        lowest().async_read_some(net::buffer(discard_.get(), 4096),
                                 [self = self()](beast::error_code ec, std::size_t n) {
                                     self->lingered_ += n;
                                     if (ec || self->lingered_ >= kLingerBytes) {
                                         self->cut();
                                         return;
                                     }
                                     self->linger();
                                 });
    }

    void cut() {
        state_ = State::closing;
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

    std::shared_ptr<Core> core_;
    Stream stream_;
    std::string remote_;
    beast::flat_buffer buffer_;
    std::optional<Parser> parser_;
    std::optional<bhttp::response<bhttp::string_body>> response_;
    HttpRequest request_;
    BodyPolicy policy_;
    State state_ = State::idle;
    bool stopping_ = false;
    bool keep_alive_ = false;
    bool has_body_ = false;
    unsigned version_ = 11;
    std::uint64_t received_ = 0;
    std::uint64_t reserved_ = 0;
    std::size_t piece_ = 0;
    Clock::time_point body_started_{};
    BodyFile file_;
    std::unique_ptr<char[]> chunk_;
    std::unique_ptr<char[]> discard_;
    std::size_t lingered_ = 0;
};

// ---------------------------------------------------------------------------------------------

struct HttpServer::Impl {
    // Declared first, destroyed last: handlers it still holds own sessions and sockets.
    net::io_context io;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::shared_ptr<Core> core;
    std::optional<tcp::acceptor> acceptor;
    std::optional<net::steady_timer> retry;
    std::vector<std::thread> threads;
    int port = 0;
    bool running = false;
    bool accepting = false;

    void accept() {
        acceptor->async_accept(
            net::make_strand(io),
            [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (!accepting) {
            return;
        }
        if (ec) {
            if (ec == net::error::no_descriptors || ec.value() == ENFILE ||
                ec == net::error::no_buffer_space || ec == net::error::no_memory) {
                // Out of descriptors: the backlog waits while sessions end.
                core->refusals.warn(fmt::format("accept: {}; again in 100 ms", ec.message()));
                retry->expires_after(kAcceptRetry);
                retry->async_wait([this](beast::error_code) {
                    if (accepting) {
                        accept();
                    }
                });
                return;
            }
            accept();
            return;
        }
        beast::error_code peer_error;
        const auto peer = socket.remote_endpoint(peer_error);
        if (peer_error) {
            accept();
            return;
        }
        const std::string remote = address_text(peer);
        std::string why;
        if (!core->take_slot(remote, why)) {
            ++core->counters.refused;
            core->refusals.warn(fmt::format("{}: connection refused: {}", remote, why));
            refuse_connection(std::move(socket), why);
        } else {
            ++core->counters.accepted;
            if (core->ssl) {
                using TlsStream = beast::ssl_stream<beast::tcp_stream>;
                std::make_shared<Session<TlsStream>>(
                    core, TlsStream(beast::tcp_stream(std::move(socket)), *core->ssl), remote)
                    ->start();
            } else {
                std::make_shared<Session<beast::tcp_stream>>(
                    core, beast::tcp_stream(std::move(socket)), remote)
                    ->start();
            }
        }
        accept();
    }

    /// Over a cap: one write that never waits (a plain-text 503 the client may read), then close.
    void refuse_connection(tcp::socket socket, const std::string& why) {
        beast::error_code ignored;
        if (!core->ssl) {
            const std::string message = fmt::format(
                "quá nhiều kết nối, hãy thử lại sau: {} / too many connections, try again later",
                why);
            const std::string answer = fmt::format(
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{}\n",
                message.size() + 1, message);
            socket.non_blocking(true, ignored);
            socket.write_some(net::buffer(answer), ignored);
            socket.shutdown(tcp::socket::shutdown_send, ignored);
        }
        socket.close(ignored);
    }

    std::vector<std::shared_ptr<SessionBase>> live_sessions() {
        std::vector<std::shared_ptr<SessionBase>> out;
        std::lock_guard lock(core->mutex);
        for (auto& [_, weak] : core->sessions) {
            if (auto session = weak.lock()) {
                out.push_back(std::move(session));
            }
        }
        return out;
    }

    bool wait_sessions_gone(std::chrono::milliseconds bound) {
        std::unique_lock lock(core->mutex);
        return core->sessions_changed.wait_for(lock, bound,
                                               [this] { return core->sessions.empty(); });
    }
};

HttpServer::HttpServer(HttpServerOptions options, AdmitFunction admit, HandleFunction handle)
    : impl_(std::make_unique<Impl>()) {
    impl_->core = std::make_shared<Core>();
    impl_->core->options = std::move(options);
    impl_->core->admit = std::move(admit);
    impl_->core->handle = std::move(handle);
}

HttpServer::~HttpServer() {
    stop();
}

Result<void> HttpServer::start() {
    auto& impl = *impl_;
    auto& core = *impl.core;
    const auto& options = core.options;
    if (impl.running) {
        return {};
    }
    const bool tls = !options.tls_certificate.empty() || !options.tls_key.empty();
    if (tls) {
        if (options.tls_certificate.empty() || options.tls_key.empty()) {
            return fail(Error::Code::invalid_input,
                        "TLS cần cả chứng chỉ lẫn khoá (--http-tls-cert, --http-tls-key) / TLS "
                        "needs both a certificate and a key (--http-tls-cert, --http-tls-key)");
        }
        auto ssl = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
        ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                         net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                         net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
        // A client asking to renegotiate could make the server redo the costly half again and
        // again on one connection.
        SSL_CTX_set_options(ssl->native_handle(), SSL_OP_NO_RENEGOTIATION);
        beast::error_code ec;
        ssl->use_certificate_chain_file(options.tls_certificate.string(), ec);
        if (ec) {
            return fail(Error::Code::invalid_input,
                        fmt::format("không dùng được chứng chỉ TLS {}: {} / the TLS certificate "
                                    "{} cannot be used: {}",
                                    options.tls_certificate.string(), ec.message(),
                                    options.tls_certificate.string(), ec.message()));
        }
        ssl->use_private_key_file(options.tls_key.string(), net::ssl::context::pem, ec);
        if (ec || SSL_CTX_check_private_key(ssl->native_handle()) != 1) {
            const std::string why = ec ? ec.message()
                                       : "không khớp chứng chỉ / does not match "
                                         "the certificate";
            return fail(Error::Code::invalid_input,
                        fmt::format("không dùng được khoá TLS {}: {} / the TLS key {} cannot be "
                                    "used: {}",
                                    options.tls_key.string(), why, options.tls_key.string(), why));
        }
        core.ssl = std::move(ssl);
    }
    if (!options.upload_directory.empty()) {
        std::error_code ec;
        const fs::path& dir = options.upload_directory;
        if (!fs::is_directory(dir, ec)) {
            return fail(Error::Code::invalid_input,
                        fmt::format("thư mục tải lên \"{}\" không có / the upload directory "
                                    "\"{}\" does not exist",
                                    dir.string(), dir.string()));
        }
        // Files a crash left behind: nobody else writes names of this shape here.
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().filename().string().starts_with(kUploadPrefix)) {
                fs::remove(entry.path(), ec);
            }
        }
        auto probe = create_body_file(dir);
        if (const int* error = std::get_if<int>(&probe)) {
            return fail(Error::Code::invalid_input,
                        fmt::format("không ghi được vào thư mục tải lên \"{}\": {} / cannot write "
                                    "in the upload directory \"{}\": {}",
                                    dir.string(), std::strerror(*error), dir.string(),
                                    std::strerror(*error)));
        }
        std::get<BodyFile>(probe).discard();
    }

    beast::error_code ec;
    tcp::resolver resolver(impl.io);
    const auto endpoints =
        resolver.resolve(options.host, std::to_string(options.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    const auto cannot_listen = [&](const std::string& why) {
        return fail(Error::Code::invalid_input,
                    fmt::format("không nghe được trên {}:{}: {} / cannot listen on {}:{}: {}",
                                options.host, options.port, why, options.host, options.port, why));
    };
    if (ec || endpoints.empty()) {
        return cannot_listen(ec ? ec.message() : "không phải địa chỉ / not an address");
    }
    impl.acceptor.emplace(net::make_strand(impl.io));
    auto& acceptor = *impl.acceptor;
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        impl.acceptor.reset();
        return cannot_listen(ec.message());
    }
    impl.port = acceptor.local_endpoint().port();
    impl.retry.emplace(acceptor.get_executor());

    core.stopping = false;
    core.workers = std::make_unique<WorkerPool>("worker", options.workers, options.worker_queue);
    // One outstanding job per connection at most: the queue never refuses a live one.
    core.disk = std::make_unique<WorkerPool>("disk", 1, options.max_connections + 16);
    impl.accepting = true;
    impl.running = true;
    impl.work.emplace(impl.io.get_executor());
    net::post(acceptor.get_executor(), [&impl] { impl.accept(); });
    for (std::size_t i = 0; i < std::max<std::size_t>(options.io_threads, 1); ++i) {
        impl.threads.emplace_back([&impl] {
            for (;;) {
                try {
                    impl.io.run();
                    return;
                } catch (const std::exception& e) {
                    spdlog::error("http: an I/O handler failed: {}", e.what());
                }
            }
        });
    }
    return {};
}

void HttpServer::stop() {
    auto& impl = *impl_;
    if (!impl.running) {
        return;
    }
    impl.running = false;
    auto& core = *impl.core;
    core.stopping = true;
    // No new connections: the acceptor closes on its own strand, and this waits for it.
    std::promise<void> closed;
    net::post(impl.acceptor->get_executor(), [&impl, &closed] {
        impl.accepting = false;
        beast::error_code ignored;
        impl.acceptor->close(ignored);
        impl.retry->cancel();
        closed.set_value();
    });
    closed.get_future().wait();
    for (auto& session : impl.live_sessions()) {
        session->post_stop();
    }
    if (!impl.wait_sessions_gone(core.options.stop_grace)) {
        for (auto& session : impl.live_sessions()) {
            session->post_cut();
        }
    }
    // Callbacks not started are dropped; one running finishes (its answer finds a closed socket).
    core.workers->stop();
    impl.wait_sessions_gone(1s);
    core.disk->stop();
    impl.work.reset();
    impl.io.stop();
    for (auto& thread : impl.threads) {
        thread.join();
    }
    impl.threads.clear();
}

int HttpServer::port() const {
    return impl_->port;
}

bool HttpServer::tls() const {
    return impl_->core->ssl != nullptr;
}

HttpServerStats HttpServer::stats() const {
    const auto& core = *impl_->core;
    const auto& c = core.counters;
    HttpServerStats out;
    {
        std::lock_guard lock(impl_->core->mutex);
        out.connections_open = core.open;
    }
    out.connections_accepted = c.accepted;
    out.connections_refused = c.refused;
    out.requests = c.requests;
    out.refused_too_large = c.too_large;
    out.refused_header_too_large = c.header_too_large;
    out.refused_busy = c.busy;
    out.malformed = c.malformed;
    out.timeouts = c.timeouts;
    out.body_bytes_read = c.body_bytes;
    return out;
}

}  // namespace loa::controller::http
