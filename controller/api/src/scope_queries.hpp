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

/// Whether a record of media is seen from `scope`: its area lies in that subtree or above it.
bool record_in_scope(const MediaArea& record, std::string_view scope);

/// The records seen from `scope`, nearest first: those whose area holds the scope, the deepest
/// first, then those inside it by area. The first is the one that speaks for the media there.
std::vector<MediaArea> records_in_scope(const std::vector<MediaArea>& records,
                                        std::string_view scope);

/// Empty when `who` (of scope `scope`) may use `media_hash` as far as scope goes: a record of it
/// is seen from the scope (whether it may air where it goes is its approval's to say). Unknown
/// media gets "" too: booking reports that in its own words. Otherwise why not, in Vietnamese
/// then English.
Result<std::string> media_scope_problem(SQLite::Database& db, const std::string& media_hash,
                                        std::string_view who, std::string_view scope);

/// The smallest scope holding every one of `areas` (kEveryArea when empty): where the action
/// log files a change that touches several areas.
std::string scope_of(const std::vector<std::string>& areas);

}  // namespace loa::controller
