// Lays text out with Pango on a Cairo image surface at the largest size that fits the board, with
// font fallback off so that a missing glyph is refused rather than drawn from another font.
#include "loa/media/text_slide.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <cairo.h>
#include <pango/pangocairo.h>

#include <fmt/core.h>

#include "slide_font.hpp"

namespace loa::media {

namespace {

namespace fs = std::filesystem;
using namespace slide_font;

constexpr int kMaxMissingShown = 5;  // characters named when a font lacks glyphs
constexpr int kFamiliesShown = 12;   // installed families named when one is not found

std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

// The text as the slide shows it: valid UTF-8, composed (NFC: "ệ" one character, as fonts and
// boards expect, even when typed as e + two combining marks), without surrounding blanks.
std::expected<std::string, Error> slide_text(std::string_view text) {
    if (text.size() > kMaxSlideTextBytes) {
        return fail(Error::Code::io,
                    fmt::format("chữ trên bảng dài {0} byte, quá giới hạn {1} byte / the slide "
                                "text is {0} bytes, over the limit of {1} bytes",
                                text.size(), kMaxSlideTextBytes));
    }
    if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) == FALSE) {
        return fail(Error::Code::io,
                    "chữ trên bảng không phải UTF-8 hợp lệ / the slide text is not valid UTF-8");
    }
    GCharPtr composed(
        g_utf8_normalize(text.data(), static_cast<gssize>(text.size()), G_NORMALIZE_NFC));
    std::string result = composed ? composed.get() : "";
    auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
    result.erase(result.begin(), std::find_if_not(result.begin(), result.end(), blank));
    result.erase(std::find_if_not(result.rbegin(), result.rend(), blank).base(), result.end());
    if (result.empty()) {
        return fail(Error::Code::empty,
                    "không có gì để hiện: chữ trên bảng trống / nothing to show: the slide text "
                    "is empty");
    }
    return result;
}

std::expected<void, Error> check_geometry(const SlideOptions& o) {
    for (auto [name, side] : {std::pair{"width", o.width}, std::pair{"height", o.height}}) {
        if (side < kMinSlideSide || side > kMaxSlideSide) {
            return fail(Error::Code::io,
                        fmt::format("{} bảng {} px nằm ngoài {}..{} px / a slide {} of {} px is "
                                    "outside {}..{} px",
                                    name == std::string_view("width") ? "chiều rộng" : "chiều cao",
                                    side, kMinSlideSide, kMaxSlideSide, name, side, kMinSlideSide,
                                    kMaxSlideSide));
        }
    }
    if (o.min_font_px < 0) {
        return fail(Error::Code::io,
                    fmt::format("cỡ chữ tối thiểu {0} px là số âm / a minimum font size of {0} px "
                                "is negative",
                                o.min_font_px));
    }
    if (o.margin < 0) {
        return fail(Error::Code::io,
                    fmt::format("lề {0} px là số âm / a margin of {0} px is negative", o.margin));
    }
    return {};
}

// Refuses a family fontconfig does not have: Pango would quietly substitute another.
std::expected<void, Error> check_family(PangoContext* context, const std::string& family) {
    PangoFontFamily** families = nullptr;
    int count = 0;
    pango_context_list_families(context, &families, &count);
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) {
        names.emplace_back(pango_font_family_get_name(families[i]));
    }
    g_free(families);
    bool found = std::any_of(names.begin(), names.end(), [&](const std::string& name) {
        return g_ascii_strcasecmp(name.c_str(), family.c_str()) == 0;
    });
    if (found) {
        return {};
    }
    std::sort(names.begin(), names.end());
    std::string installed;
    for (std::size_t i = 0; i < names.size() && i < kFamiliesShown; ++i) {
        installed += (i == 0 ? "" : ", ") + names[i];
    }
    if (names.size() > kFamiliesShown) {
        installed += ", …";
    }
    return fail(Error::Code::io,
                fmt::format("phông '{0}' chưa được cài (đã cài: {1}) / font family '{0}' is not "
                            "installed (installed: {2})",
                            family, installed.empty() ? "không có" : installed,
                            installed.empty() ? "none" : installed));
}

// Names the characters of `text` that `font` has no glyph for.
std::string missing_characters(PangoFont* font, const std::string& text) {
    std::vector<gunichar> missing;
    for (const gchar* p = text.c_str(); *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isspace(c) == FALSE && pango_font_has_char(font, c) == FALSE &&
            std::find(missing.begin(), missing.end(), c) == missing.end()) {
            missing.push_back(c);
        }
    }
    std::string names;
    for (std::size_t i = 0; i < missing.size() && i < kMaxMissingShown; ++i) {
        std::array<gchar, 8> utf8{};
        g_unichar_to_utf8(missing[i], utf8.data());
        names += fmt::format("{}'{}' (U+{:04X})", i == 0 ? "" : ", ", utf8.data(), missing[i]);
    }
    if (missing.size() > kMaxMissingShown) {
        names += fmt::format(" (+{})", missing.size() - kMaxMissingShown);
    }
    return names;
}

// The box the text occupies at the layout's current size: ink and logical extents together, so
// that stacked diacritics above capitals ("Ở", "Ế") are never clipped.
struct Box {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
    int lines = 0;
};

Box measure(PangoLayout* layout) {
    PangoRectangle ink;
    PangoRectangle logical;
    pango_layout_get_pixel_extents(layout, &ink, &logical);
    int x0 = std::min(ink.x, logical.x);
    int y0 = std::min(ink.y, logical.y);
    int x1 = std::max(ink.x + ink.width, logical.x + logical.width);
    int y1 = std::max(ink.y + ink.height, logical.y + logical.height);
    return {x0, y0, x1 - x0, y1 - y0, pango_layout_get_line_count(layout)};
}

// A layout whose font size can be changed and measured, with fallback to other fonts off.
class SlideLayout {
  public:
    SlideLayout(cairo_t* cr, const SlideOptions& options, const std::string& text)
        : layout_(make_layout(cr, options.antialias)),
          description_(make_description(options.font_family, options.bold)) {
        pango_layout_set_width(layout_.get(), (options.width - 2 * options.margin) * PANGO_SCALE);
        pango_layout_set_wrap(layout_.get(), PANGO_WRAP_WORD);
        pango_layout_set_alignment(layout_.get(), PANGO_ALIGN_CENTER);
        pango_layout_set_text(layout_.get(), text.c_str(), static_cast<int>(text.size()));
    }

    PangoContext* context() const { return pango_layout_get_context(layout_.get()); }
    PangoLayout* get() const { return layout_.get(); }

    Box at(int font_px) {
        pango_font_description_set_absolute_size(description_.get(), font_px * PANGO_SCALE);
        pango_layout_set_font_description(layout_.get(), description_.get());
        return measure(layout_.get());
    }

    FontPtr font() const { return FontPtr(pango_context_load_font(context(), description_.get())); }

  private:
    LayoutPtr layout_;
    FontDescriptionPtr description_;
};

void set_colour(cairo_t* cr, const Colour& c) {
    cairo_set_source_rgb(cr, c.red / 255.0, c.green / 255.0, c.blue / 255.0);
}

cairo_status_t append_png(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

// Writes `bytes` to out + ".part", syncs it and renames it to `out`.
std::expected<void, Error> write_atomically(const fs::path& out, const std::string& bytes) {
    fs::path part = out;
    part += ".part";
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return fail(Error::Code::io, fmt::format("không ghi được {0}: {1} / cannot write {0}: {1}",
                                                 part.string(), std::strerror(errno)));
    }
    std::string_view left = bytes;
    int error = 0;
    while (!left.empty() && error == 0) {
        ssize_t n = ::write(fd, left.data(), left.size());
        if (n > 0) {
            left.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno != EINTR) {
            error = errno;
        }
    }
    if (error == 0 && ::fsync(fd) != 0) {
        error = errno;
    }
    ::close(fd);
    std::error_code ec;
    if (error == 0) {
        fs::rename(part, out, ec);
    }
    if (error != 0 || ec) {
        fs::remove(part, ec);
        return fail(Error::Code::io,
                    fmt::format("không ghi được {0}: {1} / cannot write {0}: {1}", out.string(),
                                error != 0 ? std::strerror(error) : ec.message()));
    }
    return {};
}

// Why text that fits only below `floor` is refused: the room it needs, why the floor is where it
// is (the measured minimum and the letters that fail below it, or the operator's own floor), the
// size it would need, and what to do.
template <typename Fits>
std::string too_small(const SlideOptions& o, const SlideFont& font, const Legibility& legibility,
                      int floor, const Box& smallest, const Fits& fits, SlideLayout& layout) {
    int needed = 0;  // the largest size below the floor that fits, if any
    for (int px = floor - 1; px >= kMinFontPx && needed == 0; --px) {
        needed = fits(layout.at(px)) ? px : 0;
    }
    const bool own_floor = floor > legibility.min_font_px;
    std::string why_vi;
    std::string why_en;
    if (!own_floor) {
        why_vi = fmt::format("{} px là cỡ nhỏ nhất mà phông {} còn giữ dấu tiếng Việt đọc rõ",
                             floor, font_style_vietnamese(font));
        why_en = fmt::format(
            "{} px is the smallest size at which {} keeps Vietnamese diacritics "
            "legible",
            floor, font_style_english(font));
        if (legibility.below) {
            why_vi += fmt::format(" (đo được: {})", legibility.below->vietnamese());
            why_en += fmt::format(" (measured: {})", legibility.below->english());
        }
    } else {
        why_vi = fmt::format("{} px là cỡ tối thiểu được yêu cầu (phông này đọc rõ từ {} px)",
                             floor, legibility.min_font_px);
        why_en =
            fmt::format("{} px is the minimum size asked for (this font is legible from {} px)",
                        floor, legibility.min_font_px);
    }
    const std::string need_vi = needed > 0 ? fmt::format("chữ chỉ vừa ở cỡ {} px", needed)
                                           : fmt::format("chữ không vừa cả ở cỡ {} px", kMinFontPx);
    const std::string need_en = needed > 0
                                    ? fmt::format("it would fit only at {} px", needed)
                                    : fmt::format("it does not fit even at {} px", kMinFontPx);
    const int inner_w = o.width - 2 * o.margin;
    const int inner_h = o.height - 2 * o.margin;
    return fmt::format(
        "chữ không vừa bảng {0}x{1} ở cỡ {2} px: cần {3}x{4} px ({5} dòng) mà lề {6} px chỉ còn "
        "{7}x{8} px; {9}; {10}. Hãy rút ngắn chữ, dùng bảng lớn hơn hoặc {11} / the text does not "
        "fit on a {0}x{1} slide at {2} px: it needs {3}x{4} px ({5} line{12}) and the {6} px "
        "margins leave {7}x{8} px; {13}; {14}. Shorten the text, use a larger board or {15}",
        o.width, o.height, floor, smallest.width, smallest.height, smallest.lines, o.margin,
        inner_w, inner_h, why_vi, need_vi, own_floor ? "hạ cỡ tối thiểu" : "phông khác",
        smallest.lines == 1 ? "" : "s", why_en, need_en,
        own_floor ? "lower the minimum size" : "another font");
}

}  // namespace

std::expected<Colour, Error> parse_colour(std::string_view text) {
    static constexpr std::pair<std::string_view, Colour> kNames[] = {
        {"black", {0, 0, 0}}, {"white", {255, 255, 255}}, {"amber", {255, 176, 0}},
        {"red", {255, 0, 0}}, {"green", {0, 255, 0}},     {"yellow", {255, 255, 0}}};
    for (const auto& [name, colour] : kNames) {
        if (text == name) {
            return colour;
        }
    }
    std::string_view hex = text.starts_with('#') ? text.substr(1) : text;
    if (hex.size() != 6 || !std::all_of(hex.begin(), hex.end(),
                                        [](unsigned char c) { return std::isxdigit(c) != 0; })) {
        return fail(Error::Code::io,
                    fmt::format("'{0}' không phải màu (#rrggbb, hoặc black, white, amber, red, "
                                "green, yellow) / '{0}' is not a colour (#rrggbb, or black, white, "
                                "amber, red, green, yellow)",
                                text));
    }
    auto byte = [&](std::size_t i) {
        return static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    };
    return Colour{byte(0), byte(2), byte(4)};
}

std::expected<RenderedSlide, Error> render_text_slide(std::string_view text,
                                                      const SlideOptions& options,
                                                      const fs::path& out_png) {
    auto shown = slide_text(text);
    if (!shown) {
        return std::unexpected(shown.error());
    }
    if (auto ok = check_geometry(options); !ok) {
        return std::unexpected(ok.error());
    }
    SurfacePtr surface(
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, options.width, options.height));
    CairoPtr cr(cairo_create(surface.get()));
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
        return fail(
            Error::Code::io,
            fmt::format("không tạo được ảnh {0}x{1}: {2} / cannot make a {0}x{1} image: {2}",
                        options.width, options.height,
                        cairo_status_to_string(cairo_status(cr.get()))));
    }
    SlideLayout layout(cr.get(), options, *shown);
    if (auto ok = check_family(layout.context(), options.font_family); !ok) {
        return std::unexpected(ok.error());
    }
    const SlideFont font{options.font_family, options.bold, options.antialias};
    auto legibility = measure_legibility(font);
    if (!legibility) {
        return std::unexpected(legibility.error());
    }
    // The operator may ask for more than the measured minimum, never for less: a smaller floor
    // is raised to it (docs/text-media.md).
    const int floor = std::max(options.min_font_px, legibility->min_font_px);
    const int inner_w = options.width - 2 * options.margin;
    const int inner_h = options.height - 2 * options.margin;
    if (inner_w < floor || inner_h < floor) {
        return fail(Error::Code::io,
                    fmt::format("lề {0} px không còn chỗ cho chữ cỡ {1} px trên bảng {2}x{3} / a "
                                "{0} px margin leaves no room for {1} px text on a {2}x{3} slide",
                                options.margin, floor, options.width, options.height));
    }

    Box smallest = layout.at(floor);
    if (int unknown = pango_layout_get_unknown_glyphs_count(layout.get()); unknown > 0) {
        std::string missing = missing_characters(layout.font().get(), *shown);
        return fail(Error::Code::io,
                    fmt::format("phông '{0}' không có nét chữ cho {1}; hãy chọn phông có đủ các "
                                "chữ (DejaVu Sans có đủ tiếng Việt) / font '{0}' has no glyph for "
                                "{2}; choose a font that covers the text (DejaVu Sans covers "
                                "Vietnamese)",
                                options.font_family,
                                missing.empty() ? fmt::format("{} ký tự", unknown) : missing,
                                missing.empty() ? fmt::format("{} characters", unknown) : missing));
    }
    auto fits = [&](const Box& box) { return box.width <= inner_w && box.height <= inner_h; };
    if (!fits(smallest)) {
        return fail(Error::Code::io,
                    too_small(options, font, *legibility, floor, smallest, fits, layout));
    }
    // Binary search for the largest size that fits: `low` always fits, `high` never does.
    int low = floor;
    int high = inner_h + 1;
    while (high - low > 1) {
        int middle = low + (high - low) / 2;
        (fits(layout.at(middle)) ? low : high) = middle;
    }
    Box box = layout.at(low);

    set_colour(cr.get(), options.background);
    cairo_paint(cr.get());
    set_colour(cr.get(), options.foreground);
    cairo_move_to(cr.get(), (options.width - box.width) / 2 - box.x,
                  (options.height - box.height) / 2 - box.y);
    pango_cairo_show_layout(cr.get(), layout.get());
    cairo_surface_flush(surface.get());

    std::string png;
    if (auto status = cairo_surface_write_to_png_stream(surface.get(), append_png, &png);
        status != CAIRO_STATUS_SUCCESS) {
        return fail(Error::Code::io,
                    fmt::format("không mã hoá được ảnh PNG: {0} / cannot encode the slide as PNG: "
                                "{0}",
                                cairo_status_to_string(status)));
    }
    if (auto ok = write_atomically(out_png, png); !ok) {
        return std::unexpected(ok.error());
    }
    return RenderedSlide{options.width, options.height, low, box.lines, legibility->min_font_px};
}

}  // namespace loa::media
