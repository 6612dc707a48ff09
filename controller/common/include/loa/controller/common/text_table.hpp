// Aligned text tables for operators' terminals, Vietnamese diacritics included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loa::controller::detail {

/// Columns a terminal gives `text`: one per code point, none for combining marks (U+0300-036F),
/// so "Tả Van" written with decomposed diacritics still lines up.
std::size_t display_width(std::string_view text);

/// Header, a rule, the rows, and (when `footer` is not empty) a rule and the footer. Columns
/// from `first_right` on are right-aligned (numbers).
std::string render_text_table(const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows,
                              std::size_t first_right, const std::vector<std::string>& footer = {});

/// The same with the right-aligned columns named one by one (`right[i]`; missing ones: left).
std::string render_text_table(const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows,
                              const std::vector<bool>& right,
                              const std::vector<std::string>& footer = {});

/// Sizes in SI units with one decimal, as a download manager shows them ("1.2 MB").
std::string size_text(std::uint64_t bytes);

}  // namespace loa::controller::detail
