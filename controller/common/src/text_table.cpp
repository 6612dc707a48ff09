// Aligned text tables: widths by display columns, numbers right-aligned.
#include "loa/controller/common/text_table.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace loa::controller::detail {

std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
        bool combining = false;
        if (len == 2 && i + 1 < text.size()) {
            unsigned cp = ((c & 0x1f) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3f);
            combining = cp >= 0x300 && cp <= 0x36f;
        }
        width += combining ? 0 : 1;
        i += len;
    }
    return width;
}

namespace {

std::string pad(std::string_view text, std::size_t width, bool right) {
    std::size_t w = display_width(text);
    std::string spaces(width > w ? width - w : 0, ' ');
    return right ? spaces + std::string(text) : std::string(text) + spaces;
}

}  // namespace

std::string render_text_table(const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows,
                              std::size_t first_right, const std::vector<std::string>& footer) {
    std::vector<bool> right(header.size());
    for (std::size_t i = first_right; i < right.size(); ++i) {
        right[i] = true;
    }
    return render_text_table(header, rows, right, footer);
}

std::string render_text_table(const std::vector<std::string>& header,
                              const std::vector<std::vector<std::string>>& rows,
                              const std::vector<bool>& right,
                              const std::vector<std::string>& footer) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        widths[i] = display_width(header[i]);
        for (const auto& row : rows) {
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
        if (!footer.empty()) {
            widths[i] = std::max(widths[i], display_width(footer[i]));
        }
    }
    auto line = [&](const std::vector<std::string>& row) {
        std::string out;
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += (i ? "  " : "") + pad(row[i], widths[i], i < right.size() && right[i]);
        }
        while (!out.empty() && out.back() == ' ') {
            out.pop_back();
        }
        return out + "\n";
    };
    std::size_t rule_width = 2 * (widths.size() - 1);
    for (auto w : widths) {
        rule_width += w;
    }
    std::string rule;
    for (std::size_t i = 0; i < rule_width; ++i) {
        rule += "─";
    }
    std::string out = line(header) + rule + "\n";
    for (const auto& row : rows) {
        out += line(row);
    }
    if (!footer.empty()) {
        out += rule + "\n" + line(footer);
    }
    return out;
}

std::string size_text(std::uint64_t bytes) {
    if (bytes < 1000) {
        return fmt::format("{} B", bytes);
    }
    const double value = static_cast<double>(bytes);
    if (bytes < 1'000'000) {
        return fmt::format("{:.1f} kB", value / 1e3);
    }
    if (bytes < 1'000'000'000) {
        return fmt::format("{:.1f} MB", value / 1e6);
    }
    return fmt::format("{:.1f} GB", value / 1e9);
}

}  // namespace loa::controller::detail
