#!/usr/bin/env python3
"""Reference values for linfit's ridge regression, computed with scikit-learn's `Ridge`.

    pip install scikit-learn numpy
    python3 scripts/sklearn_ridge_reference.py > tests/data/sklearn_ridge_reference.json

The JSON goes to stdout (nothing else does; the script's own checks fail with an exception).
Every fit uses `Ridge(solver="svd")` and is checked against `solver="cholesky"` (they must agree
to 1e-10, relative to the largest coefficient), and, independently, against the normal
equations solved here with numpy: minimise sum_i w_i (y_i - b - x_i . beta)^2 + alpha |beta|^2,
the intercept b not penalised (sklearn centres x and y with the weighted means, then solves).

Datasets (stored in the JSON, so the tests need nothing else; `y` is always 2-D, rows x targets):

- `diabetes`: data/sklearn/diabetes.csv, the 10 raw (unstandardised) feature columns, target
  `target`, 442 rows.
- `diabetes_first6`: its first 6 rows (fewer rows than features).
- `linnerud`: data/sklearn/linnerud.csv, features Chins,Situps,Jumps, targets
  Weight,Waist,Pulse, 20 rows.
- for each, weights[i] = 0.5 + (i % 7) / 4, used as `sample_weight` where a case says so.

Cases: diabetes with alpha 0.1, 1 and 100, with and without intercept; linnerud (3 targets)
with alpha 1 and 10; diabetes_first6 with alpha 1, with and without intercept; and weighted fits
on diabetes (alpha 1, intercept) and linnerud (alpha 1). `coef` is always
[n_targets][n_features] (sklearn's coef_ for a 2-D y), `intercept` has n_targets entries
(zeros without an intercept).
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import Ridge

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def weights(n):
    return np.array([0.5 + (i % 7) / 4 for i in range(n)])


def load(name, targets):
    path = os.path.join(ROOT, "data", "sklearn", name)
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    t = [header.index(n) for n in targets]
    f = [i for i in range(len(header)) if i not in t]
    return [header[i] for i in f], [header[i] for i in t], data[:, f], data[:, t]


def normal_equations(x, y, w, alpha, fit_intercept):
    """Independent check: weighted ridge through the (centred) normal equations."""
    if fit_intercept:
        xm = w @ x / w.sum()
        ym = w @ y / w.sum()
    else:
        xm = np.zeros(x.shape[1])
        ym = np.zeros(y.shape[1])
    xc, yc = x - xm, y - ym
    a = xc.T @ (w[:, None] * xc) + alpha * np.eye(x.shape[1])
    coef = np.linalg.solve(a, xc.T @ (w[:, None] * yc)).T
    return coef, ym - coef @ xm


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max())


def case(name, dataset, data, alpha, fit_intercept, sample_weight=False):
    x, y, w = data[dataset]["x"], data[dataset]["y"], data[dataset]["weights"]
    sw = w if sample_weight else None
    fits = {}
    for solver in ("svd", "cholesky"):
        est = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver=solver).fit(x, y, sample_weight=sw)
        coef = np.asarray(est.coef_).reshape(y.shape[1], x.shape[1])
        intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=float), (y.shape[1],)).copy()
        fits[solver] = (coef, intercept)
    (coef, intercept), (c2, i2) = fits["svd"], fits["cholesky"]
    assert rel(coef, c2) < 1e-10, (name, "cholesky", rel(coef, c2))
    if fit_intercept:
        assert rel(intercept, i2) < 1e-10, (name, "cholesky", rel(intercept, i2))
    else:
        assert np.all(intercept == 0.0) and np.all(i2 == 0.0)
    c3, i3 = normal_equations(x, y, w if sample_weight else np.ones(x.shape[0]), alpha, fit_intercept)
    assert rel(coef, c3) < 1e-8, (name, "normal equations", rel(coef, c3))
    if fit_intercept:
        assert rel(intercept, i3) < 1e-8, (name, "normal equations", rel(intercept, i3))
    return {
        "name": name,
        "dataset": dataset,
        "alpha": alpha,
        "fit_intercept": fit_intercept,
        "sample_weight": sample_weight,
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
    }


def main():
    data = {}
    names, _, x, y = load("diabetes.csv", ["target"])
    assert x.shape == (442, 10)
    data["diabetes"] = {"feature_names": names, "x": x, "y": y, "weights": weights(442)}
    data["diabetes_first6"] = {"feature_names": names, "x": x[:6], "y": y[:6], "weights": weights(6)}
    names, targets, x, y = load("linnerud.csv", ["Weight", "Waist", "Pulse"])
    assert names == ["Chins", "Situps", "Jumps"] and x.shape == (20, 3)
    data["linnerud"] = {
        "feature_names": names, "target_names": targets, "x": x, "y": y, "weights": weights(20),
    }

    cases = []
    for alpha in (0.1, 1.0, 100.0):
        for fit_intercept in (True, False):
            tag = "intercept" if fit_intercept else "no_intercept"
            cases.append(case(f"diabetes_alpha_{alpha:g}_{tag}", "diabetes", data, alpha, fit_intercept))
    for alpha in (1.0, 10.0):
        cases.append(case(f"linnerud_alpha_{alpha:g}", "linnerud", data, alpha, True))
    for fit_intercept in (True, False):
        tag = "intercept" if fit_intercept else "no_intercept"
        cases.append(case(f"diabetes_first6_alpha_1_{tag}", "diabetes_first6", data, 1.0, fit_intercept))
    cases.append(case("diabetes_weighted_alpha_1", "diabetes", data, 1.0, True, sample_weight=True))
    cases.append(case("linnerud_weighted_alpha_1", "linnerud", data, 1.0, True, sample_weight=True))

    out = {
        "generator": (
            f"scripts/sklearn_ridge_reference.py, scikit-learn {sklearn.__version__}, "
            f"numpy {np.__version__}"
        ),
        "datasets": {
            name: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
            for name, d in data.items()
        },
        "cases": cases,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
