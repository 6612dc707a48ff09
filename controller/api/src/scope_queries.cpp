// Where nodes, campaigns, emergencies and media lie, for scope checks.
#include "scope_queries.hpp"

#include <algorithm>

#include <SQLiteCpp/Statement.h>
#include <fmt/core.h>

#include "loa/controller/common/area_scope.hpp"
#include "loa/controller/store/database.hpp"

namespace loa::controller {

Result<std::set<std::string>> node_ids_in_scope(SQLite::Database& db, std::string_view scope) {
    return guard_storage([&]() -> Result<std::set<std::string>> {
        SQLite::Statement q(db, "SELECT node_id, area_path FROM nodes");
        std::set<std::string> ids;
        while (q.executeStep()) {
            if (in_scope(scope, q.getColumn(1).getString())) {
                ids.insert(q.getColumn(0).getString());
            }
        }
        return ids;
    });
}

Result<std::vector<std::string>> emergency_areas(SQLite::Database& db,
                                                 const std::string& emergency_id) {
    return guard_storage([&]() -> Result<std::vector<std::string>> {
        SQLite::Statement exists(db, "SELECT 1 FROM emergencies WHERE emergency_id = ?");
        exists.bind(1, emergency_id);
        if (!exists.executeStep()) {
            return fail(Error::Code::not_found,
                        fmt::format("emergency: no emergency '{}' (see loactl emergency list)",
                                    emergency_id));
        }
        SQLite::Statement q(db,
                            "SELECT DISTINCT n.area_path FROM commands c JOIN nodes n "
                            "USING (node_id) WHERE c.emergency_id = ? ORDER BY n.area_path");
        q.bind(1, emergency_id);
        std::vector<std::string> areas;
        while (q.executeStep()) {
            areas.push_back(q.getColumn(0).getString());
        }
        return areas;
    });
}

bool campaign_in_scope(const CampaignSpec& campaign, std::string_view scope) {
    for (const auto& area : campaign.areas) {
        if (scopes_overlap(scope, area)) {
            return true;
        }
    }
    return false;
}

bool record_in_scope(const MediaArea& record, std::string_view scope) {
    return scopes_overlap(scope, record.area_path);
}

std::vector<MediaArea> records_in_scope(const std::vector<MediaArea>& records,
                                        std::string_view scope) {
    std::vector<MediaArea> above, below;
    for (const auto& r : records) {
        if (in_scope(r.area_path, scope)) {
            above.push_back(r);
        } else if (in_scope(scope, r.area_path)) {
            below.push_back(r);
        }
    }
    // "/" holds everything, so it sorts as the shallowest.
    auto depth = [](const MediaArea& r) {
        return r.area_path == kEveryArea
                   ? 0
                   : std::count(r.area_path.begin(), r.area_path.end(), '/') + 1;
    };
    std::stable_sort(above.begin(), above.end(),
                     [&](const MediaArea& a, const MediaArea& b) { return depth(a) > depth(b); });
    std::stable_sort(below.begin(), below.end(), [](const MediaArea& a, const MediaArea& b) {
        return a.area_path < b.area_path;
    });
    above.insert(above.end(), below.begin(), below.end());
    return above;
}

Result<std::string> media_scope_problem(SQLite::Database& db, const std::string& media_hash,
                                        std::string_view who, std::string_view scope) {
    auto records = media_areas(db, media_hash);
    if (!records) {
        return std::unexpected(records.error());
    }
    if (records->empty() || std::any_of(records->begin(), records->end(), [&](const MediaArea& r) {
            return record_in_scope(r, scope);
        })) {
        return std::string();
    }
    const std::string shown = media_hash.substr(0, 12);
    return fmt::format(
        "nội dung {} không có bản ghi nào trong hay trên {}, ngoài phạm vi của '{}' "
        "/ media {} is outside the scope of '{}': none of its records lies in or "
        "above {}",
        shown, scope, who, shown, who, scope);
}

std::string scope_of(const std::vector<std::string>& areas) {
    if (areas.empty()) {
        return std::string(kEveryArea);
    }
    std::string scope = areas.front();
    for (const auto& area : areas) {
        scope = common_scope(scope, area);
    }
    return scope;
}

}  // namespace loa::controller
