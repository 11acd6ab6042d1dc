#!/usr/bin/env python3
"""Reference values for linfit's `LeastSquaresFit::predict_intervals` (tests/prediction.rs):
statsmodels' `get_prediction(exog_new, weights=...).summary_frame(alpha)`.

    pip install statsmodels numpy
    python3 scripts/statsmodels_prediction_reference.py > tests/data/statsmodels_prediction_reference.json

Cases (each: the fit's data as the tests load them, the new rows, the level, and statsmodels'
frame columns mean, mean_se, mean_ci_lower, mean_ci_upper, obs_ci_lower, obs_ci_upper):
- `diabetes_ols`: data/sklearn/diabetes.csv (target `target`), OLS with a constant; new rows: the
  first 5 rows, the column means, and one row twice the column maxima; levels 0.95 and 0.9.
- `longley_ols`: data/nist-strd/Longley.dat (y on x1..x6), OLS with a constant (badly
  conditioned: years near 1950 beside the constant); new rows: rows 0, 7, 15 and the means.
  statsmodels forms the uncentred quadratic form `[1 x0] pinv(X) pinv(X)^T [1 x0]^T`, which
  loses about cond(X) eps (1e-6 here) to cancellation, so this case also carries `exact`: the
  same frame from exact rational arithmetic (Python's fractions: the data are exact decimals;
  `(X^T X)^-1`, the residuals and each quadratic form exact, one square root and scipy's t
  quantile in floating point at the end). `longley_no_constant` likewise.
- `diabetes_wls`: WLS with w[i] = 0.5 + (i % 7) / 4 (as scripts/statsmodels_wls_reference.py);
  the same new rows as diabetes_ols, their weights 1 (statsmodels' default) and then
  new_weights = [2, 0.5, 1, 3, 1, 1, 0.25].
- `longley_no_constant`: OLS of y on x1..x6 without a constant; new rows: rows 0 and 15.
- `collinear`: the seed notebook's design x, x+1, x+2 (x = 0..9), y = 1 + 2 x + (i % 3) / 10,
  OLS with a constant (statsmodels solves it with the pseudo-inverse, rank 2 of 4 parameters);
  new rows in the design's row space [5, 6, 7] and [0.5, 1.5, 2.5] (estimable: the frame is
  valid) and one outside it, [1, 1, 1] (not estimable: the test expects NaN and an
  `estimable` false, not statsmodels' numbers).
"""
import json
import sys

from fractions import Fraction

import numpy as np
import scipy.stats
import statsmodels
import statsmodels.api as sm

from reference_data import diabetes, exact_inverse, longley, longley_text

COLUMNS = ["mean", "mean_se", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"]


def exact_frame(x_text, y_text, new_text, level, constant):
    """The frame by exact rational arithmetic from the data's decimal strings."""
    X = [[Fraction(1)] * constant + [Fraction(v) for v in row] for row in x_text]
    Y = [Fraction(v) for v in y_text]
    p = len(X[0])
    n = len(X)
    xtx = [[sum(r[a] * r[b] for r in X) for b in range(p)] for a in range(p)]
    xty = [sum(r[a] * yv for r, yv in zip(X, Y)) for a in range(p)]
    inv = exact_inverse(xtx)
    beta = [sum(inv[a][b] * xty[b] for b in range(p)) for a in range(p)]
    sse = sum((yv - sum(b * v for b, v in zip(beta, r))) ** 2 for r, yv in zip(X, Y))
    df = n - p
    s2 = sse / df
    t = scipy.stats.t.ppf(0.5 + level / 2, df)
    out = {c: [] for c in COLUMNS}
    for row in new_text:
        d = [Fraction(1)] * constant + [Fraction(v) for v in row]
        mean = sum(b * v for b, v in zip(beta, d))
        q = sum(d[a] * inv[a][b] * d[b] for a in range(p) for b in range(p))
        se = float(s2 * q) ** 0.5
        obs = float(s2 * (q + 1)) ** 0.5
        mean = float(mean)
        out["mean"].append(mean)
        out["mean_se"].append(se)
        out["mean_ci_lower"].append(mean - t * se)
        out["mean_ci_upper"].append(mean + t * se)
        out["obs_ci_lower"].append(mean - t * obs)
        out["obs_ci_upper"].append(mean + t * obs)
    out["level"] = level
    return out


def frame(result, new, level, constant, weights=None):
    exog = sm.add_constant(new, prepend=True, has_constant="add") if constant else new
    f = result.get_prediction(exog, weights=weights).summary_frame(alpha=1 - level)
    out = {c: f[c].tolist() for c in COLUMNS}
    out["level"] = level
    out["new_rows"] = new.tolist()
    if weights is not None:
        out["new_weights"] = list(weights)
    return out


def longley_exact_inputs(rows, means=True):
    """Longley's decimal strings and new rows: the rows `rows`, then (with `means`) the exact
    column means as decimal strings of their float values (what the test passes)."""
    x_text, y_text = longley_text()
    new = [x_text[i] for i in rows]
    if means:
        lx, _ = longley()
        new.append([repr(float(v)) for v in lx.mean(axis=0)])
    return x_text, y_text, new


def main():
    x, y = diabetes()
    new = np.vstack([x[:5], x.mean(axis=0), 2 * x.max(axis=0)])
    ols = sm.OLS(y, sm.add_constant(x, prepend=True)).fit()
    w = np.array([0.5 + (i % 7) / 4 for i in range(len(y))])
    wls = sm.WLS(y, sm.add_constant(x, prepend=True), weights=w).fit()
    lx, ly = longley()
    lnew = np.vstack([lx[[0, 7, 15]], lx.mean(axis=0)])
    lols = sm.OLS(ly, sm.add_constant(lx, prepend=True)).fit()
    lnc = sm.OLS(ly, lx).fit()
    cx = np.array([[i, i + 1.0, i + 2.0] for i in range(10)])
    cy = np.array([1 + 2 * i + (i % 3) / 10 for i in range(10)])
    col = sm.OLS(cy, sm.add_constant(cx, prepend=True)).fit()
    cnew = np.array([[5.0, 6.0, 7.0], [0.5, 1.5, 2.5], [1.0, 1.0, 1.0]])
    out = {
        "generator": f"scripts/statsmodels_prediction_reference.py, statsmodels {statsmodels.__version__}, numpy {np.__version__}",
        "diabetes_ols": [frame(ols, new, 0.95, True), frame(ols, new, 0.9, True)],
        "longley_ols": [frame(lols, lnew, 0.95, True)],
        "longley_ols_exact": exact_frame(*longley_exact_inputs([0, 7, 15]), 0.95, 1),
        "longley_no_constant_exact": exact_frame(*longley_exact_inputs([0, 15], means=False), 0.95, 0),
        "diabetes_wls": [
            frame(wls, new, 0.95, True),
            frame(wls, new, 0.95, True, [2, 0.5, 1, 3, 1, 1, 0.25]),
        ],
        "longley_no_constant": [frame(lnc, lx[[0, 15]], 0.95, False)],
        "collinear": [frame(col, cnew, 0.95, True)],
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
