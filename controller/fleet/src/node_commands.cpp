// node_commands: the queue of commands to nodes and their answers.
#include "loa/controller/fleet/node_commands.hpp"

#include <algorithm>
#include <limits>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "command_queue.hpp"
#include "loa/controller/common/fleet_text.hpp"
#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/controller/store/node_errors.hpp"

namespace loa::controller {

namespace {

constexpr const char* kSelectCommand =
    "SELECT command_id, node_id, issued_us, kind, command, coalesce(emergency_id, ''), "
    "expires_us, state, ok, coalesce(message, ''), log_tail, done_us, result_received_us "
    "FROM commands";

std::optional<std::int64_t> optional_int(SQLite::Statement& q, int column) {
    if (q.getColumn(column).isNull()) {
        return std::nullopt;
    }
    return q.getColumn(column).getInt64();
}

std::string blob(SQLite::Statement& q, int column) {
    const auto c = q.getColumn(column);
    return c.isNull() ? std::string()
                      : std::string(static_cast<const char*>(c.getBlob()),
                                    static_cast<std::size_t>(c.getBytes()));
}

CommandRecord read_command(SQLite::Statement& q) {
    CommandRecord r;
    r.command_id = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    r.node_id = q.getColumn(1).getString();
    r.issued_us = q.getColumn(2).getInt64();
    r.kind = q.getColumn(3).getString();
    r.command.ParseFromString(blob(q, 4));  // written by this library: always decodes
    r.emergency_id = q.getColumn(5).getString();
    r.expires_us = optional_int(q, 6);
    r.state = q.getColumn(7).getString();
    if (!q.getColumn(8).isNull()) {
        r.ok = q.getColumn(8).getInt() != 0;
    }
    r.message = q.getColumn(9).getString();
    r.log_tail = blob(q, 10);
    r.done_us = optional_int(q, 11);
    r.answered_us = optional_int(q, 12);
    return r;
}

std::string state_text(const std::string& state, Language language) {
    if (language == Language::en) {
        return state;
    }
    if (state == "pending") {
        return "chờ trả lời";
    }
    if (state == "done") {
        return "đã xong";
    }
    if (state == "expired") {
        return "hết hạn";
    }
    return "đã huỷ";
}

}  // namespace

namespace detail {

std::uint64_t insert_command(SQLite::Database& db, const std::string& node_id,
                             wire::Command& command, std::int64_t now,
                             const std::string& emergency_id,
                             std::optional<std::int64_t> expires_us) {
    SQLite::Statement insert(db,
                             "INSERT INTO commands (node_id, issued_us, kind, command, "
                             "emergency_id, expires_us, state) VALUES (?, ?, ?, x'', ?, ?, "
                             "'pending')");
    insert.bind(1, node_id);
    insert.bind(2, static_cast<int64_t>(now));
    insert.bind(3, command_kind(command));
    if (!emergency_id.empty()) {
        insert.bind(4, emergency_id);
    }
    if (expires_us) {
        insert.bind(5, static_cast<int64_t>(*expires_us));
    }
    insert.exec();
    const auto id = static_cast<std::uint64_t>(db.getLastInsertRowid());
    command.set_command_id(id);
    command.set_issued_us(now);
    const std::string bytes = command.SerializeAsString();
    SQLite::Statement store(db, "UPDATE commands SET command = ? WHERE command_id = ?");
    store.bind(1, bytes.data(), static_cast<int>(bytes.size()));
    store.bind(2, static_cast<int64_t>(id));
    store.exec();
    return id;
}

}  // namespace detail

std::string command_kind(const wire::Command& command) {
    switch (command.action_case()) {
        case wire::Command::kEmergency:
            return "emergency";
        case wire::Command::kCancelEmergency:
            return "cancel-emergency";
        case wire::Command::kSetVolume:
            return "set-volume";
        case wire::Command::kSetAmplifier:
            return "set-amplifier";
        case wire::Command::kRestart:
            return "restart";
        case wire::Command::kSendLog:
            return "send-log";
        default:
            return {};
    }
}

Result<CommandRecord> queue_command(WriteTx& tx, const std::string& node_id, wire::Command action,
                                    std::int64_t now) {
    SQLite::Database& db = tx.db();
    auto invalid = [&](const std::string& why) {
        return fail(Error::Code::invalid_input,
                    fmt::format("command for node '{}': {}", node_id, why));
    };
    switch (action.action_case()) {
        case wire::Command::kSetVolume:
            if (action.set_volume().percent() > 100) {
                return invalid(
                    fmt::format("volume {} % is not within 0..100", action.set_volume().percent()));
            }
            break;
        case wire::Command::kSendLog:
            if (action.send_log().max_bytes() == 0 ||
                action.send_log().max_bytes() > kMaxLogBytes) {
                return invalid(fmt::format("a log of {} bytes: ask for 1 to {} (1 MiB)",
                                           action.send_log().max_bytes(), kMaxLogBytes));
            }
            break;
        case wire::Command::kSetAmplifier:
        case wire::Command::kRestart:
            break;
        case wire::Command::kEmergency:
        case wire::Command::kCancelEmergency:
            return invalid("emergencies are sent and cancelled as emergencies, not as commands");
        default:
            return invalid("the command has no action");
    }
    return in_savepoint(tx, [&]() -> Result<CommandRecord> {
        SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
        exists.bind(1, node_id);
        if (!exists.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("no node '{}' (see loactl node list)", node_id));
        }
        CommandRecord r;
        r.command_id = detail::insert_command(db, node_id, action, now);
        r.node_id = node_id;
        r.issued_us = now;
        r.kind = command_kind(action);
        r.command = std::move(action);
        r.state = "pending";
        return r;
    });
}

Result<DueCommands> due_commands(SQLite::Database& db, const std::string& node_id,
                                 std::int64_t now) {
    return guard_storage([&]() -> Result<DueCommands> {
        SQLite::Statement q(db,
                            "SELECT command_id, command, expires_us FROM commands "
                            "WHERE node_id = ? AND state = 'pending' ORDER BY command_id");
        q.bind(1, node_id);
        // An emergency still unanswered may have played on the node already (its result lost,
        // then the store wiped): the node is told how far it got, so that a new store numbers
        // its plays on and plays only what is left, instead of airing again under numbers that
        // are taken. A range of the (node_id, slot_id) key: emergency:<id>: up to emergency:<id>;
        SQLite::Statement confirmed(
            db,
            "SELECT max(CAST(substr(slot_id, length(?2) + 1) AS INTEGER)) FROM confirmations "
            "WHERE node_id = ?1 AND slot_id > ?2 AND slot_id < ?3");
        DueCommands out;
        while (q.executeStep()) {
            const std::int64_t id = q.getColumn(0).getInt64();
            if (!q.getColumn(2).isNull() && q.getColumn(2).getInt64() <= now) {
                out.expired.push_back({id, q.getColumn(2).getInt64()});
                continue;
            }
            wire::Command command;
            const auto c = q.getColumn(1);
            command.ParseFromArray(c.getBlob(), c.getBytes());
            if (command.has_emergency()) {
                const std::string prefix = "emergency:" + command.emergency().emergency_id() + ":";
                confirmed.bind(1, node_id);
                confirmed.bind(2, prefix);
                confirmed.bind(3, prefix.substr(0, prefix.size() - 1) + ";");
                if (confirmed.executeStep() && !confirmed.getColumn(0).isNull()) {
                    command.mutable_emergency()->set_plays_confirmed(
                        static_cast<std::uint32_t>(confirmed.getColumn(0).getInt64()));
                }
                confirmed.reset();
            }
            out.due.push_back(std::move(command));
        }
        return out;
    });
}

Result<void> expire_commands(WriteTx& tx, const std::vector<ExpiredCommand>& expired) {
    SQLite::Statement expire(
        tx.db(),
        "UPDATE commands SET state = 'expired', message = ? WHERE command_id = ? AND "
        "state = 'pending'");
    for (const auto& e : expired) {
        expire.bind(1, fmt::format("expired at {} before the node answered; not sent again",
                                   format_local(e.expires_us)));
        expire.bind(2, static_cast<int64_t>(e.command_id));
        expire.exec();
        expire.reset();
    }
    return {};
}

std::string command_result_problem(const wire::CommandResult& result) {
    if (result.command_id() == 0) {
        return "command id 0 (they start at 1)";
    }
    if (result.message().size() > 4096) {
        return "a message longer than 4096 bytes";
    }
    if (result.log_tail().size() > kMaxLogBytes) {
        return fmt::format("a log tail of {} bytes (at most {})", result.log_tail().size(),
                           kMaxLogBytes);
    }
    return {};
}

Result<bool> record_command_result(WriteTx& tx, const std::string& node_id,
                                   const wire::CommandResult& result, std::int64_t now) {
    SQLite::Database& db = tx.db();
    if (auto why = command_result_problem(result); !why.empty()) {
        return fail(Error::Code::invalid_input,
                    fmt::format("result of node '{}' for command {}: {}", node_id,
                                result.command_id(), why));
    }
    return in_savepoint(tx, [&]() -> Result<bool> {
        // A command that was cancelled or expired while the node carried it out still gets the
        // node's answer: it says what happened.
        SQLite::Statement q(db,
                            "UPDATE commands SET state = 'done', ok = ?, message = ?, "
                            "log_tail = ?, done_us = ?, result_received_us = ? "
                            "WHERE command_id = ? AND node_id = ? AND result_received_us IS NULL");
        q.bind(1, result.ok() ? 1 : 0);
        q.bind(2, result.message());
        if (!result.log_tail().empty()) {
            q.bind(3, result.log_tail().data(), static_cast<int>(result.log_tail().size()));
        }
        if (result.done_us() > 0) {
            q.bind(4, static_cast<int64_t>(result.done_us()));
        }
        q.bind(5, static_cast<int64_t>(now));
        q.bind(6, static_cast<int64_t>(std::min<std::uint64_t>(
                      result.command_id(), std::numeric_limits<std::int64_t>::max())));
        q.bind(7, node_id);
        const bool recorded = q.exec() == 1;
        if (recorded && !result.ok()) {
            SQLite::Statement kind(db, "SELECT kind FROM commands WHERE command_id = ?");
            kind.bind(1, static_cast<int64_t>(result.command_id()));
            const std::string what = kind.executeStep() ? fmt::format("{} {}", result.command_id(),
                                                                      kind.getColumn(0).getString())
                                                        : std::to_string(result.command_id());
            NodeErrors(tx).record(node_id, "command", now, what, result.message());
        }
        return recorded;
    });
}

Result<std::vector<CommandRecord>> list_commands(SQLite::Database& db, const std::string& node_id,
                                                 bool pending_only) {
    return guard_storage([&]() -> Result<std::vector<CommandRecord>> {
        if (!node_id.empty()) {
            SQLite::Statement exists(db, "SELECT 1 FROM nodes WHERE node_id = ?");
            exists.bind(1, node_id);
            if (!exists.executeStep()) {
                return fail(Error::Code::not_found,
                            fmt::format("no node '{}' (see loactl node list)", node_id));
            }
        }
        SQLite::Statement q(db, std::string(kSelectCommand) +
                                    " WHERE (? = '' OR node_id = ?) AND (? = 0 OR state = "
                                    "'pending') ORDER BY command_id DESC");
        q.bind(1, node_id);
        q.bind(2, node_id);
        q.bind(3, pending_only ? 1 : 0);
        std::vector<CommandRecord> out;
        while (q.executeStep()) {
            out.push_back(read_command(q));
        }
        return out;
    });
}

Result<CommandRecord> find_command(SQLite::Database& db, std::uint64_t command_id) {
    return guard_storage([&]() -> Result<CommandRecord> {
        SQLite::Statement q(db, std::string(kSelectCommand) + " WHERE command_id = ?");
        q.bind(1, static_cast<int64_t>(std::min<std::uint64_t>(
                      command_id, std::numeric_limits<std::int64_t>::max())));
        if (!q.executeStep()) {
            return fail(Error::Code::not_found, fmt::format("no command {}", command_id));
        }
        return read_command(q);
    });
}

std::string command_summary(const wire::Command& command, Language language) {
    const bool vi = language == Language::vi;
    switch (command.action_case()) {
        case wire::Command::kEmergency:
            return fmt::format(fmt::runtime(vi ? "khẩn cấp {}" : "emergency {}"),
                               command.emergency().emergency_id());
        case wire::Command::kCancelEmergency:
            return fmt::format(fmt::runtime(vi ? "huỷ khẩn cấp {}" : "cancel emergency {}"),
                               command.cancel_emergency().emergency_id());
        case wire::Command::kSetVolume:
            return fmt::format(fmt::runtime(vi ? "âm lượng {} %" : "volume {} %"),
                               command.set_volume().percent());
        case wire::Command::kSetAmplifier:
            return command.set_amplifier().on() ? (vi ? "bật ampli" : "amplifier on")
                                                : (vi ? "tắt ampli" : "amplifier off");
        case wire::Command::kRestart:
            return vi ? "khởi động lại" : "restart";
        case wire::Command::kSendLog:
            return fmt::format(
                fmt::runtime(vi ? "gửi nhật ký ({} byte cuối)" : "send the log (last {} bytes)"),
                command.send_log().max_bytes());
        default:
            return "?";
    }
}

std::string render_commands(const std::vector<CommandRecord>& commands, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Mã", "Nút", "Ra lệnh lúc", "Lệnh", "Trạng thái", "Kết quả"}
           : std::vector<std::string>{"Id", "Node", "Issued", "Command", "State", "Result"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : commands) {
        std::string answer = c.message.empty() ? "-" : detail::utf8_text(c.message);
        if (c.ok) {
            answer = (*c.ok ? "OK" : (vi ? "KHÔNG ĐƯỢC" : "FAILED")) +
                     (c.message.empty() ? "" : ": " + answer);
        }
        if (!c.log_tail.empty()) {
            answer += fmt::format(fmt::runtime(vi ? " ({} byte nhật ký)" : " ({} bytes of log)"),
                                  c.log_tail.size());
        }
        rows.push_back({std::to_string(c.command_id), c.node_id, detail::short_local(c.issued_us),
                        command_summary(c.command, language), state_text(c.state, language),
                        answer});
    }
    return detail::render_text_table(header, rows,
                                     std::vector<bool>{true, false, false, false, false, false});
}

nlohmann::json commands_json(const std::vector<CommandRecord>& commands) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : commands) {
        auto optional_time = [](const std::optional<std::int64_t>& t) -> nlohmann::json {
            return t ? nlohmann::json(format_local(*t)) : nlohmann::json(nullptr);
        };
        out.push_back({{"command_id", c.command_id},
                       {"node", c.node_id},
                       {"issued", format_local(c.issued_us)},
                       {"kind", c.kind},
                       {"summary", command_summary(c.command, Language::en)},
                       {"emergency_id", c.emergency_id},
                       {"expires", optional_time(c.expires_us)},
                       {"state", c.state},
                       {"ok", c.ok ? nlohmann::json(*c.ok) : nlohmann::json(nullptr)},
                       {"message", detail::utf8_text(c.message)},
                       {"log_tail", detail::utf8_text(c.log_tail)},
                       {"done", optional_time(c.done_us)},
                       {"answered", optional_time(c.answered_us)}});
    }
    return out;
}

}  // namespace loa::controller
