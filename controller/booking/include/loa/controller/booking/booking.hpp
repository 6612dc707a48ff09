// Booking plays on nodes: computed on a snapshot, written by the writer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include <SQLiteCpp/Statement.h>

#include "loa/controller/booking/campaign_book.hpp"
#include "loa/controller/store/airtime_rollup.hpp"
#include "loa/controller/store/writer.hpp"
#include "loa/schedules/plan_compiler.hpp"

namespace loa::controller::detail {

/// How long a still image stays on a panel board when a campaign or an emergency shows it.
inline constexpr std::int64_t kSlideUs = 10'000'000;

/// Writes planned plays into the `slots` table; a play already there (or confirmed already) is
/// left as it is. Each play counts as planned in the airtime rollup, in the node's local day.
class SlotWriter {
  public:
    explicit SlotWriter(SQLite::Database& db);
    /// 1 when the play was booked, 0 when the node already had it.
    std::size_t book(const std::string& node_id, const schedules::Play& play,
                     const std::string& title);

  private:
    SQLite::Statement insert_;
    RollupDays days_;
};

/// A node booking is asked about that is not stored yet (it is being added).
struct NewNode {
    std::string id;
    std::string area;
    std::string kind;  ///< "speaker" or "panel"
};

/// What to book: the plays of the stored campaigns `campaign_ids` (all active ones if empty) or
/// of `new_campaign` (not stored yet), on the stored nodes `node_ids` and on `new_nodes`.
struct BookingInput {
    std::vector<std::string> node_ids;
    std::vector<NewNode> new_nodes;
    std::vector<std::string> campaign_ids;
    std::optional<CampaignSpec> new_campaign;
    bool include_paused = false;  ///< book `campaign_ids` even if paused (they are being resumed)
};

struct PlannedPlay {
    std::string node_id;
    schedules::Play play;
    std::string title;
};

/// Plays computed, not written yet.
struct BookingPlan {
    std::vector<PlannedPlay> plays;
    BookingResult result;  ///< slots_booked is counted by write_booking
};

/// Computes the plays of `input` around the plays already booked, with the schedules engine.
/// Reads only (a snapshot, or the writer's transaction); may take long (the exact solver): run it
/// outside the writer (compute_then_commit). Throws SQLite::Exception.
BookingPlan compute_booking(SQLite::Database& db, const BookingInput& input, std::int64_t now,
                            const BookingRules& rules);

/// Writes the computed plays (a play booked already, or confirmed already, is left as it is).
/// Throws SQLite::Exception.
BookingResult write_booking(WriteTx& tx, const BookingPlan& plan);

}  // namespace loa::controller::detail

namespace loa::controller {

struct ResumePlan {
    std::string campaign_id;
    bool from_plan = false;
    detail::BookingPlan plays;
};

struct CampaignBooking {
    CampaignSpec spec;
    std::int64_t now = 0;
    detail::BookingPlan plays;
};

}  // namespace loa::controller
