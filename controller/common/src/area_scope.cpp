// Area scopes: containment and overlap of subtrees, with "/" for the whole tree.
#include "loa/controller/common/area_scope.hpp"

#include "loa/schedules/area_path.hpp"

namespace loa::controller {

std::string scope_problem(std::string_view scope) {
    if (scope == kEveryArea) {
        return {};
    }
    if (auto why = schedules::area_path_problem(scope); !why.empty()) {
        return why + " (or '/' for every area)";
    }
    return {};
}

bool in_scope(std::string_view scope, std::string_view path) {
    if (scope == kEveryArea) {
        return true;
    }
    return path != kEveryArea && schedules::area_contains(scope, path);
}

bool scopes_overlap(std::string_view a, std::string_view b) {
    return in_scope(a, b) || in_scope(b, a);
}

std::string common_scope(std::string_view a, std::string_view b) {
    if (in_scope(a, b)) {
        return std::string(a);
    }
    if (in_scope(b, a)) {
        return std::string(b);
    }
    // Walk up from `a` until its ancestor holds `b`; a path's ancestors end at a '/'.
    std::string_view up = a;
    while (true) {
        const auto slash = up.rfind('/');
        if (slash == std::string_view::npos) {
            return std::string(kEveryArea);
        }
        up = up.substr(0, slash);
        if (in_scope(up, b)) {
            return std::string(up);
        }
    }
}

std::string scope_text(std::string_view scope, Language language) {
    if (scope == kEveryArea) {
        return language == Language::vi ? "mọi vùng" : "every area";
    }
    return std::string(scope);
}

}  // namespace loa::controller
