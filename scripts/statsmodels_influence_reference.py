#!/usr/bin/env python3
"""Reference values for linfit's `LeastSquaresFit::influence` (tests/influence.rs): statsmodels'
`OLSInfluence` (`results.get_influence()`).

    pip install statsmodels numpy
    python3 scripts/statsmodels_influence_reference.py > tests/data/statsmodels_influence_reference.json

Per case, per row: `fitted` (fittedvalues), `resid` (resid, y - fitted), `hat`
(hat_matrix_diag), `student_internal` (resid_studentized_internal), `student_external`
(resid_studentized_external: statsmodels refits the model without each row in turn, so this is
an independent check of linfit's closed form), `cooks` and `cooks_p` (cooks_distance), `dffits`
(dffits[0]).

Cases: diabetes (data/sklearn/diabetes.csv, target `target`) with a constant and without;
Longley (data/nist-strd/Longley.dat, y on x1..x6) with a constant and without, and weighted by
w[i] = 1 + i / 10 (as scripts/statsmodels_wls_reference.py), also in exact
rational arithmetic from the file's decimal strings (`*_exact`; statsmodels' own values carry
its pinv's error, ~1e-10 relative for Longley with its constant); diabetes
weighted by w[i] = 0.5 + (i % 7) / 4; diabetes with a redundant 11th column s1 + s2
(rank-deficient).

Two cases do not call OLSInfluence on the fit itself, and say why:
- Weighted: statsmodels' OLSInfluence "assumes the results are from an OLS regression"; on a
  WLS fit its hat diagonal is `x_i (X^T W X)^-1 x_i sqrt(w_i)` and its leave-one-out refits drop
  the weights. linfit reports the influence of the whitened regression (as R's lm.influence):
  OLSInfluence of OLS(sqrt(w) y, sqrt(w) [1 X]), while `fitted` and `resid` are the WLS fit's
  own (unwhitened) values.
- Rank-deficient: the hat matrix is the projection on the design's column space, which the
  redundant column does not change, so every quantity equals OLSInfluence of the fit without it
  (whose k_vars is the number of identified parameters; statsmodels' own k_vars would count the
  redundant column in Cook's distance).
"""
import json
import sys
from fractions import Fraction

import numpy as np
import statsmodels
import scipy.stats
import statsmodels.api as sm

from reference_data import diabetes, exact_inverse, longley, longley_text


def exact_table(x_text, y_text, constant, weights=None):
    """The table by exact rational arithmetic from the data's decimal strings: every quantity
    whose square is rational (all but the p value) is rounded once, from its exact value. With
    `weights` (floats, taken exactly), that of the whitened regression: h = w x (X'WX)^-1 x, the
    whitened residual's square w e^2."""
    X = [[Fraction(1)] * constant + [Fraction(v) for v in row] for row in x_text]
    Y = [Fraction(v) for v in y_text]
    W = [Fraction(v) for v in weights] if weights else [Fraction(1)] * len(Y)
    n, p = len(X), len(X[0])
    xtx = [[sum(w * r[a] * r[b] for r, w in zip(X, W)) for b in range(p)] for a in range(p)]
    xty = [sum(w * r[a] * yv for r, yv, w in zip(X, Y, W)) for a in range(p)]
    inv = exact_inverse(xtx)
    beta = [sum(inv[a][b] * xty[b] for b in range(p)) for a in range(p)]
    fitted = [sum(b * v for b, v in zip(beta, r)) for r in X]
    resid = [yv - f for yv, f in zip(Y, fitted)]
    sse = sum(w * e * e for e, w in zip(resid, W))
    df = n - p
    s2 = sse / df
    signed_root = lambda e, square: (1 if e >= 0 else -1) * float(square) ** 0.5
    out = {c: [] for c in ["fitted", "resid", "hat", "student_internal", "student_external", "cooks", "cooks_p", "dffits"]}
    for r, e, f, w in zip(X, resid, fitted, W):
        h = w * sum(r[a] * inv[a][b] * r[b] for a in range(p) for b in range(p))
        internal2 = w * e * e / (s2 * (1 - h))
        without = (sse - w * e * e / (1 - h)) / (df - 1)
        external2 = w * e * e / (without * (1 - h))
        cooks = internal2 / p * h / (1 - h)
        out["fitted"].append(float(f))
        out["resid"].append(float(e))
        out["hat"].append(float(h))
        out["student_internal"].append(signed_root(e, internal2))
        out["student_external"].append(signed_root(e, external2))
        out["cooks"].append(float(cooks))
        out["cooks_p"].append(float(scipy.stats.f.sf(float(cooks), p, df)))
        out["dffits"].append(signed_root(e, external2 * h / (1 - h)))
    return out


def table(influence, fitted, resid):
    cooks, cooks_p = influence.cooks_distance
    return {
        "fitted": np.asarray(fitted).tolist(),
        "resid": np.asarray(resid).tolist(),
        "hat": influence.hat_matrix_diag.tolist(),
        "student_internal": influence.resid_studentized_internal.tolist(),
        "student_external": influence.resid_studentized_external.tolist(),
        "cooks": cooks.tolist(),
        "cooks_p": cooks_p.tolist(),
        "dffits": influence.dffits[0].tolist(),
    }


def ols(y, x):
    r = sm.OLS(y, x).fit()
    return table(r.get_influence(), r.fittedvalues, r.resid)


def main():
    x, y = diabetes()
    n = len(y)
    w = np.array([0.5 + (i % 7) / 4 for i in range(n)])
    lx, ly = longley()
    const = lambda a: sm.add_constant(a, prepend=True)
    wls = sm.WLS(y, const(x), weights=w).fit()
    # Longley weighted by 1 + i / 10 (as scripts/statsmodels_wls_reference.py), whitened too.
    lw = np.array([1 + i / 10 for i in range(len(ly))])
    # The exact table takes the f64 weights' exact binary values: the weights linfit is given.
    lw_exact = [float(v) for v in lw]
    lwls = sm.WLS(ly, const(lx), weights=lw).fit()
    lroot = np.sqrt(lw)
    lwhite = sm.OLS(lroot * ly, lroot[:, None] * const(lx)).fit()
    root = np.sqrt(w)
    whitened = sm.OLS(root * y, root[:, None] * const(x)).fit()
    weighted = table(whitened.get_influence(), wls.fittedvalues, wls.resid)
    # Checks of the two claims above, by other routes.
    d = const(x)
    direct = w * np.einsum("ij,jk,ik->i", d, np.linalg.inv(d.T @ (w[:, None] * d)), d)
    assert np.allclose(weighted["hat"], direct, rtol=1e-10, atol=0)
    redundant = np.column_stack([x, x[:, 4] + x[:, 5]])
    assert np.allclose(
        sm.OLS(y, const(redundant)).fit().get_influence().hat_matrix_diag,
        sm.OLS(y, d).fit().get_influence().hat_matrix_diag,
        rtol=1e-8,
        atol=0,
    )
    out = {
        "generator": f"scripts/statsmodels_influence_reference.py, statsmodels {statsmodels.__version__}, numpy {np.__version__}",
        "diabetes_ols": ols(y, const(x)),
        "diabetes_no_constant": ols(y, x),
        "longley_ols": ols(ly, const(lx)),
        "longley_no_constant": ols(ly, lx),
        "diabetes_wls": weighted,
        # Longley's condition number with its constant is 4.9e9: statsmodels' pinv-based hat
        # matrix loses ~1e-10 of it; the exact tables are the reference there.
        "longley_ols_exact": exact_table(*longley_text(), 1),
        "longley_no_constant_exact": exact_table(*longley_text(), 0),
        "longley_wls": table(lwhite.get_influence(), lwls.fittedvalues, lwls.resid),
        "longley_wls_exact": exact_table(*longley_text(), 1, lw_exact),
        # diabetes with the redundant column s1 + s2 (made in the test) has these same values.
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
