// API media: upload (imported, normalised, stored), speech made from text, list, show, share
// with another area, approve and reject each area's record for air with the history of those
// decisions, and what nodes still miss.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/core.h>

#include "http_api_routes.hpp"
#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/content/approval.hpp"
#include "loa/controller/content/media_library.hpp"
#include "loa/controller/fleet/node_media.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/media/speech_synthesis.hpp"
#include "scope_queries.hpp"

namespace loa::controller::api {

namespace {

namespace fs = std::filesystem;

/// The longest a speech command may run when the request asks (timeout_seconds).
constexpr double kMaxSpeechTimeoutS = 600;
/// How long a watcher of an upload waits for news before it is answered with none.
constexpr std::int64_t kMaxWatchWaitMs = 10'000;

// ---- what is said of media ---------------------------------------------------------------------

/// A media's approval as tables show it.
std::string_view approval_text(const std::string& approval, bool vi) {
    if (approval == "approved") {
        return vi ? "đã duyệt" : "approved";
    }
    if (approval == "rejected") {
        return vi ? "bị từ chối" : "rejected";
    }
    return vi ? "chờ duyệt" : "pending";
}

/// One area's record of media: its area, title, approval, and how and by whom it came there.
nlohmann::json area_json(const MediaArea& r) {
    return {{"area", r.area_path}, {"title", r.title},       {"approval", r.approval},
            {"via", r.via},        {"added_by", r.added_by}, {"added", format_local(r.added_us)}};
}

/// One item of GET /api/v1/media: one area's record of the media, with what the media is.
nlohmann::json listed_json(const MediaRecord& m, const MediaArea& r) {
    nlohmann::json out = {{"media_hash", m.media_hash}, {"kind", m.kind},
                          {"codec", m.codec},           {"width", m.width},
                          {"height", m.height},         {"duration_seconds", m.duration_us / 1e6},
                          {"size_bytes", m.size_bytes}};
    out.update(area_json(r));
    return out;
}

/// Everything recorded of one item (GET /api/v1/media/{media_hash}): the nearest record's title,
/// area and approval, and every record the person sees.
nlohmann::json record_json(const MediaRecord& m, const std::vector<MediaArea>& records) {
    nlohmann::json out = listed_json(m, records.front());
    out["records"] = nlohmann::json::array();
    for (const auto& r : records) {
        out["records"].push_back(area_json(r));
    }
    out["original_hash"] = m.original_hash;
    out["original_name"] = m.original_name;
    out["container"] = m.container;
    out["sample_rate"] = m.sample_rate;
    out["channels"] = m.channels;
    out["loudness_before_lufs"] = m.loudness_before_lufs;
    out["loudness_after_lufs"] = m.loudness_after_lufs;
    out["true_peak_after_dbtp"] = m.true_peak_after_dbtp;
    out["warnings"] = m.warnings;
    return out;
}

/// What an import answers, as `loactl media import --json` has always printed it: the media and
/// the importing area's record of it.
nlohmann::json imported_json(const ImportResult& imported) {
    const auto& m = imported.media;
    const auto& r = imported.record;
    return {{"media_hash", m.media_hash},
            {"title", r.title},
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
            {"title_not_applied", imported.title_not_applied},
            {"warnings", m.warnings},
            {"approval", r.approval},
            {"area", r.area_path}};
}

/// The import's warnings and a title not applied, one indented line each.
std::string import_notes(const ImportResult& imported) {
    std::string text;
    for (const auto& w : imported.media.warnings) {
        text += fmt::format("  ! cảnh báo / warning: {}\n", w);
    }
    if (!imported.title_not_applied.empty()) {
        text += fmt::format(
            "  vùng này đã có tệp này với tên «{0}», giữ nguyên; tên «{1}» không được dùng / this "
            "area has this file already, titled \"{0}\", which is kept; \"{1}\" was not "
            "applied\n",
            imported.record.title, imported.title_not_applied);
    }
    return text;
}

/// The one line an import prints for people.
std::string imported_text(const ImportResult& imported) {
    const auto& m = imported.media;
    const auto& title = imported.record.title;
    const char* again = imported.already_present ? " (đã có / already imported)" : "";
    if (m.kind != "audio") {  // panel media, stored as imported
        const std::string length =
            m.kind == "video" ? fmt::format("  {:.2f} s", m.duration_us / 1e6) : "";
        return fmt::format("{}{}  {} {}x{} {}{}  {}\n", m.media_hash, again, m.kind, m.width,
                           m.height, m.codec, length, title) +
               import_notes(imported);
    }
    return fmt::format("{}{}  {:.2f} s  {} {} Hz  {:.1f} → {:.1f} LUFS  {}\n", m.media_hash, again,
                       m.duration_us / 1e6, m.codec, m.sample_rate, m.loudness_before_lufs,
                       m.loudness_after_lufs, title) +
           import_notes(imported);
}

/// 201 for a record new to the importer's area, 200 for content the area already held.
Reply imported_reply(const Request& request, const ImportResult& imported) {
    Reply reply =
        listing(request, imported_json(imported), [&] { return imported_text(imported); });
    reply.status = imported.already_present ? 200 : 201;
    return reply;
}

nlohmann::json approvals_json(const std::vector<ApprovalDecision>& decisions) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : decisions) {
        out.push_back({{"decision_id", d.decision_id},
                       {"area", d.area_path},
                       {"decided", format_local(d.decided_us)},
                       {"decided_by", d.decided_by},
                       {"decision", decision_name(d.decision)},
                       {"note", d.note}});
    }
    return out;
}

std::string approvals_text(const std::vector<ApprovalDecision>& decisions, bool vi) {
    if (decisions.empty()) {
        return vi ? "Chưa có quyết định thẩm định nào.\n" : "No approval decisions yet.\n";
    }
    std::string text;
    for (const auto& d : decisions) {
        text += fmt::format("{}  {:<10}  {}  {}{}\n", format_local(d.decided_us),
                            approval_text(std::string(decision_name(d.decision)), vi), d.area_path,
                            d.decided_by, d.note.empty() ? "" : "  «" + d.note + "»");
    }
    return text;
}

/// `text` with every occurrence of the path of a file the controller wrote replaced by the name
/// the operator knows it by.
std::string as_named(std::string text, const fs::path& file, const std::string& name) {
    const std::string path = file.string();
    for (auto at = text.find(path); at != std::string::npos; at = text.find(path, at)) {
        text.replace(at, path.size(), name);
        at += name.size();
    }
    return text;
}

/// The request's ?name= as a file name of its own: its last component, no control characters;
/// "upload" when not given.
Result<std::string> upload_name(const Request& request) {
    const std::string given = request.query("name");
    if (given.empty()) {
        return std::string("upload");
    }
    std::string name = fs::path(given).filename().string();
    const bool control = std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (name.empty() || name == "." || name == ".." || name.size() > 255 || control) {
        return fail(Error::Code::invalid_input,
                    fmt::format("name: '{}' không dùng làm tên tệp được / cannot be used as a file "
                                "name",
                                given));
    }
    return name;
}

/// A number in the query, or `fallback` when absent; invalid_input naming it otherwise.
Result<double> number_query(const Request& request, const std::string& name, double fallback) {
    if (!request.has_query(name)) {
        return fallback;
    }
    const std::string text = request.query(name);
    try {
        std::size_t used = 0;
        const double value = std::stod(text, &used);
        if (used == text.size() && std::isfinite(value)) {
            return value;
        }
    } catch (const std::exception&) {
    }
    return fail(Error::Code::invalid_input,
                fmt::format("{}: '{}' không phải là số / is not a number", name, text));
}

/// The import options of an upload's query: use, max_duration (s), silence_floor, target_lufs
/// (LUFS), bitrate (bit/s). Values out of range are left for import_media to refuse, logged.
Result<ImportOptions> import_options(const Request& request) {
    ImportOptions options;
    const std::string use = request.query("use", "speaker");
    if (use != "speaker" && use != "panel") {
        return fail(Error::Code::invalid_input,
                    fmt::format("use: '{}': speaker (audio for loudspeakers) or panel (an image "
                                "or video for panel boards)",
                                use));
    }
    options.use = use == "panel" ? MediaUse::panel : MediaUse::speaker;
    auto max_duration =
        number_query(request, "max_duration", static_cast<double>(options.max_duration_us) / 1e6);
    auto floor = number_query(request, "silence_floor", options.opus.silence_floor_lufs);
    auto target = number_query(request, "target_lufs", options.opus.target_lufs);
    auto bitrate = number_query(request, "bitrate", options.opus.bitrate_bps);
    for (const auto* n : {&max_duration, &floor, &target, &bitrate}) {
        if (!*n) {
            return std::unexpected(n->error());
        }
    }
    options.max_duration_us = std::llround(std::clamp(*max_duration, -1e9, 1e9) * 1e6);
    options.opus.silence_floor_lufs = *floor;
    options.opus.target_lufs = *target;
    options.opus.bitrate_bps = static_cast<int>(std::clamp(*bitrate, -1e9, 1e9));
    return options;
}

// ---- watching an import
// --------------------------------------------------------------------------

/// Imports under way, for their uploader to watch (GET /api/v1/media/uploads/{upload_id}): each
/// stage and each whole percent reached, kept a minute after the import ends so that a watcher
/// that asks late still sees them all. Shared by every ApiServer of the process; the ids are
/// the uploaders' random choice and are seen only by them.
class UploadWatch {
  public:
    struct Event {
        double fraction = 0;
        std::string stage;
    };
    struct News {
        bool started = false;
        bool finished = false;
        std::vector<Event> events;  ///< after the first `after`
        std::size_t next = 0;       ///< the `after` of the next question
    };

    static UploadWatch& process() {
        static UploadWatch watch;
        return watch;
    }

    /// False when `id` is being watched already.
    bool begin(const std::string& id, const std::string& owner) {
        std::lock_guard lock(mutex_);
        forget_old();
        if (uploads_.contains(id)) {
            return false;
        }
        uploads_[id].owner = owner;
        changed_.notify_all();
        return true;
    }

    void report(const std::string& id, double fraction, std::string_view stage) {
        std::lock_guard lock(mutex_);
        auto it = uploads_.find(id);
        if (it == uploads_.end()) {
            return;
        }
        auto& upload = it->second;
        const int percent = static_cast<int>(std::floor(fraction * 100.0));
        if (percent == upload.percent && stage == upload.stage) {
            return;  // nothing a watcher would see
        }
        upload.percent = percent;
        upload.stage = std::string(stage);
        upload.events.push_back({fraction, upload.stage});
        changed_.notify_all();
    }

    void finish(const std::string& id) {
        std::lock_guard lock(mutex_);
        if (auto it = uploads_.find(id); it != uploads_.end()) {
            it->second.finished = true;
            it->second.finished_at = std::chrono::steady_clock::now();
        }
        changed_.notify_all();
    }

    /// What `owner`'s upload `id` did after its first `after` events, waiting up to `wait` for
    /// something new. Another person's upload reads as one not started.
    News watch(const std::string& id, const std::string& owner, std::size_t after,
               std::chrono::milliseconds wait) {
        std::unique_lock lock(mutex_);
        auto mine = [&]() -> const Upload* {
            auto it = uploads_.find(id);
            return it == uploads_.end() || it->second.owner != owner ? nullptr : &it->second;
        };
        changed_.wait_for(lock, wait, [&] {
            const Upload* u = mine();
            return u && (u->events.size() > after || u->finished);
        });
        News news;
        if (const Upload* u = mine()) {
            news.started = true;
            news.finished = u->finished;
            news.next = u->events.size();
            if (after < u->events.size()) {
                news.events.assign(u->events.begin() + static_cast<std::ptrdiff_t>(after),
                                   u->events.end());
            }
        }
        return news;
    }

  private:
    struct Upload {
        std::string owner;
        std::vector<Event> events;
        int percent = -1;
        std::string stage;
        bool finished = false;
        std::chrono::steady_clock::time_point finished_at;
    };

    void forget_old() {
        const auto now = std::chrono::steady_clock::now();
        std::erase_if(uploads_, [&](const auto& entry) {
            return entry.second.finished &&
                   now - entry.second.finished_at > std::chrono::minutes(1);
        });
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, Upload> uploads_;
};

/// One import watched under the request's ?progress= id, from begin to finish.
class WatchedImport {
  public:
    WatchedImport(std::string id, const std::string& owner) : id_(std::move(id)) {
        if (!id_.empty() && !UploadWatch::process().begin(id_, owner)) {
            taken_ = true;
        }
    }
    ~WatchedImport() {
        if (!id_.empty() && !taken_) {
            UploadWatch::process().finish(id_);
        }
    }
    WatchedImport(const WatchedImport&) = delete;
    WatchedImport& operator=(const WatchedImport&) = delete;

    /// The id is another upload's, under way or just finished.
    bool taken() const { return taken_; }

    ImportProgress progress() const {
        if (id_.empty() || taken_) {
            return {};
        }
        return [id = id_](double fraction, std::string_view stage) {
            UploadWatch::process().report(id, fraction, stage);
        };
    }

  private:
    std::string id_;
    bool taken_ = false;
};

/// An id for ?progress=: 8 to 64 letters, digits, '-' and '_'.
bool valid_upload_id(const std::string& id) {
    return id.size() >= 8 && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

// ---- files the controller writes for an import
// ---------------------------------------------------

/// A directory of its own under <data>/<parent> for one request, removed with what it holds.
/// Named by process and request: the daemon and loactl's in-process API may serve the same
/// data directory at once, and request ids are unique only within a process.
class ScratchDir {
  public:
    ScratchDir(const Request& request, const std::string& parent, const std::string& prefix)
        : path_(request.services().data_dir / parent /
                fmt::format("{}-{}-{}", prefix, ::getpid(), request.request_id())) {
        fs::create_directories(path_, error_);
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const fs::path& path() const { return path_; }
    /// Empty when the directory is there; otherwise why not.
    std::string problem() const {
        return error_ ? fmt::format("không tạo được thư mục tạm {0} ({1}) / cannot make {0} ({1})",
                                    path_.string(), error_.message())
                      : "";
    }

  private:
    fs::path path_;
    std::error_code error_;
};

/// Moves the uploaded body (the file the HTTP edge streamed it to) to `file`, under the name the
/// operator knows it by: the import reads it there, and no byte of it is ever held in memory.
Result<void> write_body(Request& request, const fs::path& file) {
    std::error_code moved;
    fs::rename(request.body_file(), file, moved);
    if (moved) {
        // Another file system (the data directory split across mounts): copy it instead.
        std::error_code copied;
        fs::copy_file(request.body_file(), file, fs::copy_options::overwrite_existing, copied);
        if (copied) {
            return fail(
                Error::Code::storage,
                fmt::format("không ghi được tệp tải lên / cannot write the upload to {}: {}",
                            file.string(), copied.message()));
        }
    }
    return {};
}

// ---- handlers
// ------------------------------------------------------------------------------------

Result<Reply> list(Request& request) {
    auto all = list_media(request.db());
    auto records = list_media_areas(request.db());
    if (!all || !records) {
        return std::unexpected(!all ? all.error() : records.error());
    }
    std::map<std::string, const MediaRecord*> by_hash;
    for (const auto& m : *all) {
        by_hash[m.media_hash] = &m;
    }
    const bool vi = request.language() == Language::vi;
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    // One row per record the person sees: the same bytes in two areas are two records.
    for (const auto& r : *records) {
        auto it = by_hash.find(r.media_hash);
        if (it == by_hash.end() || !record_in_scope(r, request.who().area)) {
            continue;
        }
        const MediaRecord& m = *it->second;
        out.push_back(listed_json(m, r));
        const std::string size = m.kind == "audio" ? "-" : fmt::format("{}x{}", m.width, m.height);
        text +=
            fmt::format("{}  {:<5}  {:>9}  {:8.2f} s  {:<13}  {}  {}\n", m.media_hash, m.kind, size,
                        m.duration_us / 1e6, approval_text(r.approval, vi), r.area_path, r.title);
    }
    return listing(request, out, [&] { return text; });
}

Result<Reply> upload(Request& request) {
    auto options = import_options(request);
    if (!options) {
        return std::unexpected(options.error());
    }
    auto name = upload_name(request);
    if (!name) {
        return std::unexpected(name.error());
    }
    const std::string watch_id = request.query("progress");
    if (!watch_id.empty() && !valid_upload_id(watch_id)) {
        return fail(Error::Code::invalid_input,
                    "progress: 8 đến 64 chữ cái, chữ số, '-' hoặc '_' / 8 to 64 letters, digits, "
                    "'-' or '_'");
    }
    const auto& who = request.who();
    // Media belongs to the importer's scope: the people of that subtree (and above) use it.
    Change change(request, "media.import", *name, who.area);
    if (auto ok = change.allowed(Permission::import_media); !ok) {
        return std::unexpected(ok.error());
    }
    if (request.body_size() == 0) {
        return change.refused({Error::Code::invalid_input,
                               fmt::format("{}: tệp rỗng (0 byte), không có gì để nhập: gửi "
                                           "các byte của tệp / the file is empty (0 bytes), "
                                           "nothing to import: send the file's bytes",
                                           *name)});
    }
    WatchedImport watched(watch_id, who.name);
    if (watched.taken()) {
        return change.refused({Error::Code::conflict,
                               fmt::format("progress: '{}' is another upload's id", watch_id)});
    }
    // Under its own name, in a directory of its own: the import records the name and the title
    // defaults to it, and refusals name the file as the operator knows it.
    ScratchDir incoming(request, "incoming", "upload");
    if (auto problem = incoming.problem(); !problem.empty()) {
        return change.refused({Error::Code::storage, problem});
    }
    const fs::path file = incoming.path() / *name;
    if (auto written = write_body(request, file); !written) {
        return change.refused(written.error());
    }
    options->area = who.area;
    options->by = who.name;
    options->progress = watched.progress();
    media::ContentStore store(request.services().data_dir / "media");
    // Probed, normalised and stored outside the writer; recorded, with its row, in one change.
    auto prepared = prepare_import(request.db(), store, file, request.query("title"), *options);
    auto imported =
        prepared ? change.commit(
                       [&](WriteTx& tx) { return record_import(tx, *prepared, request.now()); },
                       [&](const ImportResult& i) {
                           change.set_target(i.media.media_hash);
                           return nlohmann::json{{"file", *name},
                                                 {"title", i.record.title},
                                                 {"kind", i.media.kind},
                                                 {"size_bytes", i.media.size_bytes},
                                                 {"already_present", i.already_present}};
                       })
                 : Result<ImportResult>(std::unexpected(prepared.error()));
    if (!imported) {
        Error error = imported.error();
        error.message = as_named(error.message, file, *name);
        return change.refused(error);
    }
    return imported_reply(request, *imported);
}

Result<Reply> watch(Request& request) {
    std::size_t after = 0;
    std::int64_t wait_ms = 0;
    try {
        after = static_cast<std::size_t>(std::stoull(request.query("after", "0")));
        wait_ms =
            std::clamp<std::int64_t>(std::stoll(request.query("wait_ms", "0")), 0, kMaxWatchWaitMs);
    } catch (const std::exception&) {
        return fail(Error::Code::invalid_input,
                    "after, wait_ms: số nguyên không âm / whole numbers, 0 or more");
    }
    const std::string& id = request.path("upload_id");
    auto news = UploadWatch::process().watch(id, request.who().name, after,
                                             std::chrono::milliseconds(wait_ms));
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : news.events) {
        events.push_back({{"fraction", e.fraction}, {"stage", e.stage}});
    }
    return json_reply({{"upload_id", id},
                       {"started", news.started},
                       {"finished", news.finished},
                       {"events", events},
                       {"next", news.next}});
}

/// The speech file's name: "tts-vi.wav" for a language that can be part of a file name.
std::string speech_file_name(const std::string& lang) {
    const bool plain = !lang.empty() && lang.size() <= 32 && lang.front() != '.' &&
                       std::all_of(lang.begin(), lang.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                  c == '_' || c == '.' || c == '+';
                       });
    return plain ? fmt::format("tts-{}.wav", lang) : "tts.wav";
}

Result<Reply> speech(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto text = field(*body, "text");
    auto lang = optional_field(*body, "lang");
    auto title = optional_field(*body, "title");
    for (const auto* f : {&text, &lang, &title}) {
        if (!*f) {
            return std::unexpected(f->error());
        }
    }
    media::SpeechOptions options;
    if (!lang->empty()) {
        options.lang = *lang;
    }
    if (auto t = body->find("timeout_seconds"); t != body->end()) {
        if (!t->is_number() || t->get<double>() <= 0 || t->get<double>() > kMaxSpeechTimeoutS) {
            return fail(Error::Code::invalid_input,
                        fmt::format("timeout_seconds: một số trong (0, {}] / a number in (0, {}]",
                                    kMaxSpeechTimeoutS, kMaxSpeechTimeoutS));
        }
        options.timeout = std::chrono::milliseconds(std::llround(t->get<double>() * 1000.0));
    }
    const auto& who = request.who();
    Change change(request, "media.import", "tts", who.area);
    if (auto ok = change.allowed(Permission::import_media); !ok) {
        return std::unexpected(ok.error());
    }
    // The controller runs its own speech command only: a request naming a program would run it
    // as the controller, for anyone allowed to import.
    if (body->contains("command")) {
        return change.refused(
            {Error::Code::invalid_input,
             "command: bộ điều khiển chỉ chạy lệnh đọc của chính nó (espeak-ng); lệnh khác hãy "
             "chạy trên máy của bạn rồi tải tệp WAV lên (loactl media tts --command …) / the "
             "controller runs only its own speech command (espeak-ng); run another on your "
             "machine and upload the WAV (loactl media tts --command …)"});
    }
    ScratchDir scratch(request, "tmp", "tts");
    if (auto problem = scratch.problem(); !problem.empty()) {
        return change.refused({Error::Code::storage, problem});
    }
    const fs::path wav = scratch.path() / speech_file_name(options.lang);
    if (auto spoken = media::synthesize_speech(*text, options, wav); !spoken) {
        return change.refused({Error::Code::media, spoken.error().message},
                              {{"lang", options.lang}});
    }
    media::ContentStore store(request.services().data_dir / "media");
    ImportOptions import_options;
    import_options.area = who.area;  // the record belongs to the importer's scope
    import_options.by = who.name;
    auto prepared = prepare_import(
        request.db(), store, wav, title->empty() ? title_from_text(*text) : *title, import_options);
    auto imported =
        prepared ? change.commit(
                       [&](WriteTx& tx) { return record_import(tx, *prepared, request.now()); },
                       [&](const ImportResult& i) {
                           change.set_target(i.media.media_hash);
                           return nlohmann::json{{"text", *text},
                                                 {"lang", options.lang},
                                                 {"title", i.record.title},
                                                 {"already_present", i.already_present}};
                       })
                 : Result<ImportResult>(std::unexpected(prepared.error()));
    if (!imported) {
        return change.refused(imported.error());
    }
    return imported_reply(request, *imported);
}

/// Media and the records of it a person sees, nearest first (records_in_scope).
struct Visible {
    MediaRecord media;
    std::vector<MediaArea> records;  ///< never empty
    std::vector<MediaArea> all;      ///< every record, seen or not
};

/// The media of the path, when the person sees a record of it; a refusal (logged) when not.
Result<Visible> visible_media(Request& request, std::string_view command) {
    const std::string& hash = request.path("media_hash");
    auto media = find_media(request.db(), hash);
    if (!media) {
        return std::unexpected(media.error());
    }
    auto all = media_areas(request.db(), hash);
    if (!all) {
        return std::unexpected(all.error());
    }
    if (all->empty()) {
        return fail(Error::Code::not_found, fmt::format("no media '{}'", hash));
    }
    Visible visible{std::move(*media), records_in_scope(*all, request.who().area), *all};
    if (visible.records.empty()) {
        if (auto ok = may_read(request, all->front().area_path, command); !ok) {
            return std::unexpected(ok.error());
        }
    }
    return visible;
}

/// The decisions on the records the person sees.
std::vector<ApprovalDecision> seen_decisions(const std::vector<ApprovalDecision>& history,
                                             const std::vector<MediaArea>& records) {
    std::vector<ApprovalDecision> seen;
    for (const auto& d : history) {
        if (std::any_of(records.begin(), records.end(),
                        [&](const MediaArea& r) { return r.area_path == d.area_path; })) {
            seen.push_back(d);
        }
    }
    return seen;
}

Result<Reply> show(Request& request) {
    auto visible = visible_media(request, "media.show");
    if (!visible) {
        return std::unexpected(visible.error());
    }
    auto all_history = approval_history(request.db(), visible->media.media_hash);
    if (!all_history) {
        return std::unexpected(all_history.error());
    }
    const auto history = seen_decisions(*all_history, visible->records);
    nlohmann::json out = record_json(visible->media, visible->records);
    out["approvals"] = approvals_json(history);
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        const auto& m = visible->media;
        const auto& nearest = visible->records.front();
        std::string text = fmt::format("{}  «{}»\n", m.media_hash, nearest.title);
        const std::string size = m.kind == "audio" ? fmt::format("{} Hz, {} kênh / channel(s)",
                                                                 m.sample_rate, m.channels)
                                                   : fmt::format("{}x{}", m.width, m.height);
        text += fmt::format(fmt::runtime(vi ? "  loại: {} {} {}, {:.2f} s, {} byte\n"
                                            : "  kind: {} {} {}, {:.2f} s, {} bytes\n"),
                            m.kind, m.codec, size, m.duration_us / 1e6, m.size_bytes);
        if (m.kind == "audio") {
            text +=
                fmt::format(fmt::runtime(vi ? "  độ lớn: {:.1f} → {:.1f} LUFS, đỉnh {:.1f} dBTP\n"
                                            : "  loudness: {:.1f} → {:.1f} LUFS, peak {:.1f} "
                                              "dBTP\n"),
                            m.loudness_before_lufs, m.loudness_after_lufs, m.true_peak_after_dbtp);
        }
        for (const auto& w : m.warnings) {
            text += fmt::format(fmt::runtime(vi ? "  ! cảnh báo: {}\n" : "  ! warning: {}\n"), w);
        }
        text += fmt::format(fmt::runtime(vi ? "  tệp gốc: {} ({})\n" : "  original: {} ({})\n"),
                            m.original_name, m.original_hash);
        // Each record seen: its area, approval, title, and who brought it there.
        for (const auto& r : visible->records) {
            text += fmt::format(
                fmt::runtime(vi ? "  vùng: {}  thẩm định: {}  «{}»  {} {} {}\n"
                                : "  area: {}  approval: {}  \"{}\"  {} by {} {}\n"),
                r.area_path, approval_text(r.approval, vi), r.title,
                r.via == "share" ? (vi ? "chia sẻ" : "shared") : (vi ? "nhập" : "imported"),
                r.added_by.empty() ? "?" : r.added_by, format_local(r.added_us));
        }
        return text + approvals_text(history, vi);
    });
}

Result<Reply> approvals(Request& request) {
    auto visible = visible_media(request, "media.approvals");
    if (!visible) {
        return std::unexpected(visible.error());
    }
    auto all_history = approval_history(request.db(), visible->media.media_hash);
    if (!all_history) {
        return std::unexpected(all_history.error());
    }
    const auto history = seen_decisions(*all_history, visible->records);
    const bool vi = request.language() == Language::vi;
    return listing(request, approvals_json(history), [&] { return approvals_text(history, vi); });
}

/// The area a request names (?area= or the body's "area"; "" when neither), or invalid_input
/// when it names two different ones or one that is not an area scope.
Result<std::string> named_area(const Request& request, const nlohmann::json& body) {
    auto in_body = optional_field(body, "area");
    if (!in_body) {
        return std::unexpected(in_body.error());
    }
    const std::string in_query = request.query("area");
    if (!in_query.empty() && !in_body->empty() && in_query != *in_body) {
        return fail(Error::Code::invalid_input,
                    fmt::format("area: '{}' (?area=) và '{}' (body) khác nhau / name one area, not "
                                "'{}' and '{}'",
                                in_query, *in_body, in_query, *in_body));
    }
    std::string area = in_query.empty() ? *in_body : in_query;
    if (auto why = scope_problem(area); !area.empty() && !why.empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("vùng '{}': {} / area '{}': {}", area, why, area, why));
    }
    return area;
}

/// The areas of `records`, for messages: "a, b".
std::string areas_text(const std::vector<MediaArea>& records) {
    std::string text;
    for (const auto& r : records) {
        text += (text.empty() ? "" : ", ") + r.area_path;
    }
    return text;
}

Result<Reply> decide(Request& request, Decision decision) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto note = optional_field(*body, "note");
    if (!note) {
        return std::unexpected(note.error());
    }
    auto named = named_area(request, *body);
    if (!named) {
        return std::unexpected(named.error());
    }
    const bool approve = decision == Decision::approved;
    const std::string& hash = request.path("media_hash");
    const auto& who = request.who();
    Change change(request, approve ? "media.approve" : "media.reject", hash, who.area);
    auto media = find_media(request.db(), hash);
    if (!media) {
        return change.refused(media.error());
    }
    auto records = media_areas(request.db(), hash);
    if (!records) {
        return change.refused(records.error());
    }
    // An approver decides on a record of their own: one whose area lies in their scope. Another
    // area's record is that area's to decide on, whoever sees it.
    std::vector<MediaArea> own;
    for (const auto& r : *records) {
        if (in_scope(who.area, r.area_path)) {
            own.push_back(r);
        }
    }
    std::string area = *named;
    if (area.empty() && own.size() == 1) {
        area = own.front().area_path;
    }
    if (area.empty()) {
        // The role first: someone who may not decide at all is told that, not which record.
        if (auto ok = change.allowed(Permission::approve_media, who.area); !ok) {
            return std::unexpected(ok.error());
        }
        if (own.empty()) {
            return change.refused(
                {Error::Code::forbidden,
                 fmt::format("'{}' không có bản ghi nào của nội dung {} trong phạm vi {} để quyết "
                             "định / '{}' has no record of media {} in its scope {} to decide on",
                             who.name, hash.substr(0, 12), who.area, who.name, hash.substr(0, 12),
                             who.area)});
        }
        return change.refused(
            {Error::Code::invalid_input,
             fmt::format("nội dung {} có bản ghi ở {} vùng trong phạm vi của bạn ({}): chọn một "
                         "bằng ?area= hoặc \"area\" (loactl media {} {} --area VÙNG) / media {} "
                         "has records in {} areas of your scope ({}): name one with ?area= or "
                         "\"area\"",
                         hash.substr(0, 12), own.size(), areas_text(own),
                         approve ? "approve" : "reject", hash, hash.substr(0, 12), own.size(),
                         areas_text(own))});
    }
    change.set_area(area);
    if (auto ok = change.allowed(Permission::approve_media, area); !ok) {
        return std::unexpected(ok.error());
    }
    const auto record = std::find_if(records->begin(), records->end(),
                                     [&](const MediaArea& r) { return r.area_path == area; });
    const std::string title = record == records->end() ? std::string() : record->title;
    auto decided = change.commit(
        [&](WriteTx& tx) {
            return decide_media(tx, hash, area, decision, who.name, *note, request.now());
        },
        [&](const DecisionResult& d) {
            return nlohmann::json{{"title", title},
                                  {"note", *note},
                                  {"previous", d.previous},
                                  {"plays_taken_back", d.plays_taken_back}};
        });
    if (!decided) {
        return change.refused(decided.error(), {{"note", *note}});
    }
    const nlohmann::json out = {{"media_hash", hash},
                                {"area", area},
                                {"title", title},
                                {"approval", decision_name(decided->decision.decision)},
                                {"previous", decided->previous},
                                {"decided_by", who.name},
                                {"decision_id", decided->decision.decision_id},
                                {"plays_taken_back", decided->plays_taken_back}};
    const bool vi = request.language() == Language::vi;
    return listing(request, out, [&] {
        if (approve) {
            return fmt::format(fmt::runtime(vi ? "Đã phê duyệt {} «{}» ở {}: được phép xếp lịch "
                                                 "phát ở đó.\n"
                                               : "Approved {} \"{}\" in {}: it may be scheduled "
                                                 "there.\n"),
                               hash.substr(0, 12), title, area);
        }
        return fmt::format(fmt::runtime(vi ? "Đã từ chối {} «{}» ở {}: không được phát ở đó; {} "
                                             "lượt phát chưa đến giờ đã thu hồi.\n"
                                           : "Rejected {} \"{}\" in {}: it may not air there; {} "
                                             "plays not yet started taken back.\n"),
                           hash.substr(0, 12), title, area, decided->plays_taken_back);
    });
}

Result<Reply> share(Request& request) {
    auto body = request.body();
    if (!body) {
        return std::unexpected(body.error());
    }
    auto area = field(*body, "area");
    if (!area) {
        return std::unexpected(area.error());
    }
    if (auto why = scope_problem(*area); !why.empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("vùng '{}': {} / area '{}': {}", *area, why, *area, why));
    }
    const std::string& hash = request.path("media_hash");
    const auto& who = request.who();
    // Sharing brings media into an area: the person must be one who may import media there.
    Change change(request, "media.share", hash, *area);
    if (auto ok = change.allowed(Permission::import_media); !ok) {
        return std::unexpected(ok.error());
    }
    auto media = find_media(request.db(), hash);
    if (!media) {
        return change.refused(media.error());
    }
    auto records = media_areas(request.db(), hash);
    if (!records) {
        return change.refused(records.error());
    }
    // …and must see the media: what is not theirs to see is not theirs to pass on.
    const auto seen = records_in_scope(*records, who.area);
    if (seen.empty()) {
        auto problem = media_scope_problem(request.db(), hash, who.name, who.area);
        if (!problem) {
            return change.refused(problem.error());
        }
        return change.refused({Error::Code::forbidden, *problem});
    }
    auto shared = change.commit(
        [&](WriteTx& tx) {
            return share_media(tx, hash, *area, seen.front().title, who.name, request.now());
        },
        [&](const MediaArea& r) {
            return nlohmann::json{{"title", r.title}, {"from", seen.front().area_path}};
        });
    if (!shared) {
        return change.refused(shared.error());
    }
    nlohmann::json out = area_json(*shared);
    out["media_hash"] = hash;
    const bool vi = request.language() == Language::vi;
    Reply reply = listing(request, out, [&] {
        return fmt::format(fmt::runtime(vi ? "Đã chia sẻ {} «{}» với {}: chờ người thẩm định ở đó "
                                             "phê duyệt.\n"
                                           : "Shared {} \"{}\" with {}: pending, for an approver "
                                             "there to decide on.\n"),
                           hash.substr(0, 12), shared->title, shared->area_path);
    });
    reply.status = 201;
    return reply;
}

/// An instant without its fraction of a second, for titles people read.
std::int64_t whole_seconds(std::int64_t us) {
    return us / 1'000'000 * 1'000'000;
}

Result<Reply> missing(Request& request) {
    auto hours = number_query(request, "hours", 24);
    if (!hours) {
        return std::unexpected(hours.error());
    }
    if (*hours < 1 || *hours > 24 * 366 || *hours != std::floor(*hours)) {
        return fail(Error::Code::invalid_input,
                    "hours: từ 1 đến 8784 giờ / hours must be a whole number from 1 to 8784");
    }
    const std::string node = request.query("node");
    if (!node.empty()) {
        auto found = find_node(request.db(), node);
        if (!found) {
            return std::unexpected(found.error());
        }
        if (auto ok = may_read(request, found->area_path, "media.missing"); !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto visible = node_ids_in_scope(request.db(), request.who().area);
    if (!visible) {
        return std::unexpected(visible.error());
    }
    const std::int64_t from = request.now();
    const std::int64_t to = from + static_cast<std::int64_t>(*hours) * 3600 * 1'000'000;
    auto rows = missing_media(request.db(), from, to, node);
    if (!rows) {
        return std::unexpected(rows.error());
    }
    std::erase_if(*rows, [&](const MissingMedia& m) { return !visible->contains(m.node_id); });
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *rows) {
        out.push_back({{"node", m.node_id},
                       {"media_hash", m.media_hash},
                       {"title", m.title},
                       {"state", m.state},
                       {"bytes_held", m.bytes_held},
                       {"total_size", m.total_size},
                       {"first_play", format_local(m.first_play_us)},
                       {"plays", m.plays},
                       {"reported", m.reported_us ? format_local(m.reported_us) : ""}});
    }
    return listing(request, out, [&] {
        const bool vi = request.language() == Language::vi;
        const std::string where =
            node.empty() ? (vi ? "mọi nút" : "every node") : (vi ? "nút " : "node ") + node;
        if (rows->empty()) {
            return fmt::format(fmt::runtime(vi ? "Đã sẵn sàng: {} có đủ nội dung cho các lượt "
                                                 "phát trong {} giờ tới.\n"
                                               : "Everything ready: {} holds the media for the "
                                                 "plays in the next {} hours.\n"),
                               where, *hours);
        }
        return fmt::format(fmt::runtime(vi ? "Nội dung chưa sẵn sàng cho các lượt phát từ {} "
                                             "đến {} ({}):\n\n"
                                           : "Media not ready for the plays from {} to {} "
                                             "({}):\n\n"),
                           format_local(whole_seconds(from)), format_local(whole_seconds(to)),
                           where) +
               render_missing_media(*rows, request.language());
    });
}

}  // namespace

std::vector<Route> media_routes() {
    // Fixed paths before /api/v1/media/{media_hash}, which would match them too.
    return {
        {"GET", "/api/v1/media", false,
         "The records of media in your area scope, each with its area and approval", list},
        {"POST", "/api/v1/media", false,
         "Upload a file (the body) and import it: checked, normalised for loudspeakers or kept "
         "for panel boards",
         upload, BodyKind::file, kMaxMediaFileBytes},
        {"GET", "/api/v1/media/missing", false,
         "Per node in your scope, media its coming plays need that it has not reported ready",
         missing},
        {"GET", "/api/v1/media/uploads/{upload_id}", false,
         "How far your import under the given progress id has got (waits up to wait_ms)", watch},
        {"POST", "/api/v1/media/speech", false,
         "Speak a text bulletin with the controller's speech command and import it", speech},
        {"GET", "/api/v1/media/{media_hash}", false,
         "One media item, its records in your scope and their approval decisions", show},
        {"GET", "/api/v1/media/{media_hash}/approvals", false,
         "The approval decisions on the records of one media item in your scope, oldest first",
         approvals},
        {"POST", "/api/v1/media/{media_hash}/shares", false,
         "Share media with an area: a pending record of its own there", share},
        {"POST", "/api/v1/media/{media_hash}/approve", false,
         "Approve an area's record of media for air (approver role)",
         [](Request& r) { return decide(r, Decision::approved); }},
        {"POST", "/api/v1/media/{media_hash}/reject", false,
         "Reject an area's record of media: it may not air there, and its plays not yet started "
         "there are taken back",
         [](Request& r) { return decide(r, Decision::rejected); }},
    };
}

}  // namespace loa::controller::api
