// Where nodes, campaigns, emergencies and media lie, for scope checks.
#include "scope_queries.hpp"

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

bool media_in_scope(const MediaRecord& media, std::string_view scope) {
    return scopes_overlap(scope, media.area_path);
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
