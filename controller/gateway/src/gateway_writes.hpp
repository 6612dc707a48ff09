// What one poll round of the node gateway asks the writer to store, stored in one change, and the
// outcome of each part, which the gateway's thread turns into acks once the change committed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loa/controller/audit/clock_offsets.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/fleet/node_commands.hpp"
#include "loa/controller/fleet/node_enrollment.hpp"
#include "loa/controller/people/action_log.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

class GatewayWrites {
  public:
    struct Report {
        std::string routing_id;
        std::string node_id;
        wire::Envelope envelope;
        Result<std::vector<std::uint64_t>> acked = std::unexpected(Error{});  ///< after store()
    };
    struct CommandResult {
        std::string routing_id;
        std::string node_id;
        wire::Envelope envelope;
        std::int64_t received_us = 0;
        Result<bool> stored = std::unexpected(Error{});
    };
    struct Enrollment {
        std::string routing_id;
        std::string public_key;
        wire::Envelope envelope;
        std::int64_t received_us = 0;
        Result<EnrolledNode> enrolled = std::unexpected(Error{});
    };
    struct Heartbeat {
        wire::Heartbeat heartbeat;
        std::int64_t received_us = 0;
    };
    struct Seen {
        std::int64_t at_us = 0;
        std::string agent_version;
    };

    std::vector<Report> reports;
    std::vector<CommandResult> command_results;
    std::vector<Enrollment> enrollments;
    std::map<std::string, Heartbeat> heartbeats;         ///< node → its latest in the round
    std::map<std::string, Seen> hellos;                  ///< node → when it said hello
    std::map<std::string, std::string> schedule_acks;    ///< node → the timeline it stored
    std::map<std::string, wire::MediaStatus> media;      ///< node → its latest media status
    std::map<std::string, std::int64_t> media_received;  ///< … and when it came
    std::vector<LoggedAction> actions;                   ///< refusals and enrollments, logged
    std::vector<ClockSample> clock_samples;              ///< nodes' offsets to log
    std::vector<ExpiredCommand> expired_commands;
    /// The commit's own error (then nothing of it is stored); empty when it committed.
    std::optional<Error> commit_error;

    bool empty() const {
        return reports.empty() && command_results.empty() && enrollments.empty() &&
               heartbeats.empty() && hellos.empty() && schedule_acks.empty() && media.empty() &&
               actions.empty() && expired_commands.empty() && clock_samples.empty();
    }

    /// The highest confirmation number among the reports of `node_id` held here.
    std::uint64_t highest_seq(const std::string& node_id) const;

    /// Stores everything, recording each part's outcome. A part refused (an unknown node, a bad
    /// result) changes nothing and does not stop the others; only a storage failure fails the
    /// whole change (then nothing is stored and nothing will be acked).
    Result<void> store(WriteTx& tx, std::int64_t now);
};

}  // namespace loa::controller
