// Virtual nodes in forked processes, their counts in shared memory (sim_processes.hpp).
#include "sim_processes.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/core.h>

namespace loa::bench {
namespace {

using Totals = sim::SimTotals;

/// The counters of SimTotals, summed over processes.
constexpr std::uint64_t Totals::*kCounts[] = {&Totals::nodes,
                                              &Totals::welcomed,
                                              &Totals::in_session,
                                              &Totals::hellos,
                                              &Totals::welcomes,
                                              &Totals::reconnects,
                                              &Totals::sessions_lost,
                                              &Totals::sessions_given_up,
                                              &Totals::heartbeats,
                                              &Totals::heartbeat_acks,
                                              &Totals::timelines,
                                              &Totals::commands,
                                              &Totals::produced,
                                              &Totals::booked,
                                              &Totals::played,
                                              &Totals::synthetic,
                                              &Totals::emergency,
                                              &Totals::confirmations_sent,
                                              &Totals::confirmations_acked,
                                              &Totals::outbox,
                                              &Totals::errors,
                                              &Totals::bad_frames,
                                              &Totals::unsent,
                                              &Totals::dropped,
                                              &Totals::restarts,
                                              &Totals::failures,
                                              &Totals::sweeps};
constexpr std::size_t kCountsSize = sizeof(kCounts) / sizeof(kCounts[0]);

enum State : int { starting = 0, running = 1, stopped = 2, failed = 3 };

/// One process's counts, written by it under a sequence lock (odd: being written).
struct Block {
    std::atomic<std::uint64_t> version{0};
    std::atomic<int> state{starting};
    std::uint64_t counts[kCountsSize] = {};
    double thread_cpu_s = 0;
    double longest_sweep_ms = 0;
    double sweep_s = 0;
    char last_failure[256] = {};
    char last_error[256] = {};
    char failure[512] = {};  ///< why the process could not run its nodes
};

struct Node {
    std::atomic<std::uint64_t> welcomes{0};
    std::atomic<bool> in_session{false};
};

void copy_text(char* to, std::size_t size, const std::string& from) {
    const std::size_t n = std::min(size - 1, from.size());
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

}  // namespace

struct SimProcesses::Shared {
    std::atomic<bool> stop{false};
    std::size_t processes = 0;
    Block* blocks = nullptr;
    Node* nodes = nullptr;
};

namespace {

void publish(Block& block, Node* nodes, const sim::Simulator& simulator, bool with_nodes) {
    const Totals t = simulator.totals();
    block.version.fetch_add(1, std::memory_order_acq_rel);
    for (std::size_t i = 0; i < kCountsSize; ++i) {
        block.counts[i] = t.*kCounts[i];
    }
    block.thread_cpu_s = t.thread_cpu_s;
    block.longest_sweep_ms = t.longest_sweep_ms;
    block.sweep_s = t.sweep_s;
    copy_text(block.last_failure, sizeof block.last_failure, t.last_failure);
    copy_text(block.last_error, sizeof block.last_error, t.last_error);
    block.version.fetch_add(1, std::memory_order_acq_rel);
    if (with_nodes) {
        const auto counts = simulator.nodes();
        for (std::size_t i = 0; i < counts.size(); ++i) {
            nodes[i].welcomes.store(counts[i].session.welcomes, std::memory_order_relaxed);
            nodes[i].in_session.store(counts[i].in_session, std::memory_order_relaxed);
        }
    }
}

[[noreturn]] void run_child(const sim::SimOptions& options,
                            const std::vector<sim::NodeIdentity>& identities,
                            const std::atomic<bool>& stop, Block& block, Node* nodes) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
    try {
        sim::Simulator simulator(options);
        for (const auto& identity : identities) {
            simulator.add_node(identity);
        }
        simulator.start();
        block.state.store(running);
        for (int round = 0; !stop.load(std::memory_order_acquire); ++round) {
            publish(block, nodes, simulator, round % 5 == 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        simulator.stop();
        publish(block, nodes, simulator, true);
        block.state.store(stopped);
    } catch (const std::exception& e) {
        copy_text(block.failure, sizeof block.failure, e.what());
        block.state.store(failed);
    }
    ::_exit(0);
}

}  // namespace

SimProcesses::SimProcesses(sim::SimOptions options, std::vector<sim::NodeIdentity> identities,
                           std::size_t per_process)
    : options_(std::move(options)),
      identities_(std::move(identities)),
      per_process_(std::max<std::size_t>(1, per_process)) {}

SimProcesses::~SimProcesses() {
    stop();
    if (shared_ != nullptr) {
        ::munmap(shared_, shared_bytes_);
    }
}

void SimProcesses::start() {
    const std::size_t processes = (identities_.size() + per_process_ - 1) / per_process_;
    shared_bytes_ = sizeof(Shared) + processes * sizeof(Block) + identities_.size() * sizeof(Node);
    void* memory =
        ::mmap(nullptr, shared_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        throw std::runtime_error("mmap of the simulator processes' counters failed");
    }
    auto* bytes = static_cast<unsigned char*>(memory);
    shared_ = new (bytes) Shared();
    shared_->processes = processes;
    shared_->blocks = new (bytes + sizeof(Shared)) Block[processes];
    shared_->nodes =
        new (bytes + sizeof(Shared) + processes * sizeof(Block)) Node[identities_.size()];
    for (std::size_t p = 0; p < processes; ++p) {
        const std::size_t first = p * per_process_;
        const std::size_t last = std::min(identities_.size(), first + per_process_);
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid == 0) {
            const std::vector<sim::NodeIdentity> mine(identities_.begin() + first,
                                                      identities_.begin() + last);
            run_child(options_, mine, shared_->stop, shared_->blocks[p], shared_->nodes + first);
        }
        pids_.push_back(pid);
    }
    // Each process makes its nodes (keys, stores, sockets) before counting as running.
    for (auto until = std::chrono::steady_clock::now() + std::chrono::minutes(2);;) {
        std::size_t up = 0;
        for (std::size_t p = 0; p < processes; ++p) {
            const int state = shared_->blocks[p].state.load();
            if (state == failed) {
                throw std::runtime_error(
                    fmt::format("simulator process {}: {}", p + 1, shared_->blocks[p].failure));
            }
            up += state == running ? 1 : 0;
        }
        if (up == processes) {
            return;
        }
        if (std::chrono::steady_clock::now() > until) {
            throw std::runtime_error("the simulator processes did not start within 2 minutes");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void SimProcesses::stop() {
    if (shared_ == nullptr || pids_.empty()) {
        return;
    }
    shared_->stop.store(true, std::memory_order_release);
    for (const pid_t pid : pids_) {
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
    pids_.clear();
}

sim::SimTotals SimProcesses::totals() const {
    Totals sum;
    if (shared_ == nullptr) {
        return sum;
    }
    for (std::size_t p = 0; p < shared_->processes; ++p) {
        Block& b = shared_->blocks[p];
        Totals t;
        for (;;) {
            const std::uint64_t before = b.version.load(std::memory_order_acquire);
            if (before % 2 == 1) {
                std::this_thread::yield();
                continue;
            }
            for (std::size_t i = 0; i < kCountsSize; ++i) {
                t.*kCounts[i] = b.counts[i];
            }
            t.thread_cpu_s = b.thread_cpu_s;
            t.longest_sweep_ms = b.longest_sweep_ms;
            t.sweep_s = b.sweep_s;
            t.last_failure = b.last_failure;
            t.last_error = b.last_error;
            if (b.version.load(std::memory_order_acquire) == before) {
                break;
            }
        }
        for (std::size_t i = 0; i < kCountsSize; ++i) {
            sum.*kCounts[i] += t.*kCounts[i];
        }
        sum.thread_cpu_s += t.thread_cpu_s;
        sum.longest_sweep_ms = std::max(sum.longest_sweep_ms, t.longest_sweep_ms);
        sum.sweep_s += t.sweep_s;
        if (!t.last_failure.empty()) {
            sum.last_failure = t.last_failure;
        }
        if (!t.last_error.empty()) {
            sum.last_error = t.last_error;
        }
        if (b.state.load() == failed) {
            ++sum.failures;
            sum.last_failure = b.failure;
        }
    }
    return sum;
}

std::vector<SimProcesses::NodeState> SimProcesses::node_states() const {
    std::vector<NodeState> out(identities_.size());
    if (shared_ == nullptr) {
        return out;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].welcomes = shared_->nodes[i].welcomes.load(std::memory_order_relaxed);
        out[i].in_session = shared_->nodes[i].in_session.load(std::memory_order_relaxed);
    }
    return out;
}

bool SimProcesses::wait_until(const std::function<bool(const sim::SimTotals&)>& done,
                              std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done(totals())) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace loa::bench
