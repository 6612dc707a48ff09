// CURVE key pairs and key files, on libzmq's own key generation and Z85 codec.
#include "loa/protocol/curve_keys.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include <zmq.h>

namespace loa::protocol {

namespace {
constexpr std::size_t kZ85KeyChars = 40;
}

CurveKeyPair generate_curve_key_pair() {
    char public_key[kZ85KeyChars + 1] = {};
    char secret_key[kZ85KeyChars + 1] = {};
    // Fails only when libzmq was built without CURVE, which Debian's is not.
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        return {};
    }
    return {public_key, secret_key};
}

bool is_z85_key(std::string_view text) {
    return z85_key_bytes(text).has_value();
}

std::optional<std::array<std::uint8_t, 32>> z85_key_bytes(std::string_view text) {
    if (text.size() != kZ85KeyChars) {
        return std::nullopt;
    }
    std::string terminated(text);
    std::array<std::uint8_t, 32> bytes{};
    if (zmq_z85_decode(bytes.data(), terminated.c_str()) == nullptr) {
        return std::nullopt;
    }
    return bytes;
}

std::string z85_key_text(const std::uint8_t* bytes32) {
    char text[kZ85KeyChars + 1] = {};
    zmq_z85_encode(text, bytes32, 32);
    return text;
}

std::expected<CurveKeyPair, std::string> read_key_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return std::unexpected(file.string() + ": cannot read the key file");
    }
    CurveKeyPair keys;
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        std::istringstream words(line);
        std::string name;
        std::string value;
        words >> name >> value;
        if (name.empty() || name.starts_with('#')) {
            continue;
        }
        if ((name != "public" && name != "secret") || !is_z85_key(value)) {
            return std::unexpected(file.string() + ":" + std::to_string(line_number) +
                                   ": expected 'public <key>' or 'secret <key>' with a "
                                   "40-character Z85 key");
        }
        (name == "public" ? keys.public_key : keys.secret_key) = value;
    }
    if (keys.public_key.empty() || keys.secret_key.empty()) {
        return std::unexpected(file.string() + ": needs both a public and a secret key");
    }
    return keys;
}

std::expected<void, std::string> write_key_file(const std::filesystem::path& file,
                                                const CurveKeyPair& keys) {
    std::error_code ec;
    if (file.has_parent_path()) {
        std::filesystem::create_directories(file.parent_path(), ec);
    }
    const auto temporary = std::filesystem::path(file.string() + ".tmp");
    {
        // Created 0600 before the secret is written, so it is never readable by others.
        const mode_t old_mask = ::umask(077);
        std::ofstream out(temporary, std::ios::trunc);
        ::umask(old_mask);
        if (!out) {
            return std::unexpected(temporary.string() + ": cannot write the key file");
        }
        out << "# loa CURVE key pair: keep the secret key on this machine only\n"
            << "public " << keys.public_key << "\n"
            << "secret " << keys.secret_key << "\n";
        out.flush();
        if (!out) {
            return std::unexpected(temporary.string() + ": cannot write the key file");
        }
    }
    std::filesystem::permissions(
        temporary, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    std::filesystem::rename(temporary, file, ec);
    if (ec) {
        return std::unexpected(file.string() + ": " + ec.message());
    }
    return {};
}

std::expected<CurveKeyPair, std::string> load_or_create_key_file(
    const std::filesystem::path& file) {
    if (std::filesystem::exists(file)) {
        return read_key_file(file);
    }
    auto keys = generate_curve_key_pair();
    if (keys.public_key.empty()) {
        return std::unexpected("this libzmq cannot make CURVE keys (built without CURVE)");
    }
    if (auto written = write_key_file(file, keys); !written) {
        return std::unexpected(written.error());
    }
    return keys;
}

}  // namespace loa::protocol
