// The smallest font size at which a slide font keeps Vietnamese diacritics legible on an LED
// board, measured by drawing letters that differ only by their marks (docs/text-media.md).
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "loa/media/error.hpp"

namespace loa::media {

inline constexpr int kMinFontPx = 4;  ///< no text is drawn smaller than this

/// The largest size measured: above it marks are several pixels thick and so are the gaps that
/// hold them apart, so sizes above it are taken as legible.
inline constexpr int kLegibilityCeilingPx = 64;
/// With anti-aliasing an LED shows grey edges at part brightness; a pixel counts as lit when
/// its grey level (of 255) is at least this, i.e. when it shines at half brightness or more.
inline constexpr int kLitThreshold = 128;

/// A slide's look as far as legibility goes.
struct SlideFont {
    std::string family = "DejaVu Sans";
    bool bold = true;
    bool antialias = true;
};

/// Why a font is not legible at one size.
struct Illegible {
    enum class Kind {
        same_bitmap,   ///< `letter` and `other` (one group) light exactly the same pixels
        mark_touches,  ///< a mark of `letter` touches its body, `other` (the letter without marks)
    };
    Kind kind = Kind::same_bitmap;
    std::string letter;  ///< UTF-8, e.g. "ắ"
    std::string other;
    int font_px = 0;

    /// "'ắ' và 'ẳ' sáng đúng những điểm như nhau ở cỡ 11 px"
    std::string vietnamese() const;
    /// "'ắ' and 'ẳ' light exactly the same pixels at 11 px"
    std::string english() const;
};

/// What measure_legibility found.
struct Legibility {
    /// The smallest size from which every size up to kLegibilityCeilingPx passes.
    int min_font_px = 0;
    /// Why min_font_px - 1 fails; empty when min_font_px is kMinFontPx.
    std::optional<Illegible> below;
};

/// "'DejaVu Sans' đậm không khử răng cưa" and "'DejaVu Sans' bold without anti-aliasing".
std::string font_style_vietnamese(const SlideFont& font);
std::string font_style_english(const SlideFont& font);

/// Checks one size: the first letter pair of a group that draws the same bitmap, or the first
/// letter whose mark touches its body; nothing when every letter is legible. Letters the font has
/// no glyph for are left out (text using them is refused anyway).
std::expected<std::optional<Illegible>, Error> check_legibility(const SlideFont& font, int font_px);

/// The font's measured minimum legible size: check_legibility from kLegibilityCeilingPx down to
/// the first size that fails. Measured once per process for each family (case-insensitive),
/// weight and anti-aliasing (the first 64 such fonts); later calls return the cached result.
/// Refuses a font that is not legible even at kLegibilityCeilingPx. Thread-safe; never throws.
std::expected<Legibility, Error> measure_legibility(const SlideFont& font);

}  // namespace loa::media
