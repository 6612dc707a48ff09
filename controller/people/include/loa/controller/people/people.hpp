// People who operate the controller: users with a role and an area scope, their passwords and
// API tokens, and what each role may do where (docs/people.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// What a person is there for. Every role acts only inside its user's area scope.
enum class Role {
    admin,      ///< everything, people and tokens included
    operator_,  ///< media, campaigns and plans, emergencies, nodes and their commands
    approver,   ///< approves or rejects media for air ("thẩm định"); reads
    auditor,    ///< reads: lists, reports, the action log
};

/// "admin", "operator", "approver", "auditor": how roles are written in the database and typed.
std::string_view role_name(Role role);

/// The role called `name`; empty for anything else.
std::optional<Role> role_from_name(std::string_view name);

/// What a person may be allowed to do, always somewhere (an area).
enum class Permission {
    read,           ///< lists, status and reports
    audit,          ///< the action log and the list of people
    import_media,   ///< import bulletins, speech, pictures
    approve_media,  ///< approve or reject media for air
    schedule,       ///< campaigns and plans
    emergency,      ///< send and cancel emergencies
    command_nodes,  ///< volume, amplifier, restart, log
    manage_nodes,   ///< register, enroll, revoke nodes
    manage_people,  ///< users and their tokens
};

/// "read", "schedule", …: as the action log records a refusal.
std::string_view permission_name(Permission permission);

/// The role matrix: whether `role` includes `permission` (anywhere in its scope).
bool role_may(Role role, Permission permission);

/// Someone authenticated: by a password or an API token.
struct Principal {
    std::int64_t user_id = 0;
    std::string name;
    Role role = Role::auditor;
    std::string area = std::string(kEveryArea);  ///< the scope: kEveryArea or an area path
    std::int64_t token_id = 0;                   ///< the token used, 0 after a password
    /// When the token was last used before this request, as recorded (at most once a minute).
    std::optional<std::int64_t> token_last_used_us;
};

/// Done when `who`'s role includes `what` and `area` lies in `who`'s scope; otherwise
/// Error::Code::forbidden naming who may not do what where, in Vietnamese then English.
Result<void> authorize(const Principal& who, Permission what, std::string_view area);

/// Whether `area` lies in `who`'s scope (what every role may read).
bool may_see(const Principal& who, std::string_view area);

/// Passwords shorter than this many characters are refused.
inline constexpr std::size_t kMinPasswordLength = 8;

struct NewUser {
    std::string name;          ///< login name, an id: "op-ta-van"
    std::string display_name;  ///< "" : the name
    Role role = Role::auditor;
    std::string area;  ///< scope: kEveryArea or an area path
    std::string password;
    /// The password's Argon2id hash (hash_password); when empty, add_user hashes `password`.
    std::string password_hash;
};

struct UserRecord {
    std::int64_t user_id = 0;
    std::string name;
    std::string display_name;
    Role role = Role::auditor;
    std::string area;
    std::int64_t created_us = 0;
    std::optional<std::int64_t> disabled_us;
};

/// What is wrong with a password a person chooses (fewer than kMinPasswordLength characters, more
/// than 1024 bytes), in Vietnamese then English; empty when nothing is.
std::string password_problem(std::string_view password);

/// The Argon2id hash of a password a person chooses (libsodium crypto_pwhash_str, interactive
/// limits: about 0.1 s and 64 MiB on purpose); refused (invalid_input) when password_problem says
/// so.
Result<std::string> hash_new_password(std::string_view password);

/// Checks the new user's name, scope and password and replaces the password by its Argon2id hash
/// (libsodium crypto_pwhash_str, interactive limits: about 0.1 s and 64 MiB on purpose). Done
/// before the change is queued, so the writer never waits for it.
Result<void> hash_password(NewUser& user);

/// Stores a user with its password hashed by Argon2id (libsodium crypto_pwhash_str, interactive
/// limits). Refused (nothing stored): a bad name or scope, a short password, a name taken.
Result<UserRecord> add_user(WriteTx& tx, const NewUser& user, std::int64_t now);

/// add_user for the very first user: refused (Code::conflict, nothing stored) when any user
/// exists, checked in the transaction that stores it, so two first users cannot both be added.
Result<UserRecord> add_first_user(WriteTx& tx, const NewUser& user, std::int64_t now);

/// What add_user would refuse but for the password (a bad name or scope, a name taken), so
/// that nobody types a password for a user that cannot be added.
Result<void> check_new_user(SQLite::Database& db, const NewUser& user);

/// How many users there are, disabled ones included (none: loactl may create the first admin).
Result<std::int64_t> count_users(SQLite::Database& db);

Result<UserRecord> find_user(SQLite::Database& db, std::string_view name);

/// Users whose scope lies in `scope`, by name.
Result<std::vector<UserRecord>> list_users(SQLite::Database& db, std::string_view scope);

/// Marks the user disabled: its password and tokens are refused from now on.
Result<UserRecord> disable_user(WriteTx& tx, std::string_view name, std::int64_t now);

/// The user named `name` if `password` is theirs and they are not disabled; a wrong name and a
/// wrong password get the same refusal (Code::forbidden).
Result<Principal> check_password(SQLite::Database& db, std::string_view name,
                                 std::string_view password);

struct PasswordChange {
    UserRecord user;
    int revoked_tokens = 0;  ///< the person's tokens revoked by the change
};

/// Replaces `name`'s password by `password_hash` (hash_new_password) and, in the same transaction,
/// revokes every token of theirs still valid but `keep_token_id` (0: every one): whoever held the
/// old password, or a token made with it, is out. Refused (not_found) for an unknown name.
Result<PasswordChange> set_password(WriteTx& tx, std::string_view name,
                                    const std::string& password_hash, std::int64_t keep_token_id,
                                    std::int64_t now);

struct TokenRecord {
    std::int64_t token_id = 0;
    std::int64_t user_id = 0;
    std::string user_name;
    std::string user_area;
    std::string label;
    std::int64_t created_us = 0;
    std::optional<std::int64_t> expires_us;
    std::optional<std::int64_t> revoked_us;
    std::optional<std::int64_t> last_used_us;
};

struct IssuedToken {
    TokenRecord token;
    std::string secret;  ///< "loa_" and 64 hex digits; shown once, only its hash is kept
};

/// A new API token for `user_id` (32 random bytes); `expires_us` empty: until revoked.
Result<IssuedToken> issue_token(WriteTx& tx, std::int64_t user_id, std::string label,
                                std::optional<std::int64_t> expires_us, std::int64_t now);

/// A new token's secret: "loa_" and 64 hex digits of 32 random bytes.
Result<std::string> new_token_secret();

/// Records the token `secret` (from new_token_secret) for `user_id`, issued at `now`: what
/// issue_token does, for a secret made earlier (a sign-in while the disk was full, written once
/// there is room: held_tokens.hpp).
Result<IssuedToken> record_token(WriteTx& tx, std::string secret, std::int64_t user_id,
                                 std::string label, std::optional<std::int64_t> expires_us,
                                 std::int64_t now);

/// The hex BLAKE2b-256 of a token's text: what api_tokens keeps instead of the secret.
std::string token_hash(std::string_view secret);

/// The person `secret` stands for. Reads only: that the token was used is recorded by
/// note_token_use, which the API queues without waiting at most once a minute. Refused
/// (Code::forbidden, the reason in the message): an unknown, revoked or expired token, one older
/// than `max_lifetime_us` (0: no limit) whatever its expiry, or one of a disabled user.
Result<Principal> authenticate_token(SQLite::Database& db, std::string_view secret,
                                     std::int64_t now, std::int64_t max_lifetime_us = 0);

/// Records that token `token_id` was used at `now`.
Result<void> note_token_use(WriteTx& tx, std::int64_t token_id, std::int64_t now);

/// Who `secret` belongs to whatever its state (revoked, expired, disabled), so that a refusal
/// can be logged under their name; empty for an unknown token.
std::optional<Principal> token_holder(SQLite::Database& db, std::string_view secret);

/// Revokes a token; refused if it is unknown or already revoked.
Result<TokenRecord> revoke_token(WriteTx& tx, std::int64_t token_id, std::int64_t now);

Result<TokenRecord> find_token(SQLite::Database& db, std::int64_t token_id);

/// Tokens of users whose scope lies in `scope` (only `user_id`'s when it is not 0), newest first.
Result<std::vector<TokenRecord>> list_tokens(SQLite::Database& db, std::string_view scope,
                                             std::int64_t user_id = 0);

/// "valid", "revoked", "expired" at `now`; older than `max_lifetime_us` (0: no limit) is expired.
std::string_view token_state(const TokenRecord& token, std::int64_t now,
                             std::int64_t max_lifetime_us = 0);

/// A token's lifetime in words: "7 ngày" / "7 days" (hours, or seconds, when not whole days).
std::string lifetime_text(std::int64_t us, Language language);

}  // namespace loa::controller
