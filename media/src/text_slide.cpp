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

namespace loa::media {

namespace {

namespace fs = std::filesystem;

constexpr int kMaxMissingShown = 5;  // characters named when a font lacks glyphs
constexpr int kFamiliesShown = 12;   // installed families named when one is not found

std::unexpected<Error> fail(Error::Code code, std::string message) {
    return std::unexpected(Error{code, std::move(message)});
}

// unique_ptr deleters for the C libraries' objects; each pointer here owns one reference.
template <typename T, auto Free>
struct Freer {
    void operator()(T* p) const {
        if (p != nullptr) {
            Free(p);
        }
    }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, Freer<cairo_surface_t, cairo_surface_destroy>>;
using CairoPtr = std::unique_ptr<cairo_t, Freer<cairo_t, cairo_destroy>>;
using FontOptionsPtr =
    std::unique_ptr<cairo_font_options_t, Freer<cairo_font_options_t, cairo_font_options_destroy>>;
using FontDescriptionPtr =
    std::unique_ptr<PangoFontDescription, Freer<PangoFontDescription, pango_font_description_free>>;
using AttrListPtr = std::unique_ptr<PangoAttrList, Freer<PangoAttrList, pango_attr_list_unref>>;
using LayoutPtr = std::unique_ptr<PangoLayout, Freer<void, g_object_unref>>;
using FontPtr = std::unique_ptr<PangoFont, Freer<void, g_object_unref>>;
using GCharPtr = std::unique_ptr<gchar, Freer<void, g_free>>;

// The text as the slide shows it: valid UTF-8, composed (NFC: "ệ" one character, as fonts and
// boards expect, even when typed as e + two combining marks), without surrounding blanks.
std::expected<std::string, Error> slide_text(std::string_view text) {
    if (text.size() > kMaxSlideTextBytes) {
        return fail(Error::Code::io,
                    fmt::format("the slide text is {} bytes, over the limit of {} bytes",
                                text.size(), kMaxSlideTextBytes));
    }
    if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) == FALSE) {
        return fail(Error::Code::io, "the slide text is not valid UTF-8");
    }
    GCharPtr composed(
        g_utf8_normalize(text.data(), static_cast<gssize>(text.size()), G_NORMALIZE_NFC));
    std::string result = composed ? composed.get() : "";
    auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
    result.erase(result.begin(), std::find_if_not(result.begin(), result.end(), blank));
    result.erase(std::find_if_not(result.rbegin(), result.rend(), blank).base(), result.end());
    if (result.empty()) {
        return fail(Error::Code::empty, "nothing to show: the slide text is empty");
    }
    return result;
}

std::expected<void, Error> check_geometry(const SlideOptions& o) {
    for (auto [name, side] : {std::pair{"width", o.width}, std::pair{"height", o.height}}) {
        if (side < kMinSlideSide || side > kMaxSlideSide) {
            return fail(Error::Code::io, fmt::format("a slide {} of {} px is outside {}..{} px",
                                                     name, side, kMinSlideSide, kMaxSlideSide));
        }
    }
    if (o.min_font_px < kMinFontPx) {
        return fail(Error::Code::io, fmt::format("a minimum font size of {} px is below {} px",
                                                 o.min_font_px, kMinFontPx));
    }
    const int inner_w = o.width - 2 * o.margin;
    const int inner_h = o.height - 2 * o.margin;
    if (o.margin < 0 || inner_w < o.min_font_px || inner_h < o.min_font_px) {
        return fail(Error::Code::io,
                    fmt::format("a {} px margin leaves no room for {} px text on a {}x{} slide",
                                o.margin, o.min_font_px, o.width, o.height));
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
    return fail(Error::Code::io, fmt::format("font family '{}' is not installed (installed: {})",
                                             family, installed.empty() ? "none" : installed));
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
        names += fmt::format(" and {} more", missing.size() - kMaxMissingShown);
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
        : layout_(pango_cairo_create_layout(cr)), description_(pango_font_description_new()) {
        FontOptionsPtr font_options(cairo_font_options_create());
        cairo_font_options_set_antialias(
            font_options.get(), options.antialias ? CAIRO_ANTIALIAS_GRAY : CAIRO_ANTIALIAS_NONE);
        cairo_font_options_set_hint_metrics(font_options.get(), CAIRO_HINT_METRICS_ON);
        pango_cairo_context_set_font_options(context(), font_options.get());
        pango_layout_context_changed(layout_.get());

        pango_font_description_set_family(description_.get(), options.font_family.c_str());
        pango_font_description_set_weight(description_.get(),
                                          options.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
        AttrListPtr attributes(pango_attr_list_new());
        pango_attr_list_insert(attributes.get(), pango_attr_fallback_new(FALSE));
        pango_layout_set_attributes(layout_.get(), attributes.get());
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
        return fail(Error::Code::io,
                    fmt::format("cannot write {}: {}", part.string(), std::strerror(errno)));
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
        return fail(Error::Code::io, fmt::format("cannot write {}: {}", out.string(),
                                                 error != 0 ? std::strerror(error) : ec.message()));
    }
    return {};
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
                    fmt::format("'{}' is not a colour (#rrggbb, or black, white, amber, red, "
                                "green, yellow)",
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
        return fail(Error::Code::io,
                    fmt::format("cannot make a {}x{} image: {}", options.width, options.height,
                                cairo_status_to_string(cairo_status(cr.get()))));
    }
    SlideLayout layout(cr.get(), options, *shown);
    if (auto ok = check_family(layout.context(), options.font_family); !ok) {
        return std::unexpected(ok.error());
    }

    Box smallest = layout.at(options.min_font_px);
    if (int unknown = pango_layout_get_unknown_glyphs_count(layout.get()); unknown > 0) {
        std::string missing = missing_characters(layout.font().get(), *shown);
        return fail(Error::Code::io,
                    fmt::format("font '{}' has no glyph for {}; choose a font that covers the "
                                "text (DejaVu Sans covers Vietnamese)",
                                options.font_family,
                                missing.empty() ? fmt::format("{} characters", unknown) : missing));
    }
    const int inner_w = options.width - 2 * options.margin;
    const int inner_h = options.height - 2 * options.margin;
    auto fits = [&](const Box& box) { return box.width <= inner_w && box.height <= inner_h; };
    if (!fits(smallest)) {
        return fail(Error::Code::io,
                    fmt::format("the text does not fit on a {}x{} slide even at {} px: it needs "
                                "{}x{} px ({} line{}) and the {} px margins leave {}x{} px; "
                                "shorten it or use a larger board",
                                options.width, options.height, options.min_font_px, smallest.width,
                                smallest.height, smallest.lines, smallest.lines == 1 ? "" : "s",
                                options.margin, inner_w, inner_h));
    }
    // Binary search for the largest size that fits: `low` always fits, `high` never does.
    int low = options.min_font_px;
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
        return fail(Error::Code::io, fmt::format("cannot encode the slide as PNG: {}",
                                                 cairo_status_to_string(status)));
    }
    if (auto ok = write_atomically(out_png, png); !ok) {
        return std::unexpected(ok.error());
    }
    return RenderedSlide{options.width, options.height, low, box.lines};
}

}  // namespace loa::media
