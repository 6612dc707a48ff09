// loactl's fleet commands on nodes: the fleet at a glance (list), what each node last said of
// itself (status, runway, sequence gaps) and the commands operators queue for nodes (volume,
// amplifier, restart, log); each a request to the controller's HTTP API.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "loa/controller/fleet/fleet_view.hpp"
#include "loa/controller/fleet/node_status.hpp"

namespace loa::loactl {

/// `node list|status|runway|gaps|volume|amplifier|restart|log|commands`, added to the `node`
/// subcommand.
class NodeCommands {
  public:
    /// `data` is the controller's data directory (unused: commands go through the API).
    NodeCommands(CLI::App* node, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where,
    /// why; nothing was changed) or, for `log`, the node answered that it could not.
    int run(bool json) const;

  private:
    int list(bool json) const;
    int status(bool json) const;
    int runway(bool json) const;
    int gaps(bool json) const;
    int queue(bool json) const;
    int log(bool json) const;
    int commands(bool json) const;

    CLI::App* list_ = nullptr;
    CLI::App* status_ = nullptr;
    CLI::App* runway_ = nullptr;
    CLI::App* gaps_ = nullptr;
    CLI::App* volume_ = nullptr;
    CLI::App* amplifier_ = nullptr;
    CLI::App* restart_ = nullptr;
    CLI::App* log_ = nullptr;
    CLI::App* commands_ = nullptr;
    std::string node_;
    std::string lang_ = "vi";
    double offset_warn_ms_ = controller::kClockOffsetWarnUs / 1000.0;
    double below_hours_ = 48;
    int percent_ = 0;
    std::string on_off_;
    std::int64_t log_bytes_ = 65536;
    double wait_s_ = 0;
    std::uint64_t command_id_ = 0;
    bool pending_only_ = false;
    bool offline_only_ = false;
    std::string runway_below_;
    std::string area_;
    std::int64_t heartbeat_ms_ = controller::kDefaultHeartbeatMs;
    CLI::Option* heartbeat_option_ = nullptr;  ///< given: overrides the controller's interval
};

}  // namespace loa::loactl
