// A virtual node's player: the agent's timing rules on the real clock, outcomes through the
// node store's outbox, levels and frames as a real play would show them.
#include "virtual_player.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

namespace loa::sim::detail {

namespace {

/// The agent's rules (AgentOptions): later than this a play is late; a late play joins if more
/// than this share of it is left.
constexpr std::int64_t kLateGraceUs = 2'000'000;
constexpr double kResumeShare = 0.5;
/// A synthetic play goes on air up to this long after its planned start, as a real one does
/// within its pipeline's start.
constexpr std::int64_t kSyntheticStartSpreadUs = 20'000;
constexpr double kPanelFramesPerSecond = 25;
/// What synthetic plays name as their media: the SHA-256 of "loa-sim synthetic play".
constexpr const char* kSyntheticMedia =
    "3a0ba78f49e37b1d24d65b3ee1fc97cd6f50df63544a73c5aedfbbd2c2a0f883";

std::int64_t length_of(const wire::Slot& slot) {
    return slot.kind() == wire::SLOT_IMAGE && slot.display_us() > 0 ? slot.display_us()
                                                                    : slot.duration_us();
}

}  // namespace

VirtualPlayer::VirtualPlayer(std::string node_id, node::NodeStore& store,
                             const media::ContentStore& media, const SimOptions& options,
                             std::uint64_t seed)
    : node_id_(std::move(node_id)), store_(store), media_(media), options_(options), random_(seed) {
    if (options_.plays_per_day > 0 && options_.day_seconds > 0) {
        synthetic_every_us_ =
            static_cast<std::int64_t>(options_.day_seconds * 1e6 / options_.plays_per_day);
    }
}

void VirtualPlayer::step(std::int64_t now) {
    emergencies(now);
    if (airing_ && now >= airing_->end_us) {
        finish(now, wire::PLAYED, "");
        emergencies(now);  // the next repeat of an emergency follows at once
    }
    if (!airing_) {
        booked(now);
    }
    synthetic(now);
}

void VirtualPlayer::emergencies(std::int64_t now) {
    if (emergency_changed_) {
        emergency_changed_ = false;
        emergency_ = store_.active_emergency();
        // As the agent's preempt(): a booked play gives way to an emergency whose media is
        // here; an emergency's play stops when its emergency is no longer the active one.
        if (airing_ && airing_->emergency_id.empty()) {
            if (emergency_ && media_.contains(emergency_->emergency.media_hash())) {
                finish(now, wire::INTERRUPTED, "emergency");
            }
        } else if (airing_ &&
                   (!emergency_ || emergency_->emergency.emergency_id() != airing_->emergency_id)) {
            finish(now, wire::INTERRUPTED, "emergency-cancelled");
        }
    }
    if (airing_ || !emergency_) {
        return;
    }
    const wire::Emergency& e = emergency_->emergency;
    if (e.expires_us() != 0 && now >= e.expires_us()) {
        const bool finished = e.until_expiry() && emergency_->plays_done > 0;
        store_.end_emergency(e.emergency_id(), finished ? "done" : "expired");
        emergency_changed_ = true;
        return;
    }
    if (!e.until_expiry() && emergency_->plays_done >= e.repeat()) {
        store_.end_emergency(e.emergency_id(), "done");
        emergency_changed_ = true;
        return;
    }
    if (!media_.contains(e.media_hash())) {
        return;  // the schedule goes on; the session pre-empts it once the file is here
    }
    Airing a;
    a.slot.set_slot_id(
        fmt::format("emergency:{}:{}", e.emergency_id(), emergency_->plays_done + 1));
    a.slot.set_campaign_id(e.campaign_id());
    a.slot.set_item_id(e.item_id());
    a.slot.set_media_hash(e.media_hash());
    a.slot.set_media_size(e.media_size());
    a.slot.set_start_us(now);
    a.slot.set_duration_us(e.duration_us());
    a.slot.set_title(e.title());
    a.slot.set_kind(e.kind());
    a.slot.set_display_us(e.duration_us());
    a.start_us = now;
    a.end_us = now + std::max<std::int64_t>(e.duration_us(), 1'000'000);
    a.emergency_id = e.emergency_id();
    a.last = !e.until_expiry() && emergency_->plays_done + 1 >= e.repeat();
    airing_ = std::move(a);
}

void VirtualPlayer::booked(std::int64_t now) {
    if (look_again_) {
        look_again_ = false;
        next_ = store_.next_pending();
    }
    if (!next_ || now < next_->start_us()) {
        return;
    }
    const wire::Slot slot = *next_;
    const std::int64_t length = length_of(slot);
    const bool late = now > slot.start_us() + kLateGraceUs;
    const std::int64_t left = slot.start_us() + length - now;
    const bool worth_joining =
        length > 0 && static_cast<double>(left) > kResumeShare * static_cast<double>(length);
    if (late && !worth_joining) {
        if (awaited_media_slot_ == slot.slot_id()) {
            store_.confirm(slot, wire::FAILED, "media-missing", 0, 0);
        } else {
            store_.confirm(slot, wire::SKIPPED, "late", 0, 0);
        }
        ++counts_.booked;
        produced(slot.slot_id());
        look_again_ = true;
        return;
    }
    if (!media_.contains(slot.media_hash())) {
        awaited_media_slot_ = slot.slot_id();  // looked at again on the next step
        return;
    }
    Airing a;
    a.slot = slot;
    a.start_us = now;
    a.end_us = slot.start_us() + length;
    a.offset_us = late && slot.kind() != wire::SLOT_IMAGE ? now - slot.start_us() : 0;
    // Marked before it airs, as the agent does, so that a cut play is confirmed, never replayed.
    store_.mark_started(slot.slot_id(), now);
    airing_ = std::move(a);
}

void VirtualPlayer::synthetic(std::int64_t now) {
    if (synthetic_every_us_ <= 0 ||
        (options_.synthetic_until_us > 0 && now >= options_.synthetic_until_us)) {
        return;
    }
    if (next_synthetic_us_ == 0) {
        // Each node at its own phase, as real nodes' schedules are.
        next_synthetic_us_ =
            now + std::uniform_int_distribution<std::int64_t>(0, synthetic_every_us_)(random_);
        return;
    }
    if (now < next_synthetic_us_) {
        return;
    }
    const auto play_us = static_cast<std::int64_t>(options_.play_seconds * 1e6);
    const std::int64_t planned = now - play_us;
    wire::Slot slot;
    slot.set_slot_id(fmt::format("sim:{}", planned));
    slot.set_campaign_id("loa-sim");
    slot.set_item_id("synthetic");
    slot.set_media_hash(kSyntheticMedia);
    slot.set_start_us(planned);
    slot.set_duration_us(play_us);
    slot.set_title("loa-sim synthetic play");
    const std::int64_t started =
        planned + std::uniform_int_distribution<std::int64_t>(0, kSyntheticStartSpreadUs)(random_);
    wire::Confirmation c = measured(started, now, 0, wire::SLOT_AUDIO);
    c.set_outcome(wire::PLAYED);
    store_.confirm(slot, c);
    ++counts_.synthetic;
    produced(slot.slot_id());
    // A thread that fell behind does not confirm a burst to catch up.
    next_synthetic_us_ = std::max(next_synthetic_us_ + synthetic_every_us_, now + 1);
}

void VirtualPlayer::finish(std::int64_t now, wire::Outcome outcome, const std::string& reason) {
    Airing a = std::move(*airing_);
    airing_.reset();
    wire::Confirmation c = measured(a.start_us, now, a.offset_us, a.slot.kind());
    c.set_outcome(outcome);
    c.set_reason(reason);
    if (!a.emergency_id.empty()) {
        c.set_emergency_id(a.emergency_id);
        a.slot.set_start_us(a.start_us);
        store_.confirm_emergency_play(a.slot, c, a.last);
        ++counts_.emergency;
        emergency_changed_ = true;
    } else {
        store_.confirm(a.slot, c);
        ++counts_.booked;
        counts_.played += outcome == wire::PLAYED ? 1 : 0;
        look_again_ = true;
    }
    produced(a.slot.slot_id());
}

wire::Confirmation VirtualPlayer::measured(std::int64_t start_us, std::int64_t end_us,
                                           std::int64_t offset_us, wire::SlotKind kind) {
    wire::Confirmation c;
    c.set_actual_start_us(start_us);
    c.set_actual_end_us(std::max(end_us, start_us));
    c.set_offset_us(offset_us);
    const double seconds = static_cast<double>(std::max<std::int64_t>(end_us - start_us, 0)) / 1e6;
    if (kind == wire::SLOT_AUDIO) {
        // What a bulletin normalised to -23 LUFS shows after the volume stage.
        std::normal_distribution<double> spread(0.0, 1.0);
        auto* levels = c.mutable_levels();
        levels->set_rms_dbfs(std::clamp(-23.0 + spread(random_), -30.0, -16.0));
        levels->set_peak_dbfs(std::clamp(-3.0 + 0.7 * spread(random_), -12.0, -1.0));
        levels->set_silent_seconds(0);
        levels->set_measured_seconds(seconds);
        levels->set_silence_threshold_dbfs(-50);
    } else {
        c.set_frames_rendered(
            static_cast<std::uint64_t>(std::floor(seconds * kPanelFramesPerSecond)));
    }
    return c;
}

void VirtualPlayer::produced(const std::string& slot_id) {
    ++counts_.produced;
    counts_.last_seq = store_.last_seq();
    if (options_.keep_confirmations) {
        counts_.confirmations.push_back({counts_.last_seq, slot_id});
    }
    if (options_.on_confirmed) {
        options_.on_confirmed(node_id_, counts_.last_seq, slot_id);
    }
}

void VirtualPlayer::restarted(std::int64_t now) {
    // As the agent stopping for a restart: what airs is cut and confirmed at once.
    if (airing_) {
        if (airing_->emergency_id.empty()) {
            finish(now, wire::FAILED, "agent-stopped");
        } else {
            finish(now, wire::INTERRUPTED, "agent-stopped");
        }
    }
    look_again_ = true;
    emergency_changed_ = true;
}

bool VirtualPlayer::take_restart() {
    return std::exchange(restart_, false);
}

node::NowPlaying VirtualPlayer::now_playing() {
    if (!airing_) {
        return {};
    }
    return {airing_->emergency_id.empty() ? "playing" : "emergency", airing_->slot.slot_id(),
            airing_->slot.title()};
}

std::expected<std::string, std::string> VirtualPlayer::set_amplifier(bool on) {
    return fmt::format("amplifier {} (virtual node)", on ? "on" : "off");
}

std::string VirtualPlayer::log_tail(std::size_t max_bytes) {
    std::string text = fmt::format("loa-sim: virtual node {} keeps no log\n", node_id_);
    return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

}  // namespace loa::sim::detail
