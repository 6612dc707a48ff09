// The one-time enrollment token an operator hands to a field technician: a secret and the
// controller's CURVE public key, in characters that survive a shell, an SMS and a paper note.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace loa::protocol {

/// `loa1.<secret: 32 hex>.<controller public key: 64 hex>`.
struct EnrollmentToken {
    std::string secret_hex;      ///< 16 random bytes; the controller keeps only a hash of it
    std::string controller_key;  ///< Z85, as ZeroMQ's CURVE_SERVERKEY takes it
};

std::string format_enrollment_token(const EnrollmentToken& token);

/// Parses a token as printed (surrounding blanks ignored); the error says what is wrong.
std::expected<EnrollmentToken, std::string> parse_enrollment_token(std::string_view text);

}  // namespace loa::protocol
