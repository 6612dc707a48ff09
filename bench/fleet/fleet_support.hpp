// What the fleet benchmarks share: a scratch directory, nodes registered with their own keys, the
// first admin and an approved bulletin through loactl, and readings of a process's CPU.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "loa/sim/simulator.hpp"

namespace loa::bench {

/// A temporary directory under `base`, removed at the end unless `keep`.
struct Scratch {
    std::filesystem::path path;
    bool keep = false;
    Scratch(const std::filesystem::path& base, const std::string& name);
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
};

/// "<prefix>-<i>", zero-padded to the width of `count` (at least 2 digits).
std::string node_name(const std::string& prefix, int i, int count);

/// `count` speaker nodes in `area`, written straight into the controller's database (setup only:
/// enrollment itself is scenario 10's and loa-sim --tokens' business). With `identities`, each
/// gets its own CURVE key pair, enrolled, and returned there.
void register_nodes(const std::filesystem::path& db_file, int count, const std::string& prefix,
                    const std::string& area, std::vector<sim::NodeIdentity>* identities);

/// Raises this process's descriptor limit (children inherit it) to at least `wanted`: the soft
/// limit to the hard one, and the hard one too where the process may (root). Returns the soft
/// limit now in force.
std::uint64_t raise_file_limit(std::uint64_t wanted);

/// The first admin (user `admin`, area /) made with loactl over `data`, and its token.
std::string first_admin_token(const std::string& loactl_bin, const std::filesystem::path& data);

/// A sine bulletin of `seconds`, imported and approved with loactl; its media hash.
std::string approved_bulletin(const std::string& loactl_bin, const std::filesystem::path& data,
                              const std::string& token, const std::filesystem::path& scratch,
                              double seconds);

/// Waits until `log` contains `text` while `child` runs, at most `timeout`.
bool wait_for_log(const std::filesystem::path& log, const std::string& text, Child& child,
                  std::chrono::milliseconds timeout);

/// Confirmations the controller holds (stored and refused), -1 if unreadable.
std::int64_t stored_confirmations(const std::filesystem::path& db_file);

/// Sorted copy's value at quantile q (0..1); 0 for none.
double quantile(std::vector<double> values, double q);

}  // namespace loa::bench
