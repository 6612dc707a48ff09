// A small integer linear program on GLPK: the engine's exact allocation of plays to sessions.
#pragma once

#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace loa::schedules::detail {

/// Minimises a linear cost over integer and continuous columns subject to linear rows.
/// Deterministic: the same program built in the same order gives the same solution.
class IntegerProgram {
  public:
    static constexpr double kInfinity = std::numeric_limits<double>::infinity();

    IntegerProgram();
    ~IntegerProgram();
    IntegerProgram(const IntegerProgram&) = delete;
    IntegerProgram& operator=(const IntegerProgram&) = delete;

    /// A new column in [lower, upper] (upper may be kInfinity); returns its index.
    int add_column(double lower, double upper, double cost, bool integer);
    /// A new row lower ≤ Σ coefficient·column ≤ upper (either side may be infinite).
    int add_row(const std::vector<std::pair<int, double>>& terms, double lower, double upper);
    void set_bounds(int column, double lower, double upper);
    void set_cost(int column, double cost);
    void clear_costs();
    int columns() const;

    /// `improved_at_limit`: the search stopped at its node limit holding a feasible solution.
    enum class Outcome { optimal, infeasible, search_limit, improved_at_limit };
    /// Solves to proven optimality, or gives up after a fixed number of branch-and-bound
    /// nodes (a count, never a clock, so the answer does not depend on machine speed).
    Outcome solve(int max_branch_nodes = kDefaultBranchNodes);
    static constexpr int kDefaultBranchNodes = 200'000;
    /// A column's value in the last solution, rounded for integer columns.
    double value(int column) const;
    double objective() const;

  private:
    struct Problem;
    std::unique_ptr<Problem> problem_;
};

}  // namespace loa::schedules::detail
