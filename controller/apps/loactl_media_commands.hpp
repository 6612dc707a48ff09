// loactl's media commands: import bulletins, approve or reject them for air, list and show what
// the controller's library holds, and show which media the nodes still miss for their coming
// plays. Each is a request to the controller's HTTP API (/api/v1/media, docs/api.md).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `media import|list|show|approvals|missing|share|approve|reject`. Other media commands hang off
/// `media()`.
class MediaCommands {
  public:
    /// `data` is the controller's data directory (where the in-process API serves from).
    MediaCommands(CLI::App& app, const std::string& data);

    /// The `media` subcommand, for other commands to add theirs to.
    CLI::App* media() const { return media_; }

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where, why).
    int run(bool json) const;

  private:
    int import(bool json) const;
    int missing(bool json) const;
    int decide(bool json) const;
    int share(bool json) const;

    CLI::App* media_ = nullptr;
    CLI::App* import_ = nullptr;
    CLI::App* list_ = nullptr;
    CLI::App* show_ = nullptr;
    CLI::App* approvals_ = nullptr;
    CLI::App* missing_ = nullptr;
    CLI::App* share_ = nullptr;
    CLI::App* approve_ = nullptr;
    CLI::App* reject_ = nullptr;
    // import
    std::string file_;
    std::string title_;
    std::string use_ = "speaker";  // --for
    double max_duration_s_ = 0;    // the constructor sets the library's defaults
    double silence_floor_lufs_ = 0;
    double target_lufs_ = 0;
    int bitrate_bps_ = 0;
    CLI::Option* max_duration_ = nullptr;
    CLI::Option* silence_floor_ = nullptr;
    CLI::Option* target_ = nullptr;
    CLI::Option* bitrate_ = nullptr;
    // missing
    int hours_ = 24;
    std::string node_;
    std::string lang_ = "vi";
    // show, approvals, share, approve, reject
    std::string hash_;
    std::string note_;
    std::string area_;  // share: where to; approve, reject: which record
};

}  // namespace loa::loactl
