// loactl's plan and calendar commands: they work on plan files, not on the controller's store.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `plan check|compile|apply` and `calendar lunar-to-solar|solar-to-lunar|events`.
class PlanCommands {
  public:
    /// `data` is the controller's data directory (plan apply books into its database).
    PlanCommands(CLI::App& app, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done (plan check: every quota met), 3 some quota
    /// cannot be met (plan apply: so nothing was applied), 2 invalid input (the message gives
    /// file, line and reason), 1 refused by the controller's store (e.g. a node in another area).
    int run(bool json) const;

  private:
    CLI::App* plan_ = nullptr;
    CLI::App* check_ = nullptr;
    CLI::App* compile_ = nullptr;
    CLI::App* apply_ = nullptr;
    const std::string& data_;
    bool accept_shortfall_ = false;
    CLI::App* calendar_ = nullptr;
    CLI::App* to_solar_ = nullptr;
    CLI::App* to_lunar_ = nullptr;
    CLI::App* events_ = nullptr;
    std::string plan_file_;
    std::string from_;
    int days_ = 7;
    std::string out_;
    std::string lang_ = "vi";
    int year_ = 0;
    int month_ = 0;
    int day_ = 0;
    bool leap_ = false;
    std::string solar_;

    int check_or_compile(bool json) const;
    int apply(bool json) const;
    int lunar_to_solar(bool json) const;
    int solar_to_lunar(bool json) const;
    int list_events(bool json) const;
};

}  // namespace loa::loactl
