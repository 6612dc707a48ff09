// Refusals said by loactl itself (a bad option, before any request) and the --lang option.
#include "loactl_common.hpp"

#include <iostream>

namespace loa::loactl {

int refused(const controller::Error& error) {
    std::cerr << "loactl: " << error.message << "\n";
    return 1;
}

CLI::Option* add_lang(CLI::App* cmd, std::string& lang) {
    return cmd->add_option("--lang", lang, "vi or en")
        ->check(CLI::IsMember({"vi", "en"}))
        ->capture_default_str();
}

controller::Language language(const std::string& lang) {
    return lang == "en" ? controller::Language::en : controller::Language::vi;
}

}  // namespace loa::loactl
