// Encoding and decoding of the one-frame Envelope every loa ZeroMQ message carries.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "loa/protocol/loa.pb.h"

namespace loa::protocol {

/// Protocol version this build speaks; sent in every envelope.
inline constexpr std::uint32_t kProtocolVersion = 2;
/// Oldest protocol version a controller of this build still serves.
inline constexpr std::uint32_t kOldestServedVersion = 1;
/// Frames larger than this are refused before parsing: everything a node sends fits (a
/// CommandResult with a 1 MiB log, a full PlaybackReport), so does a Chunk. A node accepts larger
/// frames from its controller (kMaxControllerFrameBytes in limits.hpp, for long timelines).
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024;
/// Largest chunk of media one Chunk message carries.
inline constexpr std::uint32_t kMaxChunkBytes = 256 * 1024;

enum class DecodeErrc {
    empty,                ///< a zero-length frame (e.g. a dropped connection's leftovers)
    too_large,            ///< over kMaxFrameBytes
    malformed,            ///< not a protobuf Envelope, or a field of the wrong length
    unsupported_version,  ///< version 0 or outside [kOldestServedVersion, kProtocolVersion]
    no_body,              ///< a well-formed envelope of an unknown or missing message type
    field_too_large,      ///< a string, bytes or repeated field over its limit (limits.hpp)
};

struct DecodeError {
    DecodeErrc code;
    std::string message;  ///< what was wrong, for the log and the Error reply
    /// The frame's version when it parsed as an Envelope, else 0: who to answer in what terms.
    std::uint32_t version = 0;
    std::uint64_t message_id = 0;  ///< likewise its message id, for the reply's in_reply_to
};

/// Parses one frame of at most kMaxFrameBytes, then checks every field against its limit
/// (check_limits in limits.hpp), so no handler sees an oversized field. Never throws; every
/// failure is a DecodeError.
std::expected<wire::Envelope, DecodeError> decode(std::string_view frame);
/// The same with another frame limit: a node reads its controller's frames with
/// kMaxControllerFrameBytes.
std::expected<wire::Envelope, DecodeError> decode(std::string_view frame,
                                                  std::size_t max_frame_bytes);

/// Serialises an envelope, stamping the current protocol version.
std::string encode(wire::Envelope envelope);
/// Serialises an envelope stamped with `version`: the version agreed with the peer in
/// HELLO/WELCOME. It does not change the content: run downgrade() (versions.hpp) first.
std::string encode(wire::Envelope envelope, std::uint32_t version);

/// The same in two steps, for a caller that owns the buffer (e.g. a ZeroMQ message, saving a
/// copy of every media chunk): stamps the version and returns the encoded size; then
/// `encode_into` writes exactly that many bytes to `out`.
std::size_t prepare_encoding(wire::Envelope& envelope);
/// prepare_encoding stamping `version` instead of the current one.
std::size_t prepare_encoding(wire::Envelope& envelope, std::uint32_t version);
void encode_into(const wire::Envelope& envelope, void* out);

/// Stops protobuf's own logging (e.g. "invalid UTF-8" on stderr for every such frame): decode()
/// already reports each refusal, and a peer must not be able to write to our stderr unmetered.
/// Call once at start, before other threads run.
void silence_protobuf_log();

/// Name of the envelope's message type, e.g. "hello", for logs.
std::string_view message_type(const wire::Envelope& envelope);

/// Maps a DecodeError to the wire error code a peer receives.
wire::ErrorCode to_wire_code(DecodeErrc code);

}  // namespace loa::protocol
