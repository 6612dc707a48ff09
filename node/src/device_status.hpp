// Private: what a heartbeat says of the device itself — storage, temperature, link.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace loa::node::detail {

struct DeviceStatus {
    std::uint64_t storage_free_bytes = 0;
    std::optional<int> cpu_temp_millicelsius;
    std::string link_interface;  ///< of the default route; "" if none
    std::string link_type = "unknown";
    std::optional<int> link_signal_dbm;
};

/// Free bytes on the file system of `data_dir` for an unprivileged writer; nullopt if statvfs
/// fails.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& data_dir);

/// Reads /proc and /sys under `root` ("/" on a device; tests pass a fake tree). Whatever the
/// board does not expose stays empty.
DeviceStatus read_device_status(const std::filesystem::path& data_dir,
                                const std::filesystem::path& root = "/");

}  // namespace loa::node::detail
