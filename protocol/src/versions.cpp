// Version negotiation and the reshaping of messages for nodes of an older protocol version.
#include "loa/protocol/versions.hpp"

#include <algorithm>

namespace loa::protocol {

namespace {

/// The version 1 code nearest to `code`: what a version 1 node does on it is what it should do.
wire::ErrorCode version_1_code(wire::ErrorCode code) {
    switch (code) {
        case wire::REVOKED:
        case wire::ENROLLMENT_REFUSED:
            return wire::UNKNOWN_NODE;  // both: this node may not be served; stop and ask why
        case wire::TOO_LARGE:
        case wire::NOT_ALLOWED:
            return wire::MALFORMED;  // both: that message was refused, the session goes on
        case wire::BUSY:
            return wire::INTERNAL;  // not served this time; what a version 1 node sends again
        default:
            return code;
    }
}

}  // namespace

std::uint32_t accepted_version(std::uint32_t peer_version) {
    return std::min(peer_version, kProtocolVersion);
}

std::optional<wire::Envelope> downgrade(wire::Envelope envelope, std::uint32_t version) {
    if (version >= 2) {
        return envelope;
    }
    switch (envelope.body_case()) {
        case wire::Envelope::kEnroll:
        case wire::Envelope::kEnrolled:
            return std::nullopt;
        case wire::Envelope::kError:
            envelope.mutable_error()->set_code(version_1_code(envelope.error().code()));
            break;
        case wire::Envelope::kWelcome:
            // A version 1 node would keep it as an unknown field; it is left out so that what
            // such a node receives is exactly what a version 1 controller sent.
            envelope.mutable_welcome()->clear_node_id();
            envelope.mutable_welcome()->clear_highest_seq();
            break;
        default:
            break;
    }
    return envelope;
}

}  // namespace loa::protocol
