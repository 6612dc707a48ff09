// Keeping each node's last error as it is found.
#include "loa/controller/store/node_errors.hpp"

namespace loa::controller {

namespace {

constexpr std::size_t kMaxErrorBytes = 512;

/// `text` cut at a character boundary to at most kMaxErrorBytes.
std::string bounded(std::string_view text) {
    if (text.size() <= kMaxErrorBytes) {
        return std::string(text);
    }
    std::size_t cut = kMaxErrorBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return std::string(text.substr(0, cut)) + "…";
}

}  // namespace

NodeErrors::NodeErrors(SQLite::Database& db)
    : upsert_(db,
              "INSERT INTO node_errors (node_id, source, at_us, subject, reason) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (node_id) DO UPDATE SET source = ?2, "
              "at_us = ?3, subject = ?4, reason = ?5 WHERE ?3 >= node_errors.at_us") {}

void NodeErrors::record(const std::string& node_id, std::string_view source, std::int64_t at_us,
                        std::string_view subject, std::string_view reason) {
    upsert_.bind(1, node_id);
    upsert_.bind(2, std::string(source));
    upsert_.bind(3, static_cast<int64_t>(at_us));
    upsert_.bind(4, bounded(subject));
    upsert_.bind(5, bounded(reason));
    upsert_.exec();
    upsert_.reset();
}

}  // namespace loa::controller
