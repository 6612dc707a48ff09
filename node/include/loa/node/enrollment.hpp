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

/// Reads node.conf ("name = value" lines); the error names the file, the line and the reason.
std::expected<NodeConfig, std::string> read_node_config(const std::filesystem::path& file);
std::expected<void, std::string> write_node_config(const std::filesystem::path& file,
                                                   const NodeConfig& config);

struct EnrollRequest {
    std::string endpoint;  ///< the controller's enrollment endpoint, e.g. tcp://host:5600
    std::string token;     ///< as `loactl node enroll` printed it
    std::filesystem::path data_dir;
    std::chrono::seconds timeout{60};
    std::string agent_version;
};

/// Enrolls this device: a new key pair, ENROLL over CURVE to the controller the token names,
/// then node.key and node.conf written. A refused token changes no file.
std::expected<NodeConfig, std::string> enroll_device(const EnrollRequest& request);

}  // namespace loa::node
