// Measures the smallest legible size of a slide font: Vietnamese letters that differ only by
// their marks are drawn as a slide draws them, thresholded to lit and unlit LEDs, and compared.
#include "loa/media/slide_legibility.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "slide_font.hpp"

namespace loa::media {

namespace {

using namespace slide_font;

// A handful of fonts is all a controller uses; the cap keeps the cache bounded regardless.
constexpr std::size_t kMaxFontsCached = 64;

// Letters that differ only by their marks, one group per base letter and case: each vowel with
// the five tones, with and without circumflex, breve or horn; d and đ. Every letter of a group
// must light different pixels from every other letter of its group.
constexpr std::array<const char*, 14> kGroups = {"aàáảãạăằắẳẵặâầấẩẫậ",
                                                 "eèéẻẽẹêềếểễệ",
                                                 "iìíỉĩị",
                                                 "oòóỏõọôồốổỗộơờớởỡợ",
                                                 "uùúủũụưừứửữự",
                                                 "yỳýỷỹỵ",
                                                 "dđ",
                                                 "AÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ",
                                                 "EÈÉẺẼẸÊỀẾỂỄỆ",
                                                 "IÌÍỈĨỊ",
                                                 "OÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ",
                                                 "UÙÚỦŨỤƯỪỨỬỮỰ",
                                                 "YỲÝỶỸỴ",
                                                 "DĐ"};

// A letter split into the body its marks must keep apart from, and where its marks sit.
struct Anatomy {
    std::string body;  // the letter without tone, circumflex or breve; the horn is part of it
    bool above = false;
    bool below = false;
};

std::string utf8(gunichar c) {
    std::array<gchar, 8> bytes{};
    g_unichar_to_utf8(c, bytes.data());
    return bytes.data();
}

Anatomy anatomy(const std::string& letter) {
    Anatomy a;
    GCharPtr nfd(g_utf8_normalize(letter.c_str(), -1, G_NORMALIZE_NFD));
    std::string body;
    for (const gchar* p = nfd.get(); *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        switch (c) {
            case 0x0300:  // grave
            case 0x0301:  // acute
            case 0x0302:  // circumflex
            case 0x0303:  // tilde
            case 0x0306:  // breve
            case 0x0309:  // hook above
                a.above = true;
                break;
            case 0x0323:  // dot below
                a.below = true;
                break;
            case 'i':  // the dot of i is a mark too; with a tone the tone replaces it
                a.above = true;
                body += utf8(0x0131);
                break;
            default:
                body += utf8(c);
        }
    }
    GCharPtr nfc(g_utf8_normalize(body.c_str(), -1, G_NORMALIZE_NFC));
    a.body = nfc ? nfc.get() : body;
    return a;
}

std::vector<std::string> letters_of(const char* group) {
    std::vector<std::string> letters;
    for (const gchar* p = group; *p != '\0'; p = g_utf8_next_char(p)) {
        const gchar* next = g_utf8_next_char(p);
        letters.emplace_back(p, static_cast<std::size_t>(next - p));
    }
    return letters;
}

// Lit (1) and unlit (0) pixels of one letter, always drawn at the same origin so that two
// letters compare pixel for pixel.
struct Bitmap {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> lit;
    friend bool operator==(const Bitmap&, const Bitmap&) = default;
};

// An edge-connected set of lit pixels. Pixels touching only at a corner are apart: on a board
// the two LEDs are √2 pitches apart with dark LEDs on both sides.
struct Shape {
    int top = 0;
    int bottom = 0;
    int pixels = 0;
};

std::vector<Shape> shapes_of(const Bitmap& b) {
    std::vector<Shape> shapes;
    std::vector<std::uint8_t> seen(b.lit.size(), 0);
    std::vector<int> stack;
    for (int start = 0; start < static_cast<int>(b.lit.size()); ++start) {
        if (b.lit[start] == 0 || seen[start] != 0) {
            continue;
        }
        Shape shape{b.height, -1, 0};
        seen[start] = 1;
        stack.push_back(start);
        while (!stack.empty()) {
            int p = stack.back();
            stack.pop_back();
            int y = p / b.width;
            int x = p % b.width;
            ++shape.pixels;
            shape.top = std::min(shape.top, y);
            shape.bottom = std::max(shape.bottom, y);
            for (auto [dy, dx] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
                int yy = y + dy;
                int xx = x + dx;
                int q = yy * b.width + xx;
                if (yy >= 0 && xx >= 0 && yy < b.height && xx < b.width && b.lit[q] != 0 &&
                    seen[q] == 0) {
                    seen[q] = 1;
                    stack.push_back(q);
                }
            }
        }
        shapes.push_back(shape);
    }
    return shapes;
}

// The body is the letter's largest shape; every other shape is a mark (or part of one).
std::size_t body_index(const std::vector<Shape>& shapes) {
    auto it = std::max_element(shapes.begin(), shapes.end(),
                               [](const Shape& a, const Shape& b) { return a.pixels < b.pixels; });
    return static_cast<std::size_t>(it - shapes.begin());
}

// Draws single letters at one size as a slide would, white on black, and thresholds them.
class LetterPainter {
  public:
    LetterPainter(const SlideFont& font, int font_px)
        : font_px_(font_px),
          side_(3 * font_px),
          surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, side_, side_)),
          cr_(cairo_create(surface_.get())),
          layout_(make_layout(cr_.get(), font.antialias)),
          description_(make_description(font.family, font.bold)) {
        pango_font_description_set_absolute_size(description_.get(), font_px * PANGO_SCALE);
        pango_layout_set_font_description(layout_.get(), description_.get());
        font_.reset(
            pango_context_load_font(pango_layout_get_context(layout_.get()), description_.get()));
    }

    bool ok() const { return cairo_status(cr_.get()) == CAIRO_STATUS_SUCCESS && font_; }

    bool has(const std::string& letter) const {
        return pango_font_has_char(font_.get(), g_utf8_get_char(letter.c_str())) != FALSE;
    }

    Bitmap draw(const std::string& letter) {
        cairo_set_source_rgb(cr_.get(), 0, 0, 0);
        cairo_paint(cr_.get());
        cairo_set_source_rgb(cr_.get(), 1, 1, 1);
        pango_layout_set_text(layout_.get(), letter.c_str(), static_cast<int>(letter.size()));
        // One size of margin all round holds capitals' stacked marks above and dots below.
        cairo_move_to(cr_.get(), font_px_, font_px_);
        pango_cairo_show_layout(cr_.get(), layout_.get());
        cairo_surface_flush(surface_.get());
        Bitmap b{side_, side_, std::vector<std::uint8_t>(static_cast<std::size_t>(side_) * side_)};
        const unsigned char* data = cairo_image_surface_get_data(surface_.get());
        const int stride = cairo_image_surface_get_stride(surface_.get());
        for (int y = 0; y < side_; ++y) {
            const auto* row = reinterpret_cast<const std::uint32_t*>(data + y * stride);
            for (int x = 0; x < side_; ++x) {
                // White text: every channel holds the grey level; green is as good as any.
                b.lit[y * side_ + x] = ((row[x] >> 8) & 0xFF) >= kLitThreshold ? 1 : 0;
            }
        }
        return b;
    }

  private:
    int font_px_;
    int side_;
    SurfacePtr surface_;
    CairoPtr cr_;
    LayoutPtr layout_;
    FontDescriptionPtr description_;
    FontPtr font_;
};

// A mark is held apart from its body when (1) the body is no taller than the letter drawn
// without marks (a mark that touches the body makes it taller) and (2) some shape besides the
// body lies above the body's middle (for marks above) and below it (for a dot below; the dot
// of ỵ sits beside the tail, not under it). With anti-aliasing, hinting the accented glyph
// can move the body's edge by a row, so one row of slack is allowed there.
bool marks_apart(const Bitmap& letter, const Bitmap& bare, const Anatomy& a, bool antialias) {
    auto bare_shapes = shapes_of(bare);
    auto shapes = shapes_of(letter);
    if (bare_shapes.empty() || shapes.empty()) {
        return false;
    }
    const Shape& bare_body = bare_shapes[body_index(bare_shapes)];
    const std::size_t body = body_index(shapes);
    const int slack = antialias ? 1 : 0;
    if (shapes[body].bottom - shapes[body].top > bare_body.bottom - bare_body.top + slack) {
        return false;
    }
    const int middle2 = shapes[body].top + shapes[body].bottom;  // twice the middle row
    bool above = false;
    bool below = false;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        if (i != body) {
            above = above || shapes[i].top + shapes[i].bottom < middle2;
            below = below || shapes[i].top + shapes[i].bottom > middle2;
        }
    }
    return (above || !a.above) && (below || !a.below);
}

std::expected<std::optional<Illegible>, Error> check(const SlideFont& font, int font_px) {
    LetterPainter painter(font, font_px);
    if (!painter.ok()) {
        return std::unexpected(
            Error{Error::Code::io, fmt::format("không vẽ được chữ cỡ {0} px để đo / cannot draw "
                                               "letters at {0} px to measure them",
                                               font_px)});
    }
    std::map<std::string, Bitmap> bare;  // bodies drawn alone, shared by a group's letters
    for (const char* group : kGroups) {
        std::vector<std::string> letters = letters_of(group);
        std::erase_if(letters, [&](const std::string& l) { return !painter.has(l); });
        std::vector<Bitmap> bitmaps;
        for (const std::string& letter : letters) {
            bitmaps.push_back(painter.draw(letter));
            for (std::size_t j = 0; j + 1 < bitmaps.size(); ++j) {
                if (bitmaps[j] == bitmaps.back()) {
                    return Illegible{Illegible::Kind::same_bitmap, letters[j], letter, font_px};
                }
            }
        }
        for (std::size_t i = 0; i < letters.size(); ++i) {
            Anatomy a = anatomy(letters[i]);
            if ((!a.above && !a.below) || !painter.has(a.body)) {
                continue;
            }
            auto [it, fresh] = bare.try_emplace(a.body);
            if (fresh) {
                it->second = painter.draw(a.body);
            }
            if (!marks_apart(bitmaps[i], it->second, a, font.antialias)) {
                return Illegible{Illegible::Kind::mark_touches, letters[i], a.body, font_px};
            }
        }
    }
    return std::optional<Illegible>();
}

}  // namespace

std::string font_style_vietnamese(const SlideFont& font) {
    return fmt::format("'{}'{}{}", font.family, font.bold ? " đậm" : "",
                       font.antialias ? "" : " không khử răng cưa");
}

std::string font_style_english(const SlideFont& font) {
    return fmt::format("'{}'{}{}", font.family, font.bold ? " bold" : "",
                       font.antialias ? "" : " without anti-aliasing");
}

std::string Illegible::vietnamese() const {
    return kind == Kind::same_bitmap
               ? fmt::format("'{}' và '{}' sáng đúng những điểm như nhau ở cỡ {} px", letter, other,
                             font_px)
               : fmt::format("dấu của '{}' chạm vào thân chữ '{}' ở cỡ {} px", letter, other,
                             font_px);
}

std::string Illegible::english() const {
    return kind == Kind::same_bitmap
               ? fmt::format("'{}' and '{}' light exactly the same pixels at {} px", letter, other,
                             font_px)
               : fmt::format("a mark of '{}' touches the letter '{}' at {} px", letter, other,
                             font_px);
}

std::expected<std::optional<Illegible>, Error> check_legibility(const SlideFont& font,
                                                                int font_px) {
    if (font_px < kMinFontPx || font_px > kLegibilityCeilingPx) {
        return std::unexpected(Error{
            Error::Code::io, fmt::format("cỡ {0} px nằm ngoài {1}..{2} px được đo / {0} px is "
                                         "outside the measured sizes {1}..{2} px",
                                         font_px, kMinFontPx, kLegibilityCeilingPx)});
    }
    return check(font, font_px);
}

std::expected<Legibility, Error> measure_legibility(const SlideFont& font) {
    using Key = std::tuple<std::string, bool, bool>;
    static std::mutex mutex;
    static std::map<Key, Legibility> measured;

    GCharPtr folded(g_utf8_casefold(font.family.c_str(), -1));
    Key key{folded ? folded.get() : font.family, font.bold, font.antialias};
    // Held while measuring: a second caller for the same font waits instead of measuring again.
    std::lock_guard lock(mutex);
    if (auto it = measured.find(key); it != measured.end()) {
        return it->second;
    }
    Legibility result{kMinFontPx, std::nullopt};
    for (int px = kLegibilityCeilingPx; px >= kMinFontPx; --px) {
        auto failure = check(font, px);
        if (!failure) {
            return std::unexpected(failure.error());
        }
        if (!failure->has_value()) {
            continue;
        }
        if (px == kLegibilityCeilingPx) {
            return std::unexpected(Error{
                Error::Code::unsupported,
                fmt::format("phông {} làm mất dấu tiếng Việt cả ở cỡ {} px ({}); hãy chọn phông "
                            "khác / font {} loses Vietnamese diacritics even at {} px ({}); "
                            "choose another font",
                            font_style_vietnamese(font), px, (*failure)->vietnamese(),
                            font_style_english(font), px, (*failure)->english())});
        }
        result = Legibility{px + 1, **failure};
        break;
    }
    // Bounded whatever callers pass: past the cap a font is measured again on every call.
    if (measured.size() < kMaxFontsCached) {
        measured.emplace(std::move(key), result);
    }
    return result;
}

}  // namespace loa::media
