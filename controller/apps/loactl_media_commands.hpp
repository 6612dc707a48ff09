// loactl's media commands: import bulletins, approve or reject them for air, list what the
// controller's library holds, and show which media the nodes still miss for their coming plays.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "loa/controller/media_library.hpp"

namespace loa::loactl {

/// `media import|list|missing|approve|reject`. Other media commands hang off `media()`.
class MediaCommands {
  public:
    /// `data` is the controller's data directory (database and media store).
    MediaCommands(CLI::App& app, const std::string& data);

    /// The `media` subcommand, for other commands to add theirs to.
    CLI::App* media() const { return media_; }

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where, why).
    int run(bool json) const;

  private:
    int import(bool json) const;
    int list(bool json) const;
    int missing(bool json) const;
    int decide(bool json) const;

    const std::string& data_;
    CLI::App* media_ = nullptr;
    CLI::App* import_ = nullptr;
    CLI::App* list_ = nullptr;
    CLI::App* missing_ = nullptr;
    CLI::App* approve_ = nullptr;
    CLI::App* reject_ = nullptr;
    std::string file_;
    std::string title_;
    std::string use_ = "speaker";  // --for
    double max_duration_s_ = 0;    // --max-duration; the constructor sets the library's default
    controller::ImportOptions options_;  // the rest of the import options, bound directly
    // missing
    int hours_ = 24;
    std::string node_;
    std::string lang_ = "vi";
    // approve, reject
    std::string hash_;
    std::string note_;
};

}  // namespace loa::loactl
