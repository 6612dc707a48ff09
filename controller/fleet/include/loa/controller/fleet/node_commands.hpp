// Commands to nodes (volume, amplifier, restart, send the log, emergencies): queued in the
// database, sent by the daemon until the node answers, and the answers kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <nlohmann/json_fwd.hpp>

#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// The most a node is asked to send of its log (SendLog.max_bytes).
inline constexpr std::uint32_t kMaxLogBytes = 1024 * 1024;

/// A command as stored, with the node's answer once it came.
struct CommandRecord {
    std::uint64_t command_id = 0;
    std::string node_id;
    std::int64_t issued_us = 0;
    /// "emergency", "cancel-emergency", "set-volume", "set-amplifier", "restart", "send-log"
    std::string kind;
    wire::Command command;  ///< as sent, command_id and issued_us included
    std::string emergency_id;
    std::optional<std::int64_t> expires_us;  ///< not sent at or after this
    /// "pending" (not answered yet), "done" (answered), "expired" (never sent in time),
    /// "cancelled" (withdrawn before the node answered)
    std::string state;
    std::optional<bool> ok;  ///< the node's answer
    std::string message;     ///< the node's, or the controller's for expired and cancelled
    std::string log_tail;    ///< send-log: the newest bytes of the node's log
    std::optional<std::int64_t> done_us;      ///< node's clock when it carried the command out
    std::optional<std::int64_t> answered_us;  ///< controller's clock when the answer arrived
};

/// The stored kind of a command's action; empty when it has none.
std::string command_kind(const wire::Command& command);

/// Queues `action` (a Command with one of set_volume, set_amplifier, restart or send_log set;
/// command_id and issued_us are filled in) for `node_id`. Refused with invalid_input and nothing
/// stored when the node does not exist, the action is missing or out of range (volume above 100,
/// a log of 0 bytes or more than kMaxLogBytes). Emergencies go through send_emergency.
Result<CommandRecord> queue_command(WriteTx& tx, const std::string& node_id, wire::Command action,
                                    std::int64_t now);

/// A pending command whose expiry passed before it was sent again.
struct ExpiredCommand {
    std::int64_t command_id = 0;
    std::int64_t expires_us = 0;
};

struct DueCommands {
    std::vector<wire::Command> due;       ///< pending, oldest first, to send
    std::vector<ExpiredCommand> expired;  ///< to mark expired (expire_commands), never sent
};

/// The node's pending commands at `now` (reads only: the node gateway asks on its loop).
Result<DueCommands> due_commands(SQLite::Database& db, const std::string& node_id,
                                 std::int64_t now);

/// Marks commands expired; they are never sent again.
Result<void> expire_commands(WriteTx& tx, const std::vector<ExpiredCommand>& expired);

/// Empty when a CommandResult can be stored; otherwise what is wrong with it.
std::string command_result_problem(const wire::CommandResult& result);

/// Stores the node's answer to one of its commands and commits. True when stored; false (nothing
/// changed) for a command it does not have, or one already answered: a result sent twice is
/// stored once. A result with a problem (command_result_problem) is refused with invalid_input.
Result<bool> record_command_result(WriteTx& tx, const std::string& node_id,
                                   const wire::CommandResult& result, std::int64_t now);

/// Commands, newest first; only those of `node_id` when given (not_found if no such node), only
/// pending ones with `pending_only`.
Result<std::vector<CommandRecord>> list_commands(SQLite::Database& db,
                                                 const std::string& node_id = {},
                                                 bool pending_only = false);

Result<CommandRecord> find_command(SQLite::Database& db, std::uint64_t command_id);

/// What a command asks, for people: "âm lượng 70 %" / "volume 70 %".
std::string command_summary(const wire::Command& command, Language language);

/// One row per command: id, node, issued, what, state, answer.
std::string render_commands(const std::vector<CommandRecord>& commands, Language language);

/// The commands as JSON objects (the log tail as text, invalid UTF-8 replaced).
nlohmann::json commands_json(const std::vector<CommandRecord>& commands);

}  // namespace loa::controller
