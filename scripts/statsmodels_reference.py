#!/usr/bin/env python3
"""Reference values for linfit's `Summary`, computed with statsmodels' OLS (tests/summary.rs).

    pip install statsmodels numpy
    python3 scripts/statsmodels_reference.py > tests/data/statsmodels_reference.json

Datasets: diabetes (data/sklearn/diabetes.csv, target `target`, the raw columns) and Longley
(data/nist-strd/Longley.dat, y on x1..x6), both with a constant. For each: statsmodels' params,
bse, tvalues, pvalues, conf_int(0.05), rsquared, rsquared_adj, fvalue, f_pvalue, llf, aic, bic,
nobs, df_model, df_resid, and the condition number twice: statsmodels' own (eigenvalues of
X^T X) and numpy's from the singular values of X (`np.linalg.cond`), the design with the constant
column first.

Also statsmodels' lower block of the summary: Omnibus and its p (`omni_normtest`), skew,
kurtosis, Jarque-Bera and its p (`jarque_bera`), Durbin-Watson, all of `wresid`; and
`variance_inflation_factor(exog, j)` for each feature column of the design with its constant.
`diabetes_wls_diagnostics`: the same lower block of diabetes' WLS fit with weights
w[i] = 0.5 + (i % 7) / 4 (as scripts/statsmodels_wls_reference.py), of its whitened residuals.
"""
import json
import sys

import numpy as np
import statsmodels
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest

from reference_data import diabetes_named as diabetes, longley_named as longley


def lower_block(r):
    jb, jbp, skew, kurtosis = jarque_bera(r.wresid)
    omni, omnip = omni_normtest(r.wresid)
    return {
        "omnibus": float(omni),
        "omnibus_p": float(omnip),
        "skew": float(skew),
        "kurtosis": float(kurtosis),
        "durbin_watson": float(durbin_watson(r.wresid)),
        "jarque_bera": float(jb),
        "jarque_bera_p": float(jbp),
    }


def reference(names, x, y):
    exog = sm.add_constant(x, prepend=True)
    r = sm.OLS(y, exog).fit()
    ci = r.conf_int(0.05)
    return lower_block(r) | {
        "vif": [variance_inflation_factor(exog, j) for j in range(1, exog.shape[1])],
        "feature_names": names,
        "params": r.params.tolist(),
        "bse": r.bse.tolist(),
        "tvalues": r.tvalues.tolist(),
        "pvalues": r.pvalues.tolist(),
        "conf_low": ci[:, 0].tolist(),
        "conf_high": ci[:, 1].tolist(),
        "rsquared": r.rsquared,
        "rsquared_adj": r.rsquared_adj,
        "fvalue": r.fvalue,
        "f_pvalue": r.f_pvalue,
        "llf": r.llf,
        "aic": r.aic,
        "bic": r.bic,
        "nobs": r.nobs,
        "df_model": r.df_model,
        "df_resid": r.df_resid,
        "scale": r.scale,
        "condition_number_statsmodels": r.condition_number,
        "condition_number_svd": float(np.linalg.cond(exog)),
    }


def wls_diagnostics(names, x, y):
    w = np.array([0.5 + (i % 7) / 4 for i in range(len(y))])
    return lower_block(sm.WLS(y, sm.add_constant(x, prepend=True), weights=w).fit())


def main():
    out = {
        "generator": f"scripts/statsmodels_reference.py, statsmodels {statsmodels.__version__}, numpy {np.__version__}",
        "diabetes": reference(*diabetes()),
        "longley": reference(*longley()),
        "diabetes_wls_diagnostics": wls_diagnostics(*diabetes()),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
