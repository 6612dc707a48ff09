// Area scopes: the subtree of the area tree a person sees and touches; "/" is every area.
#pragma once

#include <string>
#include <string_view>

#include "loa/controller/common/language.hpp"

namespace loa::controller {

/// The scope of every area, the root of the tree. Area paths never start with '/', so the root
/// cannot be mistaken for an area.
inline constexpr std::string_view kEveryArea = "/";

/// Empty when `scope` is kEveryArea or a valid area path ("vn/lao-cai/sa-pa"); otherwise why not.
std::string scope_problem(std::string_view scope);

/// True when `path` (an area path, or kEveryArea) is `scope` itself or lies below it.
bool in_scope(std::string_view scope, std::string_view path);

/// True when one of `a` and `b` contains the other, so that they share nodes.
bool scopes_overlap(std::string_view a, std::string_view b);

/// The smallest scope that holds both `a` and `b` (kEveryArea when they share no first segment).
std::string common_scope(std::string_view a, std::string_view b);

/// The scope as people read it: "mọi vùng" / "every area" for the root, else the path.
std::string scope_text(std::string_view scope, Language language);

}  // namespace loa::controller
