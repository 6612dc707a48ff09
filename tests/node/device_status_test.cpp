// Tests of the device status a heartbeat carries, read from a fake /proc and /sys tree.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "device_status.hpp"
#include "test_support.hpp"

using loa::node::detail::read_device_status;
using loa::test::TempDir;
using loa::test::write_file;

namespace {

namespace fs = std::filesystem;

constexpr const char* kRouteHeader =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

/// A fake root: /proc/net/route with `routes` (after the header), optionally more files.
struct FakeRoot {
    TempDir tmp;
    fs::path root = tmp / "root";

    explicit FakeRoot(const std::string& routes) {
        fs::create_directories(root / "proc/net");
        write_file(root / "proc/net/route", kRouteHeader + routes);
    }
    void file(const std::string& path, const std::string& text) {
        fs::create_directories((root / path).parent_path());
        write_file(root / path, text);
    }
    void interface(const std::string& name, bool wireless = false) {
        fs::create_directories(root / "sys/class/net" / name);
        if (wireless) {
            fs::create_directories(root / "sys/class/net" / name / "wireless");
        }
    }
};

std::string route(const std::string& iface, const std::string& destination, int metric,
                  const std::string& mask) {
    return iface + "\t" + destination + "\t0100A8C0\t0003\t0\t0\t" + std::to_string(metric) + "\t" +
           mask + "\t0\t0\t0\n";
}

}  // namespace

TEST_CASE("a board on Wi-Fi: interface, signal and temperature", "[node][device]") {
    FakeRoot fake(route("wlan0", "0000A8C0", 600, "00FFFFFF") +
                  route("wlan0", "00000000", 600, "00000000"));
    fake.interface("wlan0", true);
    fake.file("proc/net/wireless",
              "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
              " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n"
              "wlan0: 0000   54.  -56.  -256        0      0      0      0     12        0\n");
    fake.file("sys/class/thermal/thermal_zone0/temp", "48312\n");
    auto status = read_device_status(fake.tmp.path(), fake.root);
    CHECK(status.link_interface == "wlan0");
    CHECK(status.link_type == "wifi");
    REQUIRE(status.link_signal_dbm);
    CHECK(*status.link_signal_dbm == -56);
    REQUIRE(status.cpu_temp_millicelsius);
    CHECK(*status.cpu_temp_millicelsius == 48312);
    CHECK(status.storage_free_bytes > 0);
}

TEST_CASE("a board on a 3G/4G modem is cellular, with no signal it cannot read", "[node][device]") {
    for (const char* iface : {"wwan0", "ppp0", "rmnet_data0", "usb0"}) {
        INFO(iface);
        FakeRoot fake(route("lo", "0000007F", 0, "000000FF") +
                      route(iface, "00000000", 700, "00000000"));
        fake.interface(iface);
        auto status = read_device_status(fake.tmp.path(), fake.root);
        CHECK(status.link_interface == iface);
        CHECK(status.link_type == "cellular");
        CHECK_FALSE(status.link_signal_dbm);
        CHECK_FALSE(status.cpu_temp_millicelsius);  // no thermal zone in this tree
    }
}

TEST_CASE("wired links are ethernet", "[node][device]") {
    for (const char* iface : {"eth0", "enp3s0", "end0"}) {
        INFO(iface);
        FakeRoot fake(route(iface, "00000000", 100, "00000000"));
        fake.interface(iface);
        auto status = read_device_status(fake.tmp.path(), fake.root);
        CHECK(status.link_interface == iface);
        CHECK(status.link_type == "ethernet");
    }
}

TEST_CASE("with two default routes the one of lowest metric carries the traffic",
          "[node][device]") {
    // A board with a Wi-Fi link and a modem as fallback; the table need not list them in order.
    FakeRoot fake(route("wwan0", "00000000", 700, "00000000") +
                  route("wlan0", "00000000", 600, "00000000"));
    fake.interface("wlan0", true);
    fake.interface("wwan0");
    auto status = read_device_status(fake.tmp.path(), fake.root);
    CHECK(status.link_interface == "wlan0");
    CHECK(status.link_type == "wifi");
}

TEST_CASE("without a default route, or without /proc, nothing is made up", "[node][device]") {
    FakeRoot fake(route("eth0", "0000A8C0", 100, "00FFFFFF"));
    auto status = read_device_status(fake.tmp.path(), fake.root);
    CHECK(status.link_interface == "");
    CHECK(status.link_type == "unknown");
    CHECK_FALSE(status.link_signal_dbm);

    TempDir empty;
    auto bare = read_device_status(empty.path(), empty / "no-such-root");
    CHECK(bare.link_interface == "");
    CHECK(bare.link_type == "unknown");
    CHECK_FALSE(bare.cpu_temp_millicelsius);
    CHECK(bare.storage_free_bytes > 0);  // statvfs of the data directory still works
}
