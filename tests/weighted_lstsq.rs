//! Weighted least squares against statsmodels' `WLS`, and ridge (`LeastSquares::alpha`) against
//! scikit-learn's `Ridge`.
//!
//! Expected numbers: `tests/data/statsmodels_wls_reference.json`
//! (`scripts/statsmodels_wls_reference.py`, statsmodels 0.15.0: diabetes and Longley with fixed
//! weights) and `tests/data/sklearn_ridge_reference.json` (`scripts/sklearn_ridge_reference.py`,
//! scikit-learn 1.9.1 `Ridge(solver="svd")`, checked there against its cholesky solver and a
//! numpy solve of the normal equations: they agree to 2e-12).

mod common;

use common::{close, floats};
use linfit::prelude::*;
use serde_json::Value;

/// Every statistic of statsmodels' WLS summary to `rel`.
fn check_wls(fit: &LeastSquaresFit, r: &Value, rel: f64) {
    let s = fit.summary();
    let t = &s.targets[0];
    let coefficients: Vec<Coefficient> = std::iter::once(t.intercept.unwrap())
        .chain(t.coefficients.iter().copied())
        .collect();
    let (low, high) = (floats(&r["conf_low"]), floats(&r["conf_high"]));
    for (j, c) in coefficients.iter().enumerate() {
        let what = |w: &str| format!("parameter {j} {w}");
        close(&what("estimate"), c.estimate, floats(&r["params"])[j], rel);
        close(
            &what("std error"),
            c.std_error.unwrap(),
            floats(&r["bse"])[j],
            rel,
        );
        close(
            &what("t"),
            c.t_value.unwrap(),
            floats(&r["tvalues"])[j],
            rel,
        );
        close(
            &what("p"),
            c.p_value.unwrap(),
            floats(&r["pvalues"])[j],
            rel,
        );
        let (lo, hi) = c.conf_int.unwrap();
        close(&what("interval low"), lo, low[j], rel);
        close(&what("interval high"), hi, high[j], rel);
    }
    close("R²", t.r_squared, r["rsquared"].as_f64().unwrap(), rel);
    close(
        "adj. R²",
        t.adj_r_squared,
        r["rsquared_adj"].as_f64().unwrap(),
        rel,
    );
    close(
        "F",
        t.f_statistic.unwrap(),
        r["fvalue"].as_f64().unwrap(),
        rel,
    );
    close(
        "F p",
        t.f_p_value.unwrap(),
        r["f_pvalue"].as_f64().unwrap(),
        rel,
    );
    close("llf", t.log_likelihood, r["llf"].as_f64().unwrap(), rel);
    close("AIC", t.aic, r["aic"].as_f64().unwrap(), rel);
    close("BIC", t.bic, r["bic"].as_f64().unwrap(), rel);
    close("SSE (weighted)", t.sse, r["ssr"].as_f64().unwrap(), rel);
    close(
        "scale",
        t.residual_std_dev.powi(2),
        r["scale"].as_f64().unwrap(),
        rel,
    );
    assert_eq!(s.n_samples as f64, r["nobs"].as_f64().unwrap());
    assert_eq!(t.df_model as f64, r["df_model"].as_f64().unwrap());
    assert_eq!(t.df_residual as f64, r["df_resid"].as_f64().unwrap());
}

#[test]
fn weighted_least_squares_equals_statsmodels_wls() {
    let cpu = common::test_device(Precision::F64);
    let r = common::reference_json("statsmodels_wls_reference.json");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let diabetes = Dataset::from_csv(path, &["target"], &cpu)
        .unwrap()
        .with_weights(&floats(&r["diabetes"]["weights"]))
        .unwrap();
    for solver in [
        Solver::Auto,
        Solver::Qr,
        Solver::Svd,
        Solver::NormalEquations,
    ] {
        let fit = LeastSquares::new()
            .with_solver(solver)
            .fit(&diabetes)
            .unwrap();
        check_wls(&fit, &r["diabetes"], 1e-9);
    }

    // Longley (cond 4.9e9), the NIST file's rows with weights 1 + i/10.
    let data = common::longley(&cpu)
        .with_weights(&floats(&r["longley"]["weights"]))
        .unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        // statsmodels solves by pinv of the whitened design: about eps * cond of its own error.
        check_wls(&fit, &r["longley"], 1e-8);
    }
}

/// Integer weights are row counts: the estimates equal those of the rows repeated.
#[test]
fn weighted_estimates_equal_repeated_rows() {
    let cpu = common::test_device(Precision::F64);
    let rows: Vec<Vec<f64>> = (0..9)
        .map(|i| vec![i as f64, ((i * i) % 5) as f64])
        .collect();
    let targets: Vec<f64> = (0..9)
        .map(|i| 1.0 + 0.5 * i as f64 + ((i * 7) % 3) as f64)
        .collect();
    let counts = [1usize, 3, 2, 1, 4, 1, 2, 2, 1];
    let weights: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let weighted = Dataset::from_rows(&rows, &targets, &cpu)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let (mut rr, mut rt) = (vec![], vec![]);
    for (i, &c) in counts.iter().enumerate() {
        for _ in 0..c {
            rr.push(rows[i].clone());
            rt.push(targets[i]);
        }
    }
    let repeated = Dataset::from_rows(&rr, &rt, &cpu).unwrap();
    for alpha in [0.0, 2.5] {
        let ls = LeastSquares::new().with_alpha(alpha);
        let a = ls.fit(&weighted).unwrap();
        let b = ls.fit(&repeated).unwrap();
        for (x, y) in a.model().weights().iter().zip(b.model().weights()) {
            close("weight", *x, y, 1e-12);
        }
        close(
            "intercept",
            a.model().bias().unwrap()[0],
            b.model().bias().unwrap()[0],
            1e-12,
        );
        close("SSE", a.sse()[0], b.sse()[0], 1e-12);
        close(
            "R²",
            metrics::r2(a.model(), &weighted).unwrap(),
            a.summary().targets[0].r_squared,
            1e-12,
        );
        assert_eq!(a.weight_total(), 17.0);
    }
}

#[test]
fn ridge_equals_sklearn() {
    let cpu = common::test_device(Precision::F64);
    let r = common::reference_json("sklearn_ridge_reference.json");
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let d = &r["datasets"][case["dataset"].as_str().unwrap()];
        let x: Vec<Vec<f64>> = d["x"].as_array().unwrap().iter().map(floats).collect();
        let y: Vec<Vec<f64>> = d["y"].as_array().unwrap().iter().map(floats).collect();
        let mut data = Dataset::from_rows_multi(&x, &y, &cpu).unwrap();
        if case["sample_weight"].as_bool().unwrap() {
            data = data.with_weights(&floats(&d["weights"])).unwrap();
        }
        let coef: Vec<Vec<f64>> = case["coef"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let intercept = floats(&case["intercept"]);
        let fit_intercept = case["fit_intercept"].as_bool().unwrap();
        let k = y[0].len();
        for solver in [Solver::Auto, Solver::Qr, Solver::Svd] {
            let fit = LeastSquares::new()
                .with_alpha(case["alpha"].as_f64().unwrap())
                .with_intercept(fit_intercept)
                .with_solver(solver)
                .fit(&data)
                .unwrap();
            let w = fit.model().weights();
            for (t, row) in coef.iter().enumerate() {
                let scale = row.iter().fold(0.0f64, |a, c| a.max(c.abs()));
                for (j, c) in row.iter().enumerate() {
                    let got = w[j * k + t];
                    assert!(
                        (got - c).abs() <= 1e-8 * c.abs().max(1e-3 * scale),
                        "{name} {solver:?}: coef[{t}][{j}] = {got:e}, sklearn {c:e}"
                    );
                }
            }
            match fit.model().bias() {
                Some(b) => {
                    for (t, c) in intercept.iter().enumerate() {
                        close(&format!("{name} {solver:?} intercept {t}"), b[t], *c, 1e-8);
                    }
                }
                None => assert!(!fit_intercept && intercept.iter().all(|c| *c == 0.0)),
            }
            // A ridge fit is always full rank (n < m included), and says what holds.
            assert_eq!(fit.rank(), x[0].len(), "{name}");
            let s = fit.summary();
            assert!(
                s.targets[0]
                    .coefficients
                    .iter()
                    .all(|c| c.std_error.is_none())
            );
            assert!(s.targets[0].f_statistic.is_none() && s.targets[0].aic.is_nan());
            assert!(
                s.warnings.iter().any(|w| w.contains("Ridge fit")),
                "{:?}",
                s.warnings
            );
            assert!(s.to_string().contains("Ridge fit"));
        }
    }
}

#[test]
fn ridge_settings_and_limits_are_errors() {
    let cpu = common::test_device(Precision::F64);
    let data =
        Dataset::from_rows(&[vec![0.0], vec![1.0], vec![2.0]], &[1.0, 3.0, 5.0], &cpu).unwrap();
    for alpha in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            LeastSquares::new().with_alpha(alpha).fit(&data),
            Err(Error::InvalidHyperparameter { name: "alpha", .. })
        ));
    }
    let fit = LeastSquares::new().with_alpha(1.0).fit(&data).unwrap();
    // min (y - b - w x)^2 + w^2 over x = 0, 1, 2 with y = 1 + 2x: centred, w = Sxy / (Sxx + 1)
    // = 4 / 3, b = ybar - w xbar = 3 - 4/3.
    close("ridge weight", fit.model().weights()[0], 4.0 / 3.0, 1e-14);
    close(
        "ridge intercept",
        fit.model().bias().unwrap()[0],
        3.0 - 4.0 / 3.0,
        1e-14,
    );
    assert!(fit.explain(fit.model()).is_err());
    let path = std::env::temp_dir().join(format!("linfit-ridge-{}.csv", std::process::id()));
    std::fs::write(&path, "x,y\n0,1\n1,3\n2,5\n").unwrap();
    assert!(matches!(
        LeastSquares::new()
            .with_alpha(1.0)
            .fit_csv(&path, &["y"], &cpu),
        Err(Error::InvalidHyperparameter { name: "alpha", .. })
    ));
    std::fs::remove_file(&path).ok();
}

/// A feature that is constant over the rows of positive weight (and differs where the weight
/// is zero) is not identifiable: rank 2 of 3, and the other weights those of the fit without
/// it (the reference). Its weighted mean once came out an ulp off, the centred column became
/// a multiple of sqrt(w), and the fit reported rank 3 with a weight for it.
#[test]
fn a_feature_constant_where_the_weights_are_positive_is_not_identified() {
    let cpu = common::test_device(Precision::F64);
    let x: Vec<Vec<f64>> = (0..12)
        .map(|i| {
            vec![
                i as f64,
                if i % 4 == 1 { 5.0 } else { 3.7 },
                ((i * 5) % 7) as f64,
            ]
        })
        .collect();
    let y: Vec<f64> = (0..12).map(|i| 2.0 * i as f64 - (i % 4) as f64).collect();
    let w: Vec<f64> = (0..12)
        .map(|i| {
            if i % 4 == 1 {
                0.0
            } else {
                0.3 + (i % 5) as f64
            }
        })
        .collect();
    let data = Dataset::from_rows(&x, &y, &cpu)
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    assert_eq!(fit.rank(), 2);
    // The intercept and the constant feature are confounded.
    assert_eq!(fit.identifiable(), vec![false, true, false, true]);
    let kept: Vec<usize> = (0..12).filter(|&i| w[i] > 0.0).collect();
    let reference = Dataset::from_rows(
        &kept
            .iter()
            .map(|&i| vec![x[i][0], x[i][2]])
            .collect::<Vec<_>>(),
        &kept.iter().map(|&i| y[i]).collect::<Vec<_>>(),
        &cpu,
    )
    .unwrap()
    .with_weights(&kept.iter().map(|&i| w[i]).collect::<Vec<_>>())
    .unwrap();
    let want = LeastSquares::new().fit(&reference).unwrap();
    let (got, want_w) = (fit.model().weights(), want.model().weights());
    assert!((got[0] - want_w[0]).abs() < 1e-12 && (got[2] - want_w[1]).abs() < 1e-12);
    assert!((fit.model().bias().unwrap()[0] - want.model().bias().unwrap()[0]).abs() < 1e-12);
}
