// Formatting and parsing of enrollment tokens.
#include "loa/protocol/enrollment_token.hpp"

#include <array>
#include <cctype>
#include <cstdint>

#include "loa/protocol/curve_keys.hpp"

namespace loa::protocol {

namespace {

constexpr std::string_view kPrefix = "loa1.";
constexpr std::size_t kSecretHex = 32;
constexpr std::size_t kKeyHex = 64;

bool is_hex(std::string_view text) {
    for (char c : text) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

}  // namespace

std::string format_enrollment_token(const EnrollmentToken& token) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string key_hex;
    if (auto bytes = z85_key_bytes(token.controller_key)) {
        for (std::uint8_t b : *bytes) {
            key_hex += kDigits[b >> 4];
            key_hex += kDigits[b & 0x0f];
        }
    }
    return std::string(kPrefix) + token.secret_hex + "." + key_hex;
}

std::expected<EnrollmentToken, std::string> parse_enrollment_token(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    if (!text.starts_with(kPrefix)) {
        return std::unexpected("an enrollment token starts with 'loa1.'");
    }
    text.remove_prefix(kPrefix.size());
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || dot != kSecretHex || text.size() != dot + 1 + kKeyHex) {
        return std::unexpected(
            "an enrollment token is 'loa1.' then 32 and 64 hex digits "
            "separated by a dot; this one has the wrong length (mistyped?)");
    }
    const auto secret = text.substr(0, dot);
    const auto key_hex = text.substr(dot + 1);
    if (!is_hex(secret) || !is_hex(key_hex)) {
        return std::unexpected("an enrollment token holds only hex digits after 'loa1.'");
    }
    std::array<std::uint8_t, 32> key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<std::uint8_t>(hex_value(key_hex[2 * i]) * 16 +
                                           hex_value(key_hex[2 * i + 1]));
    }
    EnrollmentToken token;
    token.secret_hex = std::string(secret);
    for (char& c : token.secret_hex) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    token.controller_key = z85_key_text(key.data());
    return token;
}

}  // namespace loa::protocol
