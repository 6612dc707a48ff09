// CURVE key pairs (ZeroMQ's CurveZMQ) and the files that keep them on the controller and nodes.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace loa::protocol {

/// A CURVE key pair as ZeroMQ's socket options take it: Z85 text, 40 characters each.
struct CurveKeyPair {
    std::string public_key;
    std::string secret_key;
};

/// A fresh key pair from libzmq (libsodium underneath).
CurveKeyPair generate_curve_key_pair();

/// True when `text` is a 40-character Z85 key.
bool is_z85_key(std::string_view text);

/// The 32 raw bytes of a Z85 key, or nothing when `text` is not one.
std::optional<std::array<std::uint8_t, 32>> z85_key_bytes(std::string_view text);
/// Z85 text of 32 raw key bytes (e.g. the credentials of a ZAP request).
std::string z85_key_text(const std::uint8_t* bytes32);

/// Reads a key file ("public <z85>" and "secret <z85>" lines). The error says which file and why
/// (unreadable, empty, a line that is not a key, a key missing).
std::expected<CurveKeyPair, std::string> read_key_file(const std::filesystem::path& file);

/// Writes a key file readable by its owner only (0600), atomically and durably (file and
/// directory synced before it returns): a power cut leaves the old file or the new one.
std::expected<void, std::string> write_key_file(const std::filesystem::path& file,
                                                const CurveKeyPair& keys);

/// Reads `file`, or creates it (durably, never over a file another process just made) with a new
/// key pair when it certainly does not exist. A file that exists but cannot be read as a key
/// pair (empty, cut short, damaged) is refused, never replaced.
std::expected<CurveKeyPair, std::string> load_or_create_key_file(const std::filesystem::path& file);

}  // namespace loa::protocol
