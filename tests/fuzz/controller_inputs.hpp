// The input format of fuzz_controller_handlers, shared with make_seeds: who sends each frame.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <zmq.h>

#include "loa/protocol/curve_keys.hpp"

namespace loa::fuzz {

// An input is a sequence of records, each one frame as the ROUTER received it:
//   selector (1 byte) | frame length (2 bytes, little endian) | frame
// The last record's frame is whatever is left when the input ends before its length. A sequence,
// not one frame, so that one input can say hello and then use the session it opened.

/// selector & kEnrollBit: the frame goes to the enrollment endpoint instead, through a real
/// connection (handle_enroll is reached only from the socket); the other bits are then unused.
inline constexpr std::uint8_t kEnrollBit = 0x10;

/// selector % 4: the connection a frame comes from. The first kConnectedRoutingIds are DEALER
/// sockets really connected to the server, so its replies go through; the last is not
/// connected, so every reply to it fails (ROUTER_MANDATORY), as to a node that went away.
inline constexpr std::array<std::string_view, 4> kRoutingIds = {"fuzz-a", "fuzz-b", "fuzz-c",
                                                                "fuzz-gone"};
inline constexpr std::size_t kConnectedRoutingIds = 3;

/// (selector / 4) % 4: the node id the connection's CURVE key was authenticated as: two
/// registered nodes, one that is not, and none (a connection without an authenticated key).
inline constexpr std::array<std::string_view, 4> kNodeIds = {"fz-node-1", "fz-node-2", "fz-ghost",
                                                             ""};
inline constexpr std::string_view kArea = "vn/lao-cai/sa-pa/ta-van";

/// An Enroll whose token is this placeholder has it replaced by the world's real one-time token
/// (random, so no seed can hold it) for "fz-node-3", a registered node with no key yet.
inline constexpr std::string_view kTokenPlaceholder = "fz-token";
inline constexpr std::string_view kEnrollingNode = "fz-node-3";

/// CURVE key pairs made from a fixed secret, so that seeds can name the public keys. Keys 1..5:
/// the controller; DEALERs fuzz-a (fz-node-1), fuzz-b (fz-node-2), fuzz-c (fz-node-1's second
/// key); the enrolling device (no key enrolled).
inline protocol::CurveKeyPair fixed_key_pair(std::uint8_t n) {
    std::array<std::uint8_t, 32> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) {
        secret[i] = static_cast<std::uint8_t>(n * 37 + i * 11 + 1);
    }
    char secret_text[41] = {};
    char public_text[41] = {};
    zmq_z85_encode(secret_text, secret.data(), secret.size());
    zmq_curve_public(public_text, secret_text);
    return {public_text, secret_text};
}
inline constexpr std::uint8_t kControllerKey = 1;
inline constexpr std::uint8_t kEnrollingKey = 5;

/// Commands queued for fz-node-1 in a fresh world, in order: set volume, set amplifier, send log
/// (a fresh database numbers them from 1).
inline constexpr std::array<std::uint64_t, 3> kCommandIds = {1, 2, 3};

/// Most records taken from one input (more would only slow it down).
inline constexpr std::size_t kMaxRecords = 32;

inline std::uint8_t selector(std::size_t routing, std::size_t node) {
    return static_cast<std::uint8_t>(routing % 4 + 4 * (node % 4));
}

/// One record of an input.
inline std::string record(std::uint8_t select, std::string_view frame) {
    std::string out;
    out.push_back(static_cast<char>(select));
    out.push_back(static_cast<char>(frame.size() & 0xff));
    out.push_back(static_cast<char>((frame.size() >> 8) & 0xff));
    out.append(frame);
    return out;
}

/// The stored media the world holds besides its imported audio: deterministic bytes (xorshift),
/// three chunks of 64 KiB and a short one, so make_seeds knows its hash without the world.
inline std::string media_blob() {
    std::string blob(3 * 65536 + 1000, '\0');
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (char& c : blob) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x & 0xff);
    }
    return blob;
}

}  // namespace loa::fuzz
