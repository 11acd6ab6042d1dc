#!/usr/bin/env python3
"""Reference values for linfit's SGD regressor, computed with scikit-learn's `SGDRegressor`.

    pip install scikit-learn numpy
    python3 scripts/sklearn_sgd_reference.py > tests/data/sklearn_sgd_reference.json

The JSON goes to stdout (nothing else does; the script's own checks fail with an exception).
Every fit uses `shuffle=False` (the samples are visited in row order, so `random_state`, fixed
at 0, plays no part) and `early_stopping=False`, so the numbers depend on nothing but the data
and the parameters, all of which are stored in the JSON.

Datasets (stored in the JSON, so the tests need nothing else):

- `diabetes_std`: data/sklearn/diabetes.csv, the 10 feature columns standardised column-wise
  (`StandardScaler`: mean 0, population standard deviation 1) and the target standardised the
  same way, 442 rows. Standardising y as well keeps every schedule below finite.
- `small`: a deterministic 30 x 3 design, x[i][j] = sin((j + 1) * 0.9 * i + 0.5 * j),
  y = 0.5 + x @ [1.5, -2, 0.25] + 0.1 * cos(2.1 * i) (condition number about 1.5).
- for each, weights[i] = 0.5 + (i % 7) / 4, used as `sample_weight` where a case says so.

`cases`: one `fit(x, y[, sample_weight])` each: every loss x every penalty (invscaling), every
learning-rate schedule, averaging from the first sample (average=1) and from sample 100 (and
one `average` beyond every sample seen, so that `coef_` is the plain SGD iterate), no intercept,
sample weights, a fixed number of epochs (tol=None), a fit stopped by max_iter (recording the
ConvergenceWarning), and a few fits on `small`. Each records `coef_`, `intercept_[0]`,
`n_iter_`, `t_` and whether a ConvergenceWarning was raised. `params` lists the constructor
arguments that matter (`average` as an int: True is 1, False is 0).

Every reference is checked to be well conditioned: refitting on x times (1 + 1e-13 noise) must
give the same `n_iter_` and move coef_/intercept_ by under 1e-10 relative. That is why the
'optimal' cases use alpha = 0.3 or 1 with squared error (with 1e-2 or 0.1 the first steps,
eta = 1 / (alpha * (t0 + t - 1)), blow the iterate up to 1e5..1e9) and alpha = 0.1 with huber
(with 1e-2 the run is chaotic: 1e-13 noise in x moves coef_ by 1e-7).

`partial_fit_cases`: successive `partial_fit` calls on the row ranges `chunks` ([start, end),
half-open), each call one epoch over its chunk; `n_iter` is `n_iter_` after the last call
(always 1) and `t` is `t_` after the last call (1 + total samples seen).
"""
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULTS = {
    "loss": "squared_error",
    "penalty": "l2",
    "alpha": 1e-4,
    "l1_ratio": 0.15,
    "fit_intercept": True,
    "max_iter": 1000,
    "tol": 1e-3,
    "shuffle": False,
    "epsilon": 0.1,
    "learning_rate": "invscaling",
    "eta0": 0.01,
    "power_t": 0.25,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 5,
    "average": False,  # the int 0 is rejected: the constraint is Interval(Integral, 0, None, closed="neither") or bool
}


def weights(n):
    return np.array([0.5 + (i % 7) / 4 for i in range(n)])


def diabetes_std():
    path = os.path.join(ROOT, "data", "sklearn", "diabetes.csv")
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    t = header.index("target")
    x = np.delete(data, t, axis=1)
    y = data[:, t]
    x = StandardScaler().fit_transform(x)
    y = StandardScaler().fit_transform(y.reshape(-1, 1)).ravel()
    assert x.shape == (442, 10)
    return x, y


def small():
    i = np.arange(30, dtype=float)[:, None]
    j = np.arange(3, dtype=float)[None, :]
    x = np.sin((j + 1) * 0.9 * i + 0.5 * j)
    y = 0.5 + x @ np.array([1.5, -2.0, 0.25]) + 0.1 * np.cos(2.1 * i[:, 0])
    return x, y


def params(**kw):
    p = dict(DEFAULTS)
    for k in kw:
        assert k in p, k
    p.update(kw)
    return p


def recorded(p):
    """The parameters as written to the JSON: `average` as an int (True is 1)."""
    return dict(p, average=int(p["average"]))


def estimator(p):
    return SGDRegressor(random_state=0, **p)


def check_stable(p, x, y, w, chunks, result):
    """Refit on x perturbed by relative noise of 1e-13: n_iter_ must not change and coef_ and
    intercept_ must move by less than 1e-10 relative, so the reference does not hinge on
    rounding (a schedule that first blows up, or a stopping test decided by a hair)."""
    rng = np.random.default_rng(12345)
    for _ in range(3):
        x2 = x * (1 + 1e-13 * rng.standard_normal(x.shape))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = estimator(p)
            if chunks is None:
                est.fit(x2, y, sample_weight=w)
            else:
                for a, b in chunks:
                    est.partial_fit(x2[a:b], y[a:b], sample_weight=None if w is None else w[a:b])
        assert est.n_iter_ == result.n_iter_, (p, est.n_iter_, result.n_iter_)
        ref = np.r_[result.coef_, result.intercept_]
        new = np.r_[est.coef_, est.intercept_]
        rel = np.abs(ref - new).max() / np.abs(ref).max()
        assert rel < 1e-10, (p, rel)


def fit_case(name, dataset, data, sample_weight=False, **kw):
    x, y, w = data[dataset]
    p = params(**kw)
    sw = w if sample_weight else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = estimator(p).fit(x, y, sample_weight=sw)
    conv = any(issubclass(c.category, ConvergenceWarning) for c in caught)
    other = [c for c in caught if not issubclass(c.category, ConvergenceWarning)]
    assert not other, [str(c.message) for c in other]
    # shuffle=False: a second fit must give the very same numbers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = estimator(p).fit(x, y, sample_weight=sw)
    assert np.array_equal(est.coef_, again.coef_) and np.array_equal(est.intercept_, again.intercept_)
    if p["average"] is True:
        # average=True is average=1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            one = estimator(dict(p, average=1)).fit(x, y, sample_weight=sw)
        assert np.array_equal(est.coef_, one.coef_)
    assert np.all(np.isfinite(est.coef_)) and np.isfinite(est.intercept_[0])
    assert est.t_ == 1 + est.n_iter_ * x.shape[0]
    check_stable(p, x, y, sw, None, est)
    return {
        "name": name,
        "dataset": dataset,
        "params": recorded(p),
        "sample_weight": bool(sample_weight),
        "coef": est.coef_.tolist(),
        "intercept": float(est.intercept_[0]),
        "n_iter": int(est.n_iter_),
        "t": float(est.t_),
        "converged_warning": conv,
    }


def partial_fit_case(name, dataset, data, chunks, sample_weight=False, **kw):
    x, y, w = data[dataset]
    p = params(**kw)
    est = estimator(p)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for a, b in chunks:
            est.partial_fit(x[a:b], y[a:b], sample_weight=w[a:b] if sample_weight else None)
    assert not caught, [str(c.message) for c in caught]
    assert est.t_ == 1 + sum(b - a for a, b in chunks)
    check_stable(p, x, y, w if sample_weight else None, chunks, est)
    return {
        "name": name,
        "dataset": dataset,
        "params": recorded(p),
        "sample_weight": bool(sample_weight),
        "chunks": [list(c) for c in chunks],
        "coef": est.coef_.tolist(),
        "intercept": float(est.intercept_[0]),
        "n_iter": int(est.n_iter_),
        "t": float(est.t_),
    }


def main():
    data = {}
    for name, (x, y) in (("diabetes_std", diabetes_std()), ("small", small())):
        data[name] = (x, y, weights(x.shape[0]))

    D = "diabetes_std"
    cases = []
    # every loss x every penalty, default invscaling schedule
    for loss in ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        for penalty in (None, "l2", "l1", "elasticnet"):
            cases.append(
                fit_case(f"{loss}_{penalty or 'none'}", D, data, loss=loss, penalty=penalty, alpha=1e-3)
            )
    # every learning-rate schedule
    cases += [
        fit_case("lr_constant", D, data, learning_rate="constant", eta0=0.01),
        # squared error with the optimal schedule needs a large alpha on this data: its first
        # steps are eta = 1 / (alpha * (t0 + t - 1)) with t0 = sqrt(sqrt(alpha)) / alpha, and with
        # alpha = 1e-2 or 0.1 the iterate blows up to 1e5..1e9 before the schedule catches up
        fit_case("lr_optimal", D, data, learning_rate="optimal", alpha=0.3),
        fit_case("lr_optimal_alpha_1", D, data, learning_rate="optimal", alpha=1.0),
        fit_case("lr_invscaling_alpha1e-4", D, data, learning_rate="invscaling"),
        # eta * alpha large: the weight vector's lazy scale drops below 1e-9 and is folded into
        # the weights every few hundred samples, with tol reading the L2 norm
        fit_case("wscale_reset_l2_constant", D, data, learning_rate="constant", alpha=1.0, eta0=0.05),
        fit_case("wscale_reset_l2_invscaling", D, data, learning_rate="invscaling", alpha=0.5, eta0=0.2, tol=1e-5),
        fit_case("lr_invscaling_power_t_0.5", D, data, learning_rate="invscaling", eta0=0.05, power_t=0.5),
        fit_case("lr_adaptive", D, data, learning_rate="adaptive", eta0=0.05, tol=1e-4),
        # huber with optimal and alpha = 1e-2 is chaotic here (1e-13 noise in x moves coef_ by 1e-7)
        fit_case("huber_optimal", D, data, loss="huber", learning_rate="optimal", alpha=0.1),
        fit_case(
            "epsilon_insensitive_adaptive", D, data,
            loss="epsilon_insensitive", learning_rate="adaptive", eta0=0.05, tol=1e-4,
        ),
        fit_case(
            "squared_error_constant_n_iter_no_change_2", D, data,
            learning_rate="constant", eta0=0.005, tol=1e-4, n_iter_no_change=2,
        ),
    ]
    # averaging
    cases += [
        fit_case("average_true_squared_error_l2", D, data, average=True, alpha=1e-3),
        fit_case("average_100_squared_error_l2", D, data, average=100, alpha=1e-3),
        fit_case(
            "average_true_huber_elasticnet", D, data,
            loss="huber", penalty="elasticnet", alpha=1e-3, l1_ratio=0.5, average=True,
        ),
        fit_case(
            "average_100_huber_elasticnet", D, data,
            loss="huber", penalty="elasticnet", alpha=1e-3, l1_ratio=0.5, average=100,
        ),
        fit_case("average_600_constant", D, data, learning_rate="constant", eta0=0.01, average=600),
        # average beyond every sample seen (t_ - 1 = 3 * 442): coef_ is the plain iterate
        fit_case("average_beyond_samples_seen", D, data, average=1_000_000, tol=None, max_iter=3),
    ]
    # no intercept
    cases += [
        fit_case("no_intercept_squared_error_l2", D, data, fit_intercept=False, alpha=1e-3),
        fit_case(
            "no_intercept_epsilon_insensitive_elasticnet_constant", D, data,
            fit_intercept=False, loss="epsilon_insensitive", penalty="elasticnet",
            alpha=1e-3, l1_ratio=0.3, learning_rate="constant", eta0=0.01,
        ),
    ]
    # sample weights
    cases += [
        fit_case("weighted_squared_error_l2_invscaling", D, data, sample_weight=True, alpha=1e-3),
        fit_case(
            "weighted_huber_l1_optimal", D, data, sample_weight=True,
            loss="huber", penalty="l1", learning_rate="optimal", alpha=1e-2,
        ),
        fit_case("weighted_average_true", D, data, sample_weight=True, average=True, alpha=1e-3),
        fit_case(
            "weighted_adaptive", D, data, sample_weight=True,
            learning_rate="adaptive", eta0=0.05, tol=1e-4,
        ),
    ]
    # fixed number of epochs, and a fit stopped by max_iter
    cases += [
        fit_case("tol_none_max_iter_7", D, data, tol=None, max_iter=7, alpha=1e-3),
        fit_case(
            "tol_none_max_iter_7_squared_epsilon_insensitive_l1_constant", D, data,
            tol=None, max_iter=7, loss="squared_epsilon_insensitive", penalty="l1",
            alpha=1e-3, learning_rate="constant", eta0=0.01,
        ),
        fit_case("max_iter_2_hit", D, data, max_iter=2, alpha=1e-3),
    ]
    # the small design
    S = "small"
    cases += [
        fit_case("small_defaults", S, data),
        fit_case("small_l1_alpha_0.01", S, data, penalty="l1", alpha=0.01),
        fit_case("small_epsilon_insensitive_0.05", S, data, loss="epsilon_insensitive", epsilon=0.05),
        fit_case(
            "small_weighted_huber_optimal", S, data, sample_weight=True,
            loss="huber", epsilon=0.5, learning_rate="optimal", alpha=1e-2,
        ),
        fit_case("small_tol_none_max_iter_7", S, data, tol=None, max_iter=7),
    ]
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names))

    halves = [(0, 221), (221, 442), (0, 442)]
    partial = [
        partial_fit_case("partial_defaults", D, data, halves),
        partial_fit_case("partial_defaults_weighted", D, data, halves, sample_weight=True),
        partial_fit_case("partial_optimal", D, data, halves, learning_rate="optimal", alpha=0.3),
        partial_fit_case(
            "partial_huber_optimal", D, data, halves, loss="huber", learning_rate="optimal", alpha=0.1
        ),
        partial_fit_case("partial_average_true", D, data, halves, average=True, alpha=1e-3),
        partial_fit_case("partial_adaptive", D, data, halves, learning_rate="adaptive", eta0=0.05),
    ]

    out = {
        "generator": (
            f"scripts/sklearn_sgd_reference.py, scikit-learn {sklearn.__version__}, "
            f"numpy {np.__version__}"
        ),
        "datasets": {
            name: {"x": x.tolist(), "y": y.tolist(), "weights": w.tolist()}
            for name, (x, y, w) in data.items()
        },
        "cases": cases,
        "partial_fit_cases": partial,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
