// Envelope codec: the one place where bytes from the network become messages.
#include "loa/protocol/envelope.hpp"

#include <google/protobuf/stubs/logging.h>

#include <string>

#include "loa/protocol/limits.hpp"

namespace loa::protocol {

std::expected<wire::Envelope, DecodeError> decode(std::string_view frame) {
    return decode(frame, kMaxFrameBytes);
}

std::expected<wire::Envelope, DecodeError> decode(std::string_view frame,
                                                  std::size_t max_frame_bytes) {
    if (frame.empty()) {
        return std::unexpected(DecodeError{DecodeErrc::empty, "empty frame"});
    }
    if (frame.size() > max_frame_bytes) {
        return std::unexpected(
            DecodeError{DecodeErrc::too_large, "frame of " + std::to_string(frame.size()) +
                                                   " bytes exceeds the limit of " +
                                                   std::to_string(max_frame_bytes)});
    }
    wire::Envelope envelope;
    if (!envelope.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
        return std::unexpected(DecodeError{
            DecodeErrc::malformed,
            "frame of " + std::to_string(frame.size()) + " bytes is not a loa Envelope"});
    }
    if (envelope.version() < kOldestServedVersion || envelope.version() > kProtocolVersion) {
        return std::unexpected(
            DecodeError{DecodeErrc::unsupported_version,
                        "protocol version " + std::to_string(envelope.version()) +
                            " is not served (" + std::to_string(kOldestServedVersion) + ".." +
                            std::to_string(kProtocolVersion) + ")",
                        envelope.version(), envelope.message_id()});
    }
    if (envelope.body_case() == wire::Envelope::BODY_NOT_SET) {
        return std::unexpected(DecodeError{
            DecodeErrc::no_body,
            "envelope " + std::to_string(envelope.message_id()) + " carries no known message type",
            envelope.version(), envelope.message_id()});
    }
    // Parsing allocated at most about the frame's size; the field limits are what keeps a
    // handler from copying or storing an oversized field.
    if (auto within = check_limits(envelope); !within) {
        within.error().version = envelope.version();
        within.error().message_id = envelope.message_id();
        return std::unexpected(std::move(within.error()));
    }
    return envelope;
}

std::string encode(wire::Envelope envelope) {
    return encode(std::move(envelope), kProtocolVersion);
}

std::string encode(wire::Envelope envelope, std::uint32_t version) {
    envelope.set_version(version);
    return envelope.SerializeAsString();
}

std::size_t prepare_encoding(wire::Envelope& envelope) {
    return prepare_encoding(envelope, kProtocolVersion);
}

std::size_t prepare_encoding(wire::Envelope& envelope, std::uint32_t version) {
    envelope.set_version(version);
    return envelope.ByteSizeLong();  // also caches the sizes encode_into relies on
}

void encode_into(const wire::Envelope& envelope, void* out) {
    envelope.SerializeWithCachedSizesToArray(static_cast<std::uint8_t*>(out));
}

void silence_protobuf_log() {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
}

std::string_view message_type(const wire::Envelope& envelope) {
    switch (envelope.body_case()) {
        case wire::Envelope::kHello:
            return "hello";
        case wire::Envelope::kWelcome:
            return "welcome";
        case wire::Envelope::kHeartbeat:
            return "heartbeat";
        case wire::Envelope::kHeartbeatAck:
            return "heartbeat-ack";
        case wire::Envelope::kScheduleUpdate:
            return "schedule-update";
        case wire::Envelope::kScheduleAck:
            return "schedule-ack";
        case wire::Envelope::kChunkRequest:
            return "chunk-request";
        case wire::Envelope::kChunk:
            return "chunk";
        case wire::Envelope::kPlaybackReport:
            return "playback-report";
        case wire::Envelope::kReportAck:
            return "report-ack";
        case wire::Envelope::kError:
            return "error";
        case wire::Envelope::kManifestRequest:
            return "manifest-request";
        case wire::Envelope::kManifest:
            return "manifest";
        case wire::Envelope::kMediaStatus:
            return "media-status";
        case wire::Envelope::kCommand:
            return "command";
        case wire::Envelope::kCommandResult:
            return "command-result";
        case wire::Envelope::kCommandAck:
            return "command-ack";
        case wire::Envelope::kEnroll:
            return "enroll";
        case wire::Envelope::kEnrolled:
            return "enrolled";
        case wire::Envelope::BODY_NOT_SET:
            break;
    }
    return "none";
}

wire::ErrorCode to_wire_code(DecodeErrc code) {
    switch (code) {
        case DecodeErrc::unsupported_version:
            return wire::UNSUPPORTED_VERSION;
        case DecodeErrc::too_large:
        case DecodeErrc::field_too_large:
            return wire::TOO_LARGE;  // MALFORMED for a version 1 peer (downgrade)
        case DecodeErrc::empty:
        case DecodeErrc::malformed:
        case DecodeErrc::no_body:
            break;
    }
    return wire::MALFORMED;
}

}  // namespace loa::protocol
