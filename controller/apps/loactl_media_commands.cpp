// loactl media import/list.
#include "loactl_media_commands.hpp"

#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/database.hpp"
#include "loa/controller/media_library.hpp"
#include "loa/controller/time_text.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

int refused(const lc::Error& error) {
    std::cerr << "loactl: " << error.message << "\n";
    return 1;
}

}  // namespace

MediaCommands::MediaCommands(CLI::App& app, const std::string& data) : data_(data) {
    media_ = app.add_subcommand("media", "bulletins and other media");
    media_->require_subcommand(1);
    import_ = media_->add_subcommand("import", "probe and store an audio file");
    import_->add_option("file", file_, "audio file")->required();
    import_->add_option("--title", title_, "title shown to operators");
    list_ = media_->add_subcommand("list", "list imported media");
}

bool MediaCommands::parsed() const {
    return import_->parsed() || list_->parsed();
}

int MediaCommands::run(bool json) const {
    return import_->parsed() ? import(json) : list(json);
}

int MediaCommands::import(bool json) const {
    auto db = lc::open_database(std::filesystem::path(data_) / "controller.db");
    if (!db) {
        return refused(db.error());
    }
    media::ContentStore store(std::filesystem::path(data_) / "media");
    auto imported = lc::import_media(**db, store, file_, title_, lc::now_us());
    if (!imported) {
        return refused(imported.error());
    }
    const auto& m = imported->media;
    if (json) {
        std::cout << nlohmann::json{{"media_hash", m.media_hash},
                                    {"title", m.title},
                                    {"codec", m.codec},
                                    {"duration_seconds", m.duration_us / 1e6},
                                    {"original_hash", m.original_hash},
                                    {"loudness_before_lufs", m.loudness_before_lufs},
                                    {"loudness_after_lufs", m.loudness_after_lufs},
                                    {"true_peak_after_dbtp", m.true_peak_after_dbtp},
                                    {"already_present", imported->already_present}}
                  << "\n";
    } else {
        fmt::print("{}{}  {:.2f} s  {} {} Hz  {:.1f} → {:.1f} LUFS  {}\n", m.media_hash,
                   imported->already_present ? " (đã có / already imported)" : "",
                   m.duration_us / 1e6, m.codec, m.sample_rate, m.loudness_before_lufs,
                   m.loudness_after_lufs, m.title);
    }
    return 0;
}

int MediaCommands::list(bool json) const {
    auto db = lc::open_database(std::filesystem::path(data_) / "controller.db");
    if (!db) {
        return refused(db.error());
    }
    auto all = lc::list_media(**db);
    if (!all) {
        return refused(all.error());
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *all) {
        out.push_back({{"media_hash", m.media_hash},
                       {"title", m.title},
                       {"duration_seconds", m.duration_us / 1e6}});
        if (!json) {
            fmt::print("{}  {:8.2f} s  {}\n", m.media_hash, m.duration_us / 1e6, m.title);
        }
    }
    if (json) {
        std::cout << out.dump(2) << "\n";
    }
    return 0;
}

}  // namespace loa::loactl
