// minimize(f, x, optimizer) on an objective of a final type checks at compile time that the type
// offers what the optimizer states it needs: naive_newton needs the explicit Hessian
// (hessian_matrix), which an objective written with only value and gradient does not have.
// expect: the optimizer needs hessian_matrix (the explicit Hessian)
// max-bytes: 2048
#include <gateaux/optim/lbfgs.hpp>
#include <gateaux/optim/newton.hpp>

// f(x) = ½‖x − 1‖² over one 1×2 block.
class parabola final : public gateaux::objective {
public:
    std::vector<std::string> names() const override { return {"x"}; }
    gateaux::param_set parameters_like() const override {
        return gateaux::param_set({gateaux::tensor(xt::zeros<double>({std::size_t(1), std::size_t(2)}))});
    }
    double value(const gateaux::param_set& x) override {
        gateaux::param_set g;
        return value_and_gradient(x, g);
    }
    double value_and_gradient(const gateaux::param_set& x, gateaux::param_set& g) override {
        if (!g.same_shape(x)) g = x.zeros_like();
        double v = 0.0;
        for (std::size_t i = 0; i < 2; ++i) {
            g[0](0, i) = x[0](0, i) - 1.0;
            v += 0.5 * g[0](0, i) * g[0](0, i);
        }
        return v;
    }
};

int main() {
    parabola f;
    gateaux::param_set x = f.parameters_like();
#ifdef GATEAUX_SHOULD_FAIL
    gateaux::naive_newton opt;
#else
    gateaux::lbfgs opt;
#endif
    return gateaux::minimize(f, x, opt).converged() ? 0 : 1;
}
