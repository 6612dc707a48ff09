// Virtual nodes' identities: enrolled through the controller's enrollment endpoint with one-time
// tokens (the node library's enroll_device), or read from the files a test or operator wrote.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "loa/node/enrollment.hpp"
#include "loa/node/node_agent.hpp"
#include "loa/sim/simulator.hpp"

namespace loa::sim {

namespace {

constexpr int kAttempts = 8;
constexpr auto kEnrollTimeout = std::chrono::seconds(30);

/// The lines of a file that say something: blank lines and # comments are skipped. Each comes
/// with its number, for errors.
std::expected<std::vector<std::pair<int, std::vector<std::string>>>, std::string> words_by_line(
    const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        return std::unexpected(file.string() + ": cannot read");
    }
    std::vector<std::pair<int, std::vector<std::string>>> lines;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string word; words >> word;) {
            w.push_back(word);
        }
        if (!w.empty() && !w.front().starts_with('#')) {
            lines.emplace_back(number, std::move(w));
        }
    }
    return lines;
}

/// A node enrolled before (node.conf and node.key in its directory), as the agent would read it.
std::optional<NodeIdentity> already_enrolled(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(node::node_config_file(dir), ec)) {
        return std::nullopt;
    }
    auto config = node::read_node_config(node::node_config_file(dir));
    auto keys = protocol::read_key_file(node::node_key_file(dir));
    if (!config || !keys) {
        return std::nullopt;
    }
    return NodeIdentity{config->node_id, *keys};
}

}  // namespace

std::expected<std::vector<EnrollmentTicket>, std::string> read_tickets(
    const std::filesystem::path& file) {
    auto lines = words_by_line(file);
    if (!lines) {
        return std::unexpected(lines.error());
    }
    std::vector<EnrollmentTicket> tickets;
    for (auto& [number, w] : *lines) {
        if (w.size() != 2 || !w[1].starts_with("loa1.")) {
            return std::unexpected(
                fmt::format("{}:{}: expected '<node id> <token loa1.…>'", file.string(), number));
        }
        tickets.push_back({w[0], w[1]});
    }
    return tickets;
}

std::expected<std::vector<NodeIdentity>, std::string> read_identities(
    const std::filesystem::path& file) {
    auto lines = words_by_line(file);
    if (!lines) {
        return std::unexpected(lines.error());
    }
    std::vector<NodeIdentity> identities;
    for (auto& [number, w] : *lines) {
        if (w.size() != 3 || !protocol::is_z85_key(w[1]) || !protocol::is_z85_key(w[2])) {
            return std::unexpected(fmt::format(
                "{}:{}: expected '<node id> <public key> <secret key>' (Z85, 40 characters each)",
                file.string(), number));
        }
        identities.push_back({w[0], {w[1], w[2]}});
    }
    return identities;
}

std::expected<void, std::string> write_identities(const std::filesystem::path& file,
                                                  const std::vector<NodeIdentity>& identities) {
    std::ofstream out(file, std::ios::trunc);
    out << "# loa-sim identities: <node id> <public key> <secret key> (Z85); keep it secret\n";
    for (const auto& id : identities) {
        out << id.node_id << ' ' << id.keys.public_key << ' ' << id.keys.secret_key << '\n';
    }
    out.flush();
    if (!out) {
        return std::unexpected(file.string() + ": cannot write");
    }
    std::filesystem::permissions(
        file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return {};
}

EnrollResult enroll_nodes(const std::vector<EnrollmentTicket>& tickets,
                          const std::string& enroll_endpoint,
                          const std::filesystem::path& data_root, int parallel, double per_second) {
    std::vector<std::optional<NodeIdentity>> enrolled(tickets.size());
    std::vector<std::string> failures(tickets.size());
    std::atomic<std::size_t> next{0};
    // Starts are spaced 1/per_second apart across the workers: the controller serves a few
    // dozen enrollments a second and refuses the rest for a while.
    std::mutex pace_mutex;
    auto next_start = std::chrono::steady_clock::now();
    const auto spacing = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(1.0 / std::max(per_second, 0.1)));
    auto pace = [&] {
        std::chrono::steady_clock::time_point at;
        {
            std::lock_guard lock(pace_mutex);
            at = std::max(next_start, std::chrono::steady_clock::now());
            next_start = at + spacing;
        }
        std::this_thread::sleep_until(at);
    };
    auto work = [&] {
        for (std::size_t i = next++; i < tickets.size(); i = next++) {
            const auto& ticket = tickets[i];
            const auto dir = data_root / ticket.node_id;
            if (auto known = already_enrolled(dir)) {
                enrolled[i] = std::move(known);
                continue;
            }
            for (int attempt = 1; attempt <= kAttempts; ++attempt) {
                pace();
                node::EnrollRequest request;
                request.endpoint = enroll_endpoint;
                request.token = ticket.token;
                request.data_dir = dir;
                request.timeout = std::chrono::duration_cast<std::chrono::seconds>(kEnrollTimeout);
                request.agent_version = std::string(node::kAgentVersion) + "+loa-sim";
                auto config = node::enroll_device(request);
                if (config) {
                    auto keys = protocol::read_key_file(node::node_key_file(dir));
                    if (!keys) {
                        failures[i] = ticket.node_id + ": " + keys.error();
                    } else {
                        if (config->node_id != ticket.node_id) {
                            spdlog::warn("token of {} enrolled node {}", ticket.node_id,
                                         config->node_id);
                        }
                        enrolled[i] = NodeIdentity{config->node_id, *keys};
                    }
                    break;
                }
                failures[i] = ticket.node_id + ": " + config.error();
                // Refused for rate: the token is still good; anything else will not change.
                if (config.error().find("too many") == std::string::npos) {
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
            }
        }
    };
    std::vector<std::thread> workers;
    const int n = std::clamp(parallel, 1, 64);
    for (int w = 0; w < n; ++w) {
        workers.emplace_back([&] {
            try {
                work();
            } catch (const std::exception& e) {
                spdlog::error("enrollment worker: {}", e.what());
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    EnrollResult result;
    for (std::size_t i = 0; i < tickets.size(); ++i) {
        if (enrolled[i]) {
            result.enrolled.push_back(std::move(*enrolled[i]));
        } else {
            result.failures.push_back(failures[i].empty() ? tickets[i].node_id + ": not enrolled"
                                                          : failures[i]);
        }
    }
    return result;
}

}  // namespace loa::sim
