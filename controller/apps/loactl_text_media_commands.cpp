// loactl media tts/slide: speech from text imported as a bulletin; text rendered for LED boards.
#include "loactl_text_media_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/database.hpp"
#include "loa/controller/media_library.hpp"
#include "loa/controller/time_text.hpp"
#include "loa/media/speech_synthesis.hpp"
#include "loa/media/text_slide.hpp"
#include "loactl_common.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kTitleChars = 60;  // a title made from the text keeps this many characters

int refused(const std::string& message) {
    std::cerr << "loactl: " << message << "\n";
    return 1;
}

/// "192x64" as width and height; false when it is not two numbers joined by 'x'.
bool parse_size(const std::string& text, int& width, int& height) {
    char x = 0;
    char rest = 0;
    return std::sscanf(text.c_str(), "%d%c%d%c", &width, &x, &height, &rest) == 3 &&
           (x == 'x' || x == 'X');
}

/// The text's first words as a title: at most kTitleChars characters, cut at a space, "…" added.
std::string title_from(const std::string& text) {
    std::string flat;
    for (char c : text) {
        flat += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    flat.erase(0, flat.find_first_not_of(' '));
    std::size_t chars = 0;
    std::size_t i = 0;
    for (; i < flat.size() && chars < kTitleChars; ++i) {
        chars += (static_cast<unsigned char>(flat[i]) & 0xC0) != 0x80;
    }
    while (i < flat.size() && (static_cast<unsigned char>(flat[i]) & 0xC0) == 0x80) {
        ++i;  // finish the character
    }
    if (i >= flat.size()) {
        return flat;
    }
    std::size_t space = flat.rfind(' ', i);
    return flat.substr(0, space != std::string::npos && space > 0 ? space : i) + "…";
}

/// A scratch directory under the data directory, removed with what it holds.
class ScratchDir {
  public:
    explicit ScratchDir(const fs::path& data) {
        auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = data / "tmp" / fmt::format("tts-{}-{}", ::getpid(), stamp);
        fs::create_directories(path_, error_);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }
    const std::error_code& error() const { return error_; }

  private:
    fs::path path_;
    std::error_code error_;
};

}  // namespace

TextMediaCommands::TextMediaCommands(CLI::App* media, const std::string& data) : data_(data) {
    const media::SlideOptions defaults;
    font_ = defaults.font_family;
    margin_ = defaults.margin;
    min_font_ = defaults.min_font_px;

    tts_ = media->add_subcommand("tts", "speak a text bulletin and import it (espeak-ng)");
    tts_->add_option("text", text_, "the bulletin's text; put -- before text starting with -")
        ->required();
    tts_->add_option("--lang", lang_, "voice language, e.g. vi")->capture_default_str();
    tts_->add_option("--title", title_, "title shown to operators (default: the text's start)");
    tts_->add_option("--command", command_,
                     "speech command without a shell; {lang}, {out} (WAV written; else stdout), "
                     "{text} (else stdin), e.g. \"espeak-ng -v {lang} -s 150 -w {out}\"");
    tts_->add_option("--timeout", timeout_s_, "seconds before the speech command is killed")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();

    auto size_check = CLI::Validator(
        [](std::string& text) {
            int w = 0;
            int h = 0;
            return parse_size(text, w, h) ? std::string()
                                          : "expected WIDTHxHEIGHT in pixels, e.g. 192x64";
        },
        "WxH");
    auto colour_check = CLI::Validator(
        [](std::string& text) {
            auto colour = media::parse_colour(text);
            return colour ? std::string() : colour.error().message;
        },
        "COLOUR");
    slide_ = media->add_subcommand("slide", "render a text slide for LED boards as PNG");
    slide_->add_option("text", text_, "the slide's text; a newline starts a new line")->required();
    slide_->add_option("--size", size_, "the board's resolution, e.g. 192x64")
        ->required()
        ->check(size_check);
    slide_->add_option("--out", out_, "PNG file to write")->required();
    slide_->add_option("--title", title_, "title shown to operators (default: the text's start)");
    slide_->add_option("--font", font_, "font family with Vietnamese glyphs")
        ->capture_default_str();
    slide_->add_option("--fg", foreground_, "text colour: #rrggbb or amber, white, red, ...")
        ->check(colour_check)
        ->capture_default_str();
    slide_->add_option("--bg", background_, "background colour")
        ->check(colour_check)
        ->capture_default_str();
    slide_->add_option("--margin", margin_, "pixels kept clear on every side")
        ->capture_default_str();
    slide_->add_option("--min-font", min_font_, "smallest font size in pixels before refusing")
        ->capture_default_str();
    slide_->add_flag("--no-antialias", no_antialias_, "LEDs only on or off: no grey edges");
}

bool TextMediaCommands::parsed() const {
    return tts_->parsed() || slide_->parsed();
}

int TextMediaCommands::run(bool json) const {
    return tts_->parsed() ? tts(json) : slide(json);
}

int TextMediaCommands::tts(bool json) const {
    media::SpeechOptions options;
    options.lang = lang_;
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s_ * 1000));
    if (!command_.empty()) {
        auto argv = media::split_command_line(command_);
        if (!argv) {
            return refused(argv.error().message);
        }
        options.command = *argv;
    }
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "media.import");
    if (!who) {
        return 1;
    }
    Change change(*db, *who, "media.import", "tts", who->area);
    if (!change.allowed(lc::Permission::import_media)) {
        return 1;
    }
    ScratchDir scratch(data_);
    if (scratch.error()) {
        return change.refused({lc::Error::Code::storage,
                               fmt::format("cannot make a scratch directory {}: {}",
                                           scratch.path().string(), scratch.error().message())});
    }
    const fs::path wav = scratch.path() / fmt::format("tts-{}.wav", lang_);
    if (auto spoken = media::synthesize_speech(text_, options, wav); !spoken) {
        return change.refused({lc::Error::Code::media, spoken.error().message});
    }
    media::ContentStore store(fs::path(data_) / "media");
    lc::ImportOptions import_options;
    import_options.area = who->area;  // the media belongs to the importer's scope
    auto imported = lc::import_media(*db, store, wav, title_.empty() ? title_from(text_) : title_,
                                     lc::now_us(), import_options);
    if (!imported) {
        return change.refused(imported.error());
    }
    change.set_target(imported->media.media_hash);
    change.done({{"text", text_},
                 {"title", imported->media.title},
                 {"already_present", imported->already_present}});
    print_imported(*imported, json);
    return 0;
}

int TextMediaCommands::slide(bool json) const {
    media::SlideOptions options;
    parse_size(size_, options.width, options.height);
    options.font_family = font_;
    options.foreground = *media::parse_colour(foreground_);  // both checked by the parser
    options.background = *media::parse_colour(background_);
    options.margin = margin_;
    options.min_font_px = min_font_;
    options.antialias = !no_antialias_;
    auto rendered = media::render_text_slide(text_, options, out_);
    if (!rendered) {
        return refused(rendered.error().message);
    }
    const std::string title = title_.empty() ? title_from(text_) : title_;
    if (json) {
        std::cout << nlohmann::json{{"path", out_},
                                    {"width", rendered->width},
                                    {"height", rendered->height},
                                    {"font", options.font_family},
                                    {"font_px", rendered->font_px},
                                    {"lines", rendered->lines},
                                    {"title", title}}
                  << "\n";
    } else {
        fmt::print("{}  {}x{}  {} {} px, {} dòng / lines  {}\n", out_, rendered->width,
                   rendered->height, options.font_family, rendered->font_px, rendered->lines,
                   title);
    }
    return 0;
}

}  // namespace loa::loactl
