// Where things lie — nodes, campaigns, emergencies, media — so that what a person sees and
// touches can be checked against their area scope.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/common/error.hpp"
#include "loa/controller/content/media_library.hpp"

namespace loa::controller {

/// Ids of the nodes whose area lies in `scope`.
Result<std::set<std::string>> node_ids_in_scope(SQLite::Database& db, std::string_view scope);

/// The areas of the nodes an emergency was sent to, each once; not_found for an unknown one.
Result<std::vector<std::string>> emergency_areas(SQLite::Database& db,
                                                 const std::string& emergency_id);

/// Whether one of the campaign's areas overlaps `scope`: it plays on nodes there, or it was
/// booked there.
bool campaign_in_scope(const CampaignSpec& campaign, std::string_view scope);

/// Whether media is usable in `scope`: imported in that subtree or in an area above it.
bool media_in_scope(const MediaRecord& media, std::string_view scope);

/// The smallest scope holding every one of `areas` (kEveryArea when empty): where the action
/// log files a change that touches several areas.
std::string scope_of(const std::vector<std::string>& areas);

}  // namespace loa::controller
