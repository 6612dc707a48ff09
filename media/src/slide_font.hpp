// Pango and Cairo set up one way for text slides and for the legibility measurement, so that the
// letters measured are drawn exactly as a slide draws them.
#pragma once

#include <memory>
#include <string>

#include <cairo.h>
#include <pango/pangocairo.h>

namespace loa::media::slide_font {

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

/// A layout on `cr` drawing with the slide's rendering: grey or no anti-aliasing, metrics hinted
/// to whole pixels, and no fallback to other fonts (a missing glyph is refused, not borrowed).
inline LayoutPtr make_layout(cairo_t* cr, bool antialias) {
    LayoutPtr layout(pango_cairo_create_layout(cr));
    FontOptionsPtr font_options(cairo_font_options_create());
    cairo_font_options_set_antialias(font_options.get(),
                                     antialias ? CAIRO_ANTIALIAS_GRAY : CAIRO_ANTIALIAS_NONE);
    cairo_font_options_set_hint_metrics(font_options.get(), CAIRO_HINT_METRICS_ON);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout.get()),
                                         font_options.get());
    pango_layout_context_changed(layout.get());
    AttrListPtr attributes(pango_attr_list_new());
    pango_attr_list_insert(attributes.get(), pango_attr_fallback_new(FALSE));
    pango_layout_set_attributes(layout.get(), attributes.get());
    return layout;
}

/// The slide's font description; its size is set per layout.
inline FontDescriptionPtr make_description(const std::string& family, bool bold) {
    FontDescriptionPtr description(pango_font_description_new());
    pango_font_description_set_family(description.get(), family.c_str());
    pango_font_description_set_weight(description.get(),
                                      bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    return description;
}

}  // namespace loa::media::slide_font
