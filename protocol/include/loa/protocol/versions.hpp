// Protocol versions: what a controller agrees with a node in HELLO/WELCOME, and how a message is
// reshaped for a node that speaks an older version.
#pragma once

#include <cstdint>
#include <optional>

#include "loa/protocol/envelope.hpp"

namespace loa::protocol {

/// The version both sides speak after a HELLO of `peer_version`: the older of the two. Call only
/// with a version decode() accepted (kOldestServedVersion..kProtocolVersion).
std::uint32_t accepted_version(std::uint32_t peer_version);

/// `envelope` as a peer speaking `version` may receive it: error codes that version lacks become
/// its nearest (version 1: REVOKED → UNKNOWN_NODE, TOO_LARGE and NOT_ALLOWED → MALFORMED,
/// ENROLLMENT_REFUSED → UNKNOWN_NODE) and fields it lacks are left out (version 1:
/// Welcome.node_id). A message type the version does not have at all (version 1: Enroll,
/// Enrolled) has no such form: none. The one place where messages are shaped for older peers.
std::optional<wire::Envelope> downgrade(wire::Envelope envelope, std::uint32_t version);

}  // namespace loa::protocol
