// Tests of render_text_slide: PNGs read back with Cairo, sizes chosen, every refusal.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

// loa_media links Cairo privately; its header is reached through its own folder.
#include <cairo/cairo.h>
#include <fmt/core.h>

#include "loa/media/text_slide.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using loa::media::Colour;
using loa::media::Error;
using loa::media::render_text_slide;
using loa::media::RenderedSlide;
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
        auto rendered = render("Họp thôn lúc tám giờ sáng", options, out);
        CHECK(rendered.width == w);
        CHECK(rendered.height == h);
        CHECK(rendered.font_px >= options.min_font_px);
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
    auto options = board(192, 64);
    auto short_text = render("Họp thôn", options, dir / "short.png");
    auto long_text = render(kBulletin, options, dir / "long.png");
    CHECK(short_text.lines == 1);
    CHECK(long_text.lines > 1);
    CHECK(short_text.font_px > long_text.font_px);
    CHECK(short_text.font_px <= 64);
    // One size up would no longer fit: a board of the same size refuses it as a minimum.
    options.min_font_px = long_text.font_px + 1;
    CHECK_THAT(refusal(kBulletin, options).message, Contains("does not fit"));
}

TEST_CASE("slide: every Vietnamese letter and tone renders in the default font, NFD as NFC") {
    TempDir dir;
    auto options = board(256, 128);
    options.min_font_px = 6;
    // Success means Pango found a glyph for every character: unknown glyphs are refused.
    auto alphabet = render(kAlphabet, options, dir / "alphabet.png");
    CHECK(alphabet.font_px >= 6);

    // "Tiếng Việt" typed with combining marks (e + circumflex + acute) comes out the same.
    render("Ti\u1EBFng Vi\u1EC7t", board(128, 32), dir / "nfc.png");
    render("Tie\u0302\u0301ng Vie\u0323\u0302t", board(128, 32), dir / "nfd.png");
    CHECK(loa::test::read_file(dir / "nfc.png") == loa::test::read_file(dir / "nfd.png"));
}

TEST_CASE("slide: text that does not fit even at the minimum size is refused with the sizes") {
    std::string speech;
    for (int i = 0; i < 40; ++i) {
        speech += "Thông báo khẩn cấp về phòng chống lụt bão. ";
    }
    auto error = refusal(speech, board(128, 32));
    CHECK_THAT(error.message, Contains("does not fit on a 128x32 slide even at 8 px"));
    CHECK_THAT(error.message, Contains("124x28 px"));

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
    CHECK_THAT(error.message, Contains("DejaVu Sans"));

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
    CHECK_THAT(refusal("Chào", wide_margin).message,
               Contains("a 13 px margin leaves no room for 8 px text on a 128x32 slide"));
    auto tiny_font = board(128, 32);
    tiny_font.min_font_px = 2;
    CHECK_THAT(refusal("Chào", tiny_font).message, Contains("below 4 px"));
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
    auto options = board(128, 32);
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
