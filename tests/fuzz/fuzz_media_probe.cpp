// Fuzzes the FFmpeg media probes (media::probe_audio and probe_visual) on files of any content.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

extern "C" {
#include <libavutil/log.h>
}

#include "loa/media/audio_probe.hpp"
#include "loa/media/visual_probe.hpp"

namespace {

namespace fs = std::filesystem;

// The first input byte picks the file name's extension: FFmpeg also guesses the format by name
// (image2 takes any "x.png"), and the probes judge such weak guesses differently.
constexpr std::array<std::string_view, 8> kExtensions = {"",      ".wav", ".mp3", ".ogg",
                                                         ".opus", ".png", ".jpg", ".mp4"};

fs::path dir;

[[noreturn]] void broken(const std::string& what) {
    std::fprintf(stderr, "fuzz_media_probe: %s\n", what.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    av_log_set_level(AV_LOG_QUIET);
    // tmpfs: the input is written once per run, read back by FFmpeg, never reaching a disk.
    dir = fs::path("/dev/shm") / ("loa-fuzz-media-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::atexit([] {
        std::error_code ec;
        fs::remove_all(dir, ec);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace loa;
    if (size == 0) {
        return 0;
    }
    const fs::path file = dir / ("input" + std::string(kExtensions[data[0] % kExtensions.size()]));
    std::FILE* out = std::fopen(file.c_str(), "wb");
    if (out == nullptr) {
        broken("cannot write " + file.string());
    }
    std::fwrite(data + 1, 1, size - 1, out);
    std::fclose(out);

    // What a probe accepts, an import goes on to resample, measure and store: it must make sense.
    if (auto audio = media::probe_audio(file); audio) {
        if (audio->sample_rate <= 0 || audio->channels <= 0 || audio->duration_us < 0 ||
            audio->size_bytes != size - 1 || audio->container.empty() || audio->codec.empty()) {
            broken("probe_audio accepted a file with an impossible description");
        }
    }
    if (auto visual = media::probe_visual(file); visual) {
        if (visual->width <= 0 || visual->height <= 0 || visual->frames <= 0 ||
            visual->duration_us < 0 || visual->size_bytes != size - 1 || visual->codec.empty()) {
            broken("probe_visual accepted a file with an impossible description");
        }
    }
    fs::remove(file);
    return 0;
}
