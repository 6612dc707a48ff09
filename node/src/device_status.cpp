// Device status from the kernel's files: statvfs for storage, thermal zones, the routing table.
#include "device_status.hpp"

#include <sys/statvfs.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace loa::node::detail {

namespace {

namespace fs = std::filesystem;

std::optional<int> read_cpu_temp(const fs::path& root) {
    // thermal_zone0 is the SoC on the ARM boards loa runs on (Raspberry Pi, Orange Pi, Rockchip).
    std::ifstream in(root / "sys/class/thermal/thermal_zone0/temp");
    long millicelsius = 0;
    if (in >> millicelsius) {
        return static_cast<int>(millicelsius);
    }
    return std::nullopt;
}

std::string default_route_interface(const fs::path& root) {
    // A board with Wi-Fi and a modem as fallback has two default routes; the kernel sends by
    // the one of lowest metric, whatever order the table lists them in.
    constexpr unsigned kRouteUp = 0x1;  // RTF_UP
    std::ifstream in(root / "proc/net/route");
    std::string line;
    std::getline(in, line);  // header
    std::string best;
    long best_metric = 0;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string iface, destination, gateway, mask;
        unsigned flags = 0;
        long refcnt = 0, use = 0, metric = 0;
        if (!(fields >> iface >> destination >> gateway >> std::hex >> flags >> std::dec >>
              refcnt >> use >> metric >> mask)) {
            continue;
        }
        if (destination != "00000000" || mask != "00000000" || !(flags & kRouteUp)) {
            continue;
        }
        if (best.empty() || metric < best_metric) {
            best = iface;
            best_metric = metric;
        }
    }
    return best;
}

std::string link_type_of(const fs::path& root, const std::string& iface) {
    if (iface.empty()) {
        return "unknown";
    }
    const fs::path sys = root / "sys/class/net" / iface;
    std::error_code ec;
    if (fs::exists(sys / "wireless", ec) || fs::exists(sys / "phy80211", ec)) {
        return "wifi";
    }
    // 3G/4G modems show up as wwan (QMI/MBIM), ppp (AT dial-up), rmnet or usb (RNDIS/ECM).
    for (const char* prefix : {"wwan", "wwp", "ppp", "rmnet", "usb"}) {
        if (iface.starts_with(prefix)) {
            return "cellular";
        }
    }
    if (iface == "lo") {
        return "loopback";
    }
    if (iface.starts_with("eth") || iface.starts_with("en")) {
        return "ethernet";
    }
    return "unknown";
}

// /proc/net/wireless: "wlan0: 0000   54.  -56.  -256 ..." — the level column is in dBm.
std::optional<int> wifi_signal(const fs::path& root, const std::string& iface) {
    std::ifstream in(root / "proc/net/wireless");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name, status;
        double link = 0, level = 0;
        if (fields >> name >> status >> link >> level && name == iface + ":") {
            return static_cast<int>(std::lround(level));
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> free_bytes(const fs::path& data_dir) {
    struct statvfs fs_info {};
    if (::statvfs(data_dir.c_str(), &fs_info) != 0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(fs_info.f_bavail) *
           static_cast<std::uint64_t>(fs_info.f_frsize);
}

DeviceStatus read_device_status(const fs::path& data_dir, const fs::path& root) {
    DeviceStatus status;
    status.storage_free_bytes = free_bytes(data_dir).value_or(0);
    status.cpu_temp_millicelsius = read_cpu_temp(root);
    status.link_interface = default_route_interface(root);
    status.link_type = link_type_of(root, status.link_interface);
    if (status.link_type == "wifi") {
        status.link_signal_dbm = wifi_signal(root, status.link_interface);
    }
    return status;
}

}  // namespace loa::node::detail
