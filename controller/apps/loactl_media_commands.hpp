// loactl's media commands: import bulletins and list what the controller's library holds.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `media import|list`. Other media commands hang off `media()`.
class MediaCommands {
  public:
    /// `data` is the controller's data directory (database and media store).
    MediaCommands(CLI::App& app, const std::string& data);

    /// The `media` subcommand, for other commands to add theirs to.
    CLI::App* media() const { return media_; }

    /// True when `media import` or `media list` was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where, why).
    int run(bool json) const;

  private:
    int import(bool json) const;
    int list(bool json) const;

    const std::string& data_;
    CLI::App* media_ = nullptr;
    CLI::App* import_ = nullptr;
    CLI::App* list_ = nullptr;
    std::string file_;
    std::string title_;
};

}  // namespace loa::loactl
