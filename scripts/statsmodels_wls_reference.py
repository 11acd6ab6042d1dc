#!/usr/bin/env python3
"""Reference values for linfit's weighted least squares and weighted metrics, from statsmodels' WLS
and scikit-learn's metrics.

    pip install statsmodels scikit-learn numpy
    python3 scripts/statsmodels_wls_reference.py > tests/data/statsmodels_wls_reference.json

`diabetes`: data/sklearn/diabetes.csv, target `target`, the raw columns, a constant prepended,
weights w[i] = 0.5 + (i % 7) / 4 (i the row index from 0). `longley`: data/nist-strd/Longley.dat,
y on x1..x6, a constant prepended, weights w[i] = 1 + i / 10. For each, statsmodels'
`WLS(y, X, weights=w).fit()`: params, bse, tvalues, pvalues, conf_int(0.05) (conf_low,
conf_high), rsquared, rsquared_adj, fvalue, f_pvalue, llf, aic, bic, ssr (the weighted sum of
squared residuals, sum w_i r_i^2), centered_tss (sum w_i (y_i - ybar_w)^2 with ybar_w the
weighted mean), nobs, df_model, df_resid, scale (ssr / df_resid), and the weights themselves.

`metrics.diabetes`: y against the diabetes WLS fitted values (X @ params), scikit-learn's
mean_squared_error, mean_absolute_error and r2_score, with sample_weight=w and without.
`metrics.linnerud`: data/sklearn/linnerud.csv, features Chins,Situps,Jumps, targets
Weight,Waist,Pulse; an unweighted least-squares fit with intercept (numpy.linalg.lstsq on
[1, X]), whose coef ([n_targets][n_features]) and intercept ([n_targets]) are recorded so the
model can be rebuilt; its predictions scored with weights w[i] = 0.5 + (i % 7) / 4: mse, mae, r2
with multioutput='uniform_average' (and 'raw_values' per target), weighted and unweighted.
"""
import json
import sys

import numpy as np
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from reference_data import diabetes_named as diabetes, longley_named as longley, read_csv


def cyclic_weights(n):
    return np.array([0.5 + (i % 7) / 4 for i in range(n)])


def wls(names, x, y, w):
    exog = sm.add_constant(x, prepend=True)
    r = sm.WLS(y, exog, weights=w).fit()
    ci = r.conf_int(0.05)
    out = {
        "feature_names": names,
        "weights": w.tolist(),
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
        "ssr": r.ssr,
        "centered_tss": r.centered_tss,
        "nobs": r.nobs,
        "df_model": r.df_model,
        "df_resid": r.df_resid,
        "scale": r.scale,
    }
    return out, r


def scores(y, yhat, w, multioutput=None):
    kw = {} if multioutput is None else {"multioutput": multioutput}
    return {
        "mse": mean_squared_error(y, yhat, sample_weight=w, **kw),
        "mae": mean_absolute_error(y, yhat, sample_weight=w, **kw),
        "r2": r2_score(y, yhat, sample_weight=w, **kw),
    }


def tolist(d):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in d.items()}


def diabetes_metrics(y, yhat, w):
    return {
        "weighted": tolist(scores(y, yhat, w)),
        "unweighted": tolist(scores(y, yhat, None)),
    }


def linnerud_metrics():
    header, data = read_csv("linnerud.csv")
    features, targets = ["Chins", "Situps", "Jumps"], ["Weight", "Waist", "Pulse"]
    x = data[:, [header.index(h) for h in features]]
    y = data[:, [header.index(h) for h in targets]]
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)  # (1 + n_features, n_targets)
    intercept, coef = beta[0], beta[1:].T  # coef: [n_targets][n_features]
    yhat = x @ coef.T + intercept
    w = cyclic_weights(x.shape[0])
    return {
        "feature_names": features,
        "target_names": targets,
        "weights": w.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
        "weighted": tolist(scores(y, yhat, w, "uniform_average")),
        "weighted_raw_values": tolist(scores(y, yhat, w, "raw_values")),
        "unweighted": tolist(scores(y, yhat, None, "uniform_average")),
        "unweighted_raw_values": tolist(scores(y, yhat, None, "raw_values")),
    }


def main():
    names, x, y = diabetes()
    w = cyclic_weights(len(y))
    dia, r = wls(names, x, y, w)
    yhat = sm.add_constant(x, prepend=True) @ r.params
    lnames, lx, ly = longley()
    lw = np.array([1 + i / 10 for i in range(len(ly))])
    lon, _ = wls(lnames, lx, ly, lw)
    out = {
        "generator": (
            f"scripts/statsmodels_wls_reference.py, statsmodels {statsmodels.__version__}, "
            f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
        ),
        "diabetes": dia,
        "longley": lon,
        "metrics": {
            "diabetes": diabetes_metrics(y, yhat, w),
            "linnerud": linnerud_metrics(),
        },
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
