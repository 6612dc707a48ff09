// Media import benchmark (issue 17): the CPU an import of a 2-hour MP3 costs beside one plain
// `ffmpeg -c:a libopus -b:a 24k` transcode of the same file, and the peak memory of importing a
// 1.5 GB WAV. Each import runs in a process of its own (this program again, with --child), so its
// CPU time and peak RSS are its own, read by wait4.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/media/content_store.hpp"

namespace fs = std::filesystem;
namespace lc = loa::controller;
using namespace loa::bench;

namespace {

constexpr double kCpuRatioTarget = 1.5;    // issue 17, acceptance 2
constexpr double kRssTargetBytes = 200e6;  // issue 17, acceptance 2

// What a finished process cost, from wait4.
struct Cost {
    double wall_s = 0;
    double cpu_s = 0;  // user + system, its threads included
    double peak_rss_mb = 0;
    int status = -1;
};

double seconds(const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// Runs argv with its output in `log`; what it cost.
Cost run_measured(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    Cost cost;
    cost.wall_s = seconds_since(start);
    cost.cpu_s = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    cost.peak_rss_mb = static_cast<double>(usage.ru_maxrss) * 1024 / 1e6;
    cost.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return cost;
}

// The child: one import as the controller makes it (hash, probe and measure, normalise, store),
// into a fresh database and store in `dir`. Prints the result as JSON.
int child_import(const fs::path& file, const fs::path& dir, double max_duration_s) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto db = lc::open_database(dir / "loa.db");
    if (!db) {
        std::cerr << db.error().message << "\n";
        return 1;
    }
    loa::media::ContentStore store(dir / "media");
    lc::ImportOptions options;
    options.max_duration_us = std::llround(max_duration_s * 1e6);
    auto prepared = lc::prepare_import(**db, store, file, "bench", options);
    if (!prepared) {
        std::cerr << prepared.error().message << "\n";
        return 1;
    }
    const auto& m = prepared->record;
    std::cout << nlohmann::json{{"duration_s", m.duration_us / 1e6},
                                {"before_lufs", m.loudness_before_lufs},
                                {"after_lufs", m.loudness_after_lufs},
                                {"true_peak_dbtp", m.true_peak_after_dbtp},
                                {"warnings", m.warnings}}
                     .dump()
              << "\n";
    return 0;
}

// The child for --breakdown: normalise_to_opus alone, with where its time went.
int child_normalise(const fs::path& file, const fs::path& dir) {
    fs::create_directories(dir);
    loa::media::OpusSettings settings;
    auto done = loa::media::normalise_to_opus(file, dir / "out.opus", settings);
    if (!done) {
        std::cerr << done.error().message << "\n";
        return 1;
    }
    std::cout << nlohmann::json{{"analyse_s", done->analyse_s},
                                {"encode_s", done->encode_s},
                                {"measure_s", done->measure_s},
                                {"encodes", done->encodes},
                                {"gain_db", done->gain_db},
                                {"limited_db", done->limited_db},
                                {"after_lufs", done->after.integrated_lufs},
                                {"true_peak_dbtp", done->after.true_peak_dbtp}}
                     .dump()
              << "\n";
    return 0;
}

// A 48 kHz 16-bit stereo WAV of `bytes` (rounded down to whole frames): a 330 Hz tone under
// quiet noise, written in blocks, never held whole.
void make_wav(const fs::path& file, std::uint64_t bytes) {
    const std::uint32_t data = static_cast<std::uint32_t>((bytes - 44) / 4 * 4);
    std::ofstream out(file, std::ios::binary);
    auto le = [&](std::uint32_t v, int n) {
        for (int i = 0; i < n; ++i) {
            out.put(static_cast<char>(v >> (8 * i) & 0xff));
        }
    };
    out.write("RIFF", 4);
    le(36 + data, 4);
    out.write("WAVEfmt ", 8);
    le(16, 4);
    le(1, 2);
    le(2, 2);
    le(48000, 4);
    le(48000 * 4, 4);
    le(4, 2);
    le(16, 2);
    out.write("data", 4);
    le(data, 4);
    std::vector<std::int16_t> block(48000 * 2);
    std::uint32_t seed = 12345;
    std::uint64_t frame = 0;
    for (std::uint64_t left = data; left > 0;) {
        const std::uint64_t frames = std::min<std::uint64_t>(48000, left / 4);
        for (std::uint64_t i = 0; i < frames; ++i, ++frame) {
            seed = seed * 1664525 + 1013904223;
            const double noise = (static_cast<double>(seed >> 8) / (1 << 24) - 0.5) * 0.02;
            const double tone = 0.25 * std::sin(2 * std::numbers::pi * 330.0 * frame / 48000.0);
            const auto s = static_cast<std::int16_t>((tone + noise) * 32767);
            block[2 * i] = s;
            block[2 * i + 1] = s;
        }
        out.write(reinterpret_cast<const char*>(block.data()),
                  static_cast<std::streamsize>(frames * 4));
        left -= frames * 4;
    }
}

// A 2-hour MP3 as provinces receive programmes: 44.1 kHz stereo, 128 kbit/s, a Vietnamese
// bulletin (espeak-ng) read again and again with pauses, over a quiet music bed. Kept in `dir`
// and reused by later runs.
fs::path make_mp3(const fs::path& dir, int minutes) {
    const fs::path file = dir / fmt::format("chuong-trinh-{}min.mp3", minutes);
    if (fs::exists(file)) {
        return file;
    }
    const fs::path speech = dir / "doc.wav";
    const fs::path spoken = dir / "doc-nghi.wav";
    run_or_throw(fmt::format(
        "espeak-ng -v vi -s 150 -w '{}' 'Ủy ban nhân dân xã thông báo lịch tiêm phòng cho trẻ em "
        "dưới năm tuổi. Các gia đình đưa con đến trạm y tế xã vào sáng thứ bảy, từ bảy giờ đến "
        "mười một giờ. Mùa mưa lũ đã đến: bà con không đi qua suối khi nước lên, theo dõi thông "
        "tin trên loa phát thanh của thôn và làm theo hướng dẫn của ban chỉ huy phòng chống thiên "
        "tai.'",
        speech.string()));
    run_or_throw(fmt::format("sox '{}' -r 44100 '{}' pad 0 2", speech.string(), spoken.string()));
    const fs::path part = dir / "making.mp3";
    run_or_throw(
        fmt::format("ffmpeg -nostdin -loglevel error -y -stream_loop -1 -i '{0}' -f lavfi -i "
                    "\"aevalsrc='0.02*sin(2*PI*220*t)+0.015*sin(2*PI*277*t)+0.015*sin(2*PI*330*t)':"
                    "s=44100\" -filter_complex '[0][1]amix=inputs=2:normalize=0:duration=first,"
                    "aformat=channel_layouts=stereo' -t {1} -c:a libmp3lame -b:a 128k '{2}'",
                    spoken.string(), minutes * 60, part.string()));
    fs::rename(part, file);
    fs::remove(speech);
    fs::remove(spoken);
    return file;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Media import benchmark (issue 17): CPU against plain ffmpeg, memory of a big WAV"};
    fs::path dir = "/var/tmp/loa-import-bench";
    int minutes = 120;
    std::uint64_t wav_bytes = 1'500'000'000;
    std::string only;
    fs::path child_file;
    double child_max_s = 3 * 3600;
    app.add_option("--dir", dir, "scratch directory (ext4 preferred)")->capture_default_str();
    app.add_option("--minutes", minutes, "length of the MP3")->capture_default_str();
    app.add_option("--wav-bytes", wav_bytes, "size of the WAV")->capture_default_str();
    app.add_option("--only", only, "mp3 or wav");
    app.add_option("--child", child_file, "(internal) import this file and print the result");
    app.add_option("--child-max-duration", child_max_s, "(internal)");
    bool breakdown = false;
    app.add_flag("--breakdown", breakdown,
                 "also normalise the MP3 alone and say where the time goes (analyse, encode, "
                 "measure)");
    bool child_normalise_only = false;
    app.add_flag("--child-normalise", child_normalise_only, "(internal)");
    CLI11_PARSE(app, argc, argv);
    if (!child_file.empty()) {
        return child_normalise_only ? child_normalise(child_file, dir / "child")
                                    : child_import(child_file, dir / "child", child_max_s);
    }
    fs::create_directories(dir);
    const std::string self = fs::canonical("/proc/self/exe").string();
    nlohmann::json report;
    bool met = true;

    if (only.empty() || only == "mp3") {
        std::cout << fmt::format("making a {}-minute MP3 …\n", minutes) << std::flush;
        const fs::path mp3 = make_mp3(dir, minutes);
        const Cost plain =
            run_measured({"ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", mp3.string(),
                          "-c:a", "libopus", "-b:a", "24k", (dir / "plain.opus").string()},
                         dir / "plain.log");
        const Cost import = run_measured({self, "--dir", dir.string(), "--child", mp3.string()},
                                         dir / "import-mp3.log");
        if (plain.status != 0 || import.status != 0) {
            std::cerr << "failed: see " << (dir / "plain.log") << " and "
                      << (dir / "import-mp3.log") << "\n";
            return 1;
        }
        const double ratio = import.cpu_s / plain.cpu_s;
        met = met && ratio <= kCpuRatioTarget;
        std::cout << fmt::format(
            "{}-minute MP3 ({:.1f} MB)\n"
            "  plain ffmpeg -c:a libopus -b:a 24k: {:.1f} s CPU, {:.1f} s wall, peak RSS {:.1f} "
            "MB\n"
            "  loa import (hash, probe+measure, normalise, store): {:.1f} s CPU, {:.1f} s wall, "
            "peak RSS {:.1f} MB\n"
            "  CPU ratio {:.2f} (target <= {}): {}\n  result: {}\n",
            minutes, static_cast<double>(fs::file_size(mp3)) / 1e6, plain.cpu_s, plain.wall_s,
            plain.peak_rss_mb, import.cpu_s, import.wall_s, import.peak_rss_mb, ratio,
            kCpuRatioTarget, verdict(ratio <= kCpuRatioTarget), read_text(dir / "import-mp3.log"));
        if (breakdown) {
            const Cost alone = run_measured(
                {self, "--dir", dir.string(), "--child-normalise", "--child", mp3.string()},
                dir / "normalise-mp3.log");
            std::cout << fmt::format("  normalise_to_opus alone: {:.1f} s CPU, {:.1f} s wall: {}",
                                     alone.cpu_s, alone.wall_s,
                                     read_text(dir / "normalise-mp3.log"));
        }
    }
    if (only.empty() || only == "wav") {
        const fs::path wav = dir / "ban-tin-lon.wav";
        std::cout << fmt::format("writing a {:.2f} GB WAV …\n", wav_bytes / 1e9) << std::flush;
        make_wav(wav, wav_bytes);
        const Cost import = run_measured({self, "--dir", dir.string(), "--child", wav.string()},
                                         dir / "import-wav.log");
        fs::remove(wav);
        if (import.status != 0) {
            std::cerr << "failed: see " << (dir / "import-wav.log") << "\n";
            return 1;
        }
        const bool rss_met = import.peak_rss_mb * 1e6 <= kRssTargetBytes;
        met = met && rss_met;
        std::cout << fmt::format(
            "{:.2f} GB WAV (48 kHz stereo)\n"
            "  loa import: {:.1f} s CPU, {:.1f} s wall, peak RSS {:.1f} MB (target <= 200 MB): "
            "{}\n  result: {}\n",
            wav_bytes / 1e9, import.cpu_s, import.wall_s, import.peak_rss_mb, verdict(rss_met),
            read_text(dir / "import-wav.log"));
    }
    fs::remove_all(dir / "child");
    return met ? 0 : 2;
}
