// Text bulletins to speech: runs a speech command (espeak-ng by default) without a shell and
// checks that what it wrote is audio.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "loa/media/audio_probe.hpp"
#include "loa/media/error.hpp"

namespace loa::media {

/// Longer bulletin text is refused before the speech command runs: some 10,000 words, more than
/// an hour of speech (longer than an import takes), and under Linux's 128 KiB limit on one
/// argument ({text}).
inline constexpr std::size_t kMaxSpeechTextBytes = 64 * 1024;

/// How synthesize_speech runs the speech command.
struct SpeechOptions {
    /// Voice language, substituted for {lang}: letters, digits and ". _ + -", not starting with
    /// '-' (e.g. "vi", "vi-vn-x-south", "en-us").
    std::string lang = "vi";
    /// The argv to run, without a shell. Placeholders, inside any argument:
    /// {lang}; {out}, the WAV file the command must write (without {out}, what the command prints
    /// on stdout is taken as the WAV); {text}, the text as one argument (without {text}, the text
    /// is given on stdin, which is what keeps text starting with '-' from reading as an option).
    std::vector<std::string> command = {"espeak-ng", "-v", "{lang}", "-w", "{out}", "--stdin"};
    /// The command is killed (with its whole process group) when it runs longer than this.
    std::chrono::milliseconds timeout = std::chrono::seconds(120);
};

/// Splits a command line such as `espeak-ng -v {lang} -w {out}` into argv: words separated by
/// blanks, '…' and "…" quote (a backslash escapes the next character outside single quotes).
/// Nothing else is expanded. Refuses an empty line and an unterminated quote.
std::expected<std::vector<std::string>, Error> split_command_line(std::string_view line);

/// Speaks `text` with `options.command` into `out_wav` and returns what probe_audio says of it.
/// The command writes to a ".part" file next to `out_wav` (same extension, for tools that choose
/// the format by it), which is renamed into place only when it holds decodable, non-empty audio;
/// on failure nothing is left at `out_wav`. Refuses empty text and text over kMaxSpeechTextBytes.
/// Errors, in Vietnamese then English, name the command and say why: not found, exit code or
/// signal with the tail of its stderr last in parentheses, timeout, no or empty output.
/// Never throws.
std::expected<AudioInfo, Error> synthesize_speech(std::string_view text,
                                                  const SpeechOptions& options,
                                                  const std::filesystem::path& out_wav);

}  // namespace loa::media
