// The exact allocation: demand (quota buckets) against capacity (session parts) as a
// transportation model in integer plays, solved by branch and bound.
//
// A column per (candidate, part) counts plays there. Plays are indivisible and of unequal
// length, so a fractional network flow could promise what no play list delivers (two 30 s plays
// and one 50 s play do not fit two 55 s parts although 110 s ≤ 110 s); integer plays are exact.
#include <cmath>

#include "allocation.hpp"
#include "integer_program.hpp"

namespace loa::schedules::detail {

namespace {

constexpr double kInf = IntegerProgram::kInfinity;

class ExactAllocator {
public:
    ExactAllocator(const AllocationModel& model, std::size_t served)
        : model_(model), served_(served) {}

    ExactAllocation run() {
        add_columns();
        add_capacity_rows();
        add_separation_rows();
        add_share_rows();
        add_bucket_rows();
        // Every quota held: a pure feasibility search, which stops at the first allocation.
        if (program_.solve() == IntegerProgram::Outcome::optimal) {
            return {read(), {}};
        }
        return serve_in_order();
    }

private:
    const AllocationModel& model_;
    std::size_t served_;
    IntegerProgram program_;
    std::map<std::pair<std::size_t, std::size_t>, int> column_;
    std::vector<int> shortfall_;  ///< per bucket

    void add_columns() {
        const std::int64_t gap_ms = ms_up(kGapBetweenPlays);
        for (std::size_t k = 0; k < model_.candidates.size(); ++k) {
            const Candidate& cand = model_.candidates[k];
            const bool once = model_.campaigns[cand.campaign].separation_minutes > 0;
            for (std::size_t pi : cand.parts) {
                const double most =
                    once ? 1.0
                         : std::floor(static_cast<double>(model_.parts[pi].capacity_ms() + gap_ms) /
                                      static_cast<double>(model_.footprint_ms(k)));
                column_[{k, pi}] = program_.add_column(0.0, most, 0.0, true);
            }
        }
    }

    /// Columns of candidate k in session s, over the session's parts.
    std::vector<int> session_columns(std::size_t k, std::size_t s) const {
        std::vector<int> columns;
        for (std::size_t pi : model_.candidates[k].parts) {
            if (model_.parts[pi].session == s) {
                columns.push_back(column_.at({k, pi}));
            }
        }
        return columns;
    }

    void add_capacity_rows() {
        const std::int64_t gap_ms = ms_up(kGapBetweenPlays);
        std::vector<std::vector<std::pair<int, double>>> rows(model_.parts.size());
        for (const auto& [key, column] : column_) {
            rows[key.second].emplace_back(column, static_cast<double>(model_.footprint_ms(key.first)));
        }
        for (std::size_t pi = 0; pi < rows.size(); ++pi) {
            if (!rows[pi].empty()) {
                // Plays sit back to back with a gap after each but the last.
                program_.add_row(rows[pi], -kInf,
                                 static_cast<double>(model_.parts[pi].capacity_ms() + gap_ms));
            }
        }
    }

    void add_separation_rows() {
        // An item separated by S minutes plays at most once a session and never in two
        // sessions less than S apart, so any two of its plays start at least S apart.
        const auto& sessions = model_.sessions;
        for (std::size_t k = 0; k < model_.candidates.size(); ++k) {
            const int minutes = model_.campaigns[model_.candidates[k].campaign].separation_minutes;
            if (minutes <= 0) {
                continue;
            }
            for (std::size_t s = 0; s < sessions.size(); ++s) {
                const auto here = session_columns(k, s);
                if (here.empty()) {
                    continue;
                }
                std::vector<std::pair<int, double>> terms;
                for (int col : here) {
                    terms.emplace_back(col, 1.0);
                }
                if (here.size() > 1) {
                    program_.add_row(terms, -kInf, 1.0);
                }
                for (std::size_t t = s + 1; t < sessions.size(); ++t) {
                    if (sessions[t].start_us - sessions[s].end_us >= minutes * kMinute) {
                        break;  // sorted by start: later sessions are further still
                    }
                    auto pair = terms;
                    for (int col : session_columns(k, t)) {
                        pair.emplace_back(col, 1.0);
                    }
                    if (pair.size() > terms.size()) {
                        program_.add_row(pair, -kInf, 1.0);
                    }
                }
            }
        }
    }

    void add_share_rows() {
        std::map<std::pair<std::size_t, std::size_t>, std::vector<std::pair<int, double>>> rows;
        for (const auto& [key, column] : column_) {
            const std::size_t c = model_.candidates[key.first].campaign;
            if (model_.campaigns[c].share_max < 1.0) {
                rows[{c, model_.parts[key.second].session}].emplace_back(
                    column, static_cast<double>(ms_up(model_.candidates[key.first].length_us)));
            }
        }
        for (const auto& [key, terms] : rows) {
            const Session& s = model_.sessions[key.second];
            program_.add_row(terms, -kInf,
                             std::floor(model_.campaigns[key.first].share_max *
                                        static_cast<double>(ms_down(s.end_us - s.start_us))));
        }
    }

    void add_bucket_rows() {
        for (const Bucket& b : model_.buckets) {
            std::vector<std::pair<int, double>> terms;
            for (std::size_t pi : b.parts) {
                for (std::size_t k = 0; k < model_.candidates.size(); ++k) {
                    if (model_.candidates[k].campaign != b.campaign) {
                        continue;
                    }
                    if (auto it = column_.find({k, pi}); it != column_.end()) {
                        terms.emplace_back(it->second, static_cast<double>(model_.units(b, k)));
                    }
                }
            }
            // The shortfall column is held at zero unless not every quota can be met.
            const int shortfall = program_.add_column(0.0, 0.0, 0.0, false);
            shortfall_.push_back(shortfall);
            terms.emplace_back(shortfall, 1.0);
            program_.add_row(terms, static_cast<double>(b.required_units), kInf);
        }
    }

    Allocation read() const {
        Allocation allocation;
        for (const auto& [key, column] : column_) {
            if (const int plays = static_cast<int>(program_.value(column)); plays > 0) {
                allocation[key] = plays;
            }
        }
        return allocation;
    }

    /// Campaign by campaign in service order: minimise its shortfall (relative to each bucket's
    /// requirement), then hold it there so later campaigns cannot take from it.
    ExactAllocation serve_in_order() {
        ExactAllocation result;
        for (std::size_t b = 0; b < shortfall_.size(); ++b) {
            if (model_.buckets[b].campaign >= served_) {
                program_.set_bounds(shortfall_[b], 0.0, kInf);
            }
        }
        std::size_t campaigns = model_.campaigns.size();
        for (std::size_t c = served_; c < campaigns; ++c) {
            std::vector<std::pair<int, double>> objective;
            program_.clear_costs();
            for (std::size_t b = 0; b < shortfall_.size(); ++b) {
                if (model_.buckets[b].campaign != c) {
                    continue;
                }
                const double weight =
                    1000.0 / static_cast<double>(std::max<std::int64_t>(1, model_.buckets[b].required_units));
                program_.set_cost(shortfall_[b], weight);
                objective.emplace_back(shortfall_[b], weight);
            }
            if (objective.empty()) {
                continue;
            }
            const auto outcome = program_.solve();
            if (outcome != IntegerProgram::Outcome::optimal) {
                result.note = "the search for an allocation stopped at its limit";
                break;
            }
            result.allocation = read();
            program_.add_row(objective, -kInf, program_.objective() + 1e-6);
        }
        return result;
    }
};

}  // namespace

ExactAllocation exact_allocation(const AllocationModel& model, std::size_t served) {
    return ExactAllocator(model, served).run();
}

}  // namespace loa::schedules::detail
