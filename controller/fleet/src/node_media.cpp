// node_media: the last MediaStatus of every node, and the plays whose media is not there yet.
#include "loa/controller/fleet/node_media.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/common/text_table.hpp"
#include "loa/controller/common/time_text.hpp"
#include "loa/controller/store/database.hpp"
#include "loa/media/content_hash.hpp"

namespace loa::controller {

namespace {

constexpr int kMaxItems = 100'000;

Result<std::string> state_name(wire::MediaState state) {
    switch (state) {
        case wire::MEDIA_READY:
            return "ready";
        case wire::MEDIA_FETCHING:
            return "fetching";
        case wire::MEDIA_QUEUED:
            return "queued";
        case wire::MEDIA_UNAVAILABLE:
            return "unavailable";
        default:
            return fail(Error::Code::invalid_input,
                        fmt::format("unknown media state {}", static_cast<int>(state)));
    }
}

std::string state_text(const std::string& state, Language language) {
    if (language == Language::en) {
        return state == "unreported" ? "not reported" : state;
    }
    if (state == "fetching") {
        return "đang tải";
    }
    if (state == "queued") {
        return "chờ tải";
    }
    if (state == "unavailable") {
        return "máy chủ không có";  // the controller answered NOT_FOUND
    }
    return "chưa báo cáo";
}

}  // namespace

Result<void> check_media_status(const std::string& node_id, const wire::MediaStatus& status) {
    if (status.items_size() > kMaxItems) {
        return fail(Error::Code::invalid_input,
                    fmt::format("media status of node {}: {} items (at most {})", node_id,
                                status.items_size(), kMaxItems));
    }
    std::vector<std::string> states;
    for (int i = 0; i < status.items_size(); ++i) {
        const auto& item = status.items(i);
        if (!media::is_content_hash(item.media_hash())) {
            return fail(Error::Code::invalid_input,
                        fmt::format("media status of node {}, item {}: '{}' is not a content hash",
                                    node_id, i, item.media_hash()));
        }
        auto state = state_name(item.state());
        if (!state) {
            return fail(Error::Code::invalid_input,
                        fmt::format("media status of node {}, item {}: {}", node_id, i,
                                    state.error().message));
        }
        states.push_back(std::move(*state));
    }
    return {};
}

Result<void> record_media_status(WriteTx& tx, const std::string& node_id,
                                 const wire::MediaStatus& status, std::int64_t now) {
    SQLite::Database& db = tx.db();
    if (auto valid = check_media_status(node_id, status); !valid) {
        return valid;
    }
    return in_savepoint(tx, [&]() -> Result<void> {
        SQLite::Statement clear(db, "DELETE FROM node_media WHERE node_id = ?");
        clear.bind(1, node_id);
        clear.exec();
        SQLite::Statement insert(db,
                                 "INSERT OR REPLACE INTO node_media (node_id, media_hash, state, "
                                 "bytes_held, total_size, needed_at_us, reported_us) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (int i = 0; i < status.items_size(); ++i) {
            const auto& item = status.items(i);
            insert.bind(1, node_id);
            insert.bind(2, item.media_hash());
            insert.bind(3, *state_name(item.state()));
            insert.bind(4, static_cast<int64_t>(item.bytes_held()));
            insert.bind(5, static_cast<int64_t>(item.total_size()));
            insert.bind(6, static_cast<int64_t>(item.needed_at_us()));
            insert.bind(7, static_cast<int64_t>(now));
            insert.exec();
            insert.reset();
        }
        return {};
    });
}

Result<std::vector<MissingMedia>> missing_media(SQLite::Database& db, std::int64_t from_us,
                                                std::int64_t to_us, const std::string& node_id) {
    return guard_storage([&]() -> Result<std::vector<MissingMedia>> {
        SQLite::Statement q(
            db,
            "SELECT s.node_id, s.media_hash, coalesce(m.title, ''), min(s.start_us), count(*), "
            "coalesce(nm.state, 'unreported'), coalesce(nm.bytes_held, 0), "
            "coalesce(nullif(nm.total_size, 0), m.size_bytes, 0), coalesce(nm.reported_us, 0) "
            "FROM slots s "
            "LEFT JOIN node_media nm ON nm.node_id = s.node_id AND nm.media_hash = s.media_hash "
            "LEFT JOIN media m ON m.media_hash = s.media_hash "
            "WHERE s.start_us >= ? AND s.start_us < ? AND (? = '' OR s.node_id = ?) "
            "AND coalesce(nm.state, '') <> 'ready' "
            "GROUP BY s.node_id, s.media_hash ORDER BY s.node_id, min(s.start_us)");
        q.bind(1, static_cast<int64_t>(from_us));
        q.bind(2, static_cast<int64_t>(to_us));
        q.bind(3, node_id);
        q.bind(4, node_id);
        std::vector<MissingMedia> out;
        while (q.executeStep()) {
            MissingMedia m;
            m.node_id = q.getColumn(0).getString();
            m.media_hash = q.getColumn(1).getString();
            m.title = q.getColumn(2).getString();
            m.first_play_us = q.getColumn(3).getInt64();
            m.plays = q.getColumn(4).getInt();
            m.state = q.getColumn(5).getString();
            m.bytes_held = static_cast<std::uint64_t>(q.getColumn(6).getInt64());
            m.total_size = static_cast<std::uint64_t>(q.getColumn(7).getInt64());
            m.reported_us = q.getColumn(8).getInt64();
            out.push_back(std::move(m));
        }
        return out;
    });
}

std::string render_missing_media(const std::vector<MissingMedia>& missing, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header =
        vi ? std::vector<std::string>{"Nút",          "Nội dung",     "Mã",       "Trạng thái",
                                      "Phát lần đầu", "Đã có / tổng", "Lượt phát"}
           : std::vector<std::string>{"Node",       "Title",        "Hash", "State",
                                      "First play", "Held / total", "Plays"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : missing) {
        rows.push_back({m.node_id, m.title.empty() ? "-" : m.title, m.media_hash.substr(0, 12),
                        state_text(m.state, language), format_local(m.first_play_us),
                        detail::size_text(m.bytes_held) + " / " +
                            (m.total_size > 0 ? detail::size_text(m.total_size) : "?"),
                        std::to_string(m.plays)});
    }
    return detail::render_text_table(header, rows, 5);
}

}  // namespace loa::controller
