// The fleet benchmarks' setup and readings (fleet_support.hpp).
#include "fleet_support.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <SQLiteCpp/Database.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace fs = std::filesystem;
namespace lc = loa::controller;

namespace loa::bench {

Scratch::Scratch(const fs::path& base, const std::string& name) {
    std::string pattern = (base / (name + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("cannot create a directory under " + base.string());
    }
    path = pattern;
}

Scratch::~Scratch() {
    if (!keep) {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
}

std::string node_name(const std::string& prefix, int i, int count) {
    const int width = std::max<int>(2, static_cast<int>(std::to_string(count).size()));
    return fmt::format("{}-{:0{}}", prefix, i, width);
}

void register_nodes(const fs::path& db_file, int count, const std::string& prefix,
                    const std::string& area, std::vector<sim::NodeIdentity>* identities) {
    auto db = lc::open_database(db_file);
    if (!db) {
        throw std::runtime_error(db.error().message);
    }
    (*db)->exec("PRAGMA synchronous=OFF");  // setup only; the daemon opens its own connection
    auto done = lc::write_directly(**db, [&](lc::WriteTx& tx) -> lc::Result<void> {
        for (int i = 1; i <= count; ++i) {
            lc::NodeRecord record;
            record.node_id = node_name(prefix, i, count);
            record.kind = "speaker";
            record.area_path = area;
            if (auto added = lc::add_node(tx, record, now_us()); !added) {
                return std::unexpected(added.error());
            }
            if (identities != nullptr) {
                auto pair = protocol::generate_curve_key_pair();
                if (auto enrolled = lc::enroll_key(tx, record.node_id, pair.public_key, now_us());
                    !enrolled) {
                    return std::unexpected(enrolled.error());
                }
                identities->push_back({record.node_id, pair});
            }
        }
        return {};
    });
    if (!done) {
        throw std::runtime_error(done.error().message);
    }
}

std::uint64_t raise_file_limit(std::uint64_t wanted) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < wanted) {
        rlimit raised{wanted, wanted};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            return wanted;
        }
    }
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

std::string first_admin_token(const std::string& loactl_bin, const fs::path& data) {
    const std::string loactl = fmt::format("{} --data {}", loactl_bin, data.string());
    run_or_throw(
        fmt::format("printf 'mat-khau-thu-tai\\n' | {} user add admin --role admin --area / "
                    "--password-stdin > /dev/null",
                    loactl));
    std::string token = capture_or_throw(
        fmt::format("printf 'mat-khau-thu-tai\\n' | {} login admin --password-stdin", loactl));
    token.erase(token.find_last_not_of("\n") + 1);
    return token;
}

std::string approved_bulletin(const std::string& loactl_bin, const fs::path& data,
                              const std::string& token, const fs::path& scratch, double seconds) {
    const fs::path wav = scratch / "ban-tin.wav";
    run_or_throw(
        fmt::format("ffmpeg -nostdin -loglevel error -y -f lavfi -i "
                    "sine=frequency=440:duration={} -ar 22050 {}",
                    seconds, wav.string()));
    const std::string loactl = fmt::format("{} --data {}", loactl_bin, data.string());
    const auto imported = nlohmann::json::parse(capture_or_throw(
        fmt::format("LOA_TOKEN={} {} --json media import {}", token, loactl, wav.string())));
    const std::string media = imported.at("media_hash");
    run_or_throw(fmt::format("LOA_TOKEN={} {} media approve {} > /dev/null", token, loactl, media));
    return media;
}

bool wait_for_log(const fs::path& log, const std::string& text, Child& child,
                  std::chrono::milliseconds timeout) {
    for (auto until = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < until;) {
        if (read_text(log).find(text) != std::string::npos) {
            return true;
        }
        if (!child.running()) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return read_text(log).find(text) != std::string::npos;
}

std::int64_t stored_confirmations(const fs::path& db_file) {
    try {
        SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        return db
            .execAndGet(
                "SELECT (SELECT count(*) FROM confirmations) + (SELECT count(*) "
                "FROM refused_confirmations)")
            .getInt64();
    } catch (const std::exception&) {
        return -1;
    }
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto at = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(at, values.size() - 1)];
}

}  // namespace loa::bench
