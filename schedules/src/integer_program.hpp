// A small integer linear program on GLPK: the engine's exact allocation of plays to sessions.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace loa::schedules::detail {

/// Minimises a linear cost over integer and continuous columns subject to linear rows.
/// Deterministic: the same program built in the same order gives the same solution.
///
/// GLPK stops the process (abort) on an internal error. Every GLPK call here runs under its
/// error hook instead: an error frees the thread's GLPK environment (every GLPK object of the
/// thread with it) and returns to the call, which marks the program failed. A failed program
/// ignores further changes, and solve() answers `solver_failed` with GLPK's message in failure().
/// So at most one IntegerProgram may be alive on a thread at a time.
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

    /// `improved_at_limit`: the search stopped at its node limit holding a feasible solution;
    /// `solver_failed`: GLPK raised an error (see failure()).
    enum class Outcome { optimal, infeasible, search_limit, improved_at_limit, solver_failed };
    /// Solves to proven optimality, or gives up after a fixed number of branch-and-bound
    /// nodes (a count, never a clock, so the answer does not depend on machine speed).
    Outcome solve(int max_branch_nodes = kDefaultBranchNodes);
    static constexpr int kDefaultBranchNodes = 200'000;
    /// A column's value in the last solution, rounded for integer columns.
    double value(int column) const;
    double objective() const;
    /// What GLPK said when it failed; empty while the program is sound.
    const std::string& failure() const;

  private:
    struct Problem;
    std::unique_ptr<Problem> problem_;
};

/// Frees this thread's GLPK environment if no IntegerProgram is alive on it (the solver threads
/// call it when their work is done; a thread that ends without calling it frees it at its end).
void release_solver_environment();

}  // namespace loa::schedules::detail
