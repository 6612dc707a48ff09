// Enrollment tokens, node keys, rotation and revocation, in the controller's database.
#include "loa/controller/fleet/node_enrollment.hpp"

#include <sodium.h>

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "loa/controller/common/time_text.hpp"
#include "loa/protocol/curve_keys.hpp"
#include "loa/protocol/enrollment_token.hpp"

namespace loa::controller {

namespace {

/// Rolls the savepoint "part" back unless keep() was called: a refusal after a write changes
/// nothing, inside the writer's transaction.
class Undo {
  public:
    explicit Undo(SQLite::Database& db) : db_(db) {}
    ~Undo() {
        try {
            if (!kept_) {
                db_.exec("ROLLBACK TO part");
            }
            db_.exec("RELEASE part");
        } catch (const std::exception&) {
            // The writer's transaction failed already; it is rolled back whole.
        }
    }
    void keep() { kept_ = true; }

  private:
    SQLite::Database& db_;
    bool kept_ = false;
};

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    std::string hex(size * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), bytes, size);
    hex.pop_back();
    return hex;
}

/// Only a hash of a token's secret is stored: a copy of the database enrolls nothing.
std::string secret_hash(std::string_view secret_hex) {
    unsigned char hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(secret_hex.data()),
                       secret_hex.size(), nullptr, 0);
    return to_hex(hash, sizeof hash);
}

std::string used_by(SQLite::Database& db, std::string_view secret_hex) {
    SQLite::Statement q(db,
                        "SELECT coalesce(used_key, '') FROM enrollment_tokens "
                        "WHERE token_hash = ?");
    q.bind(1, secret_hash(secret_hex));
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

}  // namespace

std::filesystem::path controller_key_file(const std::filesystem::path& data_dir) {
    return data_dir / "controller.key";
}

std::string default_enroll_endpoint(const std::string& node_endpoint, const std::string& asked) {
    if (asked == "none") {
        return {};
    }
    if (!asked.empty()) {
        return asked;
    }
    const auto colon = node_endpoint.rfind(':');
    if (colon == std::string::npos) {
        return {};
    }
    try {
        const int port = std::stoi(node_endpoint.substr(colon + 1));
        return port == 0 ? node_endpoint
                         : node_endpoint.substr(0, colon + 1) + std::to_string(port + 1);
    } catch (const std::exception&) {
        return {};  // e.g. ipc:// endpoints: enrollment only where asked for
    }
}

Result<IssuedEnrollmentToken> issue_enrollment_token(WriteTx& tx, std::string_view node_id,
                                                     std::string_view controller_public_key,
                                                     std::string_view issued_by,
                                                     std::int64_t now_us,
                                                     std::int64_t lifetime_us) {
    SQLite::Database& db = tx.db();
    if (sodium_init() < 0) {
        return fail(Error::Code::storage, "libsodium cannot start");
    }
    if (!protocol::is_z85_key(controller_public_key)) {
        return fail(Error::Code::invalid_input, "the controller's public key is not a Z85 key");
    }
    if (lifetime_us <= 0) {
        return fail(Error::Code::invalid_input, "a token's lifetime must be positive");
    }
    try {
        SQLite::Statement node(db, "SELECT 1 FROM nodes WHERE node_id = ?");
        node.bind(1, std::string(node_id));
        if (!node.executeStep()) {
            return fail(Error::Code::not_found,
                        "node '" + std::string(node_id) + "' is not registered (loactl node add)");
        }
        unsigned char secret[16];
        randombytes_buf(secret, sizeof secret);
        protocol::EnrollmentToken token{to_hex(secret, sizeof secret),
                                        std::string(controller_public_key)};
        SQLite::Statement insert(db,
                                 "INSERT INTO enrollment_tokens (token_hash, node_id, created_us, "
                                 "created_by, expires_us) VALUES (?, ?, ?, ?, ?)");
        insert.bind(1, secret_hash(token.secret_hex));
        insert.bind(2, std::string(node_id));
        insert.bind(3, static_cast<std::int64_t>(now_us));
        insert.bind(4, std::string(issued_by));
        insert.bind(5, static_cast<std::int64_t>(now_us + lifetime_us));
        insert.exec();
        return IssuedEnrollmentToken{protocol::format_enrollment_token(token),
                                     now_us + lifetime_us};
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, std::string("cannot issue a token: ") + e.what());
    }
}

Result<EnrolledNode> redeem_enrollment_token(WriteTx& tx, std::string_view secret_hex,
                                             std::string_view public_key, std::int64_t now_us) {
    SQLite::Database& db = tx.db();
    if (!protocol::is_z85_key(public_key)) {
        return fail(Error::Code::invalid_input, "the public key is not a 40-character Z85 key");
    }
    try {
        db.exec("SAVEPOINT part");
        Undo undo(db);
        SQLite::Statement token(db,
                                "SELECT t.node_id, t.expires_us, t.used_us, n.kind, n.area_path "
                                "FROM enrollment_tokens t JOIN nodes n USING (node_id) "
                                "WHERE t.token_hash = ?");
        token.bind(1, secret_hash(secret_hex));
        if (!token.executeStep()) {
            return fail(Error::Code::not_found,
                        "unknown enrollment token (mistyped, or issued "
                        "by another controller)");
        }
        EnrolledNode node{token.getColumn(0).getString(), token.getColumn(3).getString(),
                          token.getColumn(4).getString(), false};
        if (!token.getColumn(2).isNull() && used_by(db, secret_hex) == public_key) {
            // The same device asking again (its first answer was lost on the link): the same
            // answer, and nothing changes.
            return node;
        }
        if (!token.getColumn(2).isNull()) {
            return fail(
                Error::Code::conflict,
                "this token was already used at " + format_local(token.getColumn(2).getInt64()) +
                    "; ask the operator for a new one (loactl node enroll " + node.node_id + ")");
        }
        if (token.getColumn(1).getInt64() <= now_us) {
            return fail(Error::Code::invalid_input,
                        "this token expired at " + format_local(token.getColumn(1).getInt64()) +
                            "; ask the operator for a new one");
        }
        SQLite::Statement taken(db, "SELECT node_id FROM node_keys WHERE public_key = ?");
        taken.bind(1, std::string(public_key));
        if (taken.executeStep()) {
            return fail(Error::Code::conflict, "this key is already enrolled (as node '" +
                                                   taken.getColumn(0).getString() +
                                                   "'); a device enrolls with a fresh key");
        }
        SQLite::Statement retire(db,
                                 "UPDATE node_keys SET retired_us = ?, retired_reason = 'rotated' "
                                 "WHERE node_id = ? AND retired_us IS NULL");
        retire.bind(1, static_cast<std::int64_t>(now_us));
        retire.bind(2, node.node_id);
        node.rotated = retire.exec() > 0;
        SQLite::Statement add(db,
                              "INSERT INTO node_keys (public_key, node_id, enrolled_us) "
                              "VALUES (?, ?, ?)");
        add.bind(1, std::string(public_key));
        add.bind(2, node.node_id);
        add.bind(3, static_cast<std::int64_t>(now_us));
        add.exec();
        SQLite::Statement use(db,
                              "UPDATE enrollment_tokens SET used_us = ?, used_key = ? "
                              "WHERE token_hash = ?");
        use.bind(1, static_cast<std::int64_t>(now_us));
        use.bind(2, std::string(public_key));
        use.bind(3, secret_hash(secret_hex));
        use.exec();
        SQLite::Statement reinstate(db, "UPDATE nodes SET revoked_us = NULL WHERE node_id = ?");
        reinstate.bind(1, node.node_id);
        reinstate.exec();
        undo.keep();
        return node;
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, std::string("cannot enroll: ") + e.what());
    }
}

std::optional<std::string> node_for_key(SQLite::Database& db, std::string_view public_key) {
    try {
        SQLite::Statement q(db,
                            "SELECT k.node_id FROM node_keys k JOIN nodes n USING (node_id) "
                            "WHERE k.public_key = ? AND k.retired_us IS NULL "
                            "AND n.revoked_us IS NULL");
        q.bind(1, std::string(public_key));
        if (q.executeStep()) {
            return q.getColumn(0).getString();
        }
    } catch (const std::exception&) {
        // A database that cannot answer authenticates nobody.
    }
    return std::nullopt;
}

Result<void> enroll_key(WriteTx& tx, std::string_view node_id, std::string_view public_key,
                        std::int64_t now_us, bool replace) {
    SQLite::Database& db = tx.db();
    if (!protocol::is_z85_key(public_key)) {
        return fail(Error::Code::invalid_input, "the public key is not a 40-character Z85 key");
    }
    try {
        db.exec("SAVEPOINT part");
        Undo undo(db);
        if (replace) {
            SQLite::Statement retire(db,
                                     "UPDATE node_keys SET retired_us = ?, "
                                     "retired_reason = 'rotated' "
                                     "WHERE node_id = ? AND retired_us IS NULL");
            retire.bind(1, static_cast<std::int64_t>(now_us));
            retire.bind(2, std::string(node_id));
            retire.exec();
        }
        SQLite::Statement add(db,
                              "INSERT INTO node_keys (public_key, node_id, enrolled_us) "
                              "VALUES (?, ?, ?)");
        add.bind(1, std::string(public_key));
        add.bind(2, std::string(node_id));
        add.bind(3, static_cast<std::int64_t>(now_us));
        add.exec();
        undo.keep();
        return {};
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, std::string("cannot enroll the key: ") + e.what());
    }
}

Result<void> revoke_node(WriteTx& tx, std::string_view node_id, std::string_view reason,
                         std::int64_t now_us) {
    SQLite::Database& db = tx.db();
    try {
        db.exec("SAVEPOINT part");
        Undo undo(db);
        SQLite::Statement node(db,
                               "UPDATE nodes SET revoked_us = ? WHERE node_id = ? "
                               "AND revoked_us IS NULL");
        node.bind(1, static_cast<std::int64_t>(now_us));
        node.bind(2, std::string(node_id));
        if (node.exec() == 0) {
            SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
            exists.bind(1, std::string(node_id));
            if (!exists.executeStep()) {
                return fail(Error::Code::not_found,
                            "node '" + std::string(node_id) + "' is not registered");
            }
            return fail(Error::Code::conflict,
                        "node '" + std::string(node_id) + "' is already revoked");
        }
        SQLite::Statement keys(db,
                               "UPDATE node_keys SET retired_us = ?, retired_reason = ? "
                               "WHERE node_id = ? AND retired_us IS NULL");
        keys.bind(1, static_cast<std::int64_t>(now_us));
        keys.bind(2, "revoked: " + std::string(reason));
        keys.bind(3, std::string(node_id));
        keys.exec();
        // Tokens not yet used would let the revoked node back in.
        SQLite::Statement tokens(db,
                                 "UPDATE enrollment_tokens SET expires_us = ? "
                                 "WHERE node_id = ? AND used_us IS NULL AND expires_us > ?");
        tokens.bind(1, static_cast<std::int64_t>(now_us));
        tokens.bind(2, std::string(node_id));
        tokens.bind(3, static_cast<std::int64_t>(now_us));
        tokens.exec();
        undo.keep();
        return {};
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, std::string("cannot revoke: ") + e.what());
    }
}

std::vector<std::string> revoked_nodes(SQLite::Database& db) {
    std::vector<std::string> ids;
    SQLite::Statement q(db, "SELECT node_id FROM nodes WHERE revoked_us IS NOT NULL");
    while (q.executeStep()) {
        ids.push_back(q.getColumn(0).getString());
    }
    return ids;
}

Result<std::vector<NodeKey>> node_keys(SQLite::Database& db, std::string_view node_id) {
    try {
        std::vector<NodeKey> keys;
        SQLite::Statement q(db,
                            "SELECT public_key, enrolled_us, retired_us, "
                            "COALESCE(retired_reason, '') FROM node_keys WHERE node_id = ? "
                            "ORDER BY enrolled_us, rowid");
        q.bind(1, std::string(node_id));
        while (q.executeStep()) {
            NodeKey key{q.getColumn(0).getString(), q.getColumn(1).getInt64(), std::nullopt,
                        q.getColumn(3).getString()};
            if (!q.getColumn(2).isNull()) {
                key.retired_us = q.getColumn(2).getInt64();
            }
            keys.push_back(std::move(key));
        }
        return keys;
    } catch (const std::exception& e) {
        return fail(Error::Code::storage, std::string("cannot list keys: ") + e.what());
    }
}

}  // namespace loa::controller
