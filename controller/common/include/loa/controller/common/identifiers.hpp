// Private: the rule for ids operators choose (nodes, campaigns).
#pragma once

#include <string>
#include <string_view>

namespace loa::controller::detail {

/// Empty when `id` is 1-64 characters of a-z, 0-9, '-', '_', '.'; otherwise why not.
inline std::string identifier_problem(std::string_view id) {
    if (id.empty() || id.size() > 64) {
        return "an id has 1 to 64 characters";
    }
    for (char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.')) {
            return "an id uses only a-z, 0-9, '-', '_' and '.' (write 'ta-van-01')";
        }
    }
    return {};
}

}  // namespace loa::controller::detail
