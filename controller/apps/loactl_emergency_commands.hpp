// loactl's emergency commands: play a bulletin at once on chosen nodes, cancel it, list them and
// show how each node answered. Each is a request to the controller's HTTP API
// (/api/v1/emergencies, docs/api.md).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `emergency send|cancel|list|status`.
class EmergencyCommands {
  public:
    /// `data` is the controller's data directory (where the in-process API serves from).
    EmergencyCommands(CLI::App& app, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where,
    /// why; nothing was changed).
    int run(bool json) const;

  private:
    int send(bool json) const;

    CLI::App* emergency_ = nullptr;
    CLI::App* send_ = nullptr;
    CLI::App* cancel_ = nullptr;
    CLI::App* list_ = nullptr;
    CLI::App* status_ = nullptr;
    std::string media_;
    std::vector<std::string> nodes_;
    std::string area_;
    bool all_ = false;
    int repeat_ = 1;
    bool until_expiry_ = false;
    std::string expires_ = "now+1h";
    std::string title_;
    std::string campaign_;
    std::string by_;
    std::string emergency_id_;
    std::string lang_ = "vi";
};

}  // namespace loa::loactl
