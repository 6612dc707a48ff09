// loactl's campaign commands and the airtime report: booking campaigns, listing them, and what
// aired, each within the area scope of the person running them.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/booking/campaign_book.hpp"

namespace loa::loactl {

/// `campaign add|list|show|pause|resume` and `report airtime`.
class CampaignCommands {
  public:
    /// `data`: the controller's data directory (unused: every command goes through the API).
    CampaignCommands(CLI::App& app, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where,
    /// why; nothing was changed).
    int run(bool json) const;

  private:
    int add(bool json) const;
    int airtime(bool json) const;

    CLI::App* add_ = nullptr;
    CLI::App* list_ = nullptr;
    CLI::App* show_ = nullptr;
    CLI::App* pause_ = nullptr;
    CLI::App* resume_ = nullptr;
    CLI::App* airtime_ = nullptr;
    controller::CampaignSpec spec_;
    std::string start_text_;
    std::string end_text_;
    controller::ReportQuery query_;
    std::string from_text_;
    std::string to_text_;
    std::string by_text_ = "node";
    std::string level_text_;
    std::string format_ = "table";
    std::string lang_ = "vi";
};

}  // namespace loa::loactl
