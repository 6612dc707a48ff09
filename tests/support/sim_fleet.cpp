// Controller-side support for tests driving virtual nodes: registration, keys, tokens, and the
// exactly-once check of their confirmations.
#include "sim_fleet.hpp"

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/fleet/node_registry.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/protocol/curve_keys.hpp"

namespace loa::test {

namespace fs = std::filesystem;

namespace {

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::unique_ptr<SQLite::Database> open_controller_database(const fs::path& controller_data) {
    fs::create_directories(controller_data);
    auto db = controller::open_database(controller_data / "controller.db");
    if (!db) {
        throw std::runtime_error(db.error().message);
    }
    return std::move(*db);
}

/// Registers the nodes and calls `each` for every one. The setup connection does not wait for
/// the disk at every node (a thousand nodes in about a second); the controller opens its own.
template <typename Each>
void register_nodes(const fs::path& controller_data, int count, const std::string& prefix,
                    const std::string& area, Each&& each) {
    auto db = open_controller_database(controller_data);
    db->exec("PRAGMA synchronous=OFF");
    for (int i = 1; i <= count; ++i) {
        controller::NodeRecord record;
        record.node_id = fmt::format("{}-{:04}", prefix, i);
        record.kind = "speaker";
        record.area_path = area;
        if (auto added = loa::controller::write_directly(*db,
                                                         [&](loa::controller::WriteTx& tx) {
                                                             return controller::add_node(tx, record,
                                                                                         now_us());
                                                         });
            !added) {
            throw std::runtime_error(added.error().message);
        }
        each(*db, record.node_id);
    }
}

}  // namespace

std::string controller_public_key(const fs::path& controller_data) {
    fs::create_directories(controller_data);
    auto keys = protocol::load_or_create_key_file(controller::controller_key_file(controller_data));
    if (!keys) {
        throw std::runtime_error(keys.error());
    }
    return keys->public_key;
}

std::vector<sim::NodeIdentity> register_virtual_nodes(const fs::path& controller_data, int count,
                                                      const std::string& prefix,
                                                      const std::string& area) {
    std::vector<sim::NodeIdentity> identities;
    register_nodes(controller_data, count, prefix, area,
                   [&](SQLite::Database& db, const std::string& node_id) {
                       auto keys = protocol::generate_curve_key_pair();
                       if (auto enrolled = loa::controller::write_directly(
                               db,
                               [&](loa::controller::WriteTx& tx) {
                                   return controller::enroll_key(tx, node_id, keys.public_key,
                                                                 now_us());
                               });
                           !enrolled) {
                           throw std::runtime_error(enrolled.error().message);
                       }
                       identities.push_back({node_id, keys});
                   });
    return identities;
}

std::vector<sim::EnrollmentTicket> issue_virtual_node_tokens(const fs::path& controller_data,
                                                             int count, const std::string& prefix,
                                                             const std::string& area) {
    const std::string key = controller_public_key(controller_data);
    std::vector<sim::EnrollmentTicket> tickets;
    register_nodes(
        controller_data, count, prefix, area,
        [&](SQLite::Database& db, const std::string& node_id) {
            auto issued = loa::controller::write_directly(db, [&](loa::controller::WriteTx& tx) {
                return controller::issue_enrollment_token(tx, node_id, key, "test", now_us(),
                                                          controller::kDefaultTokenLifetimeUs);
            });
            if (!issued) {
                throw std::runtime_error(issued.error().message);
            }
            tickets.push_back({node_id, issued->token});
        });
    return tickets;
}

ConfirmationCheck check_confirmations(const fs::path& controller_db,
                                      const std::vector<sim::NodeCounts>& nodes) {
    ConfirmationCheck check;
    SQLite::Database db(controller_db.string(), SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    SQLite::Statement stored(db, "SELECT seq, slot_id FROM confirmations WHERE node_id = ?");
    SQLite::Statement apart(db, "SELECT seq, reason FROM refused_confirmations WHERE node_id = ?");
    for (const auto& node : nodes) {
        auto problem = [&](const std::string& what) {
            check.problems.push_back(node.node_id + ": " + what);
        };
        check.produced += node.produced;
        std::map<std::uint64_t, std::string> held;  // seq → slot (or the reason kept apart)
        std::set<std::string> slots;
        stored.bind(1, node.node_id);
        while (stored.executeStep()) {
            const auto seq = static_cast<std::uint64_t>(stored.getColumn(0).getInt64());
            std::string slot = stored.getColumn(1).getString();
            ++check.stored;
            if (!slots.insert(slot).second) {
                problem(fmt::format("slot '{}' held twice", slot));
            }
            held.emplace(seq, std::move(slot));
        }
        stored.reset();
        apart.bind(1, node.node_id);
        while (apart.executeStep()) {
            const auto seq = static_cast<std::uint64_t>(apart.getColumn(0).getInt64());
            ++check.kept_apart;
            if (!held.emplace(seq, "").second) {
                problem(fmt::format("number {} both stored and kept apart", seq));
            }
        }
        apart.reset();
        // The node assigned 1..last_seq; the last `outbox` of them may not have arrived yet.
        for (const auto& [seq, slot] : held) {
            if (seq == 0 || seq > node.last_seq) {
                problem(fmt::format("number {} held, but the node assigned only up to {}", seq,
                                    node.last_seq));
            }
        }
        const std::uint64_t acked_through = node.last_seq - std::min(node.last_seq, node.outbox);
        for (std::uint64_t seq = 1; seq <= acked_through; ++seq) {
            if (!held.contains(seq)) {
                problem(fmt::format("number {} missing (of 1..{} acked)", seq, acked_through));
                break;
            }
        }
        for (const auto& produced : node.confirmations) {
            auto it = held.find(produced.seq);
            if (it != held.end() && !it->second.empty() && it->second != produced.slot_id) {
                problem(fmt::format("number {} holds slot '{}', the node confirmed '{}'",
                                    produced.seq, it->second, produced.slot_id));
            }
        }
    }
    return check;
}

}  // namespace loa::test
