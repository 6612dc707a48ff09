// loactl's commands on people: signing in, users, API tokens, and the action log.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace loa::loactl {

/// `login`, `user add|list|disable|password`, `token issue|list|revoke` and `log list`.
class UserCommands {
  public:
    /// `data`, the controller's data directory, reaches the API through use_api().
    UserCommands(CLI::App& app, const std::string& data);

    /// True when one of these commands was given on the command line.
    bool parsed() const;

    /// Runs the given command as a request to the API. Exit codes: 0 done, 1 refused or the
    /// controller unreachable (the message says what, where, why; nothing was changed).
    int run(bool json) const;

  private:
    int login(bool json) const;
    int add_user(bool json) const;
    int list_users(bool json) const;
    int disable_user(bool json) const;
    int change_password(bool json) const;
    int issue_token(bool json) const;
    int list_tokens(bool json) const;
    int revoke_token(bool json) const;
    int list_log(bool json) const;

    CLI::App* login_ = nullptr;
    CLI::App* user_add_ = nullptr;
    CLI::App* user_list_ = nullptr;
    CLI::App* user_disable_ = nullptr;
    CLI::App* user_password_ = nullptr;
    CLI::App* token_issue_ = nullptr;
    CLI::App* token_list_ = nullptr;
    CLI::App* token_revoke_ = nullptr;
    CLI::App* log_list_ = nullptr;
    std::string name_;
    std::string display_name_;
    std::string role_;
    std::string area_;
    bool password_stdin_ = false;
    std::string label_ = "loactl";
    std::string expires_;  ///< "": the controller's default (30 days, or its --max-token-days)
    std::int64_t token_id_ = 0;
    std::string since_;
    std::string actor_;
    std::string action_;
    std::size_t limit_ = 0;
    std::string lang_ = "vi";
};

}  // namespace loa::loactl
