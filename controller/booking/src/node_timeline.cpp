// Building the ScheduleUpdate a node receives, with a hash that names its content.
#include "loa/controller/booking/node_timeline.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/store/database.hpp"
#include "loa/media/content_hash.hpp"
#include "loa/protocol/limits.hpp"

namespace loa::controller {

namespace {

constexpr std::int64_t kDayUs = 86400LL * 1'000'000;
constexpr std::int64_t kHourUs = 3600LL * 1'000'000;

wire::SlotKind slot_kind(const std::string& media_kind) {
    if (media_kind == "video") {
        return wire::SLOT_VIDEO;
    }
    return media_kind == "image" ? wire::SLOT_IMAGE : wire::SLOT_AUDIO;
}

/// `text` cut to at most `max_bytes` without splitting a UTF-8 character: a title is only shown,
/// and a node refuses a longer one.
std::string clip_utf8(std::string text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
        --end;  // text[end] continues a character: cut before the character starts
    }
    text.resize(end);
    return text;
}

}  // namespace

std::int64_t timeline_horizon_end(std::int64_t now) {
    const std::int64_t end = now + kTimelineHorizonUs;
    return end - end % kHourUs;
}

Result<wire::ScheduleUpdate> node_timeline(SQLite::Database& db, const std::string& node_id,
                                           std::int64_t now) {
    return guard_storage([&]() -> Result<wire::ScheduleUpdate> {
        // Plays of the last day stay in the timeline so that a node back from a long outage
        // still learns of them and can confirm them as skipped, rather than leave them unknown;
        // but not those the node has confirmed: a re-imaged device, whose store no longer knows
        // them, would play a just-confirmed one again (late) or confirm it a second time.
        // The horizon moves on the hour: the timeline (and its hash) changes at most hourly
        // when no play does, and the node always knows how far its timeline is complete.
        std::int64_t horizon_end = timeline_horizon_end(now);
        SQLite::Statement q(db,
                            "SELECT s.slot_id, s.campaign_id, s.item_id, s.media_hash, "
                            "coalesce(m.size_bytes, 0), s.start_us, s.duration_us, s.title, "
                            "coalesce(m.kind, 'audio') "
                            "FROM slots s LEFT JOIN media m USING (media_hash) "
                            "WHERE s.node_id = ? AND s.start_us + s.duration_us > ? "
                            "AND s.start_us < ? AND NOT EXISTS (SELECT 1 FROM confirmations c "
                            "WHERE c.node_id = s.node_id AND c.slot_id = s.slot_id) "
                            "ORDER BY s.start_us, s.slot_id");
        q.bind(1, node_id);
        q.bind(2, static_cast<int64_t>(now - kDayUs));
        q.bind(3, static_cast<int64_t>(horizon_end));
        wire::ScheduleUpdate update;
        std::string canonical;
        while (q.executeStep()) {
            // A node refuses an update of more plays than this (protocol/README.md, "Limits"):
            // the timeline then ends where the first play left out starts, and the rest comes
            // as time moves the window on.
            if (static_cast<std::size_t>(update.slots_size()) == protocol::kMaxSlots) {
                horizon_end = q.getColumn(5).getInt64();
                break;
            }
            auto* slot = update.add_slots();
            slot->set_slot_id(q.getColumn(0).getString());
            slot->set_campaign_id(q.getColumn(1).getString());
            slot->set_item_id(q.getColumn(2).getString());
            slot->set_media_hash(q.getColumn(3).getString());
            slot->set_media_size(static_cast<std::uint64_t>(q.getColumn(4).getInt64()));
            slot->set_start_us(q.getColumn(5).getInt64());
            slot->set_duration_us(q.getColumn(6).getInt64());
            slot->set_title(clip_utf8(q.getColumn(7).getString(), protocol::kMaxTitleBytes));
            slot->set_kind(slot_kind(q.getColumn(8).getString()));
            if (slot->kind() == wire::SLOT_IMAGE) {
                slot->set_display_us(slot->duration_us());  // as booked
            }
            canonical +=
                fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", slot->slot_id(),
                            slot->campaign_id(), slot->item_id(), slot->media_hash(),
                            slot->media_size(), slot->start_us(), slot->duration_us(),
                            slot->title(), static_cast<int>(slot->kind()), slot->display_us());
        }
        canonical.insert(0, fmt::format("horizon\t{}\n", horizon_end));
        update.set_timeline_hash(media::sha256_hex(canonical));
        update.set_generated_us(now);
        update.set_horizon_end_us(horizon_end);
        return update;
    });
}

}  // namespace loa::controller
