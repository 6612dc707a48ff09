// loactl's emergency commands: play a bulletin at once on chosen nodes, cancel it, list them.
#pragma once

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <CLI/CLI.hpp>

#include "loa/controller/people.hpp"

namespace loa::loactl {

class Change;

/// `emergency send|cancel|list`.
class EmergencyCommands {
  public:
    /// `data` is the controller's data directory.
    EmergencyCommands(CLI::App& app, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where,
    /// why; nothing was changed).
    int run(bool json) const;

  private:
    int send(bool json) const;
    int cancel(bool json) const;
    int list(bool json) const;
    /// Whether `who` may send the emergency to the chosen nodes, with that media and campaign;
    /// refusals are printed and logged through `change`, which is filed where it goes.
    bool allowed_targets(SQLite::Database& db, const controller::Principal& who,
                         Change& change) const;

    const std::string& data_;
    CLI::App* emergency_ = nullptr;
    CLI::App* send_ = nullptr;
    CLI::App* cancel_ = nullptr;
    CLI::App* list_ = nullptr;
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
