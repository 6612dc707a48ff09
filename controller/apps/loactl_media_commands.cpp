// loactl media import/list/show/approvals/missing/share/approve/reject, as requests to the API.
#include "loactl_media_commands.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/content/media_library.hpp"
#include "loa/media/error.hpp"
#include "loactl_api.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;
namespace media = loa::media;
namespace fs = std::filesystem;

MediaCommands::MediaCommands(CLI::App& app, const std::string& /*data*/) {
    const lc::ImportOptions defaults;
    max_duration_s_ = static_cast<double>(defaults.max_duration_us) / 1e6;
    silence_floor_lufs_ = defaults.opus.silence_floor_lufs;
    target_lufs_ = defaults.opus.target_lufs;
    bitrate_bps_ = defaults.opus.bitrate_bps;
    media_ = app.add_subcommand("media", "bulletins and other media");
    media_->require_subcommand(1);
    import_ = media_->add_subcommand(
        "import",
        "check and store an audio file for loudspeakers, or a picture or video for "
        "panel boards");
    import_->add_option("file", file_, "the file to import")->required();
    import_->add_option("--title", title_, "title shown to operators");
    import_
        ->add_option("--for", use_,
                     "speaker: audio, normalised to Ogg/Opus; panel: a PNG or JPEG image or a "
                     "video, stored as it is")
        ->check(CLI::IsMember({"speaker", "panel"}))
        ->capture_default_str();
    max_duration_ =
        import_->add_option("--max-duration", max_duration_s_, "refuse longer files (seconds)")
            ->check(CLI::PositiveNumber)
            ->capture_default_str();
    silence_floor_ = import_
                         ->add_option("--silence-floor", silence_floor_lufs_,
                                      "refuse audio quieter than this (integrated loudness, LUFS)")
                         ->capture_default_str();
    target_ =
        import_
            ->add_option("--target-lufs", target_lufs_, "loudness of the normalised audio (LUFS)")
            ->capture_default_str();
    bitrate_ =
        import_
            ->add_option("--bitrate", bitrate_bps_, "bitrate of the normalised Opus audio (bit/s)")
            ->capture_default_str();
    list_ = media_->add_subcommand("list", "list the media records of your scope: one per area");
    show_ =
        media_->add_subcommand("show",
                               "one media item: what it is, its records in your scope and their "
                               "approval");
    approvals_ = media_->add_subcommand(
        "approvals", "every approval decision on the records of one media item in your scope");
    missing_ = media_->add_subcommand(
        "missing",
        "per node, media the plays booked soon need that the node has not reported ready");
    missing_->add_option("--hours", hours_, "look at the plays in the next N hours")
        ->check(CLI::Range(1, 24 * 366))
        ->capture_default_str();
    missing_->add_option("--node", node_, "only this node");
    share_ = media_->add_subcommand(
        "share",
        "share media with an area: a pending record of its own there, for its approver to decide "
        "on");
    approve_ = media_->add_subcommand("approve",
                                      "approve an area's record of media for air "
                                      "(thẩm định)");
    reject_ = media_->add_subcommand(
        "reject",
        "reject an area's record of media: it may not air there, and its plays not started "
        "there are taken back");
    for (CLI::App* cmd : {show_, approvals_, share_, approve_, reject_}) {
        cmd->add_option("hash", hash_, "media hash (loactl media list)")->required();
    }
    share_->add_option("--area", area_, "the area to share it with (an area path)")->required();
    for (CLI::App* cmd : {approve_, reject_}) {
        cmd->add_option("--note", note_, "why, for the record");
        cmd->add_option("--area", area_,
                        "the record's area, when your scope holds several records of it");
    }
    for (CLI::App* cmd : {import_, missing_, list_, show_, approvals_, share_, approve_, reject_}) {
        cmd->add_option("--lang", lang_, "vi or en")
            ->check(CLI::IsMember({"vi", "en"}))
            ->capture_default_str();
    }
}

bool MediaCommands::parsed() const {
    return import_->parsed() || list_->parsed() || show_->parsed() || approvals_->parsed() ||
           missing_->parsed() || share_->parsed() || approve_->parsed() || reject_->parsed();
}

int MediaCommands::run(bool json) const {
    if (import_->parsed()) {
        return import(json);
    }
    if (approve_->parsed() || reject_->parsed()) {
        return decide(json);
    }
    if (share_->parsed()) {
        return share(json);
    }
    if (missing_->parsed()) {
        return missing(json);
    }
    ApiCall call;
    call.path = "/api/v1/media";
    if (show_->parsed()) {
        call.path += "/" + path_segment(hash_);
    } else if (approvals_->parsed()) {
        call.path += "/" + path_segment(hash_) + "/approvals";
    }
    return loactl::run(call, json, lang_);
}

int MediaCommands::import(bool json) const {
    const std::string name = fs::path(file_).filename().string();
    // Said here, before anything is sent: the controller would only see a body, or none.
    if (auto why = media::unreadable_reason(file_)) {
        std::cerr << fmt::format("loactl: {}: {}\n", file_, *why);
        return 1;
    }
    // Refused by its size before it is read: the controller takes no more.
    std::error_code size_error;
    const auto size = fs::file_size(file_, size_error);
    if (!size_error && size > lc::kMaxMediaFileBytes) {
        std::cerr << fmt::format(
            "loactl: {0}: {1} byte, quá cỡ tệp lớn nhất được nhận ({2} byte) / {1} bytes is over "
            "the largest media file taken, {2} bytes\n",
            file_, size, lc::kMaxMediaFileBytes);
        return 1;
    }
    if (!size_error && size == 0) {
        std::cerr << fmt::format(
            "loactl: {}: tệp rỗng (0 byte), không có gì để nhập / the file is empty (0 bytes), "
            "nothing to import\n",
            file_);
        return 1;
    }
    ApiCall call;
    call.method = "POST";
    call.path = "/api/v1/media";
    call.body_file = file_;  // sent as it is read: a 1.5 GB WAV never sits in memory
    call.content_type = "application/octet-stream";
    call.query = {{"name", name}, {"use", use_}};
    if (!title_.empty()) {
        call.query.emplace("title", title_);
    }
    // Only what was given: the controller's defaults are the same, and stay its own.
    if (max_duration_->count() > 0) {
        call.query.emplace("max_duration", fmt::format("{}", max_duration_s_));
    }
    if (silence_floor_->count() > 0) {
        call.query.emplace("silence_floor", fmt::format("{}", silence_floor_lufs_));
    }
    if (target_->count() > 0) {
        call.query.emplace("target_lufs", fmt::format("{}", target_lufs_));
    }
    if (bitrate_->count() > 0) {
        call.query.emplace("bitrate", std::to_string(bitrate_bps_));
    }
    if (!json) {
        call.query.emplace("format", "table");
        call.query.emplace("lang", lang_);
    }
    return print_answer(send_upload(std::move(call), name));
}

int MediaCommands::missing(bool json) const {
    ApiCall call;
    call.path = "/api/v1/media/missing";
    call.query = {{"hours", std::to_string(hours_)}};
    if (!node_.empty()) {
        call.query.emplace("node", node_);
    }
    return loactl::run(call, json, lang_);
}

int MediaCommands::decide(bool json) const {
    ApiCall call;
    call.method = "POST";
    call.path = fmt::format("/api/v1/media/{}/{}", path_segment(hash_),
                            approve_->parsed() ? "approve" : "reject");
    nlohmann::json body = nlohmann::json::object();
    if (!note_.empty()) {
        body["note"] = note_;
    }
    if (!area_.empty()) {
        body["area"] = area_;
    }
    return loactl::run(with_json(call, body), json, lang_);
}

int MediaCommands::share(bool json) const {
    ApiCall call;
    call.method = "POST";
    call.path = fmt::format("/api/v1/media/{}/shares", path_segment(hash_));
    return loactl::run(with_json(call, {{"area", area_}}), json, lang_);
}

}  // namespace loa::loactl
