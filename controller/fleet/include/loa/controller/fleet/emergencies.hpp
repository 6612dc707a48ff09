// Emergencies (Circular 39 "khẩn cấp"): one media file played at once on the targeted nodes,
// pre-empting their schedule, as one Emergency command per node; cancelled the same way.
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

namespace loa::controller {

/// What an operator asks for. Exactly one of `node_ids`, `area` and `all` chooses the nodes.
struct EmergencySpec {
    std::string media_hash;
    std::vector<std::string> node_ids;  ///< these nodes; each must be able to play the media
    std::string area;             ///< every node at or below this area that can play the media
    bool all = false;             ///< every node that can play the media
    std::uint32_t repeat = 1;     ///< plays, at least 1
    bool until_expiry = false;    ///< play again and again until it expires
    std::int64_t expires_us = 0;  ///< no play starts at or after this; must lie ahead
    std::string title;            ///< "" : the media's title
    std::string campaign_id;      ///< optional: its plays count as this campaign's airtime
    std::string created_by;       ///< optional: who sent it
};

struct EmergencySent {
    std::string emergency_id;  ///< e.g. "kc-20261124-053000"
    std::vector<std::string> node_ids;
    std::vector<std::uint64_t> command_ids;  ///< one per node, in the order of node_ids
    /// --area / --all: nodes of the other kind, which cannot play this media, left out.
    std::vector<std::string> left_out;
};

/// Checks the spec and stores the emergency with one Emergency command per targeted node, in one
/// transaction; the daemon sends them at once. Refused with invalid_input (nothing stored) for an
/// unknown node, media or campaign, media a targeted node cannot play (audio is for loudspeakers,
/// images and video for panel boards), an expiry not ahead of `now`, `repeat` 0 without
/// until_expiry, or no node chosen.
Result<EmergencySent> send_emergency(WriteTx& tx, const EmergencySpec& spec, std::int64_t now);

struct EmergencyCancelled {
    std::string emergency_id;
    std::vector<std::string> node_ids;       ///< sent CancelEmergency
    std::vector<std::uint64_t> command_ids;  ///< the CancelEmergency commands
    std::size_t withdrawn = 0;  ///< Emergency commands still unanswered, now marked cancelled
};

/// Queues CancelEmergency for every node the emergency was sent to and marks its unanswered
/// Emergency commands cancelled. Refused (nothing changed) for an unknown emergency, one already
/// cancelled, or one already expired.
Result<EmergencyCancelled> cancel_emergency(WriteTx& tx, const std::string& emergency_id,
                                            std::int64_t now);

struct EmergencyRecord {
    std::string emergency_id;
    std::int64_t created_us = 0;
    std::string media_hash;
    std::string title;
    std::string campaign_id;
    std::uint32_t repeat = 1;
    bool until_expiry = false;
    std::int64_t expires_us = 0;
    std::string created_by;
    std::optional<std::int64_t> cancelled_us;
    int nodes = 0;        ///< Emergency commands, one per node
    int done_ok = 0;      ///< answered: carried out
    int done_failed = 0;  ///< answered: could not (the message says why)
    int pending = 0;
    int expired = 0;
    int cancelled = 0;
};

/// Every emergency, newest first.
Result<std::vector<EmergencyRecord>> list_emergencies(SQLite::Database& db);

/// One row per emergency: id, created, title, plays, expiry, and how its nodes answered.
std::string render_emergencies(const std::vector<EmergencyRecord>& emergencies, std::int64_t now,
                               Language language);

nlohmann::json emergencies_json(const std::vector<EmergencyRecord>& emergencies);

/// How one node answered an emergency: its Emergency command and, once the emergency was
/// cancelled, its CancelEmergency command.
struct EmergencyNodeAnswer {
    std::string node_id;
    std::string area_path;
    std::uint64_t command_id = 0;
    /// The Emergency command: "pending" (not answered yet), "done" (answered), "expired" (never
    /// sent in time), "cancelled" (withdrawn before the node answered).
    std::string state;
    std::optional<bool> ok;                   ///< the node's answer
    std::string message;                      ///< the node's, or the controller's
    std::optional<std::int64_t> done_us;      ///< node's clock when it carried it out
    std::optional<std::int64_t> answered_us;  ///< controller's clock when the answer came
    std::string cancel_state;                 ///< the CancelEmergency's; "" when none was sent
    std::optional<bool> cancel_ok;
    std::string cancel_message;
};

/// One row per node the emergency was sent to, in node order; not_found for an unknown one.
Result<std::vector<EmergencyNodeAnswer>> emergency_answers(SQLite::Database& db,
                                                           const std::string& emergency_id);

/// One row per node: node, area, state, the node's answer and when, the cancel's state.
std::string render_emergency_answers(const std::vector<EmergencyNodeAnswer>& answers,
                                     Language language);

nlohmann::json emergency_answers_json(const std::vector<EmergencyNodeAnswer>& answers);

}  // namespace loa::controller
