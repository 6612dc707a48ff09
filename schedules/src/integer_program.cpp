// GLPK behind IntegerProgram: presolved branch and bound, no terminal output, no time limit.
#include "integer_program.hpp"

#include <cmath>

#include <glpk.h>

namespace loa::schedules::detail {

namespace {

int bound_type(double lower, double upper) {
    const bool has_lower = std::isfinite(lower);
    const bool has_upper = std::isfinite(upper);
    if (has_lower && has_upper) {
        return lower == upper ? GLP_FX : GLP_DB;
    }
    if (has_lower) {
        return GLP_LO;
    }
    return has_upper ? GLP_UP : GLP_FR;
}

double finite_or_zero(double v) {
    return std::isfinite(v) ? v : 0.0;
}

/// The node limit keeps a runaway search from hanging a compile; it is a count, not a clock.
struct SearchState {
    int max_branch_nodes = 0;
    int branch_nodes = 0;
    bool limited = false;
};

void on_search_event(glp_tree* tree, void* info) {
    auto* state = static_cast<SearchState*>(info);
    if (glp_ios_reason(tree) == GLP_IBRANCH && ++state->branch_nodes > state->max_branch_nodes) {
        state->limited = true;
        glp_ios_terminate(tree);
    }
}

}  // namespace

struct IntegerProgram::Problem {
    glp_prob* lp = glp_create_prob();
    std::vector<bool> integer{false};  // 1-based like GLPK
    ~Problem() { glp_delete_prob(lp); }
};

IntegerProgram::IntegerProgram() : problem_(std::make_unique<Problem>()) {
    glp_set_obj_dir(problem_->lp, GLP_MIN);
}

IntegerProgram::~IntegerProgram() = default;

int IntegerProgram::add_column(double lower, double upper, double cost, bool integer) {
    const int j = glp_add_cols(problem_->lp, 1);
    glp_set_col_kind(problem_->lp, j, integer ? GLP_IV : GLP_CV);
    set_bounds(j, lower, upper);
    glp_set_obj_coef(problem_->lp, j, cost);
    problem_->integer.push_back(integer);
    return j;
}

int IntegerProgram::add_row(const std::vector<std::pair<int, double>>& terms, double lower,
                            double upper) {
    const int i = glp_add_rows(problem_->lp, 1);
    glp_set_row_bnds(problem_->lp, i, bound_type(lower, upper), finite_or_zero(lower),
                     finite_or_zero(upper));
    std::vector<int> index{0};
    std::vector<double> value{0.0};
    for (const auto& [column, coefficient] : terms) {
        index.push_back(column);
        value.push_back(coefficient);
    }
    glp_set_mat_row(problem_->lp, i, static_cast<int>(terms.size()), index.data(), value.data());
    return i;
}

void IntegerProgram::set_bounds(int column, double lower, double upper) {
    glp_set_col_bnds(problem_->lp, column, bound_type(lower, upper), finite_or_zero(lower),
                     finite_or_zero(upper));
}

void IntegerProgram::set_cost(int column, double cost) {
    glp_set_obj_coef(problem_->lp, column, cost);
}

void IntegerProgram::clear_costs() {
    for (int j = 1; j <= columns(); ++j) {
        glp_set_obj_coef(problem_->lp, j, 0.0);
    }
}

int IntegerProgram::columns() const {
    return glp_get_num_cols(problem_->lp);
}

IntegerProgram::Outcome IntegerProgram::solve(int max_branch_nodes) {
    glp_term_out(GLP_OFF);
    SearchState state;
    state.max_branch_nodes = max_branch_nodes;
    glp_iocp parameters;
    glp_init_iocp(&parameters);
    parameters.msg_lev = GLP_MSG_OFF;
    parameters.presolve = GLP_ON;
    // Cuts for knapsack-like rows (capacity in milliseconds); all deterministic.
    parameters.mir_cuts = GLP_ON;  // (cover cuts crash GLPK 5.0 on some presolved programs)
    parameters.cb_func = on_search_event;
    parameters.cb_info = &state;
    const int rc = glp_intopt(problem_->lp, &parameters);
    if (state.limited) {
        return glp_mip_status(problem_->lp) == GLP_FEAS ? Outcome::improved_at_limit
                                                        : Outcome::search_limit;
    }
    if (rc != 0) {
        return Outcome::infeasible;
    }
    const int status = glp_mip_status(problem_->lp);
    return status == GLP_OPT ? Outcome::optimal : Outcome::infeasible;
}

double IntegerProgram::value(int column) const {
    const double v = glp_mip_col_val(problem_->lp, column);
    return problem_->integer[static_cast<std::size_t>(column)] ? std::round(v) : v;
}

double IntegerProgram::objective() const {
    return glp_mip_obj_val(problem_->lp);
}

}  // namespace loa::schedules::detail
