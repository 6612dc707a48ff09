// The exact allocation: demand (quota buckets) against capacity (session parts) as a
// transportation model in integer plays, decided by branch and bound.
//
// A column per (candidate, part) counts plays there. Plays are indivisible and of unequal
// length, so a fractional network flow could promise what no play list delivers (two 30 s plays
// and one 50 s play do not fit two 55 s parts although 110 s ≤ 110 s); integer plays are exact.
// Rounded copies of the capacity, share and airtime rows (Chvátal–Gomory cuts: valid for integer
// plays) tighten the relaxation, so plans that do not fit are usually refuted without a search.
#include <algorithm>
#include <cmath>

#include "allocation.hpp"
#include "integer_program.hpp"

namespace loa::schedules::detail {

namespace {

constexpr double kInf = IntegerProgram::kInfinity;
using Terms = std::vector<std::pair<int, double>>;

/// Σ a·x ≤ b over non-negative integers implies Σ ⌊a/d⌋·x ≤ ⌊b/d⌋; with d the smallest a, it
/// counts plays.
void add_rounded_upper(IntegerProgram& program, const Terms& terms, double bound) {
    double smallest = kInf;
    for (const auto& [col, a] : terms) {
        smallest = std::min(smallest, a);
    }
    if (terms.size() < 2 || !(smallest > 0.0)) {
        return;
    }
    Terms rounded;
    for (const auto& [col, a] : terms) {
        rounded.emplace_back(col, std::floor(a / smallest));
    }
    program.add_row(rounded, -kInf, std::floor(bound / smallest));
}

/// Σ a·x ≥ b over non-negative integers implies Σ ⌈a/d⌉·x ≥ ⌈b/d⌉; with d the largest a, it
/// counts plays.
void add_rounded_lower(IntegerProgram& program, const Terms& terms, double bound) {
    double largest = 0.0;
    for (const auto& [col, a] : terms) {
        largest = std::max(largest, a);
    }
    if (terms.empty() || !(largest > 0.0)) {
        return;
    }
    Terms rounded;
    for (const auto& [col, a] : terms) {
        rounded.emplace_back(col, std::ceil(a / largest));
    }
    program.add_row(rounded, std::ceil(bound / largest), kInf);
}

class ExactAllocator {
  public:
    explicit ExactAllocator(const AllocationModel& model) : model_(model) {}

    ExactAllocation run() {
        add_columns();
        if (column_.empty()) {
            // Nothing can play anywhere: only a plan that asks for nothing fits.
            const bool asks = std::any_of(model_.buckets.begin(), model_.buckets.end(),
                                          [](const Bucket& b) { return b.required_units > 0; });
            return {asks ? std::nullopt : std::optional<Allocation>{Allocation{}}, {}};
        }
        add_capacity_rows();
        add_separation_rows();
        add_share_rows();
        add_bucket_rows();
        // A pure feasibility search (no cost): it stops at the first allocation found.
        switch (program_.solve()) {
            case IntegerProgram::Outcome::optimal:
            case IntegerProgram::Outcome::improved_at_limit:
                break;
            case IntegerProgram::Outcome::infeasible:
                return {};
            case IntegerProgram::Outcome::search_limit:
                return {std::nullopt, "the exact search stopped at its limit without deciding", {}};
            case IntegerProgram::Outcome::solver_failed:
                return {std::nullopt, {}, program_.failure()};
        }
        Allocation found = read();
        if (!spread(found)) {
            // The allocation found meets every quota; only its spreading was lost.
            return {std::move(found), {}, program_.failure() + " (while spreading plays)"};
        }
        return {std::move(found), {}, {}};
    }

  private:
    const AllocationModel& model_;
    IntegerProgram program_;
    std::map<std::pair<std::size_t, std::size_t>, int> column_;

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
        std::vector<Terms> rows(model_.parts.size());
        for (const auto& [key, column] : column_) {
            rows[key.second].emplace_back(column,
                                          static_cast<double>(model_.footprint_ms(key.first)));
        }
        for (std::size_t pi = 0; pi < rows.size(); ++pi) {
            if (rows[pi].empty()) {
                continue;
            }
            // Plays sit back to back with a gap after each but the last.
            const auto bound = static_cast<double>(model_.parts[pi].capacity_ms() + gap_ms);
            program_.add_row(rows[pi], -kInf, bound);
            add_rounded_upper(program_, rows[pi], bound);
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
                Terms terms;
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
        std::map<std::pair<std::size_t, std::size_t>, Terms> rows;
        for (const auto& [key, column] : column_) {
            const std::size_t c = model_.candidates[key.first].campaign;
            if (model_.campaigns[c].share_max < 1.0) {
                rows[{c, model_.parts[key.second].session}].emplace_back(
                    column, static_cast<double>(ms_up(model_.candidates[key.first].length_us)));
            }
        }
        for (const auto& [key, terms] : rows) {
            const Session& s = model_.sessions[key.second];
            const double bound = std::floor(model_.campaigns[key.first].share_max *
                                            static_cast<double>(ms_down(s.end_us - s.start_us)));
            program_.add_row(terms, -kInf, bound);
            add_rounded_upper(program_, terms, bound);
        }
    }

    void add_bucket_rows() {
        for (const Bucket& b : model_.buckets) {
            Terms terms;
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
            const auto bound = static_cast<double>(b.required_units);
            program_.add_row(terms, bound, kInf);
            if (b.airtime) {
                add_rounded_lower(program_, terms, bound);
            }
        }
    }

    /// The first allocation found may bunch a campaign's plays. A short search with a cost on
    /// each play beyond the first of its campaign in a session (and a little on every play, so
    /// none is added beyond the quotas) improves it; the best found within a small node budget
    /// replaces it. Deterministic: the budget is a node count.
    /// False when GLPK failed (`found` is then left as it was).
    bool spread(Allocation& found) {
        constexpr int kSpreadingNodes = 2'000;
        std::map<std::pair<std::size_t, std::size_t>, Terms> per_session;
        for (const auto& [key, column] : column_) {
            program_.set_cost(column, 0.01);
            per_session[{model_.candidates[key.first].campaign, model_.parts[key.second].session}]
                .emplace_back(column, 1.0);
        }
        for (auto& [key, terms] : per_session) {
            const int excess = program_.add_column(0.0, kInf, 1.0, false);
            terms.emplace_back(excess, -1.0);
            program_.add_row(terms, -kInf, 1.0);
        }
        const auto outcome = program_.solve(kSpreadingNodes);
        if (outcome == IntegerProgram::Outcome::optimal ||
            outcome == IntegerProgram::Outcome::improved_at_limit) {
            found = read();
        }
        return outcome != IntegerProgram::Outcome::solver_failed;
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
};

}  // namespace

ExactAllocation exact_allocation(const AllocationModel& model) {
    return ExactAllocator(model).run();
}

}  // namespace loa::schedules::detail
