// Operator-facing names of formats and codecs, and the refusals that name a file's kind.
#include "media_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <utility>

#include <fmt/core.h>

namespace loa::media::detail {

namespace {

using Pair = std::pair<std::string_view, std::string_view>;

constexpr std::array kFormats = {
    Pair{"wav", "WAV"},
    Pair{"w64", "Wave64"},
    Pair{"mp3", "MP3"},
    Pair{"mov,mp4,m4a,3gp,3g2,mj2", "MP4/M4A"},
    Pair{"ogg", "Ogg"},
    Pair{"flac", "FLAC"},
    Pair{"amr", "AMR"},
    Pair{"asf", "WMA/WMV"},
    Pair{"matroska,webm", "Matroska/WebM"},
    Pair{"aac", "AAC"},
    Pair{"aiff", "AIFF"},
    Pair{"avi", "AVI"},
    Pair{"mpegts", "MPEG-TS"},
    Pair{"mpeg", "MPEG"},
    Pair{"flv", "FLV"},
    Pair{"image2", "ảnh / image"},
    Pair{"gif", "GIF"},
};

constexpr std::array kCodecs = {
    Pair{"mp3", "MP3"},       Pair{"mp2", "MP2"},        Pair{"aac", "AAC"},
    Pair{"opus", "Opus"},     Pair{"vorbis", "Vorbis"},  Pair{"flac", "FLAC"},
    Pair{"amr_nb", "AMR-NB"}, Pair{"amr_wb", "AMR-WB"},  Pair{"wmav1", "WMA"},
    Pair{"wmav2", "WMA"},     Pair{"wmapro", "WMA Pro"}, Pair{"alac", "ALAC"},
    Pair{"h264", "H.264"},    Pair{"hevc", "H.265"},     Pair{"vp8", "VP8"},
    Pair{"vp9", "VP9"},       Pair{"av1", "AV1"},        Pair{"mpeg4", "MPEG-4"},
    Pair{"mjpeg", "JPEG"},    Pair{"png", "PNG"},        Pair{"gif", "GIF"},
    Pair{"bmp", "BMP"},       Pair{"webp", "WebP"},      Pair{"tiff", "TIFF"},
    Pair{"theora", "Theora"}, Pair{"gsm", "GSM"},        Pair{"ac3", "AC-3"},
};

constexpr std::array kLists = {
    Pair{"hls", "danh sách phát HLS (.m3u8) / an HLS playlist (.m3u8)"},
    Pair{"dash", "bản kê DASH (.mpd) / a DASH manifest (.mpd)"},
    Pair{"concat", "danh sách nối tệp của FFmpeg / an FFmpeg concat list"},
    Pair{"imf", "bản kê IMF / an IMF composition playlist"},
    Pair{"sdp", "mô tả phiên SDP / an SDP session description"},
    Pair{"vobsub", "phụ đề VobSub / VobSub subtitles"},
    Pair{"avisynth", "kịch bản AviSynth / an AviSynth script"},
    Pair{"vapoursynth", "kịch bản VapourSynth / a VapourSynth script"},
};

std::string_view lookup(const auto& table, std::string_view key) {
    for (const auto& [k, v] : table) {
        if (k == key) {
            return v;
        }
    }
    return {};
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

std::string formatName(std::string_view demuxer) {
    if (auto known = lookup(kFormats, demuxer); !known.empty()) {
        return std::string(known);
    }
    // Single pictures: "png_pipe", "jpeg_pipe", "webp_pipe" …
    if (demuxer.ends_with("_pipe")) {
        std::string_view kind = demuxer.substr(0, demuxer.size() - 5);
        return kind == "jpeg" || kind == "jpegls" ? "JPEG" : upper(kind);
    }
    // Lists of aliases ("matroska,webm") read as one name, the first.
    return upper(demuxer.substr(0, demuxer.find(',')));
}

std::string formatName(const AVFormatContext* format) {
    return formatName(format->iformat->name);
}

std::string codecName(std::string_view codec) {
    if (auto known = lookup(kCodecs, codec); !known.empty()) {
        return std::string(known);
    }
    if (codec.starts_with("pcm_")) {
        return "PCM";
    }
    if (codec.starts_with("adpcm_")) {
        return "ADPCM";
    }
    return upper(codec);
}

std::unexpected<Error> notMedia(const std::filesystem::path& file) {
    return fail(Error::Code::not_media, file,
                "không phải tệp âm thanh, ảnh hay video mà loa đọc được, dù tên tệp là gì / not "
                "an audio, picture or video file loa can read, whatever its name");
}

std::optional<std::string> listKind(std::string_view demuxer) {
    if (auto kind = lookup(kLists, demuxer); !kind.empty()) {
        return std::string(kind);
    }
    return std::nullopt;
}

std::optional<std::string> playlistKind(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string head(512, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    if (head.starts_with("\xEF\xBB\xBF")) {
        head.erase(0, 3);  // a UTF-8 byte-order mark, as Windows tools write
    }
    head.erase(0, head.find_first_not_of(" \t\r\n"));
    const std::string start = lower(head.substr(0, 64));
    if (start.starts_with("#extm3u")) {
        return "danh sách phát M3U / an M3U playlist";
    }
    if (start.starts_with("[playlist]")) {
        return "danh sách phát PLS / a PLS playlist";
    }
    if (start.find("<playlist") != std::string::npos) {
        return "danh sách phát XSPF / an XSPF playlist";
    }
    if (start.starts_with("<asx")) {
        return "danh sách phát ASX / an ASX playlist";
    }
    if (start.find("<?wpl") != std::string::npos || start.starts_with("<smil")) {
        return "danh sách phát Windows Media (WPL) / a Windows Media playlist (WPL)";
    }
    const std::string ext = lower(file.extension().string());
    if (ext == ".m3u" || ext == ".m3u8") {
        return "danh sách phát M3U / an M3U playlist";
    }
    if (ext == ".pls") {
        return "danh sách phát PLS / a PLS playlist";
    }
    return std::nullopt;
}

std::unexpected<Error> refersElsewhereRefusal(const std::filesystem::path& file,
                                              const std::string& kind) {
    return fail(Error::Code::unsupported, file,
                fmt::format("là {}: tệp này chỉ ghi tên các tệp hay địa chỉ khác, không chứa âm "
                            "thanh hay hình ảnh; hãy nhập chính tệp âm thanh / is {}: it names "
                            "other files or addresses and holds no sound or picture itself; import "
                            "the media file itself",
                            kind.substr(0, kind.find(" / ")), kind.substr(kind.find(" / ") + 3)));
}

}  // namespace loa::media::detail
