// Area paths such as "vn/lao-cai/sa-pa/ta-van": the tree nodes and campaigns are placed in.
#pragma once

#include <string>
#include <string_view>

namespace loa::schedules {

/// Empty when `path` is a valid area path (lowercase ASCII slugs of [a-z0-9-] joined by '/'),
/// otherwise the reason it is not.
std::string area_path_problem(std::string_view path);

/// True when `path` is `area` itself or lies below it ("vn/lao-cai" contains "vn/lao-cai/sa-pa").
bool area_contains(std::string_view area, std::string_view path);

}  // namespace loa::schedules
