// GLPK behind IntegerProgram: presolved branch and bound, no terminal output, no time limit, and
// GLPK's internal errors turned into a failed program instead of an abort of the process.
#include "integer_program.hpp"

#include <atomic>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <optional>

#include <glpk.h>

#include "loa/schedules/fault_injection.hpp"

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

std::atomic<bool> g_fail_next_solve{false};

/// Where a GLPK error returns to, and what GLPK printed before it. Thread-local rather than on
/// the stack: a local changed between setjmp and longjmp would be indeterminate afterwards.
struct ErrorTrap {
    std::jmp_buf jump;
    char text[512];
    std::size_t length;
};
thread_local ErrorTrap t_trap;

/// GLPK prints its error message (with term_out forced on) before calling the error hook; it is
/// kept for the plan error instead of going to the controller's stdout. No allocation here.
int capture_terminal(void* info, const char* text) {
    auto* trap = static_cast<ErrorTrap*>(info);
    const std::size_t room = sizeof trap->text - 1 - trap->length;
    const std::size_t n = std::min(room, std::strlen(text));
    std::memcpy(trap->text + trap->length, text, n);
    trap->length += n;
    trap->text[trap->length] = '\0';
    return 1;  // nothing on the terminal
}

/// GLPK's documented way out of an error: free the environment, then longjmp back. Returning
/// from the hook would let GLPK call abort().
void on_glpk_error(void* info) {
    glp_free_env();
    std::longjmp(static_cast<ErrorTrap*>(info)->jump, 1);
}

/// This thread's GLPK use: the environment is freed when the thread ends, or earlier by
/// release_solver_environment() once no program is alive.
struct ThreadSolver {
    int live_programs = 0;
    bool environment = false;
    ~ThreadSolver() {
        if (environment) {
            glp_free_env();
        }
    }
};
thread_local ThreadSolver t_solver;

/// Runs GLPK calls (only those: the frames a longjmp skips must have nothing to destroy) so that
/// a GLPK error comes back here as its message instead of aborting the process.
template <typename Call>
std::optional<std::string> guarded(Call&& call) {
    t_solver.environment = true;
    t_trap.length = 0;
    t_trap.text[0] = '\0';
    glp_error_hook(on_glpk_error, &t_trap);
    glp_term_hook(capture_terminal, &t_trap);
    if (setjmp(t_trap.jump) == 0) {
        call();
        glp_error_hook(nullptr, nullptr);
        glp_term_hook(nullptr, nullptr);
        return std::nullopt;
    }
    // The environment is gone, and its hooks with it.
    std::string message(t_trap.text, t_trap.length);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    for (char& c : message) {
        c = c == '\n' ? ';' : c;
    }
    return message.empty() ? std::string("GLPK error") : message;
}

}  // namespace

struct IntegerProgram::Problem {
    glp_prob* lp = nullptr;
    std::vector<bool> integer{false};  // 1-based like GLPK
    std::string failure;

    /// Runs GLPK calls on a sound program; after an error the program stays failed.
    template <typename Call>
    bool run(Call&& call) {
        if (!failure.empty()) {
            return false;
        }
        if (auto error = guarded(std::forward<Call>(call))) {
            failure = std::move(*error);
            lp = nullptr;  // freed with the environment
            return false;
        }
        return true;
    }

    Problem() {
        ++t_solver.live_programs;
        run([this] {
            lp = glp_create_prob();
            glp_set_obj_dir(lp, GLP_MIN);
        });
    }
    ~Problem() {
        if (lp) {
            glp_prob* doomed = lp;
            run([doomed] { glp_delete_prob(doomed); });
        }
        --t_solver.live_programs;
    }
};

IntegerProgram::IntegerProgram() : problem_(std::make_unique<Problem>()) {}

IntegerProgram::~IntegerProgram() = default;

int IntegerProgram::add_column(double lower, double upper, double cost, bool integer) {
    int j = 0;
    glp_prob* lp = problem_->lp;
    problem_->run([&] {
        j = glp_add_cols(lp, 1);
        glp_set_col_kind(lp, j, integer ? GLP_IV : GLP_CV);
        glp_set_col_bnds(lp, j, bound_type(lower, upper), finite_or_zero(lower),
                         finite_or_zero(upper));
        glp_set_obj_coef(lp, j, cost);
    });
    problem_->integer.push_back(integer);
    return static_cast<int>(problem_->integer.size()) - 1;
}

int IntegerProgram::add_row(const std::vector<std::pair<int, double>>& terms, double lower,
                            double upper) {
    std::vector<int> index{0};
    std::vector<double> value{0.0};
    for (const auto& [column, coefficient] : terms) {
        index.push_back(column);
        value.push_back(coefficient);
    }
    int i = 0;
    glp_prob* lp = problem_->lp;
    problem_->run([&] {
        i = glp_add_rows(lp, 1);
        glp_set_row_bnds(lp, i, bound_type(lower, upper), finite_or_zero(lower),
                         finite_or_zero(upper));
        glp_set_mat_row(lp, i, static_cast<int>(terms.size()), index.data(), value.data());
    });
    return i;
}

void IntegerProgram::set_bounds(int column, double lower, double upper) {
    glp_prob* lp = problem_->lp;
    problem_->run([&] {
        glp_set_col_bnds(lp, column, bound_type(lower, upper), finite_or_zero(lower),
                         finite_or_zero(upper));
    });
}

void IntegerProgram::set_cost(int column, double cost) {
    glp_prob* lp = problem_->lp;
    problem_->run([&] { glp_set_obj_coef(lp, column, cost); });
}

void IntegerProgram::clear_costs() {
    glp_prob* lp = problem_->lp;
    const int n = columns();
    problem_->run([&] {
        for (int j = 1; j <= n; ++j) {
            glp_set_obj_coef(lp, j, 0.0);
        }
    });
}

int IntegerProgram::columns() const {
    // Counted here, so that the answer holds after a failure too.
    return static_cast<int>(problem_->integer.size()) - 1;
}

IntegerProgram::Outcome IntegerProgram::solve(int max_branch_nodes) {
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
    const bool inject = g_fail_next_solve.exchange(false);
    glp_prob* lp = problem_->lp;
    int rc = 0;
    int status = 0;
    const bool ran = problem_->run([&] {
        glp_term_out(GLP_OFF);
        if (inject) {
            glp_add_cols(lp, -1);  // GLPK itself raises the error, as an internal failure would
        }
        rc = glp_intopt(lp, &parameters);
        status = glp_mip_status(lp);
    });
    if (!ran) {
        return Outcome::solver_failed;
    }
    if (state.limited) {
        return status == GLP_FEAS ? Outcome::improved_at_limit : Outcome::search_limit;
    }
    if (rc != 0) {
        return Outcome::infeasible;
    }
    return status == GLP_OPT ? Outcome::optimal : Outcome::infeasible;
}

double IntegerProgram::value(int column) const {
    double v = 0.0;
    glp_prob* lp = problem_->lp;
    problem_->run([&] { v = glp_mip_col_val(lp, column); });
    return problem_->integer[static_cast<std::size_t>(column)] ? std::round(v) : v;
}

double IntegerProgram::objective() const {
    double v = 0.0;
    glp_prob* lp = problem_->lp;
    problem_->run([&] { v = glp_mip_obj_val(lp); });
    return v;
}

const std::string& IntegerProgram::failure() const {
    return problem_->failure;
}

void release_solver_environment() {
    if (t_solver.environment && t_solver.live_programs == 0) {
        glp_free_env();
        t_solver.environment = false;
    }
}

}  // namespace loa::schedules::detail

namespace loa::schedules::testing {

void fail_next_exact_solve() {
    detail::g_fail_next_solve = true;
}

}  // namespace loa::schedules::testing
