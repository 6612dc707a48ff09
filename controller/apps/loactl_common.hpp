// What loactl's fleet commands share: refusals, opening the store, and printing a listing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/airtime_report.hpp"
#include "loa/controller/error.hpp"

namespace loa::loactl {

/// Prints "loactl: <message>" on stderr; returns the exit code of a refusal, 1.
int refused(const controller::Error& error);

/// The database of the controller data directory `data`, migrated; null after printing why not.
std::unique_ptr<SQLite::Database> open_store(const std::string& data);

/// "en" → English, anything else Vietnamese.
controller::Language language(const std::string& lang);

/// Prints a listing: `as_json` with --json, else `empty_text` when there is nothing, else what
/// `table` renders. Returns 0.
int print_listing(bool json, const nlohmann::json& as_json, bool empty, std::string_view empty_text,
                  const std::function<std::string()>& table);

}  // namespace loa::loactl
