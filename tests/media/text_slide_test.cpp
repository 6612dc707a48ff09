// Tests of render_text_slide and of the measured legibility rule: PNGs read back with Cairo, sizes
// chosen, every refusal, letters drawn here with Pango to check what was measured.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <cairo.h>
#include <fmt/core.h>
#include <pango/pangocairo.h>

#include "loa/media/text_slide.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loa::media::Colour;
using loa::media::Error;
using loa::media::Illegible;
using loa::media::Legibility;
using loa::media::measure_legibility;
using loa::media::render_text_slide;
using loa::media::RenderedSlide;
using loa::media::SlideFont;
using loa::media::SlideOptions;
using loa::test::TempDir;

namespace {

namespace fs = std::filesystem;

// Every Vietnamese letter with every tone, lower and upper case.
constexpr const char* kAlphabet =
    "aàáảãạ ăằắẳẵặ âầấẩẫậ đ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ "
    "AÀÁẢÃẠ ĂẰẮẲẴẶ ÂẦẤẨẪẬ Đ EÈÉẺẼẸ ÊỀẾỂỄỆ IÌÍỈĨỊ OÒÓỎÕỌ ÔỒỐỔỖỘ ƠỜỚỞỠỢ UÙÚỦŨỤ ƯỪỨỬỮỰ YỲÝỶỸỴ";
constexpr const char* kBulletin = "Ở Đồng Văn, gió mùa đông bắc tràn về; bà con giữ ấm cho trẻ nhỏ";

// A PNG read back: its size and the colours of its pixels.
struct Image {
    int width = 0;
    int height = 0;
    std::multiset<std::uint32_t> pixels;  // 0xRRGGBB

    std::size_t count(const Colour& c) const {
        return pixels.count((std::uint32_t{c.red} << 16) | (std::uint32_t{c.green} << 8) | c.blue);
    }
    std::size_t distinct() const {
        return std::set<std::uint32_t>(pixels.begin(), pixels.end()).size();
    }
};

Image read_png(const fs::path& file) {
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_image_surface_create_from_png(file.c_str()), cairo_surface_destroy);
    REQUIRE(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS);
    Image image{cairo_image_surface_get_width(surface.get()),
                cairo_image_surface_get_height(surface.get()),
                {}};
    const unsigned char* data = cairo_image_surface_get_data(surface.get());
    const int stride = cairo_image_surface_get_stride(surface.get());
    for (int y = 0; y < image.height; ++y) {
        const auto* row = reinterpret_cast<const std::uint32_t*>(data + y * stride);
        for (int x = 0; x < image.width; ++x) {
            image.pixels.insert(row[x] & 0xFFFFFF);
        }
    }
    return image;
}

SlideOptions board(int width, int height) {
    SlideOptions options;
    options.width = width;
    options.height = height;
    return options;
}

RenderedSlide render(const std::string& text, const SlideOptions& options, const fs::path& out) {
    auto rendered = render_text_slide(text, options, out);
    INFO((rendered ? std::string() : rendered.error().message));
    REQUIRE(rendered.has_value());
    return *rendered;
}

// The measured minimum of the default slide font (bold DejaVu Sans), with or without
// anti-aliasing.
int legible_min(bool antialias) {
    auto measured = measure_legibility(SlideFont{"DejaVu Sans", true, antialias});
    INFO((measured ? std::string() : measured.error().message));
    REQUIRE(measured.has_value());
    return measured->min_font_px;
}

// One letter drawn here, independently of the library's measurement but the way a slide draws
// it (Pango on Cairo, metrics hinted, white on black), as rows of '#' (lit) and '.' (unlit).
std::vector<std::string> draw_letter(const std::string& letter, bool antialias, int px) {
    const int side = 3 * px;
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side), cairo_surface_destroy);
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()),
                                                          cairo_destroy);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    cairo_paint(cr.get());
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    std::unique_ptr<PangoLayout, decltype(&g_object_unref)> layout(
        pango_cairo_create_layout(cr.get()), g_object_unref);
    std::unique_ptr<cairo_font_options_t, decltype(&cairo_font_options_destroy)> font_options(
        cairo_font_options_create(), cairo_font_options_destroy);
    cairo_font_options_set_antialias(font_options.get(),
                                     antialias ? CAIRO_ANTIALIAS_GRAY : CAIRO_ANTIALIAS_NONE);
    cairo_font_options_set_hint_metrics(font_options.get(), CAIRO_HINT_METRICS_ON);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout.get()),
                                         font_options.get());
    pango_layout_context_changed(layout.get());
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)> description(
        pango_font_description_from_string(fmt::format("DejaVu Sans Bold {}px", px).c_str()),
        pango_font_description_free);
    pango_layout_set_font_description(layout.get(), description.get());
    pango_layout_set_text(layout.get(), letter.c_str(), -1);
    cairo_move_to(cr.get(), px, px);
    pango_cairo_show_layout(cr.get(), layout.get());
    cairo_surface_flush(surface.get());
    const unsigned char* data = cairo_image_surface_get_data(surface.get());
    const int stride = cairo_image_surface_get_stride(surface.get());
    std::vector<std::string> rows;
    for (int y = 0; y < side; ++y) {
        const auto* row = reinterpret_cast<const std::uint32_t*>(data + y * stride);
        std::string line;
        for (int x = 0; x < side; ++x) {
            line += ((row[x] >> 8) & 0xFF) >= loa::media::kLitThreshold ? '#' : '.';
        }
        rows.push_back(line);
    }
    return rows;
}

// The rows that hold lit pixels, for a readable failure message.
std::string picture(const std::vector<std::string>& rows) {
    std::string shown;
    for (const std::string& row : rows) {
        if (row.find('#') != std::string::npos) {
            shown += row + "\n";
        }
    }
    return shown;
}

// Whether a lit pixel of `letter` outside `bare` (a mark) shares an edge with a lit pixel of
// `bare` (the letter without marks, drawn at the same origin).
bool mark_touches_body(const std::vector<std::string>& letter,
                       const std::vector<std::string>& bare) {
    const int side = static_cast<int>(letter.size());
    auto lit = [&](const std::vector<std::string>& b, int y, int x) {
        return y >= 0 && x >= 0 && y < side && x < side && b[y][x] == '#';
    };
    for (int y = 0; y < side; ++y) {
        for (int x = 0; x < side; ++x) {
            if (lit(letter, y, x) && !lit(bare, y, x) &&
                (lit(bare, y - 1, x) || lit(bare, y + 1, x) || lit(bare, y, x - 1) ||
                 lit(bare, y, x + 1))) {
                return true;
            }
        }
    }
    return false;
}

// Renders text expected to be refused; checks that nothing was written and returns the error.
Error refusal(const std::string& text, const SlideOptions& options) {
    TempDir dir;
    auto out = dir / "slide.png";
    auto rendered = render_text_slide(text, options, out);
    REQUIRE_FALSE(rendered.has_value());
    INFO(rendered.error().message);
    CHECK(fs::is_empty(dir.path()));
    return rendered.error();
}

}  // namespace

TEST_CASE("slide: a slide is a PNG of exactly the board's size with text on it") {
    TempDir dir;
    for (auto [w, h] : {std::pair{128, 32}, std::pair{192, 64}, std::pair{256, 128}}) {
        auto out = dir / fmt::format("slide-{}x{}.png", w, h);
        auto options = board(w, h);
        auto rendered = render("Họp thôn", options, out);
        CHECK(rendered.width == w);
        CHECK(rendered.height == h);
        CHECK(rendered.legible_min_px == legible_min(true));
        CHECK(rendered.font_px >= rendered.legible_min_px);
        CHECK_FALSE(fs::exists(out.string() + ".part"));

        Image image = read_png(out);
        CHECK(image.width == w);
        CHECK(image.height == h);
        std::size_t background = image.count(options.background);
        INFO(w << "x" << h << ": " << background << " background pixels");
        CHECK(background < image.pixels.size() * 95 / 100);  // text is drawn
        CHECK(background > image.pixels.size() * 40 / 100);  // on a background
        CHECK(image.count(options.foreground) > 0);
    }
}

TEST_CASE("slide: the largest font that fits is chosen: long text gets a smaller one") {
    TempDir dir;
    auto options = board(384, 128);
    auto short_text = render("Họp thôn", options, dir / "short.png");
    auto long_text = render(kBulletin, options, dir / "long.png");
    CHECK(short_text.lines == 1);
    CHECK(long_text.lines > 1);
    CHECK(short_text.font_px > long_text.font_px);
    CHECK(short_text.font_px <= 128);
    // One size up would no longer fit: a board of the same size refuses it as a minimum.
    options.min_font_px = long_text.font_px + 1;
    CHECK_THAT(refusal(kBulletin, options).message, Contains("does not fit"));
}

TEST_CASE("slide: every Vietnamese letter and tone renders in the default font, NFD as NFC") {
    TempDir dir;
    auto options = board(1024, 256);
    // Success means Pango found a glyph for every character: unknown glyphs are refused.
    auto alphabet = render(kAlphabet, options, dir / "alphabet.png");
    CHECK(alphabet.font_px >= alphabet.legible_min_px);

    // "Tiếng Việt" typed with combining marks (e + circumflex + acute) comes out the same.
    render("Ti\u1EBFng Vi\u1EC7t", board(128, 32), dir / "nfc.png");
    render("Tie\u0302\u0301ng Vie\u0323\u0302t", board(128, 32), dir / "nfd.png");
    CHECK(loa::test::read_file(dir / "nfc.png") == loa::test::read_file(dir / "nfd.png"));
}

TEST_CASE(
    "slide: text that does not fit even at the smallest drawable size is refused with sizes") {
    std::string speech;
    for (int i = 0; i < 40; ++i) {
        speech += "Thông báo khẩn cấp về phòng chống lụt bão. ";
    }
    const int min = legible_min(true);
    auto error = refusal(speech, board(128, 32));
    CHECK_THAT(error.message,
               Contains(fmt::format("does not fit on a 128x32 slide at {} px", min)));
    CHECK_THAT(error.message, Contains("124x28 px"));
    CHECK_THAT(error.message, Contains("it does not fit even at 4 px"));
    CHECK_THAT(error.message, Contains("chữ không vừa cả ở cỡ 4 px"));

    // A word wider than the board is not broken in the middle.
    CHECK_THAT(refusal("Nghiêngnghiêngnghiêngnghiêngnghiêng", board(64, 32)).message,
               Contains("does not fit"));
}

TEST_CASE("slide: a refused slide leaves an existing file untouched") {
    TempDir dir;
    auto out = dir / "slide.png";
    loa::test::write_file(out, "the previous slide");
    REQUIRE_FALSE(render_text_slide("", board(128, 32), out).has_value());
    CHECK(loa::test::read_file(out) == "the previous slide");
    CHECK_FALSE(fs::exists(out.string() + ".part"));
}

TEST_CASE(
    "slide: a font without a glyph for some character is refused, naming font and character") {
    auto error = refusal("Chào mừng 漢字", board(192, 64));
    CHECK_THAT(error.message, Contains("font 'DejaVu Sans' has no glyph for '漢' (U+6F22)"));
    CHECK_THAT(error.message, Contains("(U+5B57)"));
}

TEST_CASE("slide: a font family that is not installed is refused, not quietly substituted") {
    auto options = board(192, 64);
    options.font_family = "Không Có Font Này";
    auto error = refusal(kBulletin, options);
    CHECK_THAT(error.message, Contains("font family 'Không Có Font Này' is not installed"));
    CHECK_THAT(error.message, Contains("phông 'Không Có Font Này' chưa được cài"));
    CHECK_THAT(error.message, Contains("DejaVu Sans"));

    options = board(384, 128);
    options.font_family = "sans";  // fontconfig's generic names are accepted
    TempDir dir;
    render(kBulletin, options, dir / "sans.png");
}

TEST_CASE("slide: empty text and impossible sizes are refused") {
    CHECK(refusal("  \n ", board(128, 32)).code == Error::Code::empty);
    CHECK_THAT(refusal("Chào", board(7, 32)).message, Contains("width of 7 px is outside 8..7680"));
    CHECK_THAT(refusal("Chào", board(128, 7681)).message, Contains("height of 7681 px"));
    auto wide_margin = board(128, 32);
    wide_margin.margin = 13;
    CHECK_THAT(
        refusal("Chào", wide_margin).message,
        Contains(fmt::format("a 13 px margin leaves no room for {} px text on a 128x32 slide",
                             legible_min(true))));
    auto negative_font = board(128, 32);
    negative_font.min_font_px = -2;
    CHECK_THAT(refusal("Chào", negative_font).message,
               Contains("cỡ chữ tối thiểu -2 px là số âm / a minimum font size of -2 px is "
                        "negative"));
    CHECK_THAT(refusal(std::string("Ch\xE0o"), board(128, 32)).message, Contains("UTF-8"));
}

TEST_CASE("slide: text over 4 KiB is refused before it is laid out, naming the limit") {
    const std::string at_limit(loa::media::kMaxSlideTextBytes, 'a');
    auto over = refusal(at_limit + "a", board(128, 32));
    CHECK_THAT(over.message, Contains("4097 bytes, over the limit of 4096"));
    // At the limit the length is not what refuses it (it does not fit on this board).
    auto at = refusal(at_limit, board(128, 32));
    CHECK_THAT(at.message, !Contains("over the limit") && Contains("does not fit"));
}

TEST_CASE("slide: without antialiasing a slide holds only its two colours") {
    TempDir dir;
    auto options = board(256, 64);
    options.antialias = false;
    options.foreground = {255, 255, 255};
    options.background = {0, 0, 64};
    render("Họp thôn lúc tám giờ", options, dir / "mono.png");
    Image image = read_png(dir / "mono.png");
    CHECK(image.distinct() == 2);
    CHECK(image.count(options.foreground) > 0);
    CHECK(image.count(options.background) > 0);
}

TEST_CASE("slide: colours are read from hex and from names") {
    CHECK(*loa::media::parse_colour("#ffb000") == Colour{255, 176, 0});
    CHECK(*loa::media::parse_colour("00FF7f") == Colour{0, 255, 127});
    CHECK(*loa::media::parse_colour("amber") == Colour{255, 176, 0});
    CHECK(*loa::media::parse_colour("white") == Colour{255, 255, 255});
    auto bad = loa::media::parse_colour("#ff00");
    REQUIRE_FALSE(bad.has_value());
    CHECK_THAT(bad.error().message, Contains("'#ff00' is not a colour"));
    CHECK_FALSE(loa::media::parse_colour("tím").has_value());
}

TEST_CASE(
    "slide legibility: bold DejaVu Sans has a plausible measured minimum and every larger "
    "size passes") {
    for (bool antialias : {false, true}) {
        const SlideFont font{"DejaVu Sans", true, antialias};
        auto measured = measure_legibility(font);
        REQUIRE(measured.has_value());
        INFO((antialias ? "anti-aliased" : "on/off LEDs")
             << ": legible from " << measured->min_font_px << " px");
        // Around the size a 32 px board holds in one line: far above 4 px, far below 64 px.
        CHECK(measured->min_font_px >= 10);
        CHECK(measured->min_font_px <= 28);
        for (int px = measured->min_font_px; px <= loa::media::kLegibilityCeilingPx; ++px) {
            auto at = loa::media::check_legibility(font, px);
            REQUIRE(at.has_value());
            INFO(px << " px: " << (at->has_value() ? (*at)->english() : "legible"));
            CHECK_FALSE(at->has_value());
        }
        // The second call is the cached figure.
        CHECK(measure_legibility(font)->min_font_px == measured->min_font_px);
    }
}

TEST_CASE(
    "slide legibility: one pixel below the minimum two letters of a group look the same or "
    "a mark touches its letter") {
    for (bool antialias : {false, true}) {
        const SlideFont font{"DejaVu Sans", true, antialias};
        auto measured = measure_legibility(font);
        REQUIRE(measured.has_value());
        REQUIRE(measured->below.has_value());
        const Illegible& below = *measured->below;
        const int px = measured->min_font_px - 1;
        CHECK(below.font_px == px);
        auto at = loa::media::check_legibility(font, px);
        REQUIRE(at.has_value());
        REQUIRE(at->has_value());
        CHECK((*at)->letter == below.letter);

        // Drawn here, independently: the failure is in the pixels, at px and not at px + 1.
        auto letter = draw_letter(below.letter, antialias, px);
        auto other = draw_letter(below.other, antialias, px);
        auto letter_up = draw_letter(below.letter, antialias, px + 1);
        auto other_up = draw_letter(below.other, antialias, px + 1);
        INFO(below.english() << "\n"
                             << picture(letter) << "\n"
                             << picture(other) << "\n"
                             << px + 1 << " px:\n"
                             << picture(letter_up) << "\n"
                             << picture(other_up));
        if (below.kind == Illegible::Kind::same_bitmap) {
            CHECK(letter == other);
            CHECK(letter_up != other_up);
        } else {
            CHECK(mark_touches_body(letter, other));
            CHECK_FALSE(mark_touches_body(letter_up, other_up));
        }
    }
}

TEST_CASE("slide legibility: a font is measured with its own weight and anti-aliasing") {
    auto measure = [](const SlideFont& font) {
        auto measured = measure_legibility(font);
        REQUIRE(measured.has_value());
        return measured->min_font_px;
    };
    const int bold_grey = measure(SlideFont{"DejaVu Sans", true, true});
    const int bold_on_off = measure(SlideFont{"DejaVu Sans", true, false});
    const int regular_grey = measure(SlideFont{"DejaVu Sans", false, true});
    INFO("bold " << bold_grey << " px, bold on/off " << bold_on_off << " px, regular "
                 << regular_grey << " px");
    // On/off LEDs lose the grey that keeps thin marks apart; the regular weight's thinner
    // strokes leave more room between marks: each is its own figure, not one cached number.
    CHECK(bold_on_off > bold_grey);
    CHECK(regular_grey < bold_grey);
    // Family names are not case-sensitive, like fontconfig's.
    CHECK(measure(SlideFont{"dejavu sans", true, false}) == bold_on_off);

    auto outside = loa::media::check_legibility(SlideFont{}, loa::media::kLegibilityCeilingPx + 1);
    REQUIRE_FALSE(outside.has_value());
    CHECK_THAT(outside.error().message, Contains("outside the measured sizes 4..64 px"));
}

TEST_CASE(
    "slide: a long text on a small board that needs a size below the legible minimum is "
    "refused in both languages") {
    for (bool antialias : {false, true}) {
        const int min = legible_min(antialias);
        auto options = board(128, 32);
        options.antialias = antialias;
        auto error = refusal(kBulletin, options);
        INFO(error.message);
        CHECK_THAT(error.message,
                   Contains(fmt::format("chữ không vừa bảng 128x32 ở cỡ {} px", min)));
        CHECK_THAT(error.message,
                   Contains(fmt::format("{} px là cỡ nhỏ nhất mà phông 'DejaVu Sans' đậm", min)));
        CHECK_THAT(error.message, Contains("Hãy rút ngắn chữ, dùng bảng lớn hơn hoặc phông khác"));
        CHECK_THAT(error.message,
                   Contains(fmt::format("the text does not fit on a 128x32 slide at {} px", min)));
        CHECK_THAT(error.message,
                   Contains(fmt::format("{} px is the smallest size at which 'DejaVu Sans' bold{} "
                                        "keeps Vietnamese diacritics legible (measured: ",
                                        min, antialias ? "" : " without anti-aliasing")));
        CHECK_THAT(error.message, Contains("Shorten the text, use a larger board or another font"));
        // It would fit, smaller: the message says at which size.
        CHECK_THAT(error.message, Contains("it would fit only at "));
        CHECK(error.message.find(" / ") < error.message.find("the text does not fit"));
    }
}

TEST_CASE(
    "slide: text that fits at the legible minimum renders, and the minimum asked for is a "
    "floor above it") {
    TempDir dir;
    const int min = legible_min(true);
    auto options = board(192, 64);
    auto rendered = render("Họp thôn lúc 8 giờ", options, dir / "fits.png");
    CHECK(rendered.font_px >= min);
    CHECK(rendered.legible_min_px == min);

    // A minimum asked for below the measured one is raised to it, not refused.
    options.min_font_px = 5;
    CHECK(render("Họp thôn lúc 8 giờ", options, dir / "raised.png").font_px == rendered.font_px);

    // One above the size chosen is refused as the operator's own floor.
    options.min_font_px = rendered.font_px + 1;
    auto error = refusal("Họp thôn lúc 8 giờ", options);
    CHECK_THAT(error.message,
               Contains(fmt::format("{} px is the minimum size asked for (this font is legible "
                                    "from {} px)",
                                    rendered.font_px + 1, min)));
    CHECK_THAT(error.message,
               Contains(fmt::format("it would fit only at {} px", rendered.font_px)));
    CHECK_THAT(error.message, Contains("hạ cỡ tối thiểu"));
}
