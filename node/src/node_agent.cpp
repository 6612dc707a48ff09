// The player side of the node agent: preroll ahead, start on the clock, confirm every play,
// and let an emergency pre-empt whatever airs.
#include "loa/node/node_agent.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "clock_offset.hpp"
#include "fault_guard.hpp"
#include "hook_command.hpp"
#include "hook_runner.hpp"
#include "loa/node/agent_control.hpp"
#include "loa/node/session.hpp"
#include "wall_clock.hpp"

namespace loa::node {

namespace {

/// A late join starts this far after the decision, so the pipeline can preroll and seek first.
constexpr std::int64_t kResumeLeadUs = 400'000;
/// While an emergency's media is still on its way, the player looks again this often.
constexpr std::int64_t kRecheckUs = 200'000;
/// After a fault the player waits this long before it looks again, doubling while faults go on.
constexpr std::int64_t kFaultBackoffUs = 1'000'000;
constexpr std::int64_t kFaultBackoffMaxUs = 30'000'000;
/// A panel's loop shows an item only if it ends this long before the next booked play prerolls.
constexpr std::int64_t kFillMarginUs = 200'000;
/// The measured offset is written to the store when it moves this much, or this long after the
/// last write: an agent restarted offline plays on it (not on every heartbeat: a flash card).
constexpr std::int64_t kClockPersistStepUs = 20'000;
constexpr std::int64_t kClockPersistEveryUs = 3600LL * 1'000'000;
/// While the clock cannot be trusted, booked plays are looked at again this often.
constexpr std::int64_t kUntrustedRecheckUs = 1'000'000;

PlayerOptions player_options(const AgentOptions& options, NodeStore& store) {
    PlayerOptions p;
    p.audio = options.sink;
    p.display = options.display;
    p.silence_threshold_dbfs = options.silence_threshold_dbfs;
    // The volume a technician or the controller set survives restarts and power cuts.
    p.volume = std::clamp(std::stoi(store.setting("volume").value_or("100")), 0, 100) / 100.0;
    return p;
}

// Output files (file sink) are named by planned start and slot, safe as a file name.
std::string output_name_for(const wire::Slot& slot) {
    std::string name = std::to_string(slot.start_us()) + "_";
    for (char c : slot.slot_id()) {
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
    }
    return name;
}

}  // namespace

/// The session's window on the agent (network thread → player side).
class NodeAgent::Control final : public AgentControl {
  public:
    explicit Control(NodeAgent& agent) : agent_(agent) {}

    NowPlaying now_playing() override {
        std::lock_guard lock(agent_.playing_mutex_);
        return {agent_.playing_state_, agent_.playing_slot_id_, agent_.playing_title_};
    }
    void timeline_changed() override { agent_.wake_player(); }
    void preempt() override { agent_.preempt(); }
    void apply_volume(int percent) override {
        agent_.player_.set_volume(percent / 100.0);
        // A scheduled play prerolled but not yet started holds buffers made at the old gain,
        // which would air first: it is prerolled again (it stays pending; see play_slot).
        bool reroll = false;
        {
            std::lock_guard lock(agent_.playing_mutex_);
            reroll = agent_.playing_emergency_id_.empty() && !agent_.player_.playing();
            if (reroll) {
                agent_.preempted_ = true;
            }
        }
        if (reroll) {
            agent_.player_.stop();
            agent_.wake_player();
        }
    }
    std::expected<std::string, std::string> set_amplifier(bool on) override {
        const char* state = on ? "on" : "off";
        if (auto missing = no_hook(); !missing.empty()) {
            return std::unexpected(missing);
        }
        auto ran =
            detail::run_hook(agent_.options_.amplifier_command, {{"state", state}}, hook_timeout());
        if (!ran) {
            return std::unexpected("amplifier " + std::string(state) + ": " + ran.error());
        }
        return fmt::format("amplifier {}", state);
    }
    std::expected<void, std::string> start_amplifier(bool on, AmplifierDone done) override {
        const std::string state = on ? "on" : "off";
        if (auto missing = no_hook(); !missing.empty()) {
            return std::unexpected(missing);
        }
        return agent_.hooks_->submit(
            "amplifier", agent_.options_.amplifier_command, {{"state", state}}, hook_timeout(),
            [state, done = std::move(done)](std::expected<void, std::string> ran) {
                if (!ran) {
                    done(std::unexpected("amplifier " + state + ": " + ran.error()));
                } else {
                    done(fmt::format("amplifier {}", state));
                }
            });
    }
    void request_restart() override {
        agent_.restart_ = true;
        agent_.wake_player();
    }
    bool restart_requested() override { return agent_.restart_.load(); }
    void give_up(const std::string& reason) override { agent_.give_up("session: " + reason); }
    void clock_measured(std::int64_t offset_us, std::int64_t at_us) override {
        agent_.clock_measured(offset_us, at_us);
    }
    ClockUse clock_use(std::int64_t now_us) override { return agent_.clock_use(now_us); }
    bool given_up() override { return agent_.failed_.load(); }
    std::string log_tail(std::size_t max_bytes) override {
        if (agent_.options_.log_file.empty()) {
            return "this agent keeps no log file (--log-file)\n";
        }
        spdlog::default_logger()->flush();
        std::ifstream in(agent_.options_.log_file, std::ios::binary | std::ios::ate);
        if (!in) {
            return "cannot read " + agent_.options_.log_file.string() + "\n";
        }
        const auto size = static_cast<std::size_t>(in.tellg());
        const std::size_t take = std::min(size, max_bytes);
        std::string tail(take, '\0');
        in.seekg(static_cast<std::streamoff>(size - take));
        in.read(tail.data(), static_cast<std::streamsize>(take));
        return tail;
    }

  private:
    std::string no_hook() const {
        return agent_.options_.amplifier_command.empty()
                   ? "nút này không có hook bộ khuếch đại (chạy loa-node với "
                     "--amplifier-command) / no amplifier hook on this node (start loa-node "
                     "with --amplifier-command)"
                   : "";
    }
    std::chrono::milliseconds hook_timeout() const {
        return std::chrono::milliseconds(agent_.options_.hook_timeout_ms);
    }

    NodeAgent& agent_;
};

NodeAgent::NodeAgent(AgentOptions options)
    : options_(std::move(options)),
      store_(options_.data_dir / "node.db"),
      media_(options_.data_dir / "media"),
      player_(player_options(options_, store_)),
      hooks_(std::make_unique<detail::HookRunner>()) {
    // The offset last measured, so that an agent restarted offline still plays on the
    // controller's time.
    auto offset = store_.setting("clock_offset_us");
    auto at = store_.setting("clock_measured_us");
    if (offset && at) {
        try {
            clock_ = std::pair{std::stoll(*offset), std::stoll(*at)};
            clock_persisted_ = *clock_;
        } catch (const std::exception&) {
            spdlog::warn("stored clock offset '{}' at '{}' unreadable: ignored", *offset, *at);
        }
    }
}

std::int64_t NodeAgent::now_us() const {
    return detail::now_us() + options_.clock_shift_us;
}

std::int64_t NodeAgent::system_us(std::int64_t controller_us, const ClockUse& clock) const {
    return controller_us - clock.applied_us - options_.clock_shift_us;
}

void NodeAgent::clock_measured(std::int64_t offset_us, std::int64_t at_us) {
    ClockUse before;
    ClockUse after;
    bool persist = false;
    {
        std::lock_guard lock(clock_mutex_);
        before = detail::clock_use(clock_, at_us);
        clock_ = std::pair{offset_us, at_us};
        after = detail::clock_use(clock_, at_us);
        persist = !clock_persisted_ ||
                  std::llabs(offset_us - clock_persisted_->first) > kClockPersistStepUs ||
                  at_us - clock_persisted_->second > kClockPersistEveryUs;
        if (persist) {
            clock_persisted_ = clock_;
        }
    }
    if (persist) {
        store_.set_setting("clock_offset_us", std::to_string(offset_us));
        store_.set_setting("clock_measured_us", std::to_string(at_us));
    }
    if (before.state != after.state ||
        std::llabs(before.applied_us - after.applied_us) > 1'000'000) {
        spdlog::warn(
            "clock: {} (offset {:+.3f} s); plays start at booked time {:+.3f} s by this "
            "node's clock",
            wire::ClockState_Name(after.state), offset_us / 1e6, -after.applied_us / 1e6);
        wake_player();  // a play waiting on the old offset is looked at again
    }
}

ClockUse NodeAgent::clock_use(std::int64_t now_us) {
    std::lock_guard lock(clock_mutex_);
    return detail::clock_use(clock_, now_us);
}

NodeAgent::~NodeAgent() {
    hooks_->stop();
    stopping_ = true;
    player_.stop();
    wake_player();
    if (player_thread_.joinable()) {
        player_thread_.join();
    }
}

void NodeAgent::run(const std::atomic<bool>& stop) {
    try {
        if (int n = store_.recover_interrupted(); n > 0) {
            spdlog::warn("{} play(s) interrupted by the last shutdown confirmed as failed", n);
        }
    } catch (const std::exception& e) {
        // Not a reason to stay silent: the player confirms them when it next looks after a
        // fault (recover_player), or the next start does.
        spdlog::error("plays interrupted by the last shutdown not confirmed yet: {}", e.what());
    }
    player_thread_ = std::thread([this] {
        // player_loop() survives what a round throws; this is for anything outside a round.
        try {
            player_loop();
        } catch (const std::exception& e) {
            give_up(std::string("player: ") + e.what());
        } catch (...) {
            give_up("player: an unknown exception");
        }
    });
    Control control(*this);
    Session session(options_, store_, media_, control);
    session.run(stop);
    // A hook still running is killed and its command left unanswered: the controller sends it
    // again after the restart.
    hooks_->stop();
    stopping_ = true;
    player_.stop();
    wake_player();
    player_thread_.join();
}

void NodeAgent::give_up(const std::string& reason) {
    {
        std::lock_guard lock(failure_mutex_);
        if (failure_.empty()) {
            failure_ = reason;
        }
    }
    failed_ = true;
    wake_player();
}

std::string NodeAgent::failure() {
    std::lock_guard lock(failure_mutex_);
    return failure_;
}

void NodeAgent::wake_player() {
    {
        std::lock_guard lock(wake_mutex_);
        ++wake_generation_;
    }
    wake_.notify_all();
}

std::uint64_t NodeAgent::wake_generation() {
    std::lock_guard lock(wake_mutex_);
    return wake_generation_;
}

void NodeAgent::wait_until(std::int64_t deadline_us, std::uint64_t seen_generation) {
    // The deadline is on the controller's clock (as booked): the wait is on the system's.
    const std::int64_t system_deadline = system_us(deadline_us, clock_use(now_us()));
    std::unique_lock lock(wake_mutex_);
    auto deadline =
        std::chrono::system_clock::time_point(std::chrono::microseconds(system_deadline));
    wake_.wait_until(lock, deadline, [&] {
        return stopping_.load() || restart_.load() || failed_.load() ||
               wake_generation_ != seen_generation;
    });
}

void NodeAgent::preempt() {
    // Stops what airs only when an emergency should take its place: a scheduled play while an
    // emergency with its media is waiting, or an emergency play that was cancelled.
    auto active = store_.active_emergency();
    const bool playable = active && media_.contains(active->emergency.media_hash());
    bool stop = false;
    {
        std::lock_guard lock(playing_mutex_);
        if (!playing_emergency_id_.empty()) {
            stop = !active || active->emergency.emergency_id() != playing_emergency_id_;
        } else {
            stop = playable;
        }
        if (stop) {
            preempted_ = true;
        }
    }
    if (stop) {
        player_.stop();
    }
    wake_player();
}

void NodeAgent::set_now_playing(std::string state, const wire::Slot* slot) {
    std::lock_guard lock(playing_mutex_);
    playing_state_ = std::move(state);
    playing_slot_id_ = slot ? slot->slot_id() : "";
    playing_title_ = slot ? slot->title() : "";
}

void NodeAgent::player_loop() {
    // A fault (the store, GStreamer) is logged and survived: the player stops what it was
    // doing, confirms a play the fault cut, waits (1 s, doubling up to 30 s while faults go on)
    // and looks again. Only a fault streak of give_up_after_us stops the agent.
    detail::FaultGuard faults("player", options_.give_up_after_us);
    std::int64_t backoff_us = kFaultBackoffUs;
    while (!stopping_ && !restart_ && !failed_) {
        std::string fault;
        try {
            player_round();
            faults.success();
            backoff_us = kFaultBackoffUs;
            continue;
        } catch (const std::exception& e) {
            fault = e.what();
        } catch (...) {
            fault = "an unknown exception";
        }
        if (faults.fault(detail::steady_us(), fault)) {
            give_up("player: " + faults.reason());
            break;
        }
        recover_player();
        pause_player(backoff_us);
        backoff_us = std::min(backoff_us * 2, kFaultBackoffMaxUs);
    }
    set_now_playing("idle", nullptr);
}

void NodeAgent::player_round() {
    preempted_ = false;
    // Taken before the store is read: a wake-up (new timeline, emergency, media) that comes
    // while the store is read ends the wait below at once instead of being missed, which
    // could hold an emergency back until the next play's preroll.
    const std::uint64_t seen = wake_generation();
    if (auto active = store_.active_emergency(); active && play_emergency(*active)) {
        return;
    }
    auto next = store_.next_pending();
    // Booked times are the controller's: the node's clock corrected by the offset measured
    // (protocol/README.md, "Clock").
    const ClockUse clock = clock_use(now_us());
    const std::int64_t now = now_us() + clock.applied_us;
    if (!next) {
        wait_until(now + 1'000'000, seen);
        return;
    }
    if (clock.state == wire::CLOCK_UNTRUSTED) {
        // Which clock is wrong is unknown: nothing booked airs until they agree again. A play
        // whose time has passed by the controller's clock is confirmed as held.
        std::int64_t measured = 0;
        {
            std::lock_guard lock(clock_mutex_);
            measured = clock_ ? clock_->first : 0;
        }
        const std::int64_t controller_now = now_us() + measured;
        if (controller_now > next->start_us() + next->duration_us()) {
            spdlog::error("play {} held: the clock is over 1 h off the controller's",
                          next->slot_id());
            store_.confirm(*next, wire::SKIPPED, "clock-untrusted", 0, 0);
            return;
        }
        wait_until(now + kUntrustedRecheckUs, seen);
        return;
    }
    if (now < next->start_us() - options_.preroll_lead_us) {
        if (!fill_panel_session(*next, now)) {
            wait_until(next->start_us() - options_.preroll_lead_us, seen);
        }
        return;  // the timeline may have changed meanwhile
    }
    // Late: a node that boots or gets power back mid-item joins it where it should be, if
    // enough of it is left to be worth hearing.
    const bool late = now > next->start_us() + options_.late_grace_us;
    const std::int64_t join_at = now + kResumeLeadUs;
    const std::int64_t left = next->start_us() + next->duration_us() - join_at;
    const bool worth_joining =
        next->duration_us() > 0 &&
        static_cast<double>(left) > options_.resume_share * next->duration_us();
    if (late && !worth_joining) {
        if (awaited_media_slot_ == next->slot_id()) {
            // It was due while its file was still on its way: the file, not the clock, is
            // what the operator has to look at.
            spdlog::error("play {} failed: media {} missing", next->slot_id(),
                          next->media_hash().substr(0, 12));
            store_.confirm(*next, wire::FAILED, "media-missing", 0, 0);
        } else {
            spdlog::warn("play {} skipped: late by {:.1f} s", next->slot_id(),
                         (now - next->start_us()) / 1e6);
            store_.confirm(*next, wire::SKIPPED, "late", 0, 0);
        }
        return;
    }
    if (!media_.contains(next->media_hash())) {
        // The download may still finish in time to air it, from its start or joined late
        // (a timeline that arrives mid-item brings its media with it); a finished download
        // wakes the player at once.
        awaited_media_slot_ = next->slot_id();
        wait_until(now + kRecheckUs, seen);
        return;
    }
    std::int64_t offset = 0;
    if (late) {
        offset = join_at - next->start_us();
        spdlog::warn("play {} joined late, {:.1f} s in", next->slot_id(), offset / 1e6);
    }
    // The cached file is checked once more before it goes on air: a file damaged on disk
    // is deleted here, fetched again by the session, or confirmed media-missing if too late.
    if (auto intact = media_.verify(next->media_hash()); !intact) {
        spdlog::error("play {}: {}", next->slot_id(), intact.error().message);
        return;
    }
    play_slot(*next, offset, clock);
}

void NodeAgent::recover_player() {
    try {
        player_.stop();
        set_now_playing("idle", nullptr);
        {
            std::lock_guard lock(playing_mutex_);
            playing_emergency_id_.clear();
        }
        // A play marked started is never replayed; while the agent lives on it is confirmed
        // now rather than at the next start.
        if (int n = store_.recover_interrupted("player-error"); n > 0) {
            spdlog::warn("{} play(s) cut by the player's fault confirmed as failed", n);
        }
    } catch (const std::exception& e) {
        // The store may be what failed: the next start confirms the play (agent-restarted).
        spdlog::error("player thread: cleaning up after the fault: {}", e.what());
    }
}

void NodeAgent::pause_player(std::int64_t us) {
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, std::chrono::microseconds(us),
                   [&] { return stopping_.load() || restart_.load() || failed_.load(); });
}

PlayItem NodeAgent::item_for(const wire::Slot& slot, std::int64_t offset_us) const {
    PlayItem item;
    item.media = media_.path_for(slot.media_hash());
    item.output_name = output_name_for(slot);
    item.offset_us = offset_us;
    switch (slot.kind()) {
        case wire::SLOT_VIDEO:
            item.kind = MediaKind::video;
            break;
        case wire::SLOT_IMAGE:
            item.kind = MediaKind::image;
            item.offset_us = 0;
            item.display_us = std::max<std::int64_t>(
                1, (slot.display_us() > 0 ? slot.display_us() : slot.duration_us()) - offset_us);
            break;
        default:
            item.kind = MediaKind::audio;
    }
    return item;
}

wire::Confirmation NodeAgent::evidence_of(const PlayResult& result, std::int64_t offset_us) const {
    wire::Confirmation c;
    // What the node's clock read: the controller corrects it with the offset it measured.
    c.set_actual_start_us(result.start_us > 0 ? result.start_us + options_.clock_shift_us : 0);
    c.set_actual_end_us(result.start_us > 0 ? result.end_us + options_.clock_shift_us : 0);
    c.set_offset_us(offset_us);
    c.set_frames_rendered(result.frames_rendered);
    if (result.levels) {
        auto* levels = c.mutable_levels();
        levels->set_rms_dbfs(result.levels->rms_dbfs);
        levels->set_peak_dbfs(result.levels->peak_dbfs);
        levels->set_silent_seconds(result.levels->silent_seconds);
        levels->set_measured_seconds(result.levels->measured_seconds);
        levels->set_silence_threshold_dbfs(result.levels->threshold_dbfs);
    }
    return c;
}

void NodeAgent::play_slot(const wire::Slot& slot, std::int64_t offset_us, const ClockUse& clock) {
    auto prerolled = player_.preroll(item_for(slot, offset_us));
    if (!prerolled) {
        spdlog::error("play {} failed: {}", slot.slot_id(), prerolled.error());
        store_.confirm(slot, wire::FAILED, "pipeline: " + prerolled.error(), 0, 0);
        return;
    }
    if (stopping_ || restart_ || preempted_) {
        return;  // still pending: played, joined late or skipped after what comes first
    }
    // Marked before it airs, so that a crash during the play is confirmed, never replayed.
    store_.mark_started(slot.slot_id(), now_us());
    set_now_playing("playing", &slot);
    PlayResult result = player_.play_at(system_us(slot.start_us() + offset_us, clock));
    set_now_playing("idle", nullptr);
    wire::Confirmation c = evidence_of(result, offset_us);
    if (result.ok) {
        spdlog::info("played {} for {:.2f} s", slot.slot_id(),
                     (result.end_us - result.start_us) / 1e6);
        c.set_outcome(wire::PLAYED);
    } else if (result.stopped && result.start_us == 0) {
        // Stopped before it aired (an emergency, or the agent stopping): it stays pending.
        store_.mark_pending(slot.slot_id());
        return;
    } else if (result.stopped && preempted_) {
        spdlog::warn("play {} interrupted by an emergency after {:.2f} s", slot.slot_id(),
                     (result.end_us - result.start_us) / 1e6);
        c.set_outcome(wire::INTERRUPTED);
        c.set_reason("emergency");
    } else {
        c.set_outcome(wire::FAILED);
        c.set_reason(result.stopped ? "agent-stopped" : "pipeline: " + result.error);
        spdlog::error("play {} failed: {}", slot.slot_id(), c.reason());
    }
    store_.confirm(slot, c);
}

bool NodeAgent::fill_panel_session(const wire::Slot& next, std::int64_t now) {
    if (next.kind() == wire::SLOT_AUDIO || options_.panel_loop_gap_us <= 0) {
        return false;
    }
    // The session: the board's plays chained by gaps no longer than the loop gap, back from
    // the next one. Now must lie inside it; after its last play, or before its first, the
    // board stays blank.
    auto earlier = store_.slots_between(now - 86'400'000'000LL, next.start_us() - 1);
    std::vector<wire::Slot> session{next};
    std::int64_t chain_start = next.start_us();
    for (auto it = earlier.rbegin(); it != earlier.rend() && session.size() < 64; ++it) {
        if (it->kind() == wire::SLOT_AUDIO ||
            chain_start - (it->start_us() + it->duration_us()) > options_.panel_loop_gap_us) {
            break;
        }
        session.insert(session.begin(), *it);
        chain_start = it->start_us();
    }
    if (session.size() < 2 || chain_start > now) {
        return false;  // no booked play of this session has begun yet
    }
    // Its items in order, each once, looped; a fill is shown only if it ends before the next
    // booked play prerolls, so it never delays one.
    std::vector<const wire::Slot*> items;
    for (const auto& slot : session) {
        if (std::none_of(items.begin(), items.end(), [&](const wire::Slot* s) {
                return s->media_hash() == slot.media_hash();
            })) {
            items.push_back(&slot);
        }
    }
    const std::int64_t room = next.start_us() - options_.preroll_lead_us - now;
    for (std::size_t tried = 0; tried < items.size(); ++tried) {
        const wire::Slot& pick = *items[fill_index_++ % items.size()];
        const std::int64_t length = pick.kind() == wire::SLOT_IMAGE && pick.display_us() > 0
                                        ? pick.display_us()
                                        : pick.duration_us();
        if (length <= 0 || length + kFillMarginUs > room || !media_.contains(pick.media_hash())) {
            continue;
        }
        wire::Slot fill = pick;
        fill.set_slot_id("loop:" + pick.slot_id());
        fill.set_start_us(now);
        auto prerolled = player_.preroll(item_for(fill, 0));
        if (!prerolled || preempted_ || stopping_ || restart_) {
            return prerolled.has_value();
        }
        // Not a booked play: no confirmation, so the audit counts only what was booked.
        set_now_playing("playing", &fill);
        PlayResult shown = player_.play_at(0);
        set_now_playing("idle", nullptr);
        spdlog::debug("session loop {}: {} frames", fill.slot_id(), shown.frames_rendered);
        return true;
    }
    return false;
}

bool NodeAgent::play_emergency(const ActiveEmergency& active) {
    const wire::Emergency& e = active.emergency;
    // An emergency airs at once whatever the clock says; its expiry is on the controller's.
    const ClockUse clock = clock_use(now_us());
    const std::int64_t now = now_us() + clock.applied_us;
    if (e.expires_us() != 0 && now >= e.expires_us()) {
        // Repeating until expiry ends normally here; a fixed count cut by the expiry does not.
        const bool finished = e.until_expiry() && active.plays_done > 0;
        spdlog::warn("emergency {} {} after {} play(s)", e.emergency_id(),
                     finished ? "done" : "expired", active.plays_done);
        store_.end_emergency(e.emergency_id(), finished ? "done" : "expired");
        return true;
    }
    if (!e.until_expiry() && active.plays_done >= e.repeat()) {
        store_.end_emergency(e.emergency_id(), "done");
        return true;
    }
    if (!media_.contains(e.media_hash())) {
        return false;  // the schedule goes on; the session pre-empts it once the file is here
    }
    if (auto intact = media_.verify(e.media_hash()); !intact) {
        spdlog::error("emergency {}: {}", e.emergency_id(), intact.error().message);
        return false;
    }
    // Each play of an emergency is confirmed like a slot of its own.
    wire::Slot play;
    play.set_slot_id(fmt::format("emergency:{}:{}", e.emergency_id(), active.plays_done + 1));
    play.set_campaign_id(e.campaign_id());
    play.set_item_id(e.item_id());
    play.set_media_hash(e.media_hash());
    play.set_media_size(e.media_size());
    play.set_start_us(now);
    play.set_duration_us(e.duration_us());
    play.set_title(e.title());
    play.set_kind(e.kind());
    play.set_display_us(e.duration_us());
    {
        std::lock_guard lock(playing_mutex_);
        playing_emergency_id_ = e.emergency_id();
    }
    auto on_air_done = [&] {
        std::lock_guard lock(playing_mutex_);
        playing_emergency_id_.clear();
    };
    // A cancel between the loop's look at the store and the line above stopped nothing:
    // preempt() saw no emergency on air. From here on it would, so look once more.
    if (auto still = store_.active_emergency();
        !still || still->emergency.emergency_id() != e.emergency_id()) {
        on_air_done();
        return true;
    }
    auto prerolled = player_.preroll(item_for(play, 0));
    PlayResult result;
    if (!prerolled) {
        result.error = prerolled.error();
    } else if (preempted_ || stopping_ || restart_) {
        // Cancelled, or the agent stopping, while it prerolled: preroll() cleared that stop().
        result.stopped = true;
    } else {
        set_now_playing("emergency", &play);
        result = player_.play_at(0);
        set_now_playing("idle", nullptr);
    }
    on_air_done();
    if (result.stopped && result.start_us == 0) {
        // Nothing aired: a cancelled emergency is over; one the agent's stop or restart cut
        // plays after the restart.
        return true;
    }
    wire::Confirmation c = evidence_of(result, 0);
    c.set_emergency_id(e.emergency_id());
    bool last = !e.until_expiry() && active.plays_done + 1 >= e.repeat();
    if (result.ok) {
        c.set_outcome(wire::PLAYED);
    } else if (result.stopped) {
        c.set_outcome(wire::INTERRUPTED);
        c.set_reason(stopping_ || restart_ ? "agent-stopped" : "emergency-cancelled");
    } else {
        c.set_outcome(wire::FAILED);
        c.set_reason("pipeline: " + result.error);
        // The same file fails the same way the next time: trying again at once would fill the
        // outbox with failures until the expiry and keep the schedule off the air.
        last = true;
    }
    play.set_start_us(
        result.start_us > 0 ? result.start_us + options_.clock_shift_us + clock.applied_us : now);
    spdlog::warn("emergency {} play {}: {}", e.emergency_id(), active.plays_done + 1,
                 c.outcome() == wire::PLAYED ? "played" : c.reason());
    store_.confirm_emergency_play(play, c, last);
    return true;
}

}  // namespace loa::node
