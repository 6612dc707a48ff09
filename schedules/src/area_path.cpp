// Validation and containment of area paths.
#include "loa/schedules/area_path.hpp"

namespace loa::schedules {

std::string area_path_problem(std::string_view path) {
    if (path.empty()) {
        return "the area path is empty";
    }
    if (path.front() == '/' || path.back() == '/') {
        return "an area path neither starts nor ends with '/'";
    }
    std::size_t segment_length = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '/') {
            if (segment_length == 0) {
                return "empty segment at character " + std::to_string(i + 1);
            }
            segment_length = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            return "character " + std::to_string(i + 1) +
                   " is not one of a-z, 0-9, '-' or '/' (write 'ta-van', not 'Tả Van')";
        }
        ++segment_length;
    }
    return {};
}

bool area_contains(std::string_view area, std::string_view path) {
    if (!path.starts_with(area)) {
        return false;
    }
    return path.size() == area.size() || path[area.size()] == '/';
}

}  // namespace loa::schedules
