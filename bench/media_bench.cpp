// Media transfer benchmark (issue 4): one real loa-controller process serving N in-process node
// fetchers, measured against a raw ZeroMQ push of the same bytes in the same run.
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bench_support.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/media/content_store.hpp"
#include "loa/node/media_fetcher.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/envelope.hpp"

namespace fs = std::filesystem;
using namespace loa;

namespace {

using namespace loa::bench;

constexpr std::uint32_t kFrameBytes = 64 * 1024;  // the controller's transfer_chunk_bytes
constexpr int kSenderQueue = 64;                  // the controller's send_queue_per_node
constexpr std::uint64_t kMiB = 1024 * 1024;

struct Options {
    int nodes = 100;
    int megabytes = 32;
    int window = node::FetchOptions{}.max_window;
    int timeout_s = 300;
    bool json = false;
    bool keep = false;
    bool no_light = false;
    std::string controller = LOA_CONTROLLER_BIN;
    std::string node_root;  ///< where the nodes' stores go; tmpfs by default
    // The hidden --raw-sender mode: the baseline's sending process.
    bool raw_sender = false;
    int raw_port = 0;
};

/// The media: random bytes (the transfer path serves any stored content by hash). Both phases
/// send exactly these bytes.
std::string make_media(std::uint64_t size) {
    std::string bytes(size, '\0');
    std::mt19937_64 rng(2026);
    for (std::uint64_t i = 0; i + 8 <= size; i += 8) {
        std::uint64_t v = rng();
        std::memcpy(bytes.data() + i, &v, 8);
    }
    return bytes;
}

// ---- what the kernel says about processes and sockets ---------------------------------------

/// Transmitted bytes of the loopback interface. On `lo` every packet is sent once and received
/// once, so tx alone counts each byte on the wire once, headers included. Machine-wide.
std::optional<std::uint64_t> loopback_tx_bytes() {
    std::ifstream in("/proc/net/dev");
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name != "lo") {
            continue;
        }
        std::istringstream fields(line.substr(colon + 1));
        std::uint64_t value = 0, tx = 0;
        for (int i = 0; i < 9 && fields >> value; ++i) {
            tx = value;  // rx: 8 fields, then tx bytes
        }
        return fields ? std::optional(tx) : std::nullopt;
    }
    return std::nullopt;
}

/// Kernel counters of this process's TCP connections to one port (our end of them): exact for
/// the benchmark's own traffic, whatever else uses the loopback interface meanwhile.
struct TcpCounters {
    std::uint64_t bytes_out = 0;  ///< data bytes sent, retransmissions included
    std::uint64_t bytes_in = 0;
    std::uint64_t segments = 0;  ///< both ways, pure ACKs included
    int connections = 0;
};

TcpCounters tcp_counters(int peer_port) {
    TcpCounters total;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        int fd = std::atoi(entry.path().filename().c_str());
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
            continue;
        }
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) != peer_port) {
            continue;
        }
        tcp_info info{};
        len = sizeof info;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
            continue;
        }
        total.bytes_out += info.tcpi_bytes_sent;
        total.bytes_in += info.tcpi_bytes_received;
        total.segments += info.tcpi_segs_out + info.tcpi_segs_in;
        ++total.connections;
    }
    return total;
}

/// Bytes of headers a segment carries on `lo`: Ethernet 14, IPv4 20, TCP 20 (+12 timestamps).
std::uint64_t loopback_header_bytes() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_timestamps");
    int timestamps = 1;
    in >> timestamps;
    return 14 + 20 + 20 + (timestamps != 0 ? 12 : 0);
}

// ---- child processes --------------------------------------------------------------------------

std::string tail_of(const fs::path& log) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

// ---- results ----------------------------------------------------------------------------------

struct Phase {
    double seconds = 0;
    int completed = 0;
    std::uint64_t media_bytes = 0;  ///< nodes × size
    std::uint64_t frame_bytes = 0;  ///< application frames, both ways, as the nodes counted them
    std::optional<std::uint64_t> loopback_bytes;  ///< lo tx delta (machine-wide)
    TcpCounters tcp;                              ///< delta over the phase
    std::uint64_t tcp_wire_bytes = 0;             ///< tcp payload + headers per segment
    double peer_cpu_s = 0;                        ///< the sending process
    double peer_main_cpu_s = 0;                   ///< its main thread (ZeroMQ I/O is apart)
    double self_cpu_s = 0;                        ///< this process (the nodes)
    double node_work_s = 0;  ///< wall time this thread spent handling frames and ticking
    double throughput() const { return seconds > 0 ? media_bytes / seconds : 0; }
};

TcpCounters minus(const TcpCounters& a, const TcpCounters& b) {
    return {a.bytes_out - b.bytes_out, a.bytes_in - b.bytes_in, a.segments - b.segments,
            a.connections};
}

// ---- raw baseline -----------------------------------------------------------------------------

/// --raw-sender: binds a ROUTER, waits for `nodes` receivers to say ready, then pushes each the
/// media in 64 KiB frames without copying them, as fast as the receivers' queues take them, and
/// exits once every receiver has said it has everything.
int run_raw_sender(const Options& options) {
    const std::string media = make_media(static_cast<std::uint64_t>(options.megabytes) * kMiB);
    zmq::context_t context(1);
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);  // a full queue says EAGAIN instead of dropping
    router.set(zmq::sockopt::sndhwm, kSenderQueue);
    router.set(zmq::sockopt::backlog, 1024);
    router.bind(fmt::format("tcp://127.0.0.1:{}", options.raw_port));

    struct Receiver {
        std::string id;
        std::uint64_t offset = 0;
    };
    std::vector<Receiver> receivers;
    auto receive_one = [&]() {
        zmq::message_t id, body;
        (void)router.recv(id);
        (void)router.recv(body);
        return id.to_string();
    };
    while (static_cast<int>(receivers.size()) < options.nodes) {
        receivers.push_back({receive_one(), 0});
    }
    std::size_t finished = 0;
    while (finished < receivers.size()) {
        bool progress = false;
        for (auto& r : receivers) {
            // A few frames per receiver per round, so all of them move together like the nodes.
            for (int k = 0; k < 4 && r.offset < media.size(); ++k) {
                if (!router.send(zmq::buffer(r.id),
                                 zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                    break;  // this receiver's queue is full
                }
                auto length = std::min<std::uint64_t>(kFrameBytes, media.size() - r.offset);
                zmq::message_t frame(const_cast<char*>(media.data()) + r.offset, length, nullptr,
                                     nullptr);
                router.send(frame, zmq::send_flags::none);
                r.offset += length;
                progress = true;
                if (r.offset == media.size()) {
                    ++finished;
                }
            }
        }
        if (!progress) {
            zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLOUT, 0}};
            zmq::poll(items, 1, std::chrono::milliseconds(10));
        }
    }
    for (std::size_t done = 0; done < receivers.size(); ++done) {
        (void)receive_one();  // "done"
    }
    return 0;
}

Phase run_raw(const Options& options, std::uint64_t size, const fs::path& dir) {
    const int port = free_tcp_port();
    // Counted from before the sender starts: ZeroMQ reads ahead of the first frame handed to us.
    auto lo0 = loopback_tx_bytes();
    TcpCounters tcp0;  // no connection to `port` yet
    double self_cpu0 = self_cpu_seconds();
    double sender_cpu0 = 0, sender_main_cpu0 = 0;
    Child sender({"/proc/self/exe", "--raw-sender", "--raw-port", std::to_string(port), "--nodes",
                  std::to_string(options.nodes), "--megabytes", std::to_string(options.megabytes)},
                 dir / "raw-sender.log");
    zmq::context_t context(1);
    std::vector<zmq::socket_t> sockets;
    std::vector<zmq::pollitem_t> items;
    for (int i = 0; i < options.nodes; ++i) {
        sockets.emplace_back(context, zmq::socket_type::dealer);
        sockets.back().set(zmq::sockopt::linger, 0);
        sockets.back().connect(fmt::format("tcp://127.0.0.1:{}", port));
        sockets.back().send(zmq::str_buffer("ready"));  // queued until connected
    }
    for (auto& s : sockets) {
        items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    }
    std::vector<std::uint64_t> received(sockets.size(), 0);
    Phase phase;
    phase.media_bytes = size * sockets.size();
    std::chrono::steady_clock::time_point t0;
    bool started = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
    while (phase.completed < options.nodes && std::chrono::steady_clock::now() < deadline) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
        auto work0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < sockets.size(); ++i) {
            if (!(items[i].revents & ZMQ_POLLIN)) {
                continue;
            }
            zmq::message_t frame;
            while (sockets[i].recv(frame, zmq::recv_flags::dontwait)) {
                if (!started) {
                    // The clock starts with the first byte: the sender's start-up is not counted.
                    started = true;
                    t0 = work0;
                }
                phase.frame_bytes += frame.size();
                received[i] += frame.size();
                if (received[i] == size) {
                    ++phase.completed;
                    if (phase.completed == options.nodes) {
                        phase.seconds = seconds_since(t0);
                        auto lo1 = loopback_tx_bytes();
                        if (lo0 && lo1) {
                            phase.loopback_bytes = *lo1 - *lo0;
                        }
                        phase.tcp = minus(tcp_counters(port), tcp0);
                        phase.peer_cpu_s = proc_cpu_seconds(sender.pid()) - sender_cpu0;
                        phase.peer_main_cpu_s =
                            proc_cpu_seconds(sender.pid(), true) - sender_main_cpu0;
                        phase.self_cpu_s = self_cpu_seconds() - self_cpu0;
                    }
                    sockets[i].send(zmq::str_buffer("done"), zmq::send_flags::dontwait);
                }
            }
        }
        if (started) {
            phase.node_work_s += seconds_since(work0);
        }
        if (!started && !sender.running()) {
            throw std::runtime_error("the raw sender stopped: " + tail_of(dir / "raw-sender.log"));
        }
    }
    sender.stop(false, std::chrono::seconds(10));
    return phase;
}

// ---- loa transfer -----------------------------------------------------------------------------

/// Where the nodes' thread spends its time, to tell the nodes' share from the controller's.
struct NodeTimes {
    double decode_s = 0;  ///< protocol::decode of every frame
    double chunk_s = 0;   ///< MediaFetcher::on_chunk: chunk digest, write, next requests
    double finish_s = 0;  ///< on_chunk calls that completed a file: fsync, whole-file SHA-256
};

/// One simulated node agent: a DEALER and a MediaFetcher driven as node/src/session.cpp does.
struct BenchNode {
    std::string id;
    zmq::socket_t dealer;
    std::unique_ptr<media::ContentStore> store;
    std::unique_ptr<node::MediaFetcher> fetcher;
    std::uint64_t next_message_id = 1;
    std::int64_t hello_sent_us = 0;
    bool welcomed = false;
    bool done = false;
    std::uint64_t* frame_bytes = nullptr;  ///< shared counter of application bytes
    NodeTimes* times = nullptr;            ///< shared
    // A light node (the phase the throughput target is judged on) has no fetcher: it keeps
    // `light_window` requests in flight from the manifest on, and counts what arrives without
    // hashing or storing it.
    int light_window = 0;
    std::uint64_t light_total = 0;
    std::uint32_t light_chunk = 0;
    std::uint64_t light_next = 0;
    std::uint64_t light_received = 0;
    std::string light_hash;

    bool send(wire::Envelope envelope) {
        envelope.set_message_id(next_message_id++);
        std::string bytes = protocol::encode(std::move(envelope));
        // ZMQ_IMMEDIATE: fails (EAGAIN) while not connected, as in the agent.
        if (!dealer.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
            return false;
        }
        *frame_bytes += bytes.size();
        return true;
    }
    void send_hello() {
        hello_sent_us = now_us();
        wire::Envelope out;
        out.mutable_hello()->set_node_id(id);
        out.mutable_hello()->set_agent_version("media-bench");
        out.mutable_hello()->set_node_time_us(hello_sent_us);
        send(std::move(out));
    }
};

struct LoaResult {
    Phase phase;
    std::uint64_t rss_before_kb = 0;        ///< controller, all nodes welcomed, before the transfer
    std::uint64_t rss_peak_sampled_kb = 0;  ///< highest VmRSS seen every 100 ms meanwhile
    std::uint64_t hwm_kb = 0;               ///< controller VmHWM after the transfer
    int verified = 0;                       ///< nodes whose store holds the file under its hash
    node::FetchStats stats;                 ///< summed over nodes
    NodeTimes times;
    int max_window_seen = 0;
};

void light_request_more(BenchNode& n, int count) {
    for (int i = 0; i < count && n.light_next < n.light_total; ++i) {
        wire::Envelope out;
        auto* request = out.mutable_chunk_request();
        request->set_media_hash(n.light_hash);
        request->set_offset(n.light_next);
        request->set_length(n.light_chunk);
        if (!n.send(std::move(out))) {
            return;
        }
        n.light_next += n.light_chunk;
    }
}

void handle_frame(BenchNode& n, std::string_view frame, std::int64_t now) {
    auto t0 = std::chrono::steady_clock::now();
    auto decoded = protocol::decode(frame);
    n.times->decode_s += seconds_since(t0);
    if (!decoded) {
        spdlog::warn("{}: refused frame: {}", n.id, decoded.error().message);
        return;
    }
    const wire::Envelope& in = *decoded;
    switch (in.body_case()) {
        case wire::Envelope::kWelcome:
            n.welcomed = true;
            break;
        case wire::Envelope::kScheduleUpdate: {
            // Acked as an agent would, so the controller does not push it again every 5 s.
            wire::Envelope out;
            out.mutable_schedule_ack()->set_timeline_hash(in.schedule_update().timeline_hash());
            n.send(std::move(out));
            break;
        }
        case wire::Envelope::kManifest:
            if (!n.fetcher) {
                n.light_total = in.manifest().total_size();
                n.light_chunk = in.manifest().chunk_size();
                light_request_more(n, n.light_window);
            } else {
                n.fetcher->on_manifest(in.manifest(), now);
            }
            break;
        case wire::Envelope::kChunk:
            if (!n.fetcher) {
                n.light_received += in.chunk().data().size();
                light_request_more(n, 1);
            } else {
                auto completed = n.fetcher->stats().files_completed;
                auto t1 = std::chrono::steady_clock::now();
                n.fetcher->on_chunk(in.chunk(), now);
                (n.fetcher->stats().files_completed != completed ? n.times->finish_s
                                                                 : n.times->chunk_s) +=
                    seconds_since(t1);
            }
            break;
        case wire::Envelope::kError:
            if (in.error().code() == wire::NEED_HELLO) {
                n.welcomed = false;
                if (n.fetcher) {
                    n.fetcher->on_session_lost();
                }
                n.send_hello();
            } else if (in.error().code() == wire::NOT_FOUND) {
                spdlog::error("{}: {}", n.id, in.error().message());
                if (n.fetcher) {
                    n.fetcher->on_not_found(now);
                }
            } else {
                spdlog::error("{}: controller refused: {}", n.id, in.error().message());
            }
            break;
        default:
            break;  // heartbeat acks and anything else: nothing to answer
    }
}

/// The controller's public key and each bench node's key pair (enrolled before the runs).
std::string g_controller_key;
std::vector<protocol::CurveKeyPair> g_node_keys;

/// The loa transfer: a fresh loa-controller process and N nodes. With `light`, nodes without
/// fetchers (no hashing, no store) show what the controller serves when nodes cost nothing.
LoaResult run_loa(const Options& options, const std::string& hash, std::uint64_t size,
                  const fs::path& dir, const fs::path& node_root, bool light) {
    const int port = free_tcp_port();
    const std::string endpoint = fmt::format("tcp://127.0.0.1:{}", port);
    const fs::path log = dir / (light ? "controller-light.log" : "controller.log");
    Child controller(
        {options.controller, "--data", dir.string(), "--bind", endpoint, "--http-bind", "none"},
        log);
    LoaResult result;
    Phase& phase = result.phase;
    phase.media_bytes = size * static_cast<std::uint64_t>(options.nodes);
    std::uint64_t frame_bytes = 0;

    zmq::context_t context(1);
    std::vector<std::unique_ptr<BenchNode>> nodes;
    node::FetchOptions fetch;
    fetch.max_window = options.window;
    for (int i = 0; i < options.nodes; ++i) {
        auto n = std::make_unique<BenchNode>(BenchNode{
            fmt::format("bench-{:03}", i), zmq::socket_t(context, zmq::socket_type::dealer)});
        n->dealer.set(zmq::sockopt::linger, 0);
        n->dealer.set(zmq::sockopt::immediate, 1);
        n->dealer.set(zmq::sockopt::curve_serverkey, g_controller_key);
        n->dealer.set(zmq::sockopt::curve_publickey, g_node_keys.at(i).public_key);
        n->dealer.set(zmq::sockopt::curve_secretkey, g_node_keys.at(i).secret_key);
        n->dealer.connect(endpoint);
        n->frame_bytes = &frame_bytes;
        n->times = &result.times;
        if (light) {
            n->light_window = options.window;
            n->light_hash = hash;
        } else {
            n->store = std::make_unique<media::ContentStore>(node_root / n->id);
            BenchNode* self = n.get();
            n->fetcher = std::make_unique<node::MediaFetcher>(
                *n->store, fetch, [self](wire::Envelope e) { return self->send(std::move(e)); });
        }
        nodes.push_back(std::move(n));
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& n : nodes) {
        items.push_back({n->dealer.handle(), 0, ZMQ_POLLIN, 0});
    }
    auto drain = [&](std::size_t i, std::int64_t now) {
        zmq::message_t frame;
        while (nodes[i]->dealer.recv(frame, zmq::recv_flags::dontwait)) {
            frame_bytes += frame.size();
            handle_frame(*nodes[i], frame.to_string_view(), now);
        }
    };

    // Sessions first: every node says hello (again every 200 ms until the controller is up).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::any_of(nodes.begin(), nodes.end(), [](auto& n) { return !n->welcomed; })) {
        if (std::chrono::steady_clock::now() > deadline || !controller.running()) {
            throw std::runtime_error("the controller did not welcome every node: " + tail_of(log));
        }
        std::int64_t now = now_us();
        for (auto& n : nodes) {
            if (!n->welcomed && now - n->hello_sent_us > 200'000) {
                n->send_hello();
            }
        }
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (items[i].revents & ZMQ_POLLIN) {
                drain(i, now_us());
            }
        }
    }
    // Let the timeline pushes and acks settle so the transfer phase counts only media.
    for (auto settle = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
         std::chrono::steady_clock::now() < settle;) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (items[i].revents & ZMQ_POLLIN) {
                drain(i, now_us());
            }
        }
    }

    result.rss_before_kb = proc_status_value(controller.pid(), "VmRSS");
    frame_bytes = 0;
    result.times = {};
    auto lo0 = loopback_tx_bytes();
    TcpCounters tcp0 = tcp_counters(port);
    double controller_cpu0 = proc_cpu_seconds(controller.pid());
    double controller_main_cpu0 = proc_cpu_seconds(controller.pid(), true);
    double self_cpu0 = self_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    std::int64_t start = now_us();
    for (auto& n : nodes) {
        if (light) {
            wire::Envelope out;
            out.mutable_manifest_request()->set_media_hash(hash);
            n->send(std::move(out));
        } else {
            n->fetcher->set_needs({{hash, start, size}}, start + 3'600'000'000);
            n->fetcher->tick(start);  // the manifest request
        }
    }
    deadline = t0 + std::chrono::seconds(options.timeout_s);
    auto last_tick_all = t0;
    auto last_sample = t0 - std::chrono::seconds(1);
    while (phase.completed < options.nodes && std::chrono::steady_clock::now() < deadline) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
        auto work0 = std::chrono::steady_clock::now();
        std::int64_t now = now_us();
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (!(items[i].revents & ZMQ_POLLIN)) {
                continue;
            }
            BenchNode& n = *nodes[i];
            drain(i, now);
            if (n.done) {
                continue;
            }
            bool finished = false;
            if (light) {
                finished = n.light_total > 0 && n.light_received == n.light_total;
            } else {
                n.fetcher->tick(now);
                finished = n.fetcher->take_ready_news() && n.store->contains(hash);
            }
            if (finished) {
                n.done = true;
                if (++phase.completed == options.nodes) {
                    phase.seconds = seconds_since(t0);
                    auto lo1 = loopback_tx_bytes();
                    if (lo0 && lo1) {
                        phase.loopback_bytes = *lo1 - *lo0;
                    }
                    phase.tcp = minus(tcp_counters(port), tcp0);
                    phase.peer_cpu_s = proc_cpu_seconds(controller.pid()) - controller_cpu0;
                    phase.peer_main_cpu_s =
                        proc_cpu_seconds(controller.pid(), true) - controller_main_cpu0;
                    phase.self_cpu_s = self_cpu_seconds() - self_cpu0;
                    phase.frame_bytes = frame_bytes;
                }
            }
        }
        // Timeouts and retries: every fetcher ticks at least every 10 ms, as the agent's loop.
        if (!light && work0 - last_tick_all >= std::chrono::milliseconds(10)) {
            last_tick_all = work0;
            for (auto& n : nodes) {
                if (!n->done) {
                    n->fetcher->tick(now);
                }
                result.max_window_seen = std::max(result.max_window_seen, n->fetcher->window());
            }
        }
        phase.node_work_s += seconds_since(work0);
        if (work0 - last_sample >= std::chrono::milliseconds(100)) {
            last_sample = work0;
            result.rss_peak_sampled_kb =
                std::max(result.rss_peak_sampled_kb, proc_status_value(controller.pid(), "VmRSS"));
            if (!controller.running()) {
                throw std::runtime_error("the controller stopped: " + tail_of(log));
            }
        }
    }
    result.hwm_kb = proc_status_value(controller.pid(), "VmHWM");
    for (auto& n : nodes) {
        if (light) {
            result.verified += n->light_received == size ? 1 : 0;  // counted, not verified
            continue;
        }
        // complete_partial renamed the file into place only after its SHA-256 matched `hash`.
        auto held = n->store->size_of(hash);
        if (n->store->contains(hash) && held && *held == size) {
            ++result.verified;
        }
        const auto& s = n->fetcher->stats();
        result.stats.chunks_requested += s.chunks_requested;
        result.stats.chunks_accepted += s.chunks_accepted;
        result.stats.chunks_rejected += s.chunks_rejected;
        result.stats.chunks_timed_out += s.chunks_timed_out;
        result.stats.bytes_accepted += s.bytes_accepted;
        result.stats.files_completed += s.files_completed;
    }
    if (phase.completed < options.nodes) {
        phase.seconds = seconds_since(t0);
        phase.frame_bytes = frame_bytes;
    }
    nodes.clear();
    controller.stop(true, std::chrono::seconds(10));
    return result;
}

// ---- report -----------------------------------------------------------------------------------

double ratio(std::uint64_t a, std::uint64_t b) {
    return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0;
}

void finish_wire(Phase& p, std::uint64_t header_bytes) {
    p.tcp_wire_bytes = p.tcp.bytes_out + p.tcp.bytes_in + p.tcp.segments * header_bytes;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Media transfer: one loa-controller serving N nodes, against a raw ZeroMQ push."};
    Options options;
    app.add_option("--nodes", options.nodes, "nodes fetching the file at once")
        ->check(CLI::Range(1, 1000));
    app.add_option("--megabytes", options.megabytes, "media size in MiB")
        ->check(CLI::Range(1, 1024));
    app.add_option("--window", options.window, "the nodes' maximum credit window (chunks)")
        ->check(CLI::Range(1, 64));
    app.add_option("--timeout", options.timeout_s, "seconds before a phase counts as failed");
    app.add_option("--node-root", options.node_root,
                   "directory for the nodes' stores (default: /dev/shm, else the temp dir)");
    app.add_option("--controller", options.controller, "loa-controller executable");
    app.add_flag("--json", options.json, "print the results as JSON instead of a table");
    app.add_flag("--keep", options.keep, "keep the temporary directory (logs, stores)");
    app.add_flag("--no-light", options.no_light,
                 "skip the light-node phase (then throughput is judged end to end)");
    app.add_flag("--raw-sender", options.raw_sender)->group("");
    app.add_option("--raw-port", options.raw_port)->group("");
    CLI11_PARSE(app, argc, argv);

    if (options.raw_sender) {
        return run_raw_sender(options);
    }
    spdlog::set_level(spdlog::level::warn);  // the fetchers log every file at info
    ::signal(SIGPIPE, SIG_IGN);

    const std::uint64_t size = static_cast<std::uint64_t>(options.megabytes) * kMiB;
    std::string pattern = (fs::temp_directory_path() / "loa-media-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        fmt::print(stderr, "cannot create a temporary directory\n");
        return 2;
    }
    const fs::path dir = pattern;
    fs::path node_root = !options.node_root.empty()     ? fs::path(options.node_root)
                         : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                        : dir;
    node_root /= "loa-media-bench-nodes-" + dir.filename().string().substr(16);
    fs::create_directories(node_root);

    int exit_code = 0;
    try {
        // The controller's data: N registered nodes and the media in its store.
        std::string hash;
        {
            auto db = controller::open_database(dir / "controller.db");
            if (!db) {
                throw std::runtime_error(db.error().message);
            }
            // Every connection is CURVE, as in the field: the controller's key, and one key pair
            // per node, enrolled.
            auto controller_keys =
                protocol::load_or_create_key_file(controller::controller_key_file(dir));
            if (!controller_keys) {
                throw std::runtime_error(controller_keys.error());
            }
            g_controller_key = controller_keys->public_key;
            for (int i = 0; i < options.nodes; ++i) {
                controller::NodeRecord rec;
                rec.node_id = fmt::format("bench-{:03}", i);
                rec.kind = "speaker";
                rec.area_path = "vn/bench";
                if (auto added = loa::controller::write_directly(**db,
                                                                 [&](loa::controller::WriteTx& tx) {
                                                                     return controller::add_node(
                                                                         tx, rec, now_us());
                                                                 });
                    !added) {
                    throw std::runtime_error(added.error().message);
                }
                g_node_keys.push_back(protocol::generate_curve_key_pair());
                if (auto enrolled = loa::controller::write_directly(
                        **db,
                        [&](loa::controller::WriteTx& tx) {
                            return controller::enroll_key(tx, rec.node_id,
                                                          g_node_keys.back().public_key, now_us());
                        });
                    !enrolled) {
                    throw std::runtime_error(enrolled.error().message);
                }
            }
            std::ofstream(dir / "media.bin", std::ios::binary) << make_media(size);
            media::ContentStore store(dir / "media");
            auto put = store.put_file(dir / "media.bin");
            if (!put) {
                throw std::runtime_error(put.error().message);
            }
            hash = *put;
            fs::remove(dir / "media.bin");
        }

        Phase raw = run_raw(options, size, dir);
        LoaResult loa = run_loa(options, hash, size, dir, node_root, false);
        std::optional<LoaResult> light;
        if (!options.no_light) {
            light = run_loa(options, hash, size, dir, node_root, true);
        }
        const std::uint64_t header = loopback_header_bytes();
        finish_wire(raw, header);
        finish_wire(loa.phase, header);
        if (light) {
            finish_wire(light->phase, header);
        }

        const Phase& l = loa.phase;
        const bool complete = raw.completed == options.nodes && l.completed == options.nodes &&
                              loa.verified == options.nodes &&
                              (!light || light->verified == options.nodes);
        // The target is the controller's: serving 100 nodes against a raw push to 100
        // receivers. Judged with the light nodes, which run the whole request protocol but,
        // like the raw receivers, do nothing with the bytes. The end-to-end figure with
        // verifying fetchers sharing this machine's cores is printed beside it.
        const double end_to_end_ratio =
            raw.throughput() > 0 ? l.throughput() / raw.throughput() : 0;
        const double light_ratio =
            light && raw.throughput() > 0 ? light->phase.throughput() / raw.throughput() : 0;
        const double throughput_ratio = light ? light_ratio : end_to_end_ratio;
        const char* throughput_source =
            light ? "controller serving protocol clients" : "end to end, verifying nodes";
        const double frame_ratio = ratio(l.frame_bytes, l.media_bytes);
        const double tcp_ratio = ratio(l.tcp_wire_bytes, l.media_bytes);
        const bool have_lo = l.loopback_bytes.has_value();
        const double lo_ratio = ratio(l.loopback_bytes.value_or(0), l.media_bytes);
        // Judged on our own connections' counters: `lo` also carries whatever else runs on the
        // machine. Without them on the loopback count, and without that on the frames.
        const char* wire_source = l.tcp.connections > 0 ? "TCP counters of our sockets"
                                  : have_lo             ? "lo tx, whole machine"
                                                        : "frames: no /proc/net/dev";
        const double wire_ratio = l.tcp.connections > 0 ? tcp_ratio
                                  : have_lo             ? lo_ratio
                                                        : frame_ratio;
        const double mib_s = 1.0 / static_cast<double>(kMiB);

        std::vector<std::pair<std::string, const Phase*>> columns{{"raw ZeroMQ", &raw},
                                                                  {"loa", &l}};
        if (light) {
            columns.emplace_back("loa, light", &light->phase);
        }
        if (options.json) {
            nlohmann::json j;
            j["nodes"] = options.nodes;
            j["media_bytes"] = size;
            j["max_window"] = options.window;
            j["complete"] = complete;
            j["verified_nodes"] = loa.verified;
            for (const auto& [name, p] : columns) {
                nlohmann::json& o = j[p == &raw ? "raw" : p == &l ? "loa" : "loa_light"];
                o = {{"seconds", p->seconds},
                     {"throughput_mib_s", p->throughput() * mib_s},
                     {"frame_bytes", p->frame_bytes},
                     {"tcp_wire_bytes", p->tcp_wire_bytes},
                     {"sender_cpu_s", p->peer_cpu_s},
                     {"sender_main_thread_cpu_s", p->peer_main_cpu_s},
                     {"nodes_cpu_s", p->self_cpu_s},
                     {"nodes_busy_s", p->node_work_s}};
                if (p->loopback_bytes) {
                    o["loopback_tx_bytes"] = *p->loopback_bytes;
                }
            }
            auto memory = [](const LoaResult& r) {
                return nlohmann::json{{"controller_rss_before_kb", r.rss_before_kb},
                                      {"controller_rss_peak_sampled_kb", r.rss_peak_sampled_kb},
                                      {"controller_vmhwm_kb", r.hwm_kb}};
            };
            j["loa"].update(memory(loa));
            j["loa"].update({{"chunks_requested", loa.stats.chunks_requested},
                             {"chunks_accepted", loa.stats.chunks_accepted},
                             {"chunks_rejected", loa.stats.chunks_rejected},
                             {"chunks_timed_out", loa.stats.chunks_timed_out},
                             {"max_window_seen", loa.max_window_seen},
                             {"nodes_decode_s", loa.times.decode_s},
                             {"nodes_on_chunk_s", loa.times.chunk_s},
                             {"nodes_finishing_files_s", loa.times.finish_s}});
            if (light) {
                j["loa_light"].update(memory(*light));
                j["light_throughput_ratio"] = light_ratio;
            }
            j["wire_ratio"] = wire_ratio;
            j["wire_ratio_source"] = wire_source;
            if (have_lo) {
                j["loopback_wire_ratio"] = lo_ratio;
            }
            j["tcp_wire_ratio"] = tcp_ratio;
            j["frame_ratio"] = frame_ratio;
            j["throughput_ratio"] = throughput_ratio;
            j["throughput_ratio_source"] = throughput_source;
            j["end_to_end_throughput_ratio"] = end_to_end_ratio;
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print(
                "media {} MiB to {} nodes ({:.0f} MiB in all), max window {}, nodes' stores in "
                "{}\n\n",
                options.megabytes, options.nodes, l.media_bytes * mib_s, options.window,
                node_root.parent_path().string());
            auto row = [&](const std::string& label, auto value, const char* format) {
                fmt::print("{:<46}", label);
                for (const auto& column : columns) {
                    fmt::print(fmt::runtime(format), value(*column.second));
                }
                fmt::print("\n");
            };
            fmt::print("{:<46}", "");
            for (const auto& column : columns) {
                fmt::print(" {:>12}", column.first);
            }
            fmt::print("\n");
            row(
                "wall time, first byte to last node (s)", [](const Phase& p) { return p.seconds; },
                " {:>12.3f}");
            row(
                "throughput (MiB/s)", [&](const Phase& p) { return p.throughput() * mib_s; },
                " {:>12.0f}");
            row(
                "CPU of the sender: push / controller (s)",
                [](const Phase& p) { return p.peer_cpu_s; }, " {:>12.2f}");
            row(
                "  of which its main thread (s)", [](const Phase& p) { return p.peer_main_cpu_s; },
                " {:>12.2f}");
            row(
                "CPU of this process: the nodes (s)", [](const Phase& p) { return p.self_cpu_s; },
                " {:>12.2f}");
            row(
                "nodes' thread busy, not polling (s)", [](const Phase& p) { return p.node_work_s; },
                " {:>12.2f}");
            row(
                "frame bytes ÷ media bytes",
                [](const Phase& p) { return ratio(p.frame_bytes, p.media_bytes); }, " {:>12.4f}");
            row(
                "TCP wire bytes (our sockets) ÷ media",
                [](const Phase& p) { return ratio(p.tcp_wire_bytes, p.media_bytes); },
                " {:>12.4f}");
            if (have_lo) {
                row(
                    "lo tx bytes (whole machine) ÷ media",
                    [](const Phase& p) {
                        return ratio(p.loopback_bytes.value_or(0), p.media_bytes);
                    },
                    " {:>12.4f}");
            }
            fmt::print(
                "\nloa chunks: {} requested, {} accepted, {} rejected, {} timed out; largest "
                "window {}\n",
                loa.stats.chunks_requested, loa.stats.chunks_accepted, loa.stats.chunks_rejected,
                loa.stats.chunks_timed_out, loa.max_window_seen);
            fmt::print(
                "loa nodes' thread: {:.2f} s decoding frames, {:.2f} s in on_chunk (chunk digest, "
                "write), {:.2f} s finishing files (fsync, whole-file SHA-256)\n",
                loa.times.decode_s, loa.times.chunk_s, loa.times.finish_s);
            fmt::print(
                "controller memory: VmRSS {:.1f} MiB before, {:.1f} MiB highest sampled, VmHWM "
                "{:.1f} MiB\n",
                loa.rss_before_kb / 1024.0, loa.rss_peak_sampled_kb / 1024.0, loa.hwm_kb / 1024.0);
            if (light) {
                fmt::print(
                    "  with light nodes:  VmRSS {:.1f} MiB before, {:.1f} MiB highest sampled, "
                    "VmHWM {:.1f} MiB\n",
                    light->rss_before_kb / 1024.0, light->rss_peak_sampled_kb / 1024.0,
                    light->hwm_kb / 1024.0);
            }
            fmt::print("nodes verified: {} of {}\n\n", loa.verified, options.nodes);
            fmt::print("bytes on the wire ÷ media bytes  {:>7.4f}  target ≤ 1.02  {}  ({})\n",
                       wire_ratio, verdict(wire_ratio <= 1.02), wire_source);
            fmt::print("throughput loa ÷ raw ZeroMQ      {:>7.3f}  target ≥ 0.5   {}  ({})\n",
                       throughput_ratio, verdict(throughput_ratio >= 0.5), throughput_source);
            if (light) {
                fmt::print(
                    "  end to end, verifying nodes    {:>7.3f}  (not the target: the nodes "
                    "hash every byte twice on this machine's cores)\n",
                    end_to_end_ratio);
            }
        }
        if (!complete) {
            fmt::print(stderr, "FAILED: raw {} of {}, loa {} of {} nodes complete, {} verified\n",
                       raw.completed, options.nodes, l.completed, options.nodes, loa.verified);
            exit_code = 1;
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "media_bench: {}\n", e.what());
        exit_code = 2;
    }
    std::error_code ec;
    if (options.keep) {
        fmt::print(stderr, "kept {} and {}\n", dir.string(), node_root.string());
    } else {
        fs::remove_all(node_root, ec);
        fs::remove_all(dir, ec);
    }
    return exit_code;
}
