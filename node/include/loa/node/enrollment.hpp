// A device's enrollment: it makes its own CURVE key pair, registers the public key with a
// one-time token, and writes the configuration the agent then runs from.
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <string>

namespace loa::node {

/// What `loa-node enroll` writes to <data>/node.conf and the agent reads at start.
struct NodeConfig {
    std::string node_id;
    std::string kind;  ///< "speaker" or "panel"
    std::string area_path;
    std::string controller;      ///< the node endpoint, e.g. tcp://loa.example.vn:5599
    std::string controller_key;  ///< the controller's CURVE public key (Z85)
};

/// <data>/node.conf and <data>/node.key (the device's key pair, mode 0600).
std::filesystem::path node_config_file(const std::filesystem::path& data_dir);
std::filesystem::path node_key_file(const std::filesystem::path& data_dir);
/// <data>/node.key.pending: the key pair an enrollment under way registers. Written durably
/// before the first ENROLL, renamed to node.key once ENROLLED; an enrollment run again (after a
/// crash, a timeout or a lost answer) asks with the same key, so the controller answers it as the
/// same device.
std::filesystem::path pending_key_file(const std::filesystem::path& data_dir);

/// Reads node.conf ("name = value" lines); the error names the file, the line and the reason.
std::expected<NodeConfig, std::string> read_node_config(const std::filesystem::path& file);
/// Writes node.conf atomically and durably (synced, with its directory, before it returns).
std::expected<void, std::string> write_node_config(const std::filesystem::path& file,
                                                   const NodeConfig& config);

struct EnrollRequest {
    std::string endpoint;  ///< the controller's enrollment endpoint, e.g. tcp://host:5600
    std::string token;     ///< as `loactl node enroll` printed it
    std::filesystem::path data_dir;
    std::string agent_version;
    /// ENROLL is sent at most `tries` times: again when unanswered or answered BUSY, after
    /// `first_retry`, then twice as long each time up to `max_retry`, each wait ±25 % at random
    /// so that devices do not retry in step. A definitive refusal (bad or used token) stops at
    /// once. Nothing is sent after `timeout`.
    int tries = 10;
    std::chrono::milliseconds first_retry{5'000};
    std::chrono::milliseconds max_retry{60'000};
    std::chrono::seconds timeout{600};
};

/// Enrolls this device: its key pair (node.key.pending, made and stored before first use),
/// ENROLL over CURVE to the controller the token names, then node.conf written and the key
/// renamed to node.key. A refused token changes neither node.key nor node.conf.
std::expected<NodeConfig, std::string> enroll_device(const EnrollRequest& request);

namespace detail {
/// The wait before try `attempt + 1` (attempt ≥ 1): first · 2^(attempt−1), at most `max`, times
/// `jitter` (drawn from [0.75, 1.25]).
std::chrono::milliseconds enrollment_retry_delay(int attempt, std::chrono::milliseconds first,
                                                 std::chrono::milliseconds max, double jitter);
}  // namespace detail

}  // namespace loa::node
