// Text slides for LED panel boards: Vietnamese text rendered with Pango and Cairo to a PNG at the
// board's resolution, so that a board needs no fonts of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

#include "loa/media/error.hpp"
#include "loa/media/slide_legibility.hpp"

namespace loa::media {

/// An opaque sRGB colour.
struct Colour {
    std::uint8_t red = 0;
    std::uint8_t green = 0;
    std::uint8_t blue = 0;
    friend bool operator==(const Colour&, const Colour&) = default;
};

/// Parses "#rrggbb", "rrggbb" or one of the names black, white, amber, red, green, yellow.
std::expected<Colour, Error> parse_colour(std::string_view text);

inline constexpr int kMinSlideSide = 8;     ///< px: the smallest board side accepted
inline constexpr int kMaxSlideSide = 7680;  ///< px: the largest (8K)
/// Longer slide text is refused before it is laid out: about 1,500 Vietnamese letters, far more
/// than any board shows at a readable size.
inline constexpr std::size_t kMaxSlideTextBytes = 4096;

/// How render_text_slide draws a slide.
struct SlideOptions {
    int width = 192;  ///< px, the board's resolution
    int height = 64;
    /// An installed fontconfig family (or the alias Sans, Serif, Monospace) with a glyph for every
    /// character of the text. DejaVu Sans (Debian's fonts-dejavu-core) covers all of Vietnamese.
    std::string font_family = "DejaVu Sans";
    bool bold = true;                ///< bold strokes read better on LED matrices
    Colour foreground{255, 176, 0};  ///< amber
    Colour background{0, 0, 0};
    int margin = 2;  ///< px kept clear on every side
    /// Text that fits only below this size is refused. The font's measured minimum legible size
    /// (measure_legibility) is always the floor: 0 or any value below it means that minimum.
    int min_font_px = 0;
    bool antialias = true;  ///< off for boards whose LEDs are only on or off
};

/// What render_text_slide drew.
struct RenderedSlide {
    int width = 0;
    int height = 0;
    int font_px = 0;         ///< the largest pixel size at which the whole text fits
    int lines = 0;           ///< lines after word wrapping
    int legible_min_px = 0;  ///< the font's measured minimum legible size (measure_legibility)
};

/// Renders `text` (UTF-8, normalised to NFC; a newline starts a new line) centred on the board,
/// wrapped at word boundaries, at the largest pixel size that fits inside the margins, diacritics
/// included. Refuses empty text, text over kMaxSlideTextBytes, sizes outside
/// kMinSlideSide..kMaxSlideSide, a font family that is not installed, a font without a glyph for
/// some character (the message names the font and the characters), and text that fits only below
/// the font's measured minimum legible size or `min_font_px`, whichever is larger (the message
/// gives both, the size the text would need and what to do). Messages are Vietnamese, then
/// English. Writes `out_png` through out_png + ".part" and a
/// rename; on failure nothing is written. Never throws.
std::expected<RenderedSlide, Error> render_text_slide(std::string_view text,
                                                      const SlideOptions& options,
                                                      const std::filesystem::path& out_png);

}  // namespace loa::media
