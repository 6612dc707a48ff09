// loactl's text media commands: text bulletins spoken and imported (by the controller, through
// its HTTP API), text slides for LED boards (rendered here: they touch no controller).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `media tts` and `media slide`, added to the `media` subcommand (MediaCommands::media()).
class TextMediaCommands {
  public:
    /// `data` is the controller's data directory (where the in-process API serves from).
    TextMediaCommands(CLI::App* media, const std::string& data);

    /// True when `media tts` or `media slide` was given on the command line.
    bool parsed() const;

    /// Runs the given command. Exit codes: 0 done, 1 refused (the message says what, where, why).
    int run(bool json) const;

  private:
    int tts(bool json) const;
    /// `media tts --command`: the speech command runs here, as the operator, and its WAV is
    /// uploaded; the controller runs no command a request names.
    int tts_here(bool json) const;
    int slide(bool json) const;

    CLI::App* tts_ = nullptr;
    CLI::App* slide_ = nullptr;
    std::string text_;
    std::string title_;
    // tts
    std::string lang_ = "vi";
    std::string command_;
    double timeout_s_ = 120;
    CLI::Option* timeout_ = nullptr;
    // slide
    std::string size_;
    std::string out_;
    std::string font_;
    std::string foreground_ = "amber";
    std::string background_ = "black";
    int margin_ = 0;  // the constructor sets the library's defaults
    int min_font_ = 0;
    bool no_antialias_ = false;
};

}  // namespace loa::loactl
