// Refusals, the store and listings, as loactl's fleet commands print them.
#include "loactl_common.hpp"

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "loa/controller/database.hpp"

namespace loa::loactl {

int refused(const controller::Error& error) {
    std::cerr << "loactl: " << error.message << "\n";
    return 1;
}

std::unique_ptr<SQLite::Database> open_store(const std::string& data) {
    auto db = controller::open_database(std::filesystem::path(data) / "controller.db");
    if (!db) {
        refused(db.error());
        return nullptr;
    }
    return std::move(*db);
}

controller::Language language(const std::string& lang) {
    return lang == "en" ? controller::Language::en : controller::Language::vi;
}

int print_listing(bool json, const nlohmann::json& as_json, bool empty, std::string_view empty_text,
                  const std::function<std::string()>& table) {
    if (json) {
        std::cout << as_json.dump(2) << "\n";
    } else if (empty) {
        std::cout << empty_text << "\n";
    } else {
        std::cout << table();
    }
    return 0;
}

}  // namespace loa::loactl
