// Encoding and decoding of the one-frame Envelope every loa ZeroMQ message carries.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "loa/protocol/loa.pb.h"

namespace loa::protocol {

/// Protocol version this build speaks; sent in every envelope.
inline constexpr std::uint32_t kProtocolVersion = 1;
/// Oldest protocol version a controller of this build still serves.
inline constexpr std::uint32_t kOldestServedVersion = 1;
/// Frames larger than this are refused before parsing.
inline constexpr std::size_t kMaxFrameBytes = 4 * 1024 * 1024;
/// Largest chunk of media one Chunk message carries.
inline constexpr std::uint32_t kMaxChunkBytes = 256 * 1024;

enum class DecodeErrc {
    empty,                ///< a zero-length frame (e.g. a dropped connection's leftovers)
    too_large,            ///< over kMaxFrameBytes
    malformed,            ///< not a protobuf Envelope
    unsupported_version,  ///< version 0 or outside [kOldestServedVersion, kProtocolVersion]
    no_body,              ///< a well-formed envelope of an unknown or missing message type
};

struct DecodeError {
    DecodeErrc code;
    std::string message;  ///< what was wrong, for the log and the Error reply
};

/// Parses one frame. Never throws; every failure is a DecodeError.
std::expected<wire::Envelope, DecodeError> decode(std::string_view frame);

/// Serialises an envelope, stamping the current protocol version.
std::string encode(wire::Envelope envelope);

/// The same in two steps, for a caller that owns the buffer (e.g. a ZeroMQ message, saving a
/// copy of every media chunk): stamps the version and returns the encoded size; then
/// `encode_into` writes exactly that many bytes to `out`.
std::size_t prepare_encoding(wire::Envelope& envelope);
void encode_into(const wire::Envelope& envelope, void* out);

/// Name of the envelope's message type, e.g. "hello", for logs.
std::string_view message_type(const wire::Envelope& envelope);

/// Maps a DecodeError to the wire error code a peer receives.
wire::ErrorCode to_wire_code(DecodeErrc code);

}  // namespace loa::protocol
