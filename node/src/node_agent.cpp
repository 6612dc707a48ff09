// The player side of the node agent: preroll ahead, start on the clock, confirm every play.
#include "loa/node/node_agent.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "session.hpp"
#include "wall_clock.hpp"

namespace loa::node {

using detail::now_us;

NodeAgent::NodeAgent(AgentOptions options)
    : options_(std::move(options)),
      store_(options_.data_dir / "node.db"),
      media_(options_.data_dir / "media"),
      player_(options_.sink) {}

NodeAgent::~NodeAgent() {
    stopping_ = true;
    player_.stop();
    wake_player();
    if (player_thread_.joinable()) {
        player_thread_.join();
    }
}

void NodeAgent::run(const std::atomic<bool>& stop) {
    if (int n = store_.recover_interrupted(); n > 0) {
        spdlog::warn("{} play(s) interrupted by the last shutdown confirmed as failed", n);
    }
    player_thread_ = std::thread([this] { player_loop(); });
    Session session(options_, store_, media_, [this] { wake_player(); });
    session.run(stop);
    stopping_ = true;
    player_.stop();
    wake_player();
    player_thread_.join();
}

void NodeAgent::wake_player() {
    {
        std::lock_guard lock(wake_mutex_);
        ++wake_generation_;
    }
    wake_.notify_all();
}

void NodeAgent::wait_until(std::int64_t deadline_us) {
    std::unique_lock lock(wake_mutex_);
    auto generation = wake_generation_;
    auto deadline = std::chrono::system_clock::time_point(std::chrono::microseconds(deadline_us));
    wake_.wait_until(lock, deadline,
                     [&] { return stopping_.load() || wake_generation_ != generation; });
}

void NodeAgent::player_loop() {
    while (!stopping_) {
        auto next = store_.next_pending();
        if (!next) {
            wait_until(now_us() + 1'000'000);
            continue;
        }
        std::int64_t now = now_us();
        if (now > next->start_us() + options_.late_grace_us) {
            spdlog::warn("play {} skipped: late by {:.1f} s", next->slot_id(),
                         (now - next->start_us()) / 1e6);
            store_.confirm(*next, wire::SKIPPED, "late", 0, 0);
            continue;
        }
        if (now < next->start_us() - options_.preroll_lead_us) {
            wait_until(next->start_us() - options_.preroll_lead_us);
            continue;  // the timeline may have changed meanwhile
        }
        if (!media_.contains(next->media_hash())) {
            if (now < next->start_us()) {
                wait_until(std::min(next->start_us(), now + 200'000));
                continue;  // the download may still finish in time
            }
            spdlog::error("play {} failed: media {} missing", next->slot_id(),
                          next->media_hash().substr(0, 12));
            store_.confirm(*next, wire::FAILED, "media-missing", 0, 0);
            continue;
        }
        // The cached file is checked once more before it goes on air: a file damaged on disk
        // is deleted here, fetched again by the session, or confirmed media-missing if too late.
        if (auto intact = media_.verify(next->media_hash()); !intact) {
            spdlog::error("play {}: {}", next->slot_id(), intact.error().message);
            continue;
        }
        play_slot(*next);
    }
}

void NodeAgent::play_slot(const wire::Slot& slot) {
    // Output files (file sink) are named by planned start and slot, safe as a file name.
    std::string output_name = std::to_string(slot.start_us()) + "_";
    for (char c : slot.slot_id()) {
        output_name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
    }
    auto prerolled = player_.preroll(media_.path_for(slot.media_hash()), output_name);
    if (!prerolled) {
        spdlog::error("play {} failed: {}", slot.slot_id(), prerolled.error());
        store_.confirm(slot, wire::FAILED, "pipeline: " + prerolled.error(), 0, 0);
        return;
    }
    // Sleep to the start; a changed timeline does not move an already prerolled play.
    while (!stopping_ && now_us() < slot.start_us()) {
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::min<std::int64_t>(slot.start_us() - now_us(), 20'000)));
    }
    if (stopping_) {
        return;  // still pending: played or skipped after the restart
    }
    store_.mark_started(slot.slot_id(), now_us());
    spdlog::info("playing {} \"{}\"", slot.slot_id(), slot.title());
    PlayResult result = player_.play();
    if (result.ok) {
        spdlog::info("played {} for {:.2f} s", slot.slot_id(),
                     (result.end_us - result.start_us) / 1e6);
        store_.confirm(slot, wire::PLAYED, "", result.start_us, result.end_us);
    } else {
        std::string reason = result.stopped ? "agent-stopped" : "pipeline: " + result.error;
        spdlog::error("play {} failed: {}", slot.slot_id(), reason);
        store_.confirm(slot, wire::FAILED, reason, result.start_us, result.end_us);
    }
}

}  // namespace loa::node
