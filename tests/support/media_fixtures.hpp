// Media fixtures in the formats operators bring, made on the spot with ffmpeg and sox (no binary
// fixtures are kept in the repository).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "test_support.hpp"

namespace loa::test {

/// Runs ffmpeg quietly with `args`, overwriting its output; the test stops if ffmpeg fails.
inline void ffmpeg(const std::string& args) {
    const std::string command = "ffmpeg -nostdin -loglevel error -y " + args;
    INFO(command);
    REQUIRE(run_shell(command) == 0);
}

/// An audio format operators bring, and how to make a 440 Hz tone in it.
struct AudioFormat {
    std::string name;       ///< file name; some tools choose the format by its extension
    std::string make;       ///< shell command: {out} is the file, {seconds} the tone's length
    std::string container;  ///< what probe_audio reports
    std::string codec;
    int sample_rate;
    std::int64_t tolerance_us;  ///< codec delay and frame padding allowed on the duration
};

/// MP3, WAV, M4A/AAC, Ogg/Opus, Ogg/Vorbis, FLAC, AMR-NB (phone recordings) and WMA.
inline const std::vector<AudioFormat>& operator_audio_formats() {
    static const std::string tone =
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i "
        "'sine=frequency=440:sample_rate={rate}:duration={seconds}' ";
    auto at = [](int rate) {
        std::string command = tone;
        command.replace(command.find("{rate}"), 6, std::to_string(rate));
        return command;
    };
    static const std::vector<AudioFormat> formats = {
        {"ban-tin.wav", at(44100) + "'{out}'", "wav", "pcm_s16le", 44100, 1'000},
        {"ban-tin.mp3", at(44100) + "-c:a libmp3lame -b:a 64k '{out}'", "mp3", "mp3", 44100,
         100'000},
        {"ban-tin.m4a", at(44100) + "-c:a aac -b:a 64k '{out}'", "mov,mp4,m4a,3gp,3g2,mj2", "aac",
         44100, 100'000},
        {"ban-tin.opus", at(48000) + "-c:a libopus -b:a 32k '{out}'", "ogg", "opus", 48000,
         100'000},
        {"ban-tin.ogg", at(44100) + "-c:a libvorbis '{out}'", "ogg", "vorbis", 44100, 100'000},
        {"ban-tin.flac", at(44100) + "-c:a flac '{out}'", "flac", "flac", 44100, 1'000},
        // Phone recordings. Debian's FFmpeg decodes AMR but has no AMR encoder; sox writes AMR-NB
        // through libopencore-amrnb, which Debian's sox always brings (libsox-fmt-base).
        {"ghi-am.amr", "sox -n -r 8000 -c 1 -t amr-nb '{out}' synth {seconds} sine 440 gain -6",
         "amr", "amr_nb", 8000, 40'000},
        {"ban-tin.wma", at(44100) + "-c:a wmav2 -b:a 64k '{out}'", "asf", "wmav2", 44100, 100'000},
    };
    return formats;
}

/// The format of operator_audio_formats() whose file name ends with `extension` (".mp3").
inline const AudioFormat& audio_format(const std::string& extension) {
    const auto& formats = operator_audio_formats();
    auto found = std::find_if(formats.begin(), formats.end(), [&](const AudioFormat& format) {
        return format.name.ends_with(extension);
    });
    REQUIRE(found != formats.end());
    return *found;
}

/// Writes `seconds` of tone in `format` to `out`. A tool or encoder missing from this system
/// fails the test here, naming the command.
inline void make_audio(const std::filesystem::path& out, const AudioFormat& format,
                       double seconds) {
    std::string command = format.make;
    command.replace(command.find("{seconds}"), 9, fmt::format("{}", seconds));
    command.replace(command.find("{out}"), 5, out.string());
    INFO(command);
    REQUIRE(run_shell(command) == 0);
}

/// Writes `seconds` of moving test card, 320x180 at 25 frames a second, with a tone as its sound
/// track when `with_sound`; `args` choose the codecs.
inline void make_video(const std::filesystem::path& out, double seconds, const std::string& args,
                       bool with_sound = false) {
    const std::string sound =
        with_sound ? fmt::format("-f lavfi -i sine=duration={} ", seconds) : "";
    ffmpeg(fmt::format("-f lavfi -i testsrc=s=320x180:r=25:d={} {}{} '{}'", seconds, sound, args,
                       out.string()));
}

/// Writes one still test card of `size` (e.g. "320x240"); the extension chooses the format.
inline void make_picture(const std::filesystem::path& out, const std::string& size) {
    ffmpeg(fmt::format("-f lavfi -i testsrc=s={} -frames:v 1 '{}'", size, out.string()));
}

/// Writes `seconds` of tone as MP3 or M4A (by the extension of `out`) with a PNG cover picture
/// attached, as music tools and phones tag their files.
inline void make_audio_with_cover(const std::filesystem::path& out, double seconds) {
    auto cover = out;
    cover += ".cover.png";
    make_picture(cover, "64x64");
    const std::string codec = out.extension() == ".mp3" ? "libmp3lame -id3v2_version 3" : "aac";
    ffmpeg(
        fmt::format("-f lavfi -i sine=duration={} -i '{}' -map 0 -map 1 -c:a {} -c:v copy "
                    "-disposition:v attached_pic '{}'",
                    seconds, cover.string(), codec, out.string()));
}

/// Keeps the first `numerator/denominator` of a file's bytes, as an interrupted copy would.
inline void truncate_file(const std::filesystem::path& file, std::uintmax_t numerator,
                          std::uintmax_t denominator) {
    std::filesystem::resize_file(file, std::filesystem::file_size(file) * numerator / denominator);
}

/// Records what a progress callback is told, for checking that it rose step by step to the end.
struct ProgressLog {
    std::vector<double> seen;

    std::function<void(double)> callback() {
        return [this](double fraction) { seen.push_back(fraction); };
    }
    /// At least `reports` reports, never decreasing, the last one 1.
    void check(std::size_t reports) const {
        INFO(seen.size() << " reports");
        CHECK(seen.size() >= reports);
        CHECK(std::is_sorted(seen.begin(), seen.end()));
        REQUIRE_FALSE(seen.empty());
        CHECK(seen.back() == 1.0);
    }
};

}  // namespace loa::test
