// What media each node holds, from its MediaStatus reports, and what it still misses for the
// plays booked on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/common/error.hpp"
#include "loa/controller/common/language.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/protocol/loa.pb.h"

namespace loa::controller {

/// What is wrong with a MEDIA-STATUS (too many items, a bad hash, an unknown state); nothing.
Result<void> check_media_status(const std::string& node_id, const wire::MediaStatus& status);

/// Replaces what the controller knows of `node_id`'s media with `status`. A report naming
/// something that is not a content hash or a state is refused whole and nothing changes.
Result<void> record_media_status(WriteTx& tx, const std::string& node_id,
                                 const wire::MediaStatus& status, std::int64_t now);

/// One media file a node needs for plays in a period and does not report ready.
struct MissingMedia {
    std::string node_id;
    std::string media_hash;
    std::string title;
    std::int64_t first_play_us = 0;  ///< the earliest play in the period that needs it
    int plays = 0;                   ///< plays in the period that need it
    std::string state;  ///< "fetching", "queued", "unavailable" or "unreported" (no report yet)
    std::uint64_t bytes_held = 0;
    std::uint64_t total_size = 0;
    std::int64_t reported_us = 0;  ///< when the node last said so; 0 if never
};

/// Per node, soonest first: media for plays booked in [from_us, to_us) that the node has not
/// reported ready. `node_id` empty means every node.
Result<std::vector<MissingMedia>> missing_media(SQLite::Database& db, std::int64_t from_us,
                                                std::int64_t to_us,
                                                const std::string& node_id = {});

/// A table for operators, one row per node and file as missing_media gives them: node, title,
/// hash, state, first play (UTC+7), bytes held / total, plays. Diacritics line up.
std::string render_missing_media(const std::vector<MissingMedia>& missing, Language language);

}  // namespace loa::controller
