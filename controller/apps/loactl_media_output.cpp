// The output of loactl's importing commands, as `media import` prints it.
#include "loactl_media_output.hpp"

#include <iostream>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace loa::loactl {

void print_imported(const controller::ImportResult& imported, bool json) {
    const auto& m = imported.media;
    if (json) {
        std::cout << nlohmann::json{{"media_hash", m.media_hash},
                                    {"title", m.title},
                                    {"codec", m.codec},
                                    {"duration_seconds", m.duration_us / 1e6},
                                    {"original_hash", m.original_hash},
                                    {"loudness_before_lufs", m.loudness_before_lufs},
                                    {"loudness_after_lufs", m.loudness_after_lufs},
                                    {"true_peak_after_dbtp", m.true_peak_after_dbtp},
                                    {"kind", m.kind},
                                    {"width", m.width},
                                    {"height", m.height},
                                    {"already_present", imported.already_present},
                                    {"approval", m.approval},
                                    {"area", m.area_path}}
                  << "\n";
        return;
    }
    const char* again = imported.already_present ? " (đã có / already imported)" : "";
    if (m.kind != "audio") {  // panel media, stored as imported
        const std::string length =
            m.kind == "video" ? fmt::format("  {:.2f} s", m.duration_us / 1e6) : "";
        fmt::print("{}{}  {} {}x{} {}{}  {}\n", m.media_hash, again, m.kind, m.width, m.height,
                   m.codec, length, m.title);
        return;
    }
    fmt::print("{}{}  {:.2f} s  {} {} Hz  {:.1f} → {:.1f} LUFS  {}\n", m.media_hash, again,
               m.duration_us / 1e6, m.codec, m.sample_rate, m.loudness_before_lufs,
               m.loudness_after_lufs, m.title);
}

}  // namespace loa::loactl
