// Sequence gaps: the confirmation numbers received per node, what lies between them, and what the
// node has numbered but not sent yet.
#include "loa/controller/fleet/sequence_gaps.hpp"

#include <map>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "loa/controller/common/text_table.hpp"
#include "loa/controller/store/database.hpp"

namespace loa::controller {

namespace {

/// Ranges shown in a table cell; the rest are counted.
constexpr std::size_t kRangesShown = 6;

std::string range_text(const SeqRange& r) {
    return r.first == r.last ? std::to_string(r.first) : fmt::format("{}–{}", r.first, r.last);
}

/// Adds `seq` (ascending) to `ranges`, joining it to the last range when it follows it.
void add_to_ranges(std::vector<SeqRange>& ranges, std::uint64_t seq) {
    if (!ranges.empty() && ranges.back().last + 1 == seq) {
        ranges.back().last = seq;
    } else {
        ranges.push_back({seq, seq});
    }
}

/// The first ranges, then how many more, then how many numbers in all.
std::string ranges_text(const std::vector<SeqRange>& ranges, std::uint64_t count, bool vi) {
    if (ranges.empty()) {
        return "-";
    }
    std::string out;
    for (std::size_t i = 0; i < ranges.size() && i < kRangesShown; ++i) {
        out += (i ? ", " : "") + range_text(ranges[i]);
    }
    if (ranges.size() > kRangesShown) {
        out += fmt::format(fmt::runtime(vi ? " … và {} khoảng nữa" : " … and {} more"),
                           ranges.size() - kRangesShown);
    }
    return out + fmt::format(fmt::runtime(vi ? " ({} số)" : " ({} numbers)"), count);
}

nlohmann::json ranges_json(const std::vector<SeqRange>& ranges) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : ranges) {
        out.push_back({{"first", r.first}, {"last", r.last}});
    }
    return out;
}

}  // namespace

Result<std::vector<SequenceGaps>> sequence_gaps(SQLite::Database& db, const std::string& node_id) {
    return guard_storage([&]() -> Result<std::vector<SequenceGaps>> {
        std::map<std::string, SequenceGaps> by_node;
        SQLite::Statement nodes(
            db,
            "SELECT n.node_id, s.last_seq FROM nodes n LEFT JOIN node_status s USING (node_id) "
            "WHERE ? = '' OR n.node_id = ?");
        nodes.bind(1, node_id);
        nodes.bind(2, node_id);
        while (nodes.executeStep()) {
            auto& g = by_node[nodes.getColumn(0).getString()];
            g.node_id = nodes.getColumn(0).getString();
            if (!nodes.getColumn(1).isNull()) {
                g.last_seq = static_cast<std::uint64_t>(nodes.getColumn(1).getInt64());
            }
        }
        if (by_node.empty() && !node_id.empty()) {
            return fail(Error::Code::not_found, fmt::format("no node '{}'", node_id));
        }
        // Every number received, stored or refused; a gap is a number above its predecessor + 1.
        const std::string received =
            "SELECT node_id, seq FROM confirmations WHERE ? = '' OR node_id = ? "
            "UNION SELECT node_id, seq FROM refused_confirmations WHERE ? = '' OR node_id = ?";
        SQLite::Statement totals(
            db, "SELECT node_id, count(*), max(seq) FROM (" + received + ") GROUP BY node_id");
        SQLite::Statement holes(db,
                                "SELECT node_id, previous + 1, seq - 1 FROM (SELECT node_id, "
                                "seq, lag(seq, 1, 0) OVER (PARTITION BY node_id ORDER BY "
                                "seq) AS previous FROM (" +
                                    received + ")) WHERE seq > previous + 1 ORDER BY node_id, seq");
        for (auto* q : {&totals, &holes}) {
            for (int i = 1; i <= 4; i += 2) {
                q->bind(i, node_id);
                q->bind(i + 1, node_id);
            }
        }
        while (totals.executeStep()) {
            auto it = by_node.find(totals.getColumn(0).getString());
            if (it == by_node.end()) {
                continue;  // confirmations of a node no longer registered
            }
            it->second.received = static_cast<std::uint64_t>(totals.getColumn(1).getInt64());
            it->second.highest_received =
                static_cast<std::uint64_t>(totals.getColumn(2).getInt64());
        }
        while (holes.executeStep()) {
            auto it = by_node.find(holes.getColumn(0).getString());
            if (it == by_node.end()) {
                continue;
            }
            SeqRange r{static_cast<std::uint64_t>(holes.getColumn(1).getInt64()),
                       static_cast<std::uint64_t>(holes.getColumn(2).getInt64())};
            it->second.missing_count += r.count();
            it->second.missing.push_back(r);
        }
        // A number held twice: each row is another content (a copy re-sent is stored once).
        SQLite::Statement reused(db,
                                 "SELECT node_id, seq FROM (SELECT node_id, seq FROM confirmations "
                                 "WHERE ? = '' OR node_id = ? UNION ALL SELECT node_id, seq FROM "
                                 "refused_confirmations WHERE ? = '' OR node_id = ?) GROUP BY "
                                 "node_id, seq HAVING count(*) > 1 ORDER BY node_id, seq");
        // The highest number received before the latest heartbeat that heartbeat says the node
        // has not reached. Strictly before: a report and a heartbeat of one poll round share
        // nothing that orders them. Both scans are ranges of the (node_id, seq) keys above the
        // node's last number, which hold nothing or only what came after its heartbeat.
        SQLite::Statement behind(
            db,
            "SELECT s.node_id, max(coalesce((SELECT max(seq) FROM confirmations c WHERE "
            "c.node_id = s.node_id AND c.seq > s.last_seq AND c.received_us < s.received_us), 0), "
            "coalesce((SELECT max(seq) FROM refused_confirmations r WHERE r.node_id = s.node_id "
            "AND r.seq > s.last_seq AND r.received_us < s.received_us), 0)) FROM node_status s "
            "WHERE s.last_seq IS NOT NULL AND (? = '' OR s.node_id = ?)");
        for (int i = 1; i <= 4; i += 2) {
            reused.bind(i, node_id);
            reused.bind(i + 1, node_id);
        }
        behind.bind(1, node_id);
        behind.bind(2, node_id);
        while (reused.executeStep()) {
            auto it = by_node.find(reused.getColumn(0).getString());
            if (it == by_node.end()) {
                continue;
            }
            ++it->second.reused_count;
            add_to_ranges(it->second.reused,
                          static_cast<std::uint64_t>(reused.getColumn(1).getInt64()));
        }
        while (behind.executeStep()) {
            auto it = by_node.find(behind.getColumn(0).getString());
            if (it == by_node.end() || behind.getColumn(1).getInt64() == 0) {
                continue;
            }
            it->second.behind_received = static_cast<std::uint64_t>(behind.getColumn(1).getInt64());
        }
        std::vector<SequenceGaps> out;
        for (auto& [id, g] : by_node) {
            if (g.last_seq && *g.last_seq > g.highest_received) {
                g.not_yet_reported = SeqRange{g.highest_received + 1, *g.last_seq};
            }
            out.push_back(std::move(g));
        }
        return out;
    });
}

std::string render_sequence_gaps(const std::vector<SequenceGaps>& gaps, Language language) {
    const bool vi = language == Language::vi;
    std::vector<std::string> header = vi ? std::vector<std::string>{"Nút",
                                                                    "Đã nhận",
                                                                    "Số cao nhất",
                                                                    "Nút đã đánh số",
                                                                    "Thiếu trong hồ sơ",
                                                                    "Chưa báo cáo",
                                                                    "Số bị dùng lại"}
                                         : std::vector<std::string>{"Node",
                                                                    "Received",
                                                                    "Highest",
                                                                    "Node's last",
                                                                    "Missing from the record",
                                                                    "Not yet reported",
                                                                    "Numbers reused"};
    std::vector<std::vector<std::string>> rows;
    bool any_wiped = false;
    for (const auto& g : gaps) {
        std::string pending = "-";
        if (g.not_yet_reported) {
            pending = fmt::format("{} ({})", range_text(*g.not_yet_reported),
                                  g.not_yet_reported->count());
        }
        std::string last = g.last_seq ? std::to_string(*g.last_seq) : "?";
        if (g.store_wiped()) {
            last += " !";
            any_wiped = true;
        }
        rows.push_back({g.node_id, std::to_string(g.received), std::to_string(g.highest_received),
                        last, ranges_text(g.missing, g.missing_count, vi), pending,
                        ranges_text(g.reused, g.reused_count, vi)});
    }
    std::string out = detail::render_text_table(
        header, rows, std::vector<bool>{false, true, true, true, false, false, false});
    if (any_wiped) {
        out += vi ? "\n! kho dữ liệu của nút đã bị xoá hoặc thay: nút dùng lại số thứ tự đã "
                    "gửi, hoặc nhịp tim đến sau một báo cáo mang số thấp hơn số trong báo cáo "
                    "đó. Xác nhận trùng số được giữ riêng (không mất, không tính giờ phát).\n"
                  : "\n! the node's store was wiped or replaced: it reused numbers it had sent, "
                    "or a heartbeat that came after a report gave a lower number than that "
                    "report's. Confirmations under a reused number are kept apart (not lost, no "
                    "airtime).\n";
    }
    return out;
}

nlohmann::json sequence_gaps_json(const std::vector<SequenceGaps>& gaps) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& g : gaps) {
        out.push_back(
            {{"node", g.node_id},
             {"received", g.received},
             {"highest_received", g.highest_received},
             {"last_seq", g.last_seq ? nlohmann::json(*g.last_seq) : nlohmann::json(nullptr)},
             {"missing_from_record", ranges_json(g.missing)},
             {"missing_count", g.missing_count},
             {"not_yet_reported", g.not_yet_reported
                                      ? nlohmann::json{{"first", g.not_yet_reported->first},
                                                       {"last", g.not_yet_reported->last}}
                                      : nlohmann::json(nullptr)},
             {"not_yet_reported_count", g.not_yet_reported ? g.not_yet_reported->count() : 0},
             {"reused", ranges_json(g.reused)},
             {"reused_count", g.reused_count},
             {"behind_received",
              g.behind_received ? nlohmann::json(*g.behind_received) : nlohmann::json(nullptr)},
             {"store_wiped", g.store_wiped()}});
    }
    return out;
}

}  // namespace loa::controller
