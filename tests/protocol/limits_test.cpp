// Tests of the field limits: every row of the table refuses one over its limit, naming the field,
// and accepts a field at it; every message with every field at its limit fits its frame limit.
#include <functional>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "loa/protocol/envelope.hpp"
#include "loa/protocol/limits.hpp"

using namespace loa::protocol;
using loa::wire::Envelope;
namespace wire = loa::wire;

namespace {

using Fill = std::function<void(Envelope&, std::size_t)>;

std::string text(std::size_t n) {
    return std::string(n, 'a');
}

const std::string kKey = text(kPublicKeyChars);

/// How to put `n` bytes (or elements) into each field of the table, in an otherwise valid message.
const std::map<std::string, Fill>& fills() {
    static const std::map<std::string, Fill> all = {
        {"Hello.node_id", [](Envelope& e, std::size_t n) { e.mutable_hello()->set_node_id(text(n)); }},
        {"Hello.agent_version",
         [](Envelope& e, std::size_t n) { e.mutable_hello()->set_agent_version(text(n)); }},
        {"Hello.timeline_hash",
         [](Envelope& e, std::size_t n) { e.mutable_hello()->set_timeline_hash(text(n)); }},
        {"Welcome.node_id",
         [](Envelope& e, std::size_t n) { e.mutable_welcome()->set_node_id(text(n)); }},
        {"Heartbeat.state",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_state(text(n)); }},
        {"Heartbeat.current_slot_id",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_current_slot_id(text(n)); }},
        {"Heartbeat.current_title",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_current_title(text(n)); }},
        {"Heartbeat.link_interface",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_link_interface(text(n)); }},
        {"Heartbeat.link_type",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_link_type(text(n)); }},
        {"Heartbeat.agent_version",
         [](Envelope& e, std::size_t n) { e.mutable_heartbeat()->set_agent_version(text(n)); }},
        {"ScheduleUpdate.timeline_hash",
         [](Envelope& e, std::size_t n) { e.mutable_schedule_update()->set_timeline_hash(text(n)); }},
        {"ScheduleUpdate.slots",
         [](Envelope& e, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i) {
                 e.mutable_schedule_update()->add_slots();
             }
         }},
        {"Slot.slot_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_schedule_update()->add_slots()->set_slot_id(text(n));
         }},
        {"Slot.campaign_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_schedule_update()->add_slots()->set_campaign_id(text(n));
         }},
        {"Slot.item_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_schedule_update()->add_slots()->set_item_id(text(n));
         }},
        {"Slot.media_hash",
         [](Envelope& e, std::size_t n) {
             e.mutable_schedule_update()->add_slots()->set_media_hash(text(n));
         }},
        {"Slot.title",
         [](Envelope& e, std::size_t n) {
             e.mutable_schedule_update()->add_slots()->set_title(text(n));
         }},
        {"ScheduleAck.timeline_hash",
         [](Envelope& e, std::size_t n) { e.mutable_schedule_ack()->set_timeline_hash(text(n)); }},
        {"ManifestRequest.media_hash",
         [](Envelope& e, std::size_t n) { e.mutable_manifest_request()->set_media_hash(text(n)); }},
        {"Manifest.media_hash",
         [](Envelope& e, std::size_t n) { e.mutable_manifest()->set_media_hash(text(n)); }},
        {"Manifest.chunk_digests",
         [](Envelope& e, std::size_t n) { e.mutable_manifest()->set_chunk_digests(text(n)); }},
        {"ChunkRequest.media_hash",
         [](Envelope& e, std::size_t n) { e.mutable_chunk_request()->set_media_hash(text(n)); }},
        {"Chunk.media_hash",
         [](Envelope& e, std::size_t n) { e.mutable_chunk()->set_media_hash(text(n)); }},
        {"Chunk.data", [](Envelope& e, std::size_t n) { e.mutable_chunk()->set_data(text(n)); }},
        {"MediaStatus.items",
         [](Envelope& e, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i) {
                 e.mutable_media_status()->add_items();
             }
         }},
        {"MediaItem.media_hash",
         [](Envelope& e, std::size_t n) {
             e.mutable_media_status()->add_items()->set_media_hash(text(n));
         }},
        {"PlaybackReport.confirmations",
         [](Envelope& e, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i) {
                 e.mutable_playback_report()->add_confirmations()->set_seq(i + 1);
             }
         }},
        {"Confirmation.slot_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_slot_id(text(n));
         }},
        {"Confirmation.campaign_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_campaign_id(text(n));
         }},
        {"Confirmation.item_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_item_id(text(n));
         }},
        {"Confirmation.media_hash",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_media_hash(text(n));
         }},
        {"Confirmation.reason",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_reason(text(n));
         }},
        {"Confirmation.emergency_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_playback_report()->add_confirmations()->set_emergency_id(text(n));
         }},
        {"ReportAck.seqs",
         [](Envelope& e, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i) {
                 e.mutable_report_ack()->add_seqs(i + 1);
             }
         }},
        {"Emergency.emergency_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_emergency()->set_emergency_id(text(n));
         }},
        {"Emergency.campaign_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_emergency()->set_campaign_id(text(n));
         }},
        {"Emergency.item_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_emergency()->set_item_id(text(n));
         }},
        {"Emergency.media_hash",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_emergency()->set_media_hash(text(n));
         }},
        {"Emergency.title",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_emergency()->set_title(text(n));
         }},
        {"CancelEmergency.emergency_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_command()->mutable_cancel_emergency()->set_emergency_id(text(n));
         }},
        {"CommandResult.message",
         [](Envelope& e, std::size_t n) { e.mutable_command_result()->set_message(text(n)); }},
        {"CommandResult.log_tail",
         [](Envelope& e, std::size_t n) { e.mutable_command_result()->set_log_tail(text(n)); }},
        {"Error.message", [](Envelope& e, std::size_t n) { e.mutable_error()->set_message(text(n)); }},
        {"Enroll.token",
         [](Envelope& e, std::size_t n) {
             e.mutable_enroll()->set_public_key(kKey);
             e.mutable_enroll()->set_token(text(n));
         }},
        {"Enroll.public_key",
         [](Envelope& e, std::size_t n) { e.mutable_enroll()->set_public_key(text(n)); }},
        {"Enroll.agent_version",
         [](Envelope& e, std::size_t n) {
             e.mutable_enroll()->set_public_key(kKey);
             e.mutable_enroll()->set_agent_version(text(n));
         }},
        {"Enroll.hostname",
         [](Envelope& e, std::size_t n) {
             e.mutable_enroll()->set_public_key(kKey);
             e.mutable_enroll()->set_hostname(text(n));
         }},
        {"Enrolled.node_id",
         [](Envelope& e, std::size_t n) {
             e.mutable_enrolled()->set_controller_public_key(kKey);
             e.mutable_enrolled()->set_node_id(text(n));
         }},
        {"Enrolled.kind",
         [](Envelope& e, std::size_t n) {
             e.mutable_enrolled()->set_controller_public_key(kKey);
             e.mutable_enrolled()->set_kind(text(n));
         }},
        {"Enrolled.area_path",
         [](Envelope& e, std::size_t n) {
             e.mutable_enrolled()->set_controller_public_key(kKey);
             e.mutable_enrolled()->set_area_path(text(n));
         }},
        {"Enrolled.controller_public_key",
         [](Envelope& e, std::size_t n) {
             e.mutable_enrolled()->set_controller_public_key(text(n));
         }},
    };
    return all;
}

std::expected<Envelope, DecodeError> filled(const std::string& name, std::size_t n) {
    Envelope e;
    e.set_message_id(5);
    fills().at(name)(e, n);
    return decode(encode(e), kMaxControllerFrameBytes);
}

constexpr std::int64_t kBigTime = -4'000'000'000'000'000'000;  // ten bytes as a varint
constexpr std::uint64_t kBigCount = ~0ull;

wire::Slot largest_slot() {
    wire::Slot s;
    s.set_slot_id(text(kMaxSlotIdBytes));
    s.set_campaign_id(text(kMaxIdBytes));
    s.set_item_id(text(kMaxIdBytes));
    s.set_media_hash(text(kMaxHashBytes));
    s.set_media_size(kBigCount);
    s.set_start_us(kBigTime);
    s.set_duration_us(kBigTime);
    s.set_title(text(kMaxTitleBytes));
    s.set_kind(wire::SLOT_IMAGE);
    s.set_display_us(kBigTime);
    return s;
}

wire::Confirmation largest_confirmation() {
    wire::Confirmation c;
    c.set_seq(kBigCount);
    c.set_slot_id(text(kMaxSlotIdBytes));
    c.set_campaign_id(text(kMaxIdBytes));
    c.set_item_id(text(kMaxIdBytes));
    c.set_media_hash(text(kMaxHashBytes));
    c.set_planned_start_us(kBigTime);
    c.set_actual_start_us(kBigTime);
    c.set_actual_end_us(kBigTime);
    c.set_outcome(wire::INTERRUPTED);
    c.set_reason(text(kMaxReasonBytes));
    auto* levels = c.mutable_levels();
    levels->set_rms_dbfs(-1.5);
    levels->set_peak_dbfs(-1.5);
    levels->set_silent_seconds(1.5);
    levels->set_measured_seconds(1.5);
    levels->set_silence_threshold_dbfs(-1.5);
    c.set_frames_rendered(kBigCount);
    c.set_offset_us(kBigTime);
    c.set_emergency_id(text(kMaxIdBytes));
    return c;
}

std::size_t encoded_size(const Envelope& e) {
    Envelope stamped = e;
    stamped.set_message_id(kBigCount);
    stamped.set_in_reply_to(kBigCount);
    return encode(stamped).size();
}

}  // namespace

TEST_CASE("every field of the limits table has a test here") {
    for (const auto& row : field_limits()) {
        const std::string name = std::string(row.message) + "." + std::string(row.field);
        INFO(name);
        CHECK(fills().contains(name));
    }
    CHECK(fills().size() == field_limits().size());
}

TEST_CASE("every field limit: at the limit accepted, one over refused naming the field") {
    for (const auto& row : field_limits()) {
        const std::string name = std::string(row.message) + "." + std::string(row.field);
        INFO(name << " limit " << row.limit);
        REQUIRE(fills().contains(name));
        auto at = filled(name, row.limit);
        CHECK(at.has_value());

        auto over = filled(name, row.limit + 1);
        REQUIRE_FALSE(over.has_value());
        CHECK(over.error().code == DecodeErrc::field_too_large);
        CHECK(to_wire_code(over.error().code) == wire::TOO_LARGE);
        CHECK_THAT(over.error().message, Catch::Matchers::Contains(name));
        CHECK_THAT(over.error().message, Catch::Matchers::Contains(std::to_string(row.limit + 1)) &&
                                             Catch::Matchers::Contains(std::to_string(row.limit)));
        CHECK(over.error().version == kProtocolVersion);
        CHECK(over.error().message_id == 5);

        if (row.bound == Bound::exact_bytes) {
            auto under = filled(name, row.limit - 1);
            REQUIRE_FALSE(under.has_value());
            CHECK(under.error().code == DecodeErrc::malformed);
            CHECK_THAT(under.error().message, Catch::Matchers::Contains(name));
        }
    }
}

TEST_CASE("a refusal inside a list says which element") {
    Envelope e;
    auto* report = e.mutable_playback_report();
    for (int i = 0; i < 5; ++i) {
        report->add_confirmations()->set_seq(i + 1);
    }
    report->mutable_confirmations(3)->set_reason(text(kMaxReasonBytes + 1));
    auto r = decode(encode(e));
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("Confirmation.reason") &&
                                      Catch::Matchers::Contains("PlaybackReport.confirmations[3]"));
}

TEST_CASE("a node's frame limit is the default, a larger one is the node's for its controller") {
    Envelope e;
    for (int i = 0; i < 4000; ++i) {
        *e.mutable_schedule_update()->add_slots() = largest_slot();
    }
    const std::string bytes = encode(e);
    REQUIRE(bytes.size() > kMaxFrameBytes);
    auto from_node = decode(bytes);
    REQUIRE_FALSE(from_node.has_value());
    CHECK(from_node.error().code == DecodeErrc::too_large);
    CHECK(to_wire_code(from_node.error().code) == wire::TOO_LARGE);
    CHECK(decode(bytes, kMaxControllerFrameBytes).has_value());
}

TEST_CASE("every message with every field at its limit fits the frame limit of its receiver") {
    SECTION("what nodes send fits kMaxFrameBytes") {
        Envelope hello;
        auto* h = hello.mutable_hello();
        h->set_node_id(text(kMaxIdBytes));
        h->set_agent_version(text(kMaxAgentVersionBytes));
        h->set_timeline_hash(text(kMaxHashBytes));
        h->set_node_time_us(kBigTime);
        CHECK(encoded_size(hello) <= kMaxFrameBytes);

        Envelope report;
        for (std::size_t i = 0; i < kMaxConfirmations; ++i) {
            *report.mutable_playback_report()->add_confirmations() = largest_confirmation();
        }
        CHECK(decode(encode(report)).has_value());
        CHECK(encoded_size(report) <= kMaxFrameBytes);

        Envelope status;
        status.mutable_media_status()->set_horizon_end_us(kBigTime);
        for (std::size_t i = 0; i < kMaxMediaItems; ++i) {
            auto* item = status.mutable_media_status()->add_items();
            item->set_media_hash(text(kMaxHashBytes));
            item->set_state(wire::MEDIA_UNAVAILABLE);
            item->set_bytes_held(kBigCount);
            item->set_total_size(kBigCount);
            item->set_needed_at_us(kBigTime);
        }
        CHECK(decode(encode(status)).has_value());
        CHECK(encoded_size(status) <= kMaxFrameBytes);

        Envelope result;
        result.mutable_command_result()->set_command_id(kBigCount);
        result.mutable_command_result()->set_message(text(kMaxReasonBytes));
        result.mutable_command_result()->set_log_tail(text(kMaxLogTailBytes));
        result.mutable_command_result()->set_done_us(kBigTime);
        CHECK(encoded_size(result) <= kMaxFrameBytes);

        Envelope heartbeat;
        auto* hb = heartbeat.mutable_heartbeat();
        hb->set_state(text(kMaxWordBytes));
        hb->set_current_slot_id(text(kMaxSlotIdBytes));
        hb->set_current_title(text(kMaxTitleBytes));
        hb->set_link_interface(text(kMaxInterfaceBytes));
        hb->set_link_type(text(kMaxWordBytes));
        hb->set_agent_version(text(kMaxAgentVersionBytes));
        CHECK(encoded_size(heartbeat) <= kMaxFrameBytes);
    }
    SECTION("what the controller sends fits kMaxControllerFrameBytes") {
        Envelope update;
        update.mutable_schedule_update()->set_timeline_hash(text(kMaxHashBytes));
        update.mutable_schedule_update()->set_generated_us(kBigTime);
        update.mutable_schedule_update()->set_horizon_end_us(kBigTime);
        for (std::size_t i = 0; i < kMaxSlots; ++i) {
            *update.mutable_schedule_update()->add_slots() = largest_slot();
        }
        CHECK(decode(encode(update), kMaxControllerFrameBytes).has_value());
        CHECK(encoded_size(update) <= kMaxControllerFrameBytes);

        Envelope manifest;
        manifest.mutable_manifest()->set_media_hash(text(kMaxHashBytes));
        manifest.mutable_manifest()->set_total_size(kBigCount);
        manifest.mutable_manifest()->set_chunk_size(~0u);
        manifest.mutable_manifest()->set_chunk_digests(text(kMaxChunkDigestsBytes));
        CHECK(encoded_size(manifest) <= kMaxFrameBytes);

        Envelope chunk;
        chunk.mutable_chunk()->set_media_hash(text(kMaxHashBytes));
        chunk.mutable_chunk()->set_offset(kBigCount);
        chunk.mutable_chunk()->set_total_size(kBigCount);
        chunk.mutable_chunk()->set_data(text(kMaxChunkBytes));
        CHECK(encoded_size(chunk) <= kMaxFrameBytes);
    }
}
