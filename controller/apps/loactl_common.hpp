// What loactl's commands share besides the API client (loactl_api.hpp): refusals said on the
// command line itself, and the --lang option.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "loa/controller/audit/airtime_report.hpp"
#include "loa/controller/common/error.hpp"

namespace loa::loactl {

/// Prints "loactl: <message>" on stderr; returns the exit code of a refusal, 1.
int refused(const controller::Error& error);

/// Adds `--lang vi|en` (how tables and messages read) to `cmd`, bound to `lang`.
CLI::Option* add_lang(CLI::App* cmd, std::string& lang);

/// "en" → English, anything else Vietnamese.
controller::Language language(const std::string& lang);

}  // namespace loa::loactl
