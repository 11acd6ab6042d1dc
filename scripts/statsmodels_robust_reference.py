#!/usr/bin/env python3
"""Reference values for linfit's robust covariances (`LeastSquares::covariance`, tests/robust.rs):
statsmodels' `OLS(...).fit(cov_type=...)` and `WLS(...).fit(cov_type=...)`.

    pip install statsmodels numpy
    python3 scripts/statsmodels_robust_reference.py > tests/data/statsmodels_robust_reference.json

Data: diabetes (data/sklearn/diabetes.csv, target `target`, a constant prepended), unweighted
and with w[i] = 0.5 + (i % 7) / 4 (as scripts/statsmodels_wls_reference.py); Longley
(data/nist-strd/Longley.dat, y on x1..x6) with a constant and without. Kinds: HC0, HC1, HC2,
HC3; HAC with maxlags 3 (diabetes) and 2 (Longley), the rows in file order as time (Longley's
rows are years 1947-1962: a real time series); cluster with groups g[i] = i % 12 (diabetes)
and g[i] = i // 4 (Longley: four-year periods). For each: bse, tvalues (z), pvalues,
conf_int(0.05), fvalue, f_pvalue, and statsmodels' flags (use_t, df for the F test).
"""
import json
import sys

import numpy as np
import statsmodels
import statsmodels.api as sm

from reference_data import diabetes, longley


def kinds(n, maxlags, groups):
    return [
        ("HC0", {}),
        ("HC1", {}),
        ("HC2", {}),
        ("HC3", {}),
        ("HAC", {"maxlags": maxlags}),
        ("cluster", {"groups": groups}),
    ]


def results(model, n, maxlags, groups):
    out = {}
    for name, kw in kinds(n, maxlags, groups):
        r = model.fit(cov_type=name, cov_kwds=kw)
        ci = r.conf_int(0.05)
        out[name] = {
            "params": r.params.tolist(),
            "bse": r.bse.tolist(),
            "zvalues": r.tvalues.tolist(),
            "pvalues": r.pvalues.tolist(),
            "conf_low": ci[:, 0].tolist(),
            "conf_high": ci[:, 1].tolist(),
            "fvalue": float(np.squeeze(r.fvalue)),
            "f_pvalue": float(np.squeeze(r.f_pvalue)),
            "use_t": bool(r.use_t),
        }
    return out


def main():
    x, y = diabetes()
    n = len(y)
    w = np.array([0.5 + (i % 7) / 4 for i in range(n)])
    dg = [i % 12 for i in range(n)]
    lx, ly = longley()
    lg = [i // 4 for i in range(len(ly))]
    out = {
        "generator": f"scripts/statsmodels_robust_reference.py, statsmodels {statsmodels.__version__}, numpy {np.__version__}",
        "diabetes_groups": dg,
        "longley_groups": lg,
        "diabetes_ols": results(sm.OLS(y, sm.add_constant(x, prepend=True)), n, 3, dg),
        "diabetes_wls": results(sm.WLS(y, sm.add_constant(x, prepend=True), weights=w), n, 3, dg),
        "longley_ols": results(sm.OLS(ly, sm.add_constant(lx, prepend=True)), len(ly), 2, lg),
        "longley_no_constant": results(sm.OLS(ly, lx), len(ly), 2, lg),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
