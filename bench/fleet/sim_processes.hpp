// Virtual nodes spread over several processes: one process cannot hold 10,000 of them (two file
// descriptors each, and without CAP_SYS_RESOURCE the hard limit here is 20,000 a process).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "loa/sim/simulator.hpp"

namespace loa::bench {

/// Forks one process per `per_process` nodes, each running a sim::Simulator with `options` over
/// its share; what they count is published in shared memory about every 200 ms. Start it before
/// the calling process has any thread of its own (fork copies only the calling thread).
class SimProcesses {
  public:
    SimProcesses(sim::SimOptions options, std::vector<sim::NodeIdentity> identities,
                 std::size_t per_process = 5'000);
    ~SimProcesses();  ///< stops
    SimProcesses(const SimProcesses&) = delete;
    SimProcesses& operator=(const SimProcesses&) = delete;

    /// Forks the processes; throws if one cannot start its nodes.
    void start();
    /// Tells every process to stop its nodes, waits for their last counts.
    void stop();

    std::size_t size() const { return identities_.size(); }
    /// The sums over every process (the last failure and error of any).
    sim::SimTotals totals() const;

    struct NodeState {
        std::uint64_t welcomes = 0;
        bool in_session = false;
    };
    /// Every node's sessions begun and whether it is in one, in the order of the identities.
    std::vector<NodeState> node_states() const;

    bool wait_until(const std::function<bool(const sim::SimTotals&)>& done,
                    std::chrono::milliseconds timeout) const;
    /// The processes, for their CPU and memory.
    const std::vector<pid_t>& pids() const { return pids_; }

  private:
    struct Shared;
    sim::SimOptions options_;
    std::vector<sim::NodeIdentity> identities_;
    std::size_t per_process_;
    std::vector<pid_t> pids_;
    Shared* shared_ = nullptr;
    std::size_t shared_bytes_ = 0;
};

}  // namespace loa::bench
