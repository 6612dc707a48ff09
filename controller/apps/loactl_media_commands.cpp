// loactl media import/list/missing/approve/reject.
#include "loactl_media_commands.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/approval.hpp"
#include "loa/controller/database.hpp"
#include "loa/controller/media_library.hpp"
#include "loa/controller/node_media.hpp"
#include "loa/controller/node_registry.hpp"
#include "loa/controller/scope_queries.hpp"
#include "loa/controller/time_text.hpp"
#include "loactl_common.hpp"
#include "loactl_media_output.hpp"

namespace loa::loactl {

namespace lc = loa::controller;

namespace {

// What each import stage is called on the progress bar.
std::string_view stage_label(std::string_view stage) {
    if (stage == "hash") {
        return "băm / hashing";
    }
    if (stage == "probe") {
        return "kiểm tra / probing";
    }
    if (stage == "normalise") {
        return "chuẩn hoá / normalising";
    }
    return "lưu / storing";
}

// A one-line progress bar on stderr, drawn only when stderr is a terminal (never into a log or a
// pipe), and wiped when done so that the result starts on a clean line.
class ProgressBar {
  public:
    explicit ProgressBar(std::string label)
        : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressBar() { clear(); }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    lc::ImportProgress callback() {
        if (!enabled_) {
            return {};
        }
        return [this](double fraction, std::string_view stage) { draw(fraction, stage); };
    }

    void clear() {
        if (drawn_) {
            std::fputs("\r\033[K", stderr);
            std::fflush(stderr);
            drawn_ = false;
        }
    }

  private:
    static constexpr int kWidth = 30;

    void draw(double fraction, std::string_view stage) {
        const int percent = static_cast<int>(std::floor(fraction * 100.0));
        if (drawn_ && percent == percent_ && stage == stage_) {
            return;  // nothing visible changed
        }
        percent_ = percent;
        stage_ = stage;
        std::string bar(static_cast<std::size_t>(percent * kWidth / 100), '#');
        bar.resize(kWidth, '-');
        fmt::print(stderr, "\r[{}] {:3}%  {}  {}\033[K", bar, percent, stage_label(stage), label_);
        std::fflush(stderr);
        drawn_ = true;
    }

    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    int percent_ = -1;
    std::string stage_;
};

/// What the action log keeps of an import.
nlohmann::json import_detail(const lc::ImportResult& imported, const std::string& file) {
    return {{"file", std::filesystem::path(file).filename().string()},
            {"title", imported.media.title},
            {"kind", imported.media.kind},
            {"already_present", imported.already_present}};
}

/// A media's approval as the listing shows it.
std::string_view approval_text(const std::string& approval, bool vi) {
    if (approval == "approved") {
        return vi ? "đã duyệt" : "approved";
    }
    if (approval == "rejected") {
        return vi ? "bị từ chối" : "rejected";
    }
    return vi ? "chờ duyệt" : "pending";
}

/// An instant without its fraction of a second, for titles people read.
std::int64_t whole_seconds(std::int64_t us) {
    return us / 1'000'000 * 1'000'000;
}

}  // namespace

MediaCommands::MediaCommands(CLI::App& app, const std::string& data) : data_(data) {
    max_duration_s_ = static_cast<double>(options_.max_duration_us) / 1e6;
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
    import_->add_option("--max-duration", max_duration_s_, "refuse longer files (seconds)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    import_
        ->add_option("--silence-floor", options_.opus.silence_floor_lufs,
                     "refuse audio quieter than this (integrated loudness, LUFS)")
        ->capture_default_str();
    import_
        ->add_option("--target-lufs", options_.opus.target_lufs,
                     "loudness of the normalised audio (LUFS)")
        ->capture_default_str();
    import_
        ->add_option("--bitrate", options_.opus.bitrate_bps,
                     "bitrate of the normalised Opus audio (bit/s)")
        ->capture_default_str();
    list_ = media_->add_subcommand("list", "list imported media");
    missing_ = media_->add_subcommand(
        "missing",
        "per node, media the plays booked soon need that the node has not reported ready");
    missing_->add_option("--hours", hours_, "look at the plays in the next N hours")
        ->check(CLI::Range(1, 24 * 366))
        ->capture_default_str();
    missing_->add_option("--node", node_, "only this node");
    approve_ = media_->add_subcommand("approve", "approve media for air (thẩm định)");
    reject_ = media_->add_subcommand(
        "reject", "reject media: it may not air, and its plays not started are taken back");
    for (CLI::App* cmd : {approve_, reject_}) {
        cmd->add_option("hash", hash_, "media hash (loactl media list)")->required();
        cmd->add_option("--note", note_, "why, for the record");
    }
    for (CLI::App* cmd : {missing_, list_, approve_, reject_}) {
        cmd->add_option("--lang", lang_, "vi or en")
            ->check(CLI::IsMember({"vi", "en"}))
            ->capture_default_str();
    }
}

bool MediaCommands::parsed() const {
    return import_->parsed() || list_->parsed() || missing_->parsed() || approve_->parsed() ||
           reject_->parsed();
}

int MediaCommands::run(bool json) const {
    if (import_->parsed()) {
        return import(json);
    }
    if (approve_->parsed() || reject_->parsed()) {
        return decide(json);
    }
    return missing_->parsed() ? missing(json) : list(json);
}

int MediaCommands::import(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "media.import");
    if (!who) {
        return 1;
    }
    // Media belongs to the importer's scope: the people of that subtree (and above) use it.
    Change change(*db, *who, "media.import", file_, who->area);
    if (!change.allowed(lc::Permission::import_media)) {
        return 1;
    }
    media::ContentStore store(std::filesystem::path(data_) / "media");
    ProgressBar bar(std::filesystem::path(file_).filename().string());
    lc::ImportOptions options = options_;
    options.use = use_ == "panel" ? lc::MediaUse::panel : lc::MediaUse::speaker;
    options.max_duration_us = std::llround(max_duration_s_ * 1e6);
    options.progress = bar.callback();
    options.area = who->area;
    auto imported = lc::import_media(*db, store, file_, title_, lc::now_us(), options);
    bar.clear();
    if (!imported) {
        return change.refused(imported.error());
    }
    change.set_target(imported->media.media_hash);
    change.done(import_detail(*imported, file_));
    print_imported(*imported, json);
    return 0;
}

int MediaCommands::list(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "media.list");
    if (!who) {
        return 1;
    }
    auto all = lc::list_media(*db);
    if (!all) {
        return refused(all.error());
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *all) {
        if (!lc::media_in_scope(m, who->area)) {
            continue;
        }
        out.push_back({{"media_hash", m.media_hash},
                       {"title", m.title},
                       {"kind", m.kind},
                       {"width", m.width},
                       {"height", m.height},
                       {"duration_seconds", m.duration_us / 1e6},
                       {"approval", m.approval},
                       {"area", m.area_path}});
        if (!json) {
            const std::string size =
                m.kind == "audio" ? "-" : fmt::format("{}x{}", m.width, m.height);
            fmt::print("{}  {:<5}  {:>9}  {:8.2f} s  {:<13}  {}\n", m.media_hash, m.kind, size,
                       m.duration_us / 1e6, approval_text(m.approval, lang_ == "vi"), m.title);
        }
    }
    if (json) {
        std::cout << out.dump(2) << "\n";
    }
    return 0;
}

int MediaCommands::missing(bool json) const {
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, "media.missing");
    if (!who) {
        return 1;
    }
    if (!node_.empty() && !may_read_node(*db, *who, node_, "media.missing")) {
        return 1;
    }
    auto visible = lc::node_ids_in_scope(*db, who->area);
    if (!visible) {
        return refused(visible.error());
    }
    const std::int64_t from = lc::now_us();
    const std::int64_t to = from + static_cast<std::int64_t>(hours_) * 3600 * 1'000'000;
    auto missing = lc::missing_media(*db, from, to, node_);
    if (!missing) {
        return refused(missing.error());
    }
    std::erase_if(*missing,
                  [&](const lc::MissingMedia& m) { return !visible->contains(m.node_id); });
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& m : *missing) {
            out.push_back({{"node", m.node_id},
                           {"media_hash", m.media_hash},
                           {"title", m.title},
                           {"state", m.state},
                           {"bytes_held", m.bytes_held},
                           {"total_size", m.total_size},
                           {"first_play", lc::format_local(m.first_play_us)},
                           {"plays", m.plays},
                           {"reported", m.reported_us ? lc::format_local(m.reported_us) : ""}});
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    const bool vi = lang_ == "vi";
    const std::string where =
        node_.empty() ? (vi ? "mọi nút" : "every node") : (vi ? "nút " : "node ") + node_;
    if (missing->empty()) {
        fmt::print(fmt::runtime(vi ? "Đã sẵn sàng: {} có đủ nội dung cho các lượt phát trong {} "
                                     "giờ tới.\n"
                                   : "Everything ready: {} holds the media for the plays in the "
                                     "next {} hours.\n"),
                   where, hours_);
        return 0;
    }
    fmt::print(fmt::runtime(vi ? "Nội dung chưa sẵn sàng cho các lượt phát từ {} đến {} ({}):\n\n"
                               : "Media not ready for the plays from {} to {} ({}):\n\n"),
               lc::format_local(whole_seconds(from)), lc::format_local(whole_seconds(to)), where);
    std::cout << lc::render_missing_media(*missing, vi ? lc::Language::vi : lc::Language::en);
    return 0;
}

int MediaCommands::decide(bool json) const {
    const bool approve = approve_->parsed();
    const std::string action = approve ? "media.approve" : "media.reject";
    auto db = open_store(data_);
    if (!db) {
        return 1;
    }
    auto who = signed_in(*db, action);
    if (!who) {
        return 1;
    }
    Change change(*db, *who, action, hash_, who->area);
    auto media = lc::find_media(*db, hash_);
    if (!media) {
        return change.refused(media.error());
    }
    // Approvers decide on what was imported in their subtree.
    change.set_area(media->area_path);
    if (!change.allowed(lc::Permission::approve_media)) {
        return 1;
    }
    auto decided =
        lc::decide_media(*db, hash_, approve ? lc::Decision::approved : lc::Decision::rejected,
                         who->name, note_, lc::now_us());
    if (!decided) {
        return change.refused(decided.error(), {{"note", note_}});
    }
    change.done({{"title", media->title},
                 {"note", note_},
                 {"previous", decided->previous},
                 {"plays_taken_back", decided->plays_taken_back}});
    if (json) {
        std::cout << nlohmann::json{{"media_hash", hash_},
                                    {"title", media->title},
                                    {"approval", lc::decision_name(decided->decision.decision)},
                                    {"previous", decided->previous},
                                    {"decided_by", who->name},
                                    {"decision_id", decided->decision.decision_id},
                                    {"plays_taken_back", decided->plays_taken_back}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    const bool vi = lang_ == "vi";
    if (approve) {
        fmt::print(fmt::runtime(vi ? "Đã phê duyệt {} «{}»: được phép xếp lịch phát.\n"
                                   : "Approved {} \"{}\": it may be scheduled.\n"),
                   hash_.substr(0, 12), media->title);
    } else {
        fmt::print(fmt::runtime(vi ? "Đã từ chối {} «{}»: không được phát; {} lượt phát chưa "
                                     "đến giờ đã thu hồi.\n"
                                   : "Rejected {} \"{}\": it may not air; {} plays not yet "
                                     "started taken back.\n"),
                   hash_.substr(0, 12), media->title, decided->plays_taken_back);
    }
    return 0;
}

}  // namespace loa::loactl
