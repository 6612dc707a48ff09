// The simulator's threads: each drives its share of virtual nodes from one epoll loop, puts the
// link's delay and loss between sessions and sockets, and publishes what the nodes did.
#include "loa/sim/simulator.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "virtual_node.hpp"

namespace loa::sim {

namespace {

using detail::VirtualNode;

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr std::int64_t kPublishEveryUs = 1'000'000;
constexpr int kMaxWaitMs = 100;

/// Each node holds its socket's mailbox (an eventfd) and its TCP connection; a store in a file
/// holds the database, its WAL and the shared-memory index. The limit is raised when that is
/// not enough.
void ensure_file_descriptors(std::size_t nodes, bool store_files) {
    const rlim_t needed = static_cast<rlim_t>(nodes) * (store_files ? 5 : 2) + 64;
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY ||
        files.rlim_cur >= needed) {
        return;
    }
    // A privileged process may raise the hard limit too.
    rlimit raised{needed, std::max(needed, files.rlim_max)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
        return;
    }
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < needed) {
        throw std::runtime_error(fmt::format(
            "{} virtual nodes need about {} file descriptors; the hard limit is {} (ulimit -Hn)",
            nodes, needed, files.rlim_max));
    }
}

/// The sums over some nodes.
SimTotals totals_of(const std::vector<NodeCounts>& nodes) {
    SimTotals t;
    for (const auto& n : nodes) {
        const auto& s = n.session;
        ++t.nodes;
        t.welcomed += s.welcomes > 0 ? 1 : 0;
        t.in_session += n.in_session ? 1 : 0;
        t.hellos += s.hellos;
        t.welcomes += s.welcomes;
        t.reconnects += s.welcomes > 1 ? s.welcomes - 1 : 0;
        t.sessions_lost += s.sessions_lost;
        t.sessions_given_up += s.sessions_given_up;
        t.heartbeats += s.heartbeats;
        t.heartbeat_acks += s.heartbeat_acks;
        t.timelines += s.timelines;
        t.commands += s.commands;
        t.produced += n.produced;
        t.booked += n.booked;
        t.played += n.played;
        t.synthetic += n.synthetic;
        t.emergency += n.emergency;
        t.confirmations_sent += s.confirmations_sent;
        t.confirmations_acked += s.confirmations_acked;
        t.outbox += n.outbox;
        t.errors += s.errors;
        t.bad_frames += s.bad_frames;
        t.unsent += s.unsent;
        t.dropped += n.dropped;
        t.restarts += n.restarts;
        t.failures += n.failures;
        if (!n.last_failure.empty()) {
            t.last_failure = n.node_id + ": " + n.last_failure;
        }
        if (!s.last_error.empty()) {
            t.last_error = n.node_id + ": " + s.last_error;
        }
    }
    return t;
}

void add(SimTotals& to, const SimTotals& t) {
    for (auto [into, from] : {std::pair{&to.nodes, t.nodes},
                              {&to.welcomed, t.welcomed},
                              {&to.in_session, t.in_session},
                              {&to.hellos, t.hellos},
                              {&to.welcomes, t.welcomes},
                              {&to.reconnects, t.reconnects},
                              {&to.sessions_lost, t.sessions_lost},
                              {&to.sessions_given_up, t.sessions_given_up},
                              {&to.heartbeats, t.heartbeats},
                              {&to.heartbeat_acks, t.heartbeat_acks},
                              {&to.timelines, t.timelines},
                              {&to.commands, t.commands},
                              {&to.produced, t.produced},
                              {&to.booked, t.booked},
                              {&to.played, t.played},
                              {&to.synthetic, t.synthetic},
                              {&to.emergency, t.emergency},
                              {&to.confirmations_sent, t.confirmations_sent},
                              {&to.confirmations_acked, t.confirmations_acked},
                              {&to.outbox, t.outbox},
                              {&to.errors, t.errors},
                              {&to.bad_frames, t.bad_frames},
                              {&to.unsent, t.unsent},
                              {&to.dropped, t.dropped},
                              {&to.restarts, t.restarts},
                              {&to.failures, t.failures},
                              {&to.sweeps, t.sweeps}}) {
        *into += from;
    }
    to.thread_cpu_s += t.thread_cpu_s;
    to.sweep_s += t.sweep_s;
    to.longest_sweep_ms = std::max(to.longest_sweep_ms, t.longest_sweep_ms);
    if (!t.last_failure.empty()) {
        to.last_failure = t.last_failure;
    }
    if (!t.last_error.empty()) {
        to.last_error = t.last_error;
    }
}

}  // namespace

/// One simulator thread and the nodes it owns. Nothing of a node is touched by another thread:
/// others read only what publish() copied.
class Simulator::Shard final : public detail::Link {
  public:
    Shard(const SimOptions& options, zmq::context_t& context, int number)
        : options_(options), context_(context), number_(number), random_(0x10a5'0000u + number) {}

    ~Shard() { stop(); }

    void add(const NodeIdentity& identity) { identities_.push_back(identity); }

    /// Starts the thread; the future is ready once its nodes are made (or holds why not).
    std::future<void> start() {
        auto made = std::make_shared<std::promise<void>>();
        auto future = made->get_future();
        thread_ = std::thread([this, made] { run(*made); });
        return future;
    }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    std::vector<NodeCounts> published() const {
        std::lock_guard lock(published_mutex_);
        return published_;
    }

    /// The sums over its nodes, with the thread's own CPU, passes and failures.
    SimTotals totals() const {
        std::lock_guard lock(published_mutex_);
        return totals_;
    }

    bool outgoing(VirtualNode& node, std::string frame) override {
        touch(node);
        if (lost()) {
            ++node.dropped;
            return true;  // gone on the way: the session thinks it sent it
        }
        if (!delayed()) {
            return node.session().transmit(frame);
        }
        hold(node, true, std::move(frame));
        return true;
    }

    void incoming(VirtualNode& node, std::string frame) override {
        if (lost()) {
            ++node.dropped;
            return;
        }
        if (!delayed()) {
            node.session().deliver(frame);
            return;
        }
        hold(node, false, std::move(frame));
    }

  private:
    /// A frame on the simulated link.
    struct InFlight {
        std::int64_t due_us = 0;
        std::uint64_t order = 0;  ///< equal due times leave in the order they came
        std::uint32_t node = 0;
        std::uint64_t generation = 0;
        bool to_controller = false;
        std::string frame;
    };
    struct Later {
        bool operator()(const InFlight& a, const InFlight& b) const {
            return a.due_us != b.due_us ? a.due_us > b.due_us : a.order > b.order;
        }
    };

    bool delayed() const { return options_.link.delay_us > 0 || options_.link.jitter_us > 0; }
    bool lost() {
        return options_.link.loss > 0 &&
               std::uniform_real_distribution<double>(0, 1)(random_) < options_.link.loss;
    }

    void touch(VirtualNode& node) {
        if (!node.touched) {
            node.touched = true;
            touched_.push_back(node.index());
        }
    }

    void hold(VirtualNode& node, bool to_controller, std::string frame) {
        std::int64_t due = now_us() + options_.link.delay_us;
        if (options_.link.jitter_us > 0) {
            due += std::uniform_int_distribution<std::int64_t>(0, options_.link.jitter_us)(random_);
        }
        // In order, as over TCP: never before the frame sent ahead of it.
        std::int64_t& last = to_controller ? node.last_due_out_us : node.last_due_in_us;
        due = std::max(due, last);
        last = due;
        in_flight_.push(
            {due, next_order_++, node.index(), node.generation(), to_controller, std::move(frame)});
    }

    /// Runs `work` on one node; an exception is counted against the node, which goes on.
    template <typename Work>
    void guarded(VirtualNode& node, Work&& work) {
        try {
            work();
        } catch (const std::exception& e) {
            node.failed(e.what());
        } catch (...) {
            node.failed("unknown exception");
        }
    }

    void watch(VirtualNode& node) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u32 = node.index();
        if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, node.fd(), &event) != 0) {
            throw std::runtime_error(
                fmt::format("epoll_ctl for node {}: {}", node.id(), std::strerror(errno)));
        }
        // ZMQ_FD signals only a change after the socket was last found empty.
        node.receive();
    }

    void make_nodes() {
        epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0) {
            throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        }
        nodes_.reserve(identities_.size());
        for (std::size_t i = 0; i < identities_.size(); ++i) {
            auto node = std::make_unique<VirtualNode>(identities_[i], options_,
                                                      static_cast<std::uint32_t>(i),
                                                      random_() ^ (i * 0x9e37'79b9'7f4a'7c15ULL));
            node->connect(context_, this);
            watch(*node);
            nodes_.push_back(std::move(node));
        }
        identities_.clear();
        identities_.shrink_to_fit();
    }

    void run(std::promise<void>& made) {
        try {
            make_nodes();
        } catch (...) {
            nodes_.clear();
            if (epoll_ >= 0) {
                ::close(epoll_);
            }
            made.set_exception(std::current_exception());
            return;
        }
        made.set_value();
        try {
            loop();
        } catch (const std::exception& e) {
            ++failures_;
            last_failure_ = fmt::format("simulator thread {}: {}", number_, e.what());
            spdlog::critical("{}", last_failure_);
        }
        publish();
        for (auto& node : nodes_) {
            node->disconnect();
        }
        nodes_.clear();
        ::close(epoll_);
    }

    void loop() {
        std::vector<epoll_event> events(512);
        std::int64_t next_sweep = 0;
        std::int64_t next_publish = now_us() + kPublishEveryUs;
        while (!stop_) {
            std::int64_t now = now_us();
            deliver_due(now);
            if (now >= next_sweep) {
                next_sweep = now + options_.tick_us;
                for (auto& node : nodes_) {
                    step(*node, now);
                }
                const std::int64_t took = now_us() - now;
                longest_sweep_us_ = std::max(longest_sweep_us_, took);
                sweep_us_ += took;
                ++sweeps_;
            }
            drain_touched();
            if (now >= next_publish) {
                next_publish = now + kPublishEveryUs;
                publish();
            }
            std::int64_t wake = std::min(next_sweep, next_publish);
            if (!in_flight_.empty()) {
                wake = std::min(wake, in_flight_.top().due_us);
            }
            const int wait_ms = static_cast<int>(
                std::clamp<std::int64_t>((wake - now_us() + 999) / 1000, 0, kMaxWaitMs));
            const int ready =
                ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
            if (ready < 0 && errno != EINTR) {
                throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
            }
            for (int k = 0; k < ready; ++k) {
                const std::uint32_t index = events[k].data.u32;
                if (index < nodes_.size()) {
                    VirtualNode& node = *nodes_[index];
                    guarded(node, [&] { node.receive(); });
                }
            }
            drain_touched();
        }
    }

    void step(VirtualNode& node, std::int64_t now) {
        guarded(node, [&] {
            if (node.take_restart()) {
                ::epoll_ctl(epoll_, EPOLL_CTL_DEL, node.fd(), nullptr);
                node.restart(context_, this, now);
                watch(node);
            }
            node.step(now);
        });
    }

    void deliver_due(std::int64_t now) {
        while (!in_flight_.empty() && in_flight_.top().due_us <= now) {
            // top() is const: the frame is moved out through a copy of the small fields.
            InFlight f = std::move(const_cast<InFlight&>(in_flight_.top()));
            in_flight_.pop();
            VirtualNode& node = *nodes_[f.node];
            if (f.generation != node.generation()) {
                continue;  // its session is gone; the new one starts afresh
            }
            guarded(node, [&] {
                touch(node);
                if (f.to_controller) {
                    node.session().transmit(f.frame);
                } else {
                    node.session().deliver(f.frame);
                }
            });
        }
    }

    /// After a send, libzmq's ZMQ_FD may not signal a frame that came meanwhile: every socket
    /// sent on is read until empty.
    void drain_touched() {
        for (std::size_t k = 0; k < touched_.size(); ++k) {  // receive() may touch more
            VirtualNode& node = *nodes_[touched_[k]];
            node.touched = false;
            guarded(node, [&] { node.receive(); });
        }
        touched_.clear();
    }

    void publish() {
        std::vector<NodeCounts> counts;
        counts.reserve(nodes_.size());
        for (auto& node : nodes_) {
            counts.push_back(node->counts());
        }
        SimTotals t = totals_of(counts);
        timespec cpu{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        t.thread_cpu_s = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
        t.longest_sweep_ms = static_cast<double>(longest_sweep_us_) / 1e3;
        t.sweep_s = static_cast<double>(sweep_us_) / 1e6;
        t.sweeps = sweeps_;
        t.failures += failures_;
        if (!last_failure_.empty()) {
            t.last_failure = last_failure_;
        }
        std::lock_guard lock(published_mutex_);
        published_ = std::move(counts);
        totals_ = std::move(t);
    }

    const SimOptions& options_;
    zmq::context_t& context_;
    int number_;
    std::mt19937_64 random_;
    std::vector<NodeIdentity> identities_;
    std::vector<std::unique_ptr<VirtualNode>> nodes_;
    int epoll_ = -1;
    std::vector<std::uint32_t> touched_;
    std::priority_queue<InFlight, std::vector<InFlight>, Later> in_flight_;
    std::uint64_t next_order_ = 0;
    std::int64_t longest_sweep_us_ = 0;
    std::int64_t sweep_us_ = 0;
    std::uint64_t sweeps_ = 0;
    std::uint64_t failures_ = 0;  ///< exceptions caught around the loop itself
    std::string last_failure_;
    std::atomic<bool> stop_{false};
    std::thread thread_;

    mutable std::mutex published_mutex_;
    std::vector<NodeCounts> published_;
    SimTotals totals_;
};

Simulator::Simulator(SimOptions options) : options_(std::move(options)) {}

Simulator::~Simulator() {
    stop();
}

void Simulator::add_node(NodeIdentity identity) {
    if (started_) {
        throw std::logic_error("Simulator::add_node after start()");
    }
    identities_.push_back(std::move(identity));
}

std::size_t Simulator::size() const {
    return identities_.size();
}

void Simulator::start() {
    if (started_) {
        return;
    }
    if (options_.endpoint.empty() || !protocol::is_z85_key(options_.controller_key)) {
        throw std::invalid_argument(
            "the simulator needs the controller's node endpoint and its public key (Z85)");
    }
    if (options_.link.loss < 0 || options_.link.loss >= 1 || options_.tick_us <= 0 ||
        options_.threads < 1 || options_.io_threads < 1) {
        throw std::invalid_argument(
            "link loss must be in [0, 1); tick, threads and I/O threads at least 1");
    }
    ensure_file_descriptors(identities_.size(), options_.store_files);
    std::filesystem::create_directories(options_.data_root);
    // Room for every node's socket, and for the new sockets of nodes restarting while their old
    // ones close.
    const int max_sockets =
        static_cast<int>(std::max<std::size_t>(1024, 2 * identities_.size() + 64));
    context_ = std::make_unique<zmq::context_t>(options_.io_threads, max_sockets);
    const int threads = static_cast<int>(
        std::min<std::size_t>(options_.threads, std::max<std::size_t>(1, identities_.size())));
    for (int t = 0; t < threads; ++t) {
        shards_.push_back(std::make_unique<Shard>(options_, *context_, t));
    }
    for (std::size_t i = 0; i < identities_.size(); ++i) {
        shards_[i % shards_.size()]->add(identities_[i]);
    }
    started_ = true;
    std::vector<std::future<void>> made;
    for (auto& shard : shards_) {
        made.push_back(shard->start());
    }
    std::exception_ptr first;
    for (auto& m : made) {
        try {
            m.get();
        } catch (...) {
            if (!first) {
                first = std::current_exception();
            }
        }
    }
    if (first) {
        stop();
        std::rethrow_exception(first);
    }
}

void Simulator::stop() {
    for (auto& shard : shards_) {
        shard->stop();
    }
    if (shards_.empty()) {
        return;
    }
    last_.clear();
    last_totals_ = SimTotals{};
    for (auto& shard : shards_) {
        auto counts = shard->published();
        last_.insert(last_.end(), std::make_move_iterator(counts.begin()),
                     std::make_move_iterator(counts.end()));
        add(last_totals_, shard->totals());
    }
    shards_.clear();
    // Every socket is closed (linger 0) before the context goes.
    context_.reset();
}

bool Simulator::running() const {
    return !shards_.empty();
}

bool Simulator::wait_until(const std::function<bool(const SimTotals&)>& done,
                           std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (done(totals())) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::vector<NodeCounts> Simulator::nodes() const {
    if (shards_.empty()) {
        return last_;
    }
    std::vector<NodeCounts> all;
    for (const auto& shard : shards_) {
        auto counts = shard->published();
        all.insert(all.end(), std::make_move_iterator(counts.begin()),
                   std::make_move_iterator(counts.end()));
    }
    return all;
}

SimTotals Simulator::totals() const {
    if (shards_.empty()) {
        return last_totals_;
    }
    SimTotals t;
    for (const auto& shard : shards_) {
        add(t, shard->totals());
    }
    return t;
}

std::uint64_t resident_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::strtoull(line.c_str() + 6, nullptr, 10);
        }
    }
    return 0;
}

}  // namespace loa::sim
