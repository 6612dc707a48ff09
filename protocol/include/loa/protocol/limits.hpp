// Size limits of every string, bytes and repeated field of the wire messages (protocol/README.md,
// "Limits"): decode() refuses a message with a field over its limit before any handler sees it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>

#include "loa/protocol/envelope.hpp"

namespace loa::protocol {

/// Ids of nodes, campaigns, items and emergencies (operators choose at most 64 characters).
inline constexpr std::size_t kMaxIdBytes = 128;
/// A slot id is `<campaign>/<item>/<language>@<start µs>`: two ids, a language and a number.
inline constexpr std::size_t kMaxSlotIdBytes = 320;
/// Titles of items and plays, as operators type them (Vietnamese takes 1-3 bytes a letter).
inline constexpr std::size_t kMaxTitleBytes = 512;
/// A lowercase hex SHA-256. Its form is checked where it is used (the content store refuses any
/// other name as not found), so here it is only bounded.
inline constexpr std::size_t kMaxHashBytes = 64;
inline constexpr std::size_t kMaxAgentVersionBytes = 64;
/// Free text for people: Error.message, Confirmation.reason, CommandResult.message.
inline constexpr std::size_t kMaxReasonBytes = 1024;
/// Short words from a fixed vocabulary (heartbeat state, link type, node kind).
inline constexpr std::size_t kMaxWordBytes = 32;
/// A network interface name (Linux allows 15 characters).
inline constexpr std::size_t kMaxInterfaceBytes = 64;
/// A host name (DNS allows 253 characters).
inline constexpr std::size_t kMaxHostnameBytes = 255;
inline constexpr std::size_t kMaxAreaPathBytes = 512;
/// SEND-LOG answers with at most this much of the agent's log.
inline constexpr std::size_t kMaxLogTailBytes = 1024 * 1024;
/// One SHA-256 (32 bytes) per chunk: a 2 GiB file (kMaxMediaFileBytes on import) in 32 KiB chunks.
inline constexpr std::size_t kMaxChunkDigestsBytes = 2 * 1024 * 1024;
/// The node's outbox is sent in batches of at most 200 confirmations.
inline constexpr std::size_t kMaxConfirmations = 200;
/// Plays in one ScheduleUpdate: the timeline covers 8 days (one back, 7 ahead), so this allows
/// 1,250 plays a day, one every 69 s around the clock; a loudspeaker's booked day is a few dozen.
/// The controller sends at most this many and moves the horizon back to the first left out.
inline constexpr std::size_t kMaxSlots = 10'000;
/// Media files in one MediaStatus: every file of a full timeline, plus an emergency's.
inline constexpr std::size_t kMaxMediaItems = kMaxSlots + 1;
/// The one-time enrollment token's secret part.
inline constexpr std::size_t kMaxTokenBytes = 128;
/// A CURVE public key in Z85 (32 bytes → 40 characters).
inline constexpr std::size_t kPublicKeyChars = 40;

/// Largest frame a node accepts from its controller: a ScheduleUpdate of kMaxSlots plays with
/// every field at its limit (about 12.2 MB; the protocol tests check it fits).
inline constexpr std::size_t kMaxControllerFrameBytes = 16 * 1024 * 1024;
/// What a transport may add to a frame on the wire (CURVE: 33 bytes of command name, nonce,
/// flags and MAC). ZMQ_MAXMSGSIZE is set to a frame limit plus this, so a frame the decoder
/// would accept is never cut off by libzmq.
inline constexpr std::size_t kTransportOverheadBytes = 64;

/// How a field is bounded.
enum class Bound {
    max_bytes,    ///< a string or bytes field of at most `limit` bytes
    exact_bytes,  ///< a string of exactly `limit` bytes
    max_count,    ///< a repeated field of at most `limit` elements
};

/// One row of the limits table.
struct FieldLimit {
    std::string_view message;  ///< protobuf message name, e.g. "Slot"
    std::string_view field;    ///< field name, e.g. "title"
    Bound bound;
    std::size_t limit;
};

/// Every bounded field of every message of the current schema. Fields not listed are scalars,
/// whose size the encoding bounds.
std::span<const FieldLimit> field_limits();

/// Checks every string, bytes and repeated field of the envelope's message (nested messages
/// included) against field_limits(). Refuses with DecodeErrc::field_too_large naming the first
/// field over its limit, e.g. "PlaybackReport.confirmations[3].reason: 2000 bytes, limit 1024".
std::expected<void, DecodeError> check_limits(const wire::Envelope& envelope);

}  // namespace loa::protocol
