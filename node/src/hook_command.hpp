// Private: runs a technician-configured command, e.g. the GPIO script that powers the amplifier.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <map>
#include <string>

namespace loa::node::detail {

/// Splits `command_template` at spaces, replaces each `{name}` with `values[name]`, and runs it
/// without a shell; waits up to `timeout` (then kills its process group), or until `cancel`
/// becomes true (the agent stopping: killed the same way). Ok if it exits 0; otherwise an error
/// saying which command and how it ended.
std::expected<void, std::string> run_hook(const std::string& command_template,
                                          const std::map<std::string, std::string>& values,
                                          std::chrono::milliseconds timeout,
                                          const std::atomic<bool>* cancel = nullptr);

}  // namespace loa::node::detail
