//! Robust covariances (`LeastSquares::covariance`) against statsmodels' `fit(cov_type=...)`
//! (`tests/data/statsmodels_robust_reference.json`, written by
//! `scripts/statsmodels_robust_reference.py`, whose docstring lists the cases): HC0-HC3, HAC
//! and cluster on diabetes (OLS and WLS) and Longley (with a constant and without).

mod common;

use common::{close, floats};
use linfit::prelude::*;
use serde_json::Value;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn reference() -> Value {
    common::reference_json("statsmodels_robust_reference.json")
}

fn kinds(groups: &[u64], maxlags: usize) -> Vec<(&'static str, Covariance)> {
    vec![
        ("HC0", Covariance::Hc0),
        ("HC1", Covariance::Hc1),
        ("HC2", Covariance::Hc2),
        ("HC3", Covariance::Hc3),
        ("HAC", Covariance::Hac { maxlags }),
        (
            "cluster",
            Covariance::Cluster {
                groups: groups.to_vec(),
            },
        ),
    ]
}

/// Every coefficient's standard error, z, p and interval, and the Wald F and its p, to `rel`.
fn check(what: &str, data: &Dataset, intercept: bool, r: &Value, groups: &[u64], maxlags: usize) {
    for (name, kind) in kinds(groups, maxlags) {
        let what = format!("{what} {name}");
        let fit = LeastSquares::new()
            .with_intercept(intercept)
            .with_covariance(kind)
            .fit(data)
            .unwrap();
        let s = fit.summary();
        assert_ne!(s.covariance, "nonrobust", "{what}");
        let r = &r[name];
        assert!(!r["use_t"].as_bool().unwrap());
        let t = &s.targets[0];
        let coefficients: Vec<Coefficient> =
            t.intercept.iter().chain(&t.coefficients).copied().collect();
        let (low, high) = (floats(&r["conf_low"]), floats(&r["conf_high"]));
        // Longley's condition number with its constant is 4.9e9: statsmodels forms its
        // sandwich from the uncentred pseudo-inverse, good to about cond eps = 1e-6 (its
        // prediction standard errors are 3e-9 off the exact ones, tests/prediction.rs); linfit
        // works in centred coordinates. 1e-7 there, 1e-10 on diabetes (cond 1e3).
        let rel = if what.starts_with("longley") {
            1e-7
        } else {
            1e-10
        };
        for (j, c) in coefficients.iter().enumerate() {
            let at = |w: &str| format!("{what} parameter {j} {w}");
            close(&at("estimate"), c.estimate, floats(&r["params"])[j], rel);
            close(
                &at("std error"),
                c.std_error.unwrap(),
                floats(&r["bse"])[j],
                rel,
            );
            close(&at("z"), c.t_value.unwrap(), floats(&r["zvalues"])[j], rel);
            let p = floats(&r["pvalues"])[j];
            // p values below 1e-300 are 0 in both; above, a relative error d in z moves p by
            // about z^2 d: 100 times the tolerance.
            if p > 1e-300 {
                close(&at("p"), c.p_value.unwrap(), p, 100.0 * rel);
            }
            let (lo, hi) = c.conf_int.unwrap();
            let width = high[j] - low[j];
            assert!(
                (lo - low[j]).abs() <= rel * width.abs().max(low[j].abs()),
                "{}",
                at("low")
            );
            assert!(
                (hi - high[j]).abs() <= rel * width.abs().max(high[j].abs()),
                "{}",
                at("high")
            );
        }
        let n_groups = {
            let mut g = groups.to_vec();
            g.sort_unstable();
            g.dedup();
            g.len()
        };
        if name == "cluster" && n_groups - 1 < t.coefficients.len() {
            // Fewer groups than slopes: the slopes' covariance is singular (rank <= G - 1), the
            // joint test undefined (statsmodels warns and answers anyway).
            assert_eq!(t.f_statistic, None, "{what}");
        } else {
            let f = r["fvalue"].as_f64().unwrap();
            close(&format!("{what} F"), t.f_statistic.unwrap(), f, rel * 10.0);
            let fp = r["f_pvalue"].as_f64().unwrap();
            if fp > 1e-300 {
                close(
                    &format!("{what} F p"),
                    t.f_p_value.unwrap(),
                    fp,
                    1000.0 * rel,
                );
            }
        }
        let printed = s.to_string();
        assert!(
            printed.contains("z value") && printed.contains(&s.covariance),
            "{printed}"
        );
    }
}

fn groups(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap())
        .collect()
}

#[test]
fn robust_covariances_equal_statsmodels_on_diabetes() {
    let dev = dev();
    let r = reference();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let data = Dataset::from_csv(path, &["target"], &dev).unwrap();
    let g = groups(&r["diabetes_groups"]);
    check("diabetes OLS", &data, true, &r["diabetes_ols"], &g, 3);
    let weights: Vec<f64> = (0..442).map(|i| 0.5 + (i % 7) as f64 / 4.0).collect();
    let weighted = data.with_weights(&weights).unwrap();
    check("diabetes WLS", &weighted, true, &r["diabetes_wls"], &g, 3);
}

#[test]
fn robust_covariances_equal_statsmodels_on_longley() {
    let dev = dev();
    let r = reference();
    let data = common::longley(&dev);
    let g = groups(&r["longley_groups"]);
    check(
        "longley with constant",
        &data,
        true,
        &r["longley_ols"],
        &g,
        2,
    );
    check(
        "longley without constant",
        &data,
        false,
        &r["longley_no_constant"],
        &g,
        2,
    );
}

#[test]
fn robust_covariances_are_refused_where_no_pass_makes_them() {
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64]).collect();
    let data = Dataset::from_rows(&rows, &[0.0, 1.1, 1.9, 3.2, 3.9, 5.1], &dev).unwrap();
    let ls = LeastSquares::new().with_covariance(Covariance::Hc3);
    let sharded = ShardedDataset::split(&data, &[dev.clone(), dev.clone()]).unwrap();
    assert!(matches!(
        ls.fit_sharded(&sharded),
        Err(Error::InvalidHyperparameter {
            name: "covariance",
            ..
        })
    ));
    assert!(matches!(
        ls.fit_polynomial(&[0.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.5, 4.0], 1, &dev),
        Err(Error::InvalidHyperparameter {
            name: "covariance",
            ..
        })
    ));
    let wrong_groups =
        LeastSquares::new().with_covariance(Covariance::Cluster { groups: vec![0, 1] });
    assert!(matches!(
        wrong_groups.fit(&data),
        Err(Error::ShapeMismatch { .. })
    ));
    // The classical covariance is unchanged by the new field.
    let plain = LeastSquares::new().fit(&data).unwrap().summary();
    assert_eq!(plain.covariance, "nonrobust");
    assert!(plain.to_string().contains("t value"));
}
