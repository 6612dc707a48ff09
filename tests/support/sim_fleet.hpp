// Virtual nodes on the controller's side, for tests driving loa_sim: nodes registered straight in
// the controller's database with their keys or one-time tokens, and the check that every
// confirmation a virtual node produced is stored exactly once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "loa/sim/simulator.hpp"

namespace loa::test {

/// The controller's CURVE public key in its data directory (the key file is made if needed).
std::string controller_public_key(const std::filesystem::path& controller_data);

/// Registers `count` speaker nodes `<prefix>-0001`… in `area` in the database of the controller
/// data directory (the test owns it: the controller need not run), each with a fresh key pair
/// written straight into its keys (`node_keys`): virtual nodes connect with them at once,
/// without an enrollment round trip.
std::vector<sim::NodeIdentity> register_virtual_nodes(const std::filesystem::path& controller_data,
                                                      int count, const std::string& prefix,
                                                      const std::string& area);

/// Registers the nodes the same way and issues each a one-time enrollment token, as
/// `loactl node enroll` does: virtual nodes enroll through the enrollment endpoint
/// (sim::enroll_nodes), each with a key of its own.
std::vector<sim::EnrollmentTicket> issue_virtual_node_tokens(
    const std::filesystem::path& controller_data, int count, const std::string& prefix,
    const std::string& area);

/// What the controller's database holds of the virtual nodes' confirmations.
struct ConfirmationCheck {
    std::uint64_t produced = 0;    ///< by the nodes
    std::uint64_t stored = 0;      ///< rows in `confirmations`
    std::uint64_t kept_apart = 0;  ///< rows in `refused_confirmations`
    /// "<node>: <what is wrong>", one per node and problem: a number produced but held in
    /// neither table, a number held that the node never assigned, a slot held twice, a number
    /// naming another slot than the node confirmed under it.
    std::vector<std::string> problems;
};

/// Reads the controller's database (read-only; the controller may be running) and checks each
/// node's confirmations against what it produced: numbers 1..last_seq each held once, in
/// `confirmations` or kept apart with a reason, each slot once; with keep_confirmations, each
/// number naming the slot the node confirmed. Confirmations still in a node's outbox may be
/// missing; everything acked must be there.
ConfirmationCheck check_confirmations(const std::filesystem::path& controller_db,
                                      const std::vector<sim::NodeCounts>& nodes);

}  // namespace loa::test
