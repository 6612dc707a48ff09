// The limits table and the check decode() runs on every parsed message before a handler sees it.
#include "loa/protocol/limits.hpp"

#include <array>
#include <optional>
#include <string>

#include <fmt/core.h>

namespace loa::protocol {

namespace {

using enum Bound;

constexpr std::array kFieldLimits = {
    FieldLimit{"Hello", "node_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Hello", "agent_version", max_bytes, kMaxAgentVersionBytes},
    FieldLimit{"Hello", "timeline_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Welcome", "node_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Heartbeat", "state", max_bytes, kMaxWordBytes},
    FieldLimit{"Heartbeat", "current_slot_id", max_bytes, kMaxSlotIdBytes},
    FieldLimit{"Heartbeat", "current_title", max_bytes, kMaxTitleBytes},
    FieldLimit{"Heartbeat", "link_interface", max_bytes, kMaxInterfaceBytes},
    FieldLimit{"Heartbeat", "link_type", max_bytes, kMaxWordBytes},
    FieldLimit{"Heartbeat", "agent_version", max_bytes, kMaxAgentVersionBytes},
    FieldLimit{"ScheduleUpdate", "timeline_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"ScheduleUpdate", "slots", max_count, kMaxSlots},
    FieldLimit{"Slot", "slot_id", max_bytes, kMaxSlotIdBytes},
    FieldLimit{"Slot", "campaign_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Slot", "item_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Slot", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Slot", "title", max_bytes, kMaxTitleBytes},
    FieldLimit{"ScheduleAck", "timeline_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"ManifestRequest", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Manifest", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Manifest", "chunk_digests", max_bytes, kMaxChunkDigestsBytes},
    FieldLimit{"ChunkRequest", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Chunk", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Chunk", "data", max_bytes, kMaxChunkBytes},
    FieldLimit{"MediaStatus", "items", max_count, kMaxMediaItems},
    FieldLimit{"MediaItem", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"PlaybackReport", "confirmations", max_count, kMaxConfirmations},
    FieldLimit{"Confirmation", "slot_id", max_bytes, kMaxSlotIdBytes},
    FieldLimit{"Confirmation", "campaign_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Confirmation", "item_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Confirmation", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Confirmation", "reason", max_bytes, kMaxReasonBytes},
    FieldLimit{"Confirmation", "emergency_id", max_bytes, kMaxIdBytes},
    FieldLimit{"ReportAck", "seqs", max_count, kMaxConfirmations},
    FieldLimit{"Emergency", "emergency_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Emergency", "campaign_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Emergency", "item_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Emergency", "media_hash", max_bytes, kMaxHashBytes},
    FieldLimit{"Emergency", "title", max_bytes, kMaxTitleBytes},
    FieldLimit{"CancelEmergency", "emergency_id", max_bytes, kMaxIdBytes},
    FieldLimit{"CommandResult", "message", max_bytes, kMaxReasonBytes},
    FieldLimit{"CommandResult", "log_tail", max_bytes, kMaxLogTailBytes},
    FieldLimit{"Error", "message", max_bytes, kMaxReasonBytes},
    FieldLimit{"Enroll", "token", max_bytes, kMaxTokenBytes},
    FieldLimit{"Enroll", "public_key", exact_bytes, kPublicKeyChars},
    FieldLimit{"Enroll", "agent_version", max_bytes, kMaxAgentVersionBytes},
    FieldLimit{"Enroll", "hostname", max_bytes, kMaxHostnameBytes},
    FieldLimit{"Enrolled", "node_id", max_bytes, kMaxIdBytes},
    FieldLimit{"Enrolled", "kind", max_bytes, kMaxWordBytes},
    FieldLimit{"Enrolled", "area_path", max_bytes, kMaxAreaPathBytes},
    FieldLimit{"Enrolled", "controller_public_key", exact_bytes, kPublicKeyChars},
};

/// Walks one message, stopping at the first field over its limit. `where` says where a nested
/// message sits ("PlaybackReport.confirmations[3]") for the error.
class Checker {
  public:
    bool failed() const { return error_.has_value(); }
    DecodeError take() { return std::move(*error_); }

    void bytes(std::string_view message, std::string_view field, const std::string& value,
               std::size_t limit) {
        if (!failed() && value.size() > limit) {
            refuse(DecodeErrc::field_too_large, message, field,
                   fmt::format("{} bytes, over the limit of {}", value.size(), limit));
        }
    }
    void exact(std::string_view message, std::string_view field, const std::string& value,
               std::size_t length) {
        if (failed() || value.size() == length) {
            return;
        }
        refuse(value.size() > length ? DecodeErrc::field_too_large : DecodeErrc::malformed, message,
               field, fmt::format("{} bytes, must be {}", value.size(), length));
    }
    void count(std::string_view message, std::string_view field, int size, std::size_t limit) {
        if (!failed() && static_cast<std::size_t>(size) > limit) {
            refuse(DecodeErrc::field_too_large, message, field,
                   fmt::format("{} elements, over the limit of {}", size, limit));
        }
    }
    /// Names the nested message the following checks look at; "" for the envelope's own.
    void inside(std::string where) { where_ = std::move(where); }

  private:
    void refuse(DecodeErrc code, std::string_view message, std::string_view field,
                const std::string& what) {
        std::string text = fmt::format("{}.{} of {}", message, field, what);
        if (!where_.empty()) {
            text += " (in " + where_ + ")";
        }
        error_ = DecodeError{code, std::move(text)};
    }

    std::optional<DecodeError> error_;
    std::string where_;
};

void check(Checker& c, const wire::Slot& s) {
    c.bytes("Slot", "slot_id", s.slot_id(), kMaxSlotIdBytes);
    c.bytes("Slot", "campaign_id", s.campaign_id(), kMaxIdBytes);
    c.bytes("Slot", "item_id", s.item_id(), kMaxIdBytes);
    c.bytes("Slot", "media_hash", s.media_hash(), kMaxHashBytes);
    c.bytes("Slot", "title", s.title(), kMaxTitleBytes);
}

void check(Checker& c, const wire::Confirmation& r) {
    c.bytes("Confirmation", "slot_id", r.slot_id(), kMaxSlotIdBytes);
    c.bytes("Confirmation", "campaign_id", r.campaign_id(), kMaxIdBytes);
    c.bytes("Confirmation", "item_id", r.item_id(), kMaxIdBytes);
    c.bytes("Confirmation", "media_hash", r.media_hash(), kMaxHashBytes);
    c.bytes("Confirmation", "reason", r.reason(), kMaxReasonBytes);
    c.bytes("Confirmation", "emergency_id", r.emergency_id(), kMaxIdBytes);
}

void check(Checker& c, const wire::Command& command) {
    if (command.has_emergency()) {
        const auto& e = command.emergency();
        c.bytes("Emergency", "emergency_id", e.emergency_id(), kMaxIdBytes);
        c.bytes("Emergency", "campaign_id", e.campaign_id(), kMaxIdBytes);
        c.bytes("Emergency", "item_id", e.item_id(), kMaxIdBytes);
        c.bytes("Emergency", "media_hash", e.media_hash(), kMaxHashBytes);
        c.bytes("Emergency", "title", e.title(), kMaxTitleBytes);
    }
    if (command.has_cancel_emergency()) {
        c.bytes("CancelEmergency", "emergency_id", command.cancel_emergency().emergency_id(),
                kMaxIdBytes);
    }
}

/// Repeated nested messages: the count first, so that an oversized list is refused whole before
/// its elements are looked at.
template <typename Repeated>
void check_each(Checker& c, std::string_view message, std::string_view field, const Repeated& items,
                std::size_t limit) {
    c.count(message, field, items.size(), limit);
    for (int i = 0; i < items.size() && !c.failed(); ++i) {
        c.inside(fmt::format("{}.{}[{}]", message, field, i));
        check(c, items.Get(i));
    }
    c.inside("");
}

}  // namespace

std::span<const FieldLimit> field_limits() {
    return kFieldLimits;
}

std::expected<void, DecodeError> check_limits(const wire::Envelope& envelope) {
    Checker c;
    switch (envelope.body_case()) {
        case wire::Envelope::kHello: {
            const auto& m = envelope.hello();
            c.bytes("Hello", "node_id", m.node_id(), kMaxIdBytes);
            c.bytes("Hello", "agent_version", m.agent_version(), kMaxAgentVersionBytes);
            c.bytes("Hello", "timeline_hash", m.timeline_hash(), kMaxHashBytes);
            break;
        }
        case wire::Envelope::kWelcome:
            c.bytes("Welcome", "node_id", envelope.welcome().node_id(), kMaxIdBytes);
            break;
        case wire::Envelope::kHeartbeat: {
            const auto& m = envelope.heartbeat();
            c.bytes("Heartbeat", "state", m.state(), kMaxWordBytes);
            c.bytes("Heartbeat", "current_slot_id", m.current_slot_id(), kMaxSlotIdBytes);
            c.bytes("Heartbeat", "current_title", m.current_title(), kMaxTitleBytes);
            c.bytes("Heartbeat", "link_interface", m.link_interface(), kMaxInterfaceBytes);
            c.bytes("Heartbeat", "link_type", m.link_type(), kMaxWordBytes);
            c.bytes("Heartbeat", "agent_version", m.agent_version(), kMaxAgentVersionBytes);
            break;
        }
        case wire::Envelope::kScheduleUpdate: {
            const auto& m = envelope.schedule_update();
            c.bytes("ScheduleUpdate", "timeline_hash", m.timeline_hash(), kMaxHashBytes);
            check_each(c, "ScheduleUpdate", "slots", m.slots(), kMaxSlots);
            break;
        }
        case wire::Envelope::kScheduleAck:
            c.bytes("ScheduleAck", "timeline_hash", envelope.schedule_ack().timeline_hash(),
                    kMaxHashBytes);
            break;
        case wire::Envelope::kManifestRequest:
            c.bytes("ManifestRequest", "media_hash", envelope.manifest_request().media_hash(),
                    kMaxHashBytes);
            break;
        case wire::Envelope::kManifest:
            c.bytes("Manifest", "media_hash", envelope.manifest().media_hash(), kMaxHashBytes);
            c.bytes("Manifest", "chunk_digests", envelope.manifest().chunk_digests(),
                    kMaxChunkDigestsBytes);
            break;
        case wire::Envelope::kChunkRequest:
            c.bytes("ChunkRequest", "media_hash", envelope.chunk_request().media_hash(),
                    kMaxHashBytes);
            break;
        case wire::Envelope::kChunk:
            c.bytes("Chunk", "media_hash", envelope.chunk().media_hash(), kMaxHashBytes);
            c.bytes("Chunk", "data", envelope.chunk().data(), kMaxChunkBytes);
            break;
        case wire::Envelope::kMediaStatus: {
            const auto& items = envelope.media_status().items();
            c.count("MediaStatus", "items", items.size(), kMaxMediaItems);
            for (int i = 0; i < items.size() && !c.failed(); ++i) {
                c.inside(fmt::format("MediaStatus.items[{}]", i));
                c.bytes("MediaItem", "media_hash", items.Get(i).media_hash(), kMaxHashBytes);
            }
            break;
        }
        case wire::Envelope::kPlaybackReport:
            check_each(c, "PlaybackReport", "confirmations",
                       envelope.playback_report().confirmations(), kMaxConfirmations);
            break;
        case wire::Envelope::kReportAck:
            c.count("ReportAck", "seqs", envelope.report_ack().seqs_size(), kMaxConfirmations);
            break;
        case wire::Envelope::kCommand:
            check(c, envelope.command());
            break;
        case wire::Envelope::kCommandResult:
            c.bytes("CommandResult", "message", envelope.command_result().message(),
                    kMaxReasonBytes);
            c.bytes("CommandResult", "log_tail", envelope.command_result().log_tail(),
                    kMaxLogTailBytes);
            break;
        case wire::Envelope::kError:
            c.bytes("Error", "message", envelope.error().message(), kMaxReasonBytes);
            break;
        case wire::Envelope::kEnroll: {
            const auto& m = envelope.enroll();
            c.bytes("Enroll", "token", m.token(), kMaxTokenBytes);
            c.exact("Enroll", "public_key", m.public_key(), kPublicKeyChars);
            c.bytes("Enroll", "agent_version", m.agent_version(), kMaxAgentVersionBytes);
            c.bytes("Enroll", "hostname", m.hostname(), kMaxHostnameBytes);
            break;
        }
        case wire::Envelope::kEnrolled: {
            const auto& m = envelope.enrolled();
            c.bytes("Enrolled", "node_id", m.node_id(), kMaxIdBytes);
            c.bytes("Enrolled", "kind", m.kind(), kMaxWordBytes);
            c.bytes("Enrolled", "area_path", m.area_path(), kMaxAreaPathBytes);
            c.exact("Enrolled", "controller_public_key", m.controller_public_key(),
                    kPublicKeyChars);
            break;
        }
        case wire::Envelope::kHeartbeatAck:
        case wire::Envelope::kCommandAck:
        case wire::Envelope::BODY_NOT_SET:
            break;  // scalars only
    }
    if (c.failed()) {
        return std::unexpected(c.take());
    }
    return {};
}

}  // namespace loa::protocol
