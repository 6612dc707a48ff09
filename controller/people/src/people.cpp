// Users, passwords (Argon2id), API tokens (only their hashes kept) and the role matrix.
#include "loa/controller/people/people.hpp"

#include <array>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <sodium.h>

#include "loa/controller/common/identifiers.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/store/database.hpp"

namespace loa::controller {

namespace {

constexpr std::string_view kTokenPrefix = "loa_";
constexpr std::size_t kTokenBytes = 32;
/// Longer passwords are refused rather than hashed: nobody types a kilobyte.
constexpr std::size_t kMaxPasswordBytes = 1024;

/// Both languages of a refusal, Vietnamese first, as every forbidden message reads.
std::unexpected<Error> forbidden(const std::string& vi, const std::string& en) {
    return fail(Error::Code::forbidden, vi + " / " + en);
}

Result<void> ensure_sodium() {
    if (sodium_init() < 0) {
        return fail(Error::Code::storage, "libsodium could not be initialised");
    }
    return {};
}

std::string_view role_vi(Role role) {
    switch (role) {
        case Role::admin:
            return "quản trị";
        case Role::operator_:
            return "người vận hành";
        case Role::approver:
            return "người phê duyệt";
        case Role::auditor:
            return "người kiểm tra";
    }
    return "?";
}

struct PermissionText {
    std::string_view vi;
    std::string_view en;
};

PermissionText permission_text(Permission p) {
    switch (p) {
        case Permission::read:
            return {"xem", "see"};
        case Permission::audit:
            return {"xem nhật ký thao tác và danh sách người dùng",
                    "read the action log and the list of people"};
        case Permission::import_media:
            return {"nhập nội dung", "import media"};
        case Permission::approve_media:
            return {"phê duyệt nội dung", "approve or reject media"};
        case Permission::schedule:
            return {"xếp lịch phát", "schedule plays"};
        case Permission::emergency:
            return {"phát hoặc huỷ khẩn cấp", "send or cancel emergencies"};
        case Permission::command_nodes:
            return {"ra lệnh cho nút", "send commands to nodes"};
        case Permission::manage_nodes:
            return {"đăng ký, cấp khoá hoặc thu hồi nút", "register, enroll or revoke nodes"};
        case Permission::manage_people:
            return {"quản lý người dùng và mã truy cập", "manage people and their tokens"};
    }
    return {"?", "?"};
}

std::size_t code_points(std::string_view utf8) {
    std::size_t n = 0;
    for (unsigned char c : utf8) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

}  // namespace

std::string token_hash(std::string_view secret) {
    std::array<unsigned char, crypto_generichash_BYTES> digest{};
    crypto_generichash(digest.data(), digest.size(),
                       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                       nullptr, 0);
    std::array<char, crypto_generichash_BYTES * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return hex.data();
}

namespace {

std::optional<std::int64_t> optional_int(SQLite::Statement& q, int column) {
    if (q.getColumn(column).isNull()) {
        return std::nullopt;
    }
    return q.getColumn(column).getInt64();
}

constexpr const char* kSelectUser =
    "SELECT user_id, name, display_name, role, area_path, created_us, disabled_us FROM users";

UserRecord read_user(SQLite::Statement& q) {
    UserRecord u;
    u.user_id = q.getColumn(0).getInt64();
    u.name = q.getColumn(1).getString();
    u.display_name = q.getColumn(2).getString();
    u.role = role_from_name(q.getColumn(3).getString()).value_or(Role::auditor);
    u.area = q.getColumn(4).getString();
    u.created_us = q.getColumn(5).getInt64();
    u.disabled_us = optional_int(q, 6);
    return u;
}

constexpr const char* kSelectToken =
    "SELECT t.token_id, t.user_id, u.name, u.area_path, t.label, t.created_us, t.expires_us, "
    "t.revoked_us, t.last_used_us FROM api_tokens t JOIN users u USING (user_id)";

TokenRecord read_token(SQLite::Statement& q) {
    TokenRecord t;
    t.token_id = q.getColumn(0).getInt64();
    t.user_id = q.getColumn(1).getInt64();
    t.user_name = q.getColumn(2).getString();
    t.user_area = q.getColumn(3).getString();
    t.label = q.getColumn(4).getString();
    t.created_us = q.getColumn(5).getInt64();
    t.expires_us = optional_int(q, 6);
    t.revoked_us = optional_int(q, 7);
    t.last_used_us = optional_int(q, 8);
    return t;
}

/// A hash of a password nobody has, checked against when the user name is unknown.
const std::string& unknown_user_hash() {
    static const std::string hash = [] {
        std::array<char, crypto_pwhash_STRBYTES> out{};
        const std::string_view nobody = "no such user";
        if (crypto_pwhash_str_alg(
                out.data(), nobody.data(), nobody.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            return std::string();  // out of memory: the verify below fails at once
        }
        return std::string(out.data());
    }();
    return hash;
}

Principal principal_of(const UserRecord& user, std::int64_t token_id = 0) {
    return {user.user_id, user.name, user.role, user.area, token_id};
}

}  // namespace

std::string_view role_name(Role role) {
    switch (role) {
        case Role::admin:
            return "admin";
        case Role::operator_:
            return "operator";
        case Role::approver:
            return "approver";
        case Role::auditor:
            return "auditor";
    }
    return "?";
}

std::optional<Role> role_from_name(std::string_view name) {
    for (Role r : {Role::admin, Role::operator_, Role::approver, Role::auditor}) {
        if (role_name(r) == name) {
            return r;
        }
    }
    return std::nullopt;
}

std::string_view permission_name(Permission permission) {
    switch (permission) {
        case Permission::read:
            return "read";
        case Permission::audit:
            return "audit";
        case Permission::import_media:
            return "import_media";
        case Permission::approve_media:
            return "approve_media";
        case Permission::schedule:
            return "schedule";
        case Permission::emergency:
            return "emergency";
        case Permission::command_nodes:
            return "command_nodes";
        case Permission::manage_nodes:
            return "manage_nodes";
        case Permission::manage_people:
            return "manage_people";
    }
    return "?";
}

bool role_may(Role role, Permission permission) {
    switch (role) {
        case Role::admin:
            return true;
        case Role::operator_:
            return permission != Permission::audit && permission != Permission::approve_media &&
                   permission != Permission::manage_people;
        case Role::approver:
            return permission == Permission::read || permission == Permission::approve_media;
        case Role::auditor:
            return permission == Permission::read || permission == Permission::audit;
    }
    return false;
}

Result<void> authorize(const Principal& who, Permission what, std::string_view area) {
    const auto verb = permission_text(what);
    if (!role_may(who.role, what)) {
        return forbidden(fmt::format("không được phép: {} '{}' không được {} (vai trò {} không "
                                     "có quyền này)",
                                     role_vi(who.role), who.name, verb.vi, role_name(who.role)),
                         fmt::format("not allowed: {} '{}' may not {} (the {} role does not "
                                     "include it)",
                                     role_name(who.role), who.name, verb.en, role_name(who.role)));
    }
    if (!in_scope(who.area, area)) {
        return forbidden(
            fmt::format("không được phép: {} '{}' (phạm vi {}) không được {} tại {}: ngoài phạm "
                        "vi",
                        role_vi(who.role), who.name, scope_text(who.area, Language::vi), verb.vi,
                        scope_text(area, Language::vi)),
            fmt::format("not allowed: {} '{}' (scope {}) may not {} in {}: outside its scope",
                        role_name(who.role), who.name, scope_text(who.area, Language::en), verb.en,
                        scope_text(area, Language::en)));
    }
    return {};
}

bool may_see(const Principal& who, std::string_view area) {
    return in_scope(who.area, area);
}

namespace {

/// What is wrong with a new user's name or scope; empty when nothing is.
std::optional<Error> name_or_scope_problem(const NewUser& user) {
    auto invalid = [&](const std::string& why) {
        return Error{Error::Code::invalid_input, fmt::format("user '{}': {}", user.name, why)};
    };
    if (auto why = detail::identifier_problem(user.name); !why.empty()) {
        return invalid(why);
    }
    if (auto why = scope_problem(user.area); !why.empty()) {
        return invalid(fmt::format("area '{}': {}", user.area, why));
    }
    return std::nullopt;
}

/// add_user and add_first_user: `only_first` refuses when any user exists, checked in the
/// transaction that stores the user.
Result<UserRecord> store_user(WriteTx& tx, const NewUser& given, std::int64_t now,
                              bool only_first) {
    SQLite::Database& db = tx.db();
    NewUser user = given;
    if (user.password_hash.empty()) {
        // Slow (Argon2id) and inside the writer: callers on the API hash first.
        if (auto hashed = hash_password(user); !hashed) {
            return std::unexpected(hashed.error());
        }
    } else if (auto problem = name_or_scope_problem(user)) {
        return std::unexpected(*problem);
    }
    return in_savepoint(tx, [&]() -> Result<UserRecord> {
        if (only_first) {
            SQLite::Statement any(db, "SELECT 1 FROM users LIMIT 1");
            if (any.executeStep()) {
                return fail(Error::Code::conflict,
                            "đã có người dùng: người đầu tiên đã được tạo / there are users "
                            "already: the first one was created");
            }
        }
        SQLite::Statement exists(db, "SELECT 1 FROM users WHERE name = ?");
        exists.bind(1, user.name);
        if (exists.executeStep()) {
            return fail(Error::Code::conflict, fmt::format("user '{}' already exists", user.name));
        }
        UserRecord record;
        record.name = user.name;
        record.display_name = user.display_name.empty() ? user.name : user.display_name;
        record.role = user.role;
        record.area = user.area;
        record.created_us = now;
        SQLite::Statement insert(db,
                                 "INSERT INTO users (name, display_name, role, area_path, "
                                 "password_hash, created_us) VALUES (?, ?, ?, ?, ?, ?)");
        insert.bind(1, record.name);
        insert.bind(2, record.display_name);
        insert.bind(3, std::string(role_name(record.role)));
        insert.bind(4, record.area);
        insert.bind(5, user.password_hash);
        insert.bind(6, static_cast<int64_t>(now));
        insert.exec();
        record.user_id = db.getLastInsertRowid();
        return record;
    });
}

}  // namespace

std::string password_problem(std::string_view password) {
    if (code_points(password) < kMinPasswordLength) {
        return fmt::format("mật khẩu cần ít nhất {} ký tự / a password has at least {} characters",
                           kMinPasswordLength, kMinPasswordLength);
    }
    if (password.size() > kMaxPasswordBytes) {
        return fmt::format("mật khẩu dài tối đa {} byte / a password has at most {} bytes",
                           kMaxPasswordBytes, kMaxPasswordBytes);
    }
    return {};
}

Result<std::string> hash_new_password(std::string_view password) {
    if (auto why = password_problem(password); !why.empty()) {
        return fail(Error::Code::invalid_input, why);
    }
    if (auto ready = ensure_sodium(); !ready) {
        return std::unexpected(ready.error());
    }
    std::array<char, crypto_pwhash_STRBYTES> hash{};
    if (crypto_pwhash_str_alg(
            hash.data(), password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return fail(Error::Code::storage, "hashing the password ran out of memory");
    }
    return std::string(hash.data());
}

Result<void> hash_password(NewUser& user) {
    if (auto problem = name_or_scope_problem(user)) {
        return std::unexpected(*problem);
    }
    auto hash = hash_new_password(user.password);
    if (!hash) {
        if (hash.error().code == Error::Code::invalid_input) {
            return fail(Error::Code::invalid_input,
                        fmt::format("user '{}': {}", user.name, hash.error().message));
        }
        return std::unexpected(hash.error());
    }
    user.password_hash = std::move(*hash);
    sodium_memzero(user.password.data(), user.password.size());
    user.password.clear();
    return {};
}

Result<UserRecord> add_user(WriteTx& tx, const NewUser& user, std::int64_t now) {
    return store_user(tx, user, now, false);
}

Result<UserRecord> add_first_user(WriteTx& tx, const NewUser& user, std::int64_t now) {
    return store_user(tx, user, now, true);
}

Result<void> check_new_user(SQLite::Database& db, const NewUser& user) {
    if (auto problem = name_or_scope_problem(user)) {
        return std::unexpected(*problem);
    }
    return guard_storage([&]() -> Result<void> {
        SQLite::Statement exists(db, "SELECT 1 FROM users WHERE name = ?");
        exists.bind(1, user.name);
        if (exists.executeStep()) {
            return fail(Error::Code::conflict, fmt::format("user '{}' already exists", user.name));
        }
        return {};
    });
}

Result<std::int64_t> count_users(SQLite::Database& db) {
    return guard_storage([&]() -> Result<std::int64_t> {
        SQLite::Statement q(db, "SELECT count(*) FROM users");
        q.executeStep();
        return q.getColumn(0).getInt64();
    });
}

Result<UserRecord> find_user(SQLite::Database& db, std::string_view name) {
    return guard_storage([&]() -> Result<UserRecord> {
        SQLite::Statement q(db, std::string(kSelectUser) + " WHERE name = ?");
        q.bind(1, std::string(name));
        if (!q.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("không có người dùng '{}' / no user '{}'", name, name));
        }
        return read_user(q);
    });
}

Result<std::vector<UserRecord>> list_users(SQLite::Database& db, std::string_view scope) {
    return guard_storage([&]() -> Result<std::vector<UserRecord>> {
        SQLite::Statement q(db, std::string(kSelectUser) + " ORDER BY name");
        std::vector<UserRecord> users;
        while (q.executeStep()) {
            auto user = read_user(q);
            if (in_scope(scope, user.area)) {
                users.push_back(std::move(user));
            }
        }
        return users;
    });
}

Result<UserRecord> disable_user(WriteTx& tx, std::string_view name, std::int64_t now) {
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<UserRecord> {
        auto user = find_user(db, name);
        if (!user) {
            return user;
        }
        if (user->disabled_us) {
            return fail(Error::Code::conflict,
                        fmt::format("user '{}' is already disabled (since {})", name,
                                    format_local(*user->disabled_us)));
        }
        SQLite::Statement update(db, "UPDATE users SET disabled_us = ? WHERE user_id = ?");
        update.bind(1, static_cast<int64_t>(now));
        update.bind(2, static_cast<int64_t>(user->user_id));
        update.exec();
        user->disabled_us = now;
        return user;
    });
}

Result<Principal> check_password(SQLite::Database& db, std::string_view name,
                                 std::string_view password) {
    if (auto ready = ensure_sodium(); !ready) {
        return std::unexpected(ready.error());
    }
    auto wrong = [] {
        return forbidden("sai tên đăng nhập hoặc mật khẩu", "wrong user name or password");
    };
    return guard_storage([&]() -> Result<Principal> {
        SQLite::Statement q(db, "SELECT password_hash FROM users WHERE name = ?");
        q.bind(1, std::string(name));
        if (!q.executeStep() || password.size() > kMaxPasswordBytes) {
            // As slow as a wrong password, so that timing does not tell which names exist.
            [[maybe_unused]] const int ignored = crypto_pwhash_str_verify(
                unknown_user_hash().c_str(), password.data(), password.size());
            return wrong();
        }
        const std::string stored = q.getColumn(0).getString();
        if (crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) != 0) {
            return wrong();
        }
        auto user = find_user(db, name);
        if (!user) {
            return std::unexpected(user.error());
        }
        // Said only to someone who knows the password.
        if (user->disabled_us) {
            return forbidden(fmt::format("người dùng '{}' đã bị vô hiệu hoá", name),
                             fmt::format("user '{}' is disabled", name));
        }
        return principal_of(*user);
    });
}

Result<PasswordChange> set_password(WriteTx& tx, std::string_view name,
                                    const std::string& password_hash, std::int64_t keep_token_id,
                                    std::int64_t now) {
    SQLite::Database& db = tx.db();
    if (password_hash.empty()) {
        return fail(Error::Code::invalid_input, "set_password: no password hash");
    }
    return in_savepoint(tx, [&]() -> Result<PasswordChange> {
        auto user = find_user(db, name);
        if (!user) {
            return std::unexpected(user.error());
        }
        SQLite::Statement update(db, "UPDATE users SET password_hash = ? WHERE user_id = ?");
        update.bind(1, password_hash);
        update.bind(2, static_cast<int64_t>(user->user_id));
        update.exec();
        SQLite::Statement revoke(db,
                                 "UPDATE api_tokens SET revoked_us = ? WHERE user_id = ? AND "
                                 "revoked_us IS NULL AND token_id != ? AND (expires_us IS NULL "
                                 "OR expires_us > ?)");
        revoke.bind(1, static_cast<int64_t>(now));
        revoke.bind(2, static_cast<int64_t>(user->user_id));
        revoke.bind(3, static_cast<int64_t>(keep_token_id));
        revoke.bind(4, static_cast<int64_t>(now));
        const int revoked = revoke.exec();
        return PasswordChange{*user, revoked};
    });
}

Result<std::string> new_token_secret() {
    if (auto ready = ensure_sodium(); !ready) {
        return std::unexpected(ready.error());
    }
    std::array<unsigned char, kTokenBytes> random{};
    randombytes_buf(random.data(), random.size());
    std::array<char, kTokenBytes * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
    sodium_memzero(random.data(), random.size());
    std::string secret = std::string(kTokenPrefix) + hex.data();
    sodium_memzero(hex.data(), hex.size());
    return secret;
}

Result<IssuedToken> issue_token(WriteTx& tx, std::int64_t user_id, std::string label,
                                std::optional<std::int64_t> expires_us, std::int64_t now) {
    if (expires_us && *expires_us <= now) {
        return fail(Error::Code::invalid_input,
                    "token: it would expire before it is issued (give a time ahead of now)");
    }
    auto secret = new_token_secret();
    if (!secret) {
        return std::unexpected(secret.error());
    }
    return record_token(tx, std::move(*secret), user_id, std::move(label), expires_us, now);
}

Result<IssuedToken> record_token(WriteTx& tx, std::string secret, std::int64_t user_id,
                                 std::string label, std::optional<std::int64_t> expires_us,
                                 std::int64_t now) {
    SQLite::Database& db = tx.db();
    if (auto ready = ensure_sodium(); !ready) {
        return std::unexpected(ready.error());
    }
    IssuedToken issued;
    issued.secret = std::move(secret);
    return in_savepoint(tx, [&]() -> Result<IssuedToken> {
        SQLite::Statement insert(db,
                                 "INSERT INTO api_tokens (user_id, token_hash, label, created_us, "
                                 "expires_us) VALUES (?, ?, ?, ?, ?)");
        insert.bind(1, static_cast<int64_t>(user_id));
        insert.bind(2, token_hash(issued.secret));
        insert.bind(3, label);
        insert.bind(4, static_cast<int64_t>(now));
        if (expires_us) {
            insert.bind(5, static_cast<int64_t>(*expires_us));
        }
        insert.exec();
        auto token = find_token(db, db.getLastInsertRowid());
        if (!token) {
            return std::unexpected(token.error());
        }
        issued.token = *token;
        return issued;
    });
}

Result<Principal> authenticate_token(SQLite::Database& db, std::string_view secret,
                                     std::int64_t now, std::int64_t max_lifetime_us) {
    if (auto ready = ensure_sodium(); !ready) {
        return std::unexpected(ready.error());
    }
    return guard_storage([&]() -> Result<Principal> {
        SQLite::Statement q(db, std::string(kSelectToken) + " WHERE t.token_hash = ?");
        q.bind(1, token_hash(secret));
        if (!secret.starts_with(kTokenPrefix) || !q.executeStep()) {
            return forbidden("mã truy cập không hợp lệ (loactl login để lấy mã mới)",
                             "unknown API token (loactl login gives a new one)");
        }
        const TokenRecord token = read_token(q);
        q.reset();
        if (token.revoked_us) {
            return forbidden(fmt::format("mã truy cập #{} của '{}' đã bị thu hồi", token.token_id,
                                         token.user_name),
                             fmt::format("API token #{} of '{}' has been revoked", token.token_id,
                                         token.user_name));
        }
        if (token.expires_us && *token.expires_us <= now) {
            return forbidden(
                fmt::format("mã truy cập #{} của '{}' đã hết hạn", token.token_id, token.user_name),
                fmt::format("API token #{} of '{}' has expired", token.token_id, token.user_name));
        }
        if (max_lifetime_us > 0 && now - token.created_us >= max_lifetime_us) {
            return forbidden(
                fmt::format("mã truy cập #{} của '{}' đã cũ hơn thời hạn dài nhất của một mã ({}); "
                            "đăng nhập lại để lấy mã mới",
                            token.token_id, token.user_name,
                            lifetime_text(max_lifetime_us, Language::vi)),
                fmt::format("API token #{} of '{}' is older than the longest a token may last "
                            "({}); sign in again for a new one",
                            token.token_id, token.user_name,
                            lifetime_text(max_lifetime_us, Language::en)));
        }
        auto user = find_user(db, token.user_name);
        if (!user) {
            return std::unexpected(user.error());
        }
        if (user->disabled_us) {
            return forbidden(fmt::format("người dùng '{}' đã bị vô hiệu hoá", user->name),
                             fmt::format("user '{}' is disabled", user->name));
        }
        Principal who = principal_of(*user, token.token_id);
        who.token_last_used_us = token.last_used_us;
        return who;
    });
}

Result<void> note_token_use(WriteTx& tx, std::int64_t token_id, std::int64_t now) {
    SQLite::Statement used(tx.db(),
                           "UPDATE api_tokens SET last_used_us = ? WHERE token_id = ? "
                           "AND (last_used_us IS NULL OR last_used_us < ?)");
    used.bind(1, static_cast<int64_t>(now));
    used.bind(2, static_cast<int64_t>(token_id));
    used.bind(3, static_cast<int64_t>(now));
    used.exec();
    return {};
}

std::optional<Principal> token_holder(SQLite::Database& db, std::string_view secret) {
    if (sodium_init() < 0) {
        return std::nullopt;
    }
    auto holder = guard_storage([&]() -> Result<Principal> {
        SQLite::Statement q(db, std::string(kSelectToken) + " WHERE t.token_hash = ?");
        q.bind(1, token_hash(secret));
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, "no such token");
        }
        const TokenRecord token = read_token(q);
        auto user = find_user(db, token.user_name);
        if (!user) {
            return std::unexpected(user.error());
        }
        return principal_of(*user, token.token_id);
    });
    return holder ? std::optional<Principal>(*holder) : std::nullopt;
}

Result<TokenRecord> revoke_token(WriteTx& tx, std::int64_t token_id, std::int64_t now) {
    SQLite::Database& db = tx.db();
    return in_savepoint(tx, [&]() -> Result<TokenRecord> {
        auto token = find_token(db, token_id);
        if (!token) {
            return token;
        }
        if (token->revoked_us) {
            return fail(Error::Code::conflict,
                        fmt::format("mã truy cập #{} đã bị thu hồi / token #{} is already revoked",
                                    token_id, token_id));
        }
        SQLite::Statement update(db, "UPDATE api_tokens SET revoked_us = ? WHERE token_id = ?");
        update.bind(1, static_cast<int64_t>(now));
        update.bind(2, static_cast<int64_t>(token_id));
        update.exec();
        token->revoked_us = now;
        return token;
    });
}

Result<TokenRecord> find_token(SQLite::Database& db, std::int64_t token_id) {
    return guard_storage([&]() -> Result<TokenRecord> {
        SQLite::Statement q(db, std::string(kSelectToken) + " WHERE t.token_id = ?");
        q.bind(1, static_cast<int64_t>(token_id));
        if (!q.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("không có mã truy cập #{} / no token #{}", token_id, token_id));
        }
        return read_token(q);
    });
}

Result<std::vector<TokenRecord>> list_tokens(SQLite::Database& db, std::string_view scope,
                                             std::int64_t user_id) {
    return guard_storage([&]() -> Result<std::vector<TokenRecord>> {
        SQLite::Statement q(db, std::string(kSelectToken) +
                                    " WHERE ?1 = 0 OR t.user_id = ?1 ORDER BY t.token_id DESC");
        q.bind(1, static_cast<int64_t>(user_id));
        std::vector<TokenRecord> tokens;
        while (q.executeStep()) {
            auto token = read_token(q);
            if (in_scope(scope, token.user_area)) {
                tokens.push_back(std::move(token));
            }
        }
        return tokens;
    });
}

std::string_view token_state(const TokenRecord& token, std::int64_t now,
                             std::int64_t max_lifetime_us) {
    if (token.revoked_us) {
        return "revoked";
    }
    if ((token.expires_us && *token.expires_us <= now) ||
        (max_lifetime_us > 0 && now - token.created_us >= max_lifetime_us)) {
        return "expired";
    }
    return "valid";
}

std::string lifetime_text(std::int64_t us, Language language) {
    const bool vi = language == Language::vi;
    constexpr std::int64_t kHourUs = 3'600'000'000;
    if (us % (24 * kHourUs) == 0) {
        return fmt::format("{} {}", us / (24 * kHourUs), vi ? "ngày" : "days");
    }
    if (us % kHourUs == 0) {
        return fmt::format("{} {}", us / kHourUs, vi ? "giờ" : "hours");
    }
    return fmt::format("{} {}", us / 1'000'000, vi ? "giây" : "seconds");
}

}  // namespace loa::controller
