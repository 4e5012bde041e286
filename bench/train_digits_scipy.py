#!/usr/bin/python3
"""Peer reference for bench_train_digits: scipy's L-BFGS-B (Debian python3-scipy) on exactly
the same objective and starting point as gateaux's leaky 64-64-10 network with biases.

    build-bench/bench/bench_train_digits --export /tmp/digits-export
    bench/train_digits_scipy.py /tmp/digits-export [repeat]

The loss and gradient are hand-written numpy (forward, then backward by the chain rule), mean
over samples of 1/2 |out - y|^2, leaky ReLU slope 0.1. Prints the median wall time until the
training loss first reaches 0.02 (a callback stops the run), iterations and evaluations, and the
BLAS numpy uses."""
import sys
import time

import numpy as np
import scipy
import scipy.optimize

GOAL = 0.02


def load(d):
    rd = lambda n: np.loadtxt(f"{d}/{n}.csv", delimiter=",", ndmin=2)
    return rd("x"), rd("y"), [rd("W1"), rd("b1"), rd("W2"), rd("b2")]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/digits-export"
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    X, Y, start = load(d)
    shapes = [p.shape for p in start]
    sizes = [p.size for p in start]
    B = X.shape[0]

    def unpack(theta):
        out, k = [], 0
        for s, n in zip(shapes, sizes):
            out.append(theta[k:k + n].reshape(s))
            k += n
        return out

    def loss_grad(theta):
        W1, b1, W2, b2 = unpack(theta)
        n1 = X @ W1 + b1
        h1 = np.where(n1 > 0, n1, 0.1 * n1)
        e = h1 @ W2 + b2 - Y
        loss = 0.5 * np.sum(e * e) / B
        d2 = e / B
        gW2 = h1.T @ d2
        gb2 = d2.sum(axis=0, keepdims=True)
        d1 = (d2 @ W2.T) * np.where(n1 > 0, 1.0, 0.1)
        gW1 = X.T @ d1
        gb1 = d1.sum(axis=0, keepdims=True)
        return loss, np.concatenate([g.ravel() for g in (gW1, gb1, gW2, gb2)])

    class Reached(Exception):
        pass

    times, its, evals = [], [], []
    for _ in range(repeat):
        theta0 = np.concatenate([p.ravel() for p in start])
        count = {"f": 0, "it": 0}
        last = {"loss": np.inf}

        def fun(t):
            count["f"] += 1
            l, g = loss_grad(t)
            last["loss"] = l
            return l, g

        def callback(t):
            count["it"] += 1
            if last["loss"] <= GOAL:
                raise Reached()

        t0 = time.perf_counter()
        try:
            scipy.optimize.minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
                                    options={"maxiter": 100000, "maxfun": 100000, "ftol": 0, "gtol": 0, "maxcor": 10})
            elapsed = float("nan")
        except Reached:
            elapsed = time.perf_counter() - t0
        times.append(elapsed)
        its.append(count["it"])
        evals.append(count["f"])
    order = np.argsort(times)
    m = order[len(order) // 2]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # older numpy: no dict mode
        blas = "see numpy.show_config()"
    print(f"scipy {scipy.__version__}, numpy {np.__version__} (BLAS: {blas}); median of {repeat} runs")
    print(f"scipy L-BFGS-B (m = 10), leaky 64-64-10 + biases: {times[m]:.3f} s, {its[m]} iterations, {evals[m]} evaluations")


if __name__ == "__main__":
    main()
