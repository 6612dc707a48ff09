// Node identities: one-time enrollment tokens, the CURVE keys nodes enrolled with, rotation and
// revocation. A node is who its key says it is, never what a message claims.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/store/writer.hpp"

namespace loa::controller {

/// The controller's CURVE key file in its data directory (made on first use, mode 0600).
std::filesystem::path controller_key_file(const std::filesystem::path& data_dir);

/// The enrollment endpoint: `asked` when given ("none" for no enrollment endpoint), else the
/// node endpoint with its port + 1 (tcp://*:5599 → tcp://*:5600).
std::string default_enroll_endpoint(const std::string& node_endpoint, const std::string& asked);

/// How long an enrollment token works unless the operator says otherwise.
inline constexpr std::int64_t kDefaultTokenLifetimeUs = 72LL * 3600 * 1'000'000;

struct IssuedEnrollmentToken {
    std::string token;  ///< as printed for the technician (loa1.<secret>.<controller key>)
    std::int64_t expires_us = 0;
};

/// Issues a one-time token for `node_id` (which must exist). Enrolling with it registers a new
/// key for the node: the first key of a new device, or a replacement (rotation) whose old keys
/// are retired; a revoked node is reinstated by enrolling again.
Result<IssuedEnrollmentToken> issue_enrollment_token(WriteTx& tx, std::string_view node_id,
                                                     std::string_view controller_public_key,
                                                     std::string_view issued_by,
                                                     std::int64_t now_us, std::int64_t lifetime_us);

struct EnrolledNode {
    std::string node_id;
    std::string kind;
    std::string area_path;
    bool rotated = false;  ///< the node had an active key, now retired
};

/// Redeems the token's secret for `public_key` (Z85) in one transaction; refuses unknown, used,
/// expired tokens and keys already enrolled, saying which, and then changes nothing.
Result<EnrolledNode> redeem_enrollment_token(WriteTx& tx, std::string_view secret_hex,
                                             std::string_view public_key, std::int64_t now_us);

/// The node an active (enrolled, not retired, node not revoked) key belongs to.
std::optional<std::string> node_for_key(SQLite::Database& db, std::string_view public_key);

/// Registers `public_key` for `node_id` directly (tests, benchmarks and migrations of a fleet
/// whose keys are known); retires the node's other keys when `replace` is set.
Result<void> enroll_key(WriteTx& tx, std::string_view node_id, std::string_view public_key,
                        std::int64_t now_us, bool replace = false);

/// Revokes a node: retires every key and refuses it from now on. Its history stays.
Result<void> revoke_node(WriteTx& tx, std::string_view node_id, std::string_view reason,
                         std::int64_t now_us);

/// Nodes that are revoked, for cutting off their live sessions.
std::vector<std::string> revoked_nodes(SQLite::Database& db);

struct NodeKey {
    std::string public_key;
    std::int64_t enrolled_us = 0;
    std::optional<std::int64_t> retired_us;
    std::string retired_reason;
};

/// Every key a node has had, oldest first.
Result<std::vector<NodeKey>> node_keys(SQLite::Database& db, std::string_view node_id);

}  // namespace loa::controller
