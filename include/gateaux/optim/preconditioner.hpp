#pragma once
// Preconditioners for Hessian-free CG (optim/hessian_free.hpp). CG there solves the damped
// Newton system (C + λI)·p = −g, C·v from the objective's curvature products of the chosen kind
// (H or Gauss–Newton; B in hessian_free.hpp); a preconditioner stands for M ≈ C + λI and gives
// z = M⁻¹·r for each CG residual r.
//
//   identity_preconditioner       M = I: plain CG.
//   diagonal_preconditioner       M = diag(|C_ii|, floored) + λI, C_ii from one product C·e_i per
//                                 coordinate (optim/curvature_diagonal.hpp, as diagonal Newton):
//                                 n products per CG run, so for small problems (refused above
//                                 options::max_parameters).
//   block_inverse_preconditioner  M⁻¹ = blockdiag(H_l⁺) (the block_solver capability): the exact
//                                 inverse of the block-diagonal part of H, by the functional
//                                 inverse where it applies and the block solve elsewhere. It
//                                 ignores λ, and is not positive definite where a block H_l is
//                                 indefinite (smooth activations).
//   damped_block_preconditioner   M = blockdiag(H_l + λI) with CG's own λ, by the block solve:
//                                 positive definite where every H_l ⪰ 0 (piecewise-linear
//                                 activations under the squared error, where H_l is also the
//                                 Gauss–Newton block), and the damped system's own block diagonal
//                                 there. One damped block solve per CG iteration.
//
// Another preconditioner (K-FAC, say) derives from preconditioner. What CG does when one fails is
// the same for all and is CG's (hessian_free): where rᵀM⁻¹r ≤ 0 or M⁻¹r is not finite that
// iteration uses the identity; a rank_error from prepare or apply drops the preconditioner for
// the rest of that CG run.
//
// Checkpoints (io/state.hpp): a preconditioner saves with hessian_free's state what a later CG run
// reads from an earlier one (averages carried between runs, say) and what it reports about the
// last run. The four here rebuild M in every prepare(), so they save at most that report. The
// base class's state() refuses, as optimizer::state does: a preconditioner written elsewhere may
// carry state across CG runs, and a resumed run that silently lost it would not continue as the
// interrupted one; one that carries none says so with an empty state().
#include <string>

#include "../core/errors.hpp"
#include "../io/state.hpp"
#include "capabilities.hpp"
#include "curvature_diagonal.hpp"
#include "param_set.hpp"

namespace gateaux {

class preconditioner {
public:
    virtual ~preconditioner() = default;
    virtual std::string name() const = 0;
    // Why it cannot be used on f at x (naming the missing capability, or a limit), or "" if it
    // can; hessian_free's start() ends the run with not_applicable on a non-empty answer.
    virtual std::string not_applicable(objective& f, const param_set& x) const {
        (void)f, (void)x;
        return {};
    }
    // At the start of each CG run, for the system (C + λI) at x: c(x, v, out) is C·v, damping is λ.
    virtual void prepare(objective& f, const param_set& x, const curvature_operator& c, double damping) {
        (void)f, (void)x, (void)c, (void)damping;
    }
    // z = M⁻¹·r, with z shaped like r.
    virtual void apply(objective& f, const param_set& x, const param_set& r, param_set& z) = 0;
    // Whether M⁻¹ is positive definite wherever it exists. Then CG uses the standard β;
    // otherwise the flexible one (Polak–Ribière), which tolerates the identity standing in for
    // M⁻¹ in some iterations.
    virtual bool positive_definite() const = 0;
    // What a resumed run needs to continue exactly (see above); options are not state.
    virtual void state(state_archive& a) {
        (void)a;
        throw checkpoint_error("gateaux::checkpoint: the preconditioner " + name() + " does not support checkpoints");
    }
};

class identity_preconditioner final : public preconditioner {
public:
    std::string name() const override { return "identity"; }
    void apply(objective&, const param_set&, const param_set& r, param_set& z) override { z.assign(r); }
    bool positive_definite() const override { return true; }
    void state(state_archive&) override {}
};

class diagonal_preconditioner final : public preconditioner {
public:
    struct options {
        double relative_floor = 1e-8;       // |C_ii| floored at relative_floor·max_j |C_jj|
        std::size_t max_parameters = 4096;  // n products per CG run: refuse larger problems
    };
    diagonal_preconditioner() : diagonal_preconditioner(options{}) {}
    explicit diagonal_preconditioner(const options& o) : opt_(o) {
        if (!(o.relative_floor > 0.0 && o.relative_floor < 1.0))
            throw error("gateaux::diagonal_preconditioner: the relative floor must be in (0, 1), got relative_floor = " +
                        number_string(o.relative_floor));
    }
    std::string name() const override { return "diagonal"; }

    std::string not_applicable(objective&, const param_set& x) const override {
        if (x.count() <= opt_.max_parameters) return {};
        return "the diagonal preconditioner needs " + std::to_string(x.count()) +
               " curvature products per CG run, above diagonal_preconditioner::options::max_parameters = " +
               std::to_string(opt_.max_parameters);
    }
    void prepare(objective&, const param_set& x, const curvature_operator& c, double damping) override {
        // e_ too: after a load d_ has its shape while e_ (zero between runs) is not yet allocated.
        if (!d_.same_shape(x) || !e_.same_shape(x)) d_ = e_ = cv_ = x.zeros_like();
        detail::unit_vector_diagonal([&](const param_set& v, param_set& out) { c(x, v, out); }, e_, cv_, d_);
        detail::make_positive(d_, opt_.relative_floor);
        for (tensor& t : d_)
            for (double& v : t) v += damping;
    }
    void apply(objective&, const param_set&, const param_set& r, param_set& z) override {
        for (std::size_t b = 0; b < r.size(); ++b)
            for (std::size_t k = 0; k < r[b].size(); ++k) z[b].data()[k] = r[b].data()[k] / d_[b].data()[k];
    }
    bool positive_definite() const override { return true; }

    // diag(M) of the last CG run, shaped like the parameters.
    const param_set& diagonal() const { return d_; }
    // Only that report: the next CG run computes its own diagonal.
    void state(state_archive& a) override { a("diagonal", d_); }

private:
    options opt_;
    param_set d_, e_, cv_;
};
using diagonal_preconditioner_options = diagonal_preconditioner::options;

class block_inverse_preconditioner final : public preconditioner {
public:
    std::string name() const override { return "block-inverse"; }
    std::string not_applicable(objective& f, const param_set&) const override {
        return detail::missing(f, capability_list<block_solver>{});
    }
    void prepare(objective& f, const param_set&, const curvature_operator&, double) override {
        solver_ = capability<block_solver>(f);
        if (solver_ == nullptr) throw error("gateaux::block_inverse_preconditioner: " + detail::lacking<block_solver>());
    }
    void apply(objective&, const param_set& x, const param_set& r, param_set& z) override { solver_->block_inverse(x, r, z); }
    bool positive_definite() const override { return false; }
    void state(state_archive&) override {}  // the solver is bound again by every prepare()

private:
    block_solver* solver_ = nullptr;  // of the objective prepare() was given
};

// H_l are the Hessian's diagonal blocks (with the loss's l2 penalty), whatever kind of curvature
// CG multiplies by; for the kinds that are positive semi-definite (Gauss–Newton, Fisher) they
// agree with its blocks where the activations are piecewise linear under the squared error. With
// smooth activations a block can be indefinite and M with it: CG's fallbacks (the identity where
// rᵀM⁻¹r ≤ 0, the flexible β) cover that, so it does not claim to be positive definite.
class damped_block_preconditioner final : public preconditioner {
public:
    std::string name() const override { return "damped-block"; }
    std::string not_applicable(objective& f, const param_set&) const override {
        return detail::missing(f, capability_list<block_solver>{});
    }
    void prepare(objective& f, const param_set&, const curvature_operator&, double damping) override {
        solver_ = capability<block_solver>(f);
        if (solver_ == nullptr) throw error("gateaux::damped_block_preconditioner: " + detail::lacking<block_solver>());
        lambda_ = damping;
    }
    void apply(objective&, const param_set& x, const param_set& r, param_set& z) override {
        solver_->damped_block_inverse(x, r, lambda_, z);
    }
    bool positive_definite() const override { return false; }
    double damping() const { return lambda_; }  // λ of the last CG run
    // Only that report: every prepare() binds the solver and takes the run's λ.
    void state(state_archive& a) override { a("damping", lambda_); }

private:
    block_solver* solver_ = nullptr;  // of the objective prepare() was given
    double lambda_ = 0.0;
};

}  // namespace gateaux
