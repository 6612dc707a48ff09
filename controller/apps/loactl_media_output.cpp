// loactl's uploads for import, with their progress bar, and the printing of the answers.
#include "loactl_media_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace loa::loactl {

namespace {

// What each stage is called on the progress bar: the upload, then the controller's import.
std::string_view stage_label(std::string_view stage) {
    if (stage == "upload") {
        return "tải lên / uploading";
    }
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
// pipe), and wiped when done so that the result starts on a clean line. Drawn from the thread
// that uploads, then from the one that watches the import.
class ProgressBar {
  public:
    explicit ProgressBar(std::string label)
        : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressBar() { clear(); }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    bool enabled() const { return enabled_; }

    void draw(double fraction, std::string_view stage) {
        std::lock_guard lock(mutex_);
        const int percent = static_cast<int>(std::floor(std::clamp(fraction, 0.0, 1.0) * 100.0));
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

    void clear() {
        std::lock_guard lock(mutex_);
        if (drawn_) {
            std::fputs("\r\033[K", stderr);
            std::fflush(stderr);
            drawn_ = false;
        }
    }

  private:
    static constexpr int kWidth = 30;

    std::mutex mutex_;
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    int percent_ = -1;
    std::string stage_;
};

/// A fresh id for ?progress=: 16 random hex digits.
std::string new_upload_id() {
    std::random_device random;
    return fmt::format("{:08x}{:08x}", random(), random());
}

/// Draws the controller's stages of upload `id` until it says the import finished; once
/// `answered`, asks once more without waiting and stops (an upload refused before its import
/// started has nothing to show).
void watch_import(const std::string& id, ProgressBar& bar, const std::atomic<bool>& answered) {
    constexpr int kMaxRefused = 20;
    int refused = 0;
    std::size_t after = 0;
    for (;;) {
        const bool last = answered.load();
        ApiCall poll;
        poll.path = "/api/v1/media/uploads/" + id;
        poll.query = {{"after", std::to_string(after)}, {"wait_ms", last ? "0" : "500"}};
        auto answer = send(poll);
        if (!answer || (!answer->ok() && last)) {
            return;
        }
        if (!answer->ok()) {
            // A question refused while the import is under way (the database busy with it): the
            // bar only waits for the next one; the upload's own answer says what happened.
            if (++refused > kMaxRefused) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        auto news = nlohmann::json::parse(answer->body, nullptr, false);
        if (!news.is_object()) {
            return;
        }
        for (const auto& event : news.value("events", nlohmann::json::array())) {
            bar.draw(event.value("fraction", 0.0), event.value("stage", ""));
        }
        after = news.value("next", after);
        if (news.value("finished", false) || last) {
            return;
        }
    }
}

}  // namespace

std::optional<ApiAnswer> send_upload(ApiCall call, const std::string& label) {
    ProgressBar bar(label);
    if (!bar.enabled()) {
        return send(call);
    }
    const std::string id = new_upload_id();
    call.query.emplace("progress", id);
    std::atomic<bool> answered{false};
    std::thread watcher;
    call.progress = [&](std::uint64_t sent, std::uint64_t total) {
        bar.draw(total == 0 ? 1.0 : static_cast<double>(sent) / static_cast<double>(total),
                 "upload");
        // Every byte sent: the controller imports it now; follow its stages.
        if (sent >= total && !watcher.joinable()) {
            watcher = std::thread([&] { watch_import(id, bar, answered); });
        }
    };
    auto answer = send(call);
    answered = true;
    if (watcher.joinable()) {
        watcher.join();
    }
    bar.clear();
    return answer;
}

std::string path_segment(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", byte);
        }
    }
    return out;
}

}  // namespace loa::loactl
