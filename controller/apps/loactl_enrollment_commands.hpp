// loactl node enroll/revoke/keys: who may connect as a node. A token printed here is how a
// field technician registers a device's key; revocation cuts a lost or stolen device off. Each
// a request to the controller's HTTP API.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `node enroll|revoke|keys`, added to the `node` subcommand.
class EnrollmentCommands {
  public:
    /// `data` is the controller's data directory (unused: commands go through the API, which
    /// holds controller.key).
    EnrollmentCommands(CLI::App* node, const std::string& data);

    bool parsed() const;

    /// Exit codes: 0 done, 1 refused (the message says what, where, why; nothing changed).
    int run(bool json) const;

  private:
    int enroll(bool json) const;
    int revoke(bool json) const;
    int keys(bool json) const;

    CLI::App* enroll_ = nullptr;
    CLI::App* revoke_ = nullptr;
    CLI::App* keys_ = nullptr;
    std::string node_;
    std::string area_;
    std::string kind_;
    std::string time_zone_ = "Asia/Ho_Chi_Minh";
    double expires_hours_ = 72;
    std::string token_file_;
    std::string endpoint_hint_;
    std::string reason_;
    std::string public_key_;
    std::string lang_ = "vi";
};

}  // namespace loa::loactl
