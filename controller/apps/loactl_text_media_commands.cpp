// loactl media tts/slide: speech from text, spoken and imported by the controller (or spoken here
// with --command, then uploaded); text rendered for LED boards into a local file.
#include "loactl_text_media_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/content/media_library.hpp"
#include "loa/media/speech_synthesis.hpp"
#include "loa/media/text_slide.hpp"
#include "loactl_api.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;
namespace fs = std::filesystem;

namespace {

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

/// A scratch directory of this process under the system's temporary directory, removed with
/// what it holds.
class ScratchDir {
  public:
    ScratchDir() {
        auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ =
            fs::temp_directory_path(error_) / fmt::format("loactl-tts-{}-{}", ::getpid(), stamp);
        if (!error_) {
            fs::create_directories(path_, error_);
        }
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

TextMediaCommands::TextMediaCommands(CLI::App* media, const std::string& /*data*/) {
    const media::SlideOptions defaults;
    font_ = defaults.font_family;
    margin_ = defaults.margin;
    min_font_ = defaults.min_font_px;

    tts_ = media->add_subcommand("tts",
                                 "đọc một bản tin văn bản thành tiếng rồi nhập nó "
                                 "(espeak-ng) / speak a text bulletin and import it "
                                 "(espeak-ng)");
    tts_->add_option("text", text_,
                     "văn bản của bản tin; đặt -- trước văn bản bắt đầu bằng - / the bulletin's "
                     "text; put -- before text starting with -")
        ->required();
    tts_->add_option("--lang", lang_, "ngôn ngữ giọng đọc, ví dụ vi / voice language, e.g. vi")
        ->capture_default_str();
    tts_->add_option("--title", title_,
                     "tên hiện cho người vận hành (mặc định: đầu văn bản) / title shown to "
                     "operators (default: the text's start)");
    tts_->add_option("--command", command_,
                     "lệnh đọc chạy trên máy này, không qua shell; {lang}, {out} (tệp WAV được "
                     "ghi; không có thì stdout), {text} (không có thì stdin) / speech command run "
                     "here, without a shell; {lang}, {out} (WAV written; else stdout), {text} "
                     "(else stdin); ví dụ / e.g. \"espeak-ng -v {lang} -s 150 -w {out}\"");
    timeout_ = tts_->add_option("--timeout", timeout_s_,
                                "số giây trước khi lệnh đọc bị buộc dừng / seconds before the "
                                "speech command is killed")
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
    slide_->add_option("--min-font", min_font_,
                       "cỡ chữ nhỏ nhất (px) trước khi từ chối; không bao giờ dưới cỡ đo được để "
                       "dấu tiếng Việt còn rõ với phông này (mặc định) / smallest font size in "
                       "pixels before refusing; never below the size measured for this font at "
                       "which Vietnamese diacritics stay legible (the default)");
    slide_->add_flag("--no-antialias", no_antialias_, "LEDs only on or off: no grey edges");
}

bool TextMediaCommands::parsed() const {
    return tts_->parsed() || slide_->parsed();
}

int TextMediaCommands::run(bool json) const {
    return tts_->parsed() ? tts(json) : slide(json);
}

int TextMediaCommands::tts(bool json) const {
    if (!command_.empty()) {
        return tts_here(json);
    }
    nlohmann::json body = {{"text", text_}, {"lang", lang_}};
    if (!title_.empty()) {
        body["title"] = title_;
    }
    if (timeout_->count() > 0) {
        body["timeout_seconds"] = timeout_s_;
    }
    ApiCall call;
    call.method = "POST";
    call.path = "/api/v1/media/speech";
    // --lang is the voice's; what the controller prints is the same in both languages.
    return loactl::run(with_json(call, body), json, "vi");
}

int TextMediaCommands::tts_here(bool json) const {
    media::SpeechOptions options;
    options.lang = lang_;
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s_ * 1000));
    auto argv = media::split_command_line(command_);
    if (!argv) {
        return refused(argv.error().message);
    }
    options.command = *argv;
    ScratchDir scratch;
    if (scratch.error()) {
        return refused(
            fmt::format("không tạo được thư mục tạm {0} ({1}) / cannot make a scratch "
                        "directory {0} ({1})",
                        scratch.path().string(), scratch.error().message()));
    }
    const std::string name = fmt::format("tts-{}.wav", lang_);
    const fs::path wav = scratch.path() / "speech.wav";
    if (auto spoken = media::synthesize_speech(text_, options, wav); !spoken) {
        return refused(spoken.error().message);
    }
    ApiCall call;
    call.method = "POST";
    call.path = "/api/v1/media";
    call.body_file = wav;
    call.content_type = "audio/wav";
    call.query = {{"name", name},
                  {"use", "speaker"},
                  {"title", title_.empty() ? lc::title_from_text(text_) : title_}};
    if (!json) {
        call.query.emplace("format", "table");
        call.query.emplace("lang", "vi");
    }
    return print_answer(send_upload(std::move(call), name));
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
    const std::string title = title_.empty() ? lc::title_from_text(text_) : title_;
    if (json) {
        std::cout << nlohmann::json{{"path", out_},
                                    {"width", rendered->width},
                                    {"height", rendered->height},
                                    {"font", options.font_family},
                                    {"font_px", rendered->font_px},
                                    {"legible_min_px", rendered->legible_min_px},
                                    {"lines", rendered->lines},
                                    {"title", title}}
                  << "\n";
    } else {
        fmt::print("{}  {}x{}  {} {} px (rõ từ / legible from {} px), {} dòng / lines  {}\n", out_,
                   rendered->width, rendered->height, options.font_family, rendered->font_px,
                   rendered->legible_min_px, rendered->lines, title);
    }
    return 0;
}

}  // namespace loa::loactl
