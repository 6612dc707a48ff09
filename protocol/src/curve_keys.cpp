// CURVE key pairs and key files, on libzmq's own key generation and Z85 codec.
#include "loa/protocol/curve_keys.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

#include <zmq.h>

#include "loa/protocol/durable_file.hpp"

namespace loa::protocol {

namespace {
constexpr std::size_t kZ85KeyChars = 40;

std::string key_file_text(const CurveKeyPair& keys) {
    return "# loa CURVE key pair: keep the secret key on this machine only\n"
           "public " +
           keys.public_key + "\nsecret " + keys.secret_key + "\n";
}

}  // namespace

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
        return std::unexpected(file.string() +
                               ": không đọc được tệp khoá / cannot read the key file");
    }
    CurveKeyPair keys;
    std::string line;
    int line_number = 0;
    bool anything = false;
    while (std::getline(in, line)) {
        ++line_number;
        anything = anything || !line.empty();
        std::istringstream words(line);
        std::string name;
        std::string value;
        words >> name >> value;
        if (name.empty() || name.starts_with('#')) {
            continue;
        }
        if ((name != "public" && name != "secret") || !is_z85_key(value)) {
            return std::unexpected(file.string() + ":" + std::to_string(line_number) +
                                   ": cần 'public <khoá>' hoặc 'secret <khoá>' với khoá Z85 40 "
                                   "ký tự (tệp hỏng hoặc bị cắt?) / expected 'public <key>' or "
                                   "'secret <key>' with a 40-character Z85 key (damaged or cut "
                                   "short?)");
        }
        (name == "public" ? keys.public_key : keys.secret_key) = value;
    }
    if (!anything) {
        return std::unexpected(file.string() +
                               ": tệp khoá rỗng (bị cắt ngang khi đang ghi?) / the key file is "
                               "empty (cut short while it was written?)");
    }
    if (keys.public_key.empty() || keys.secret_key.empty()) {
        return std::unexpected(file.string() +
                               ": thiếu khoá công khai hoặc khoá bí mật (tệp bị cắt?) / needs "
                               "both a public and a secret key (cut short?)");
    }
    return keys;
}

std::expected<void, std::string> write_key_file(const std::filesystem::path& file,
                                                const CurveKeyPair& keys) {
    return write_file_durably(file, key_file_text(keys));
}

std::expected<CurveKeyPair, std::string> load_or_create_key_file(
    const std::filesystem::path& file) {
    // Only a file that is certainly absent is created: a key that cannot be read is never
    // replaced, because every node enrolled with its public key would have to enroll again.
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        return std::unexpected(file.string() +
                               ": không xem được tệp khoá / cannot look at the "
                               "key file: " +
                               ec.message());
    }
    if (std::filesystem::exists(status)) {
        auto keys = read_key_file(file);
        if (!keys) {
            return std::unexpected(
                keys.error() +
                ". Không tạo khoá mới thay thế: mọi nút đã đăng ký với khoá công khai này sẽ "
                "phải đăng ký lại; hãy khôi phục tệp từ bản sao lưu (hoặc xoá nó nếu thật sự "
                "muốn danh tính mới) / Not replaced by a new key: every node enrolled with its "
                "public key would have to enroll again; restore the file from a backup (or "
                "delete it to start a new identity on purpose)");
        }
        return keys;
    }
    auto keys = generate_curve_key_pair();
    if (keys.public_key.empty()) {
        return std::unexpected(
            "libzmq này không tạo được khoá CURVE / this libzmq cannot make CURVE keys (built "
            "without CURVE)");
    }
    auto created = create_file_durably(file, key_file_text(keys));
    if (!created) {
        return std::unexpected(created.error());
    }
    if (!*created) {
        return read_key_file(file);  // another process made it a moment ago: use that one
    }
    return keys;
}

}  // namespace loa::protocol
