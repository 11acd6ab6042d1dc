//! `LeastSquaresFit::summary` against statsmodels' OLS on diabetes and Longley
//! (`tests/data/statsmodels_reference.json`, written by `scripts/statsmodels_reference.py`), and
//! names: from the CSV header into the summary, the model's `Display`, files and checks.

mod common;

use common::{close, floats};
use linfit::prelude::*;
use serde_json::Value;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn reference(name: &str) -> Value {
    common::reference_json("statsmodels_reference.json")[name].clone()
}

/// Every statistic statsmodels prints, to 1e-10 relative (the condition number to the accuracy
/// an SVD in f64 has: `eps * cond` relative, 1e-6 for Longley's 4.9e9).
fn check(fit: &LeastSquaresFit, r: &Value, names: &[String]) {
    let s = fit.summary();
    assert_eq!(s.feature_names, names);
    let t = &s.targets[0];
    let intercept = t.intercept.expect("intercept");
    let coefficients: Vec<Coefficient> = std::iter::once(intercept)
        .chain(t.coefficients.iter().copied())
        .collect();
    let (low, high) = (floats(&r["conf_low"]), floats(&r["conf_high"]));
    for (j, c) in coefficients.iter().enumerate() {
        let what = |w: &str| format!("parameter {j} {w}");
        close(
            &what("estimate"),
            c.estimate,
            floats(&r["params"])[j],
            1e-10,
        );
        close(
            &what("std error"),
            c.std_error.unwrap(),
            floats(&r["bse"])[j],
            1e-10,
        );
        close(
            &what("t"),
            c.t_value.unwrap(),
            floats(&r["tvalues"])[j],
            1e-10,
        );
        close(
            &what("p"),
            c.p_value.unwrap(),
            floats(&r["pvalues"])[j],
            1e-10,
        );
        let (lo, hi) = c.conf_int.unwrap();
        close(&what("interval low"), lo, low[j], 1e-10);
        close(&what("interval high"), hi, high[j], 1e-10);
    }
    close("R²", t.r_squared, r["rsquared"].as_f64().unwrap(), 1e-10);
    close(
        "adj. R²",
        t.adj_r_squared,
        r["rsquared_adj"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "F",
        t.f_statistic.unwrap(),
        r["fvalue"].as_f64().unwrap(),
        1e-10,
    );
    close(
        "F p",
        t.f_p_value.unwrap(),
        r["f_pvalue"].as_f64().unwrap(),
        1e-10,
    );
    close("llf", t.log_likelihood, r["llf"].as_f64().unwrap(), 1e-10);
    close("AIC", t.aic, r["aic"].as_f64().unwrap(), 1e-10);
    close("BIC", t.bic, r["bic"].as_f64().unwrap(), 1e-10);
    close(
        "scale",
        t.residual_std_dev.powi(2),
        r["scale"].as_f64().unwrap(),
        1e-10,
    );
    assert_eq!(s.n_samples as f64, r["nobs"].as_f64().unwrap());
    assert_eq!(t.df_model as f64, r["df_model"].as_f64().unwrap());
    assert_eq!(t.df_residual as f64, r["df_resid"].as_f64().unwrap());
    let cond = r["condition_number_statsmodels"].as_f64().unwrap();
    close(
        "condition number",
        s.condition_number,
        cond,
        1e-10_f64.max(100.0 * f64::EPSILON * cond),
    );
    assert_eq!(t.condition_number, s.condition_number);
    lower_block(t, r);
    for (j, (got, want)) in t.vif.iter().zip(floats(&r["vif"])).enumerate() {
        close(&format!("VIF {j}"), *got, want, 1e-9);
    }
}

/// statsmodels' lower block: moments of the residuals, to 1e-8 relative (the residuals of
/// Longley's near-collinear fit carry about 1e-10 of their own).
fn lower_block(t: &TargetSummary, r: &Value) {
    for (what, got) in [
        ("omnibus", t.omnibus),
        ("omnibus_p", t.omnibus_p),
        ("skew", t.skew),
        ("kurtosis", t.kurtosis),
        ("durbin_watson", t.durbin_watson),
        ("jarque_bera", t.jarque_bera),
        ("jarque_bera_p", t.jarque_bera_p),
    ] {
        close(what, got, r[what].as_f64().unwrap(), 1e-8);
    }
}

/// The lower block of a weighted fit is of the whitened residuals `sqrt(w) e` (statsmodels'
/// `wresid`); it also prints, and the summary serialises to JSON.
#[test]
fn weighted_lower_block_equals_statsmodels_and_serialises() {
    let dev = dev();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let weights: Vec<f64> = (0..442).map(|i| 0.5 + (i % 7) as f64 / 4.0).collect();
    let data = Dataset::from_csv(path, &["target"], &dev)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let s = LeastSquares::new().fit(&data).unwrap().summary();
    lower_block(&s.targets[0], &reference("diabetes_wls_diagnostics"));
    assert!(s.to_string().contains("Durbin-Watson: 2.064"), "{s}");
    let json: Value = serde_json::to_value(&s).unwrap();
    assert_eq!(json["targets"][0]["name"], "target");
    assert_eq!(
        json["targets"][0]["durbin_watson"].as_f64(),
        Some(s.targets[0].durbin_watson)
    );
    assert_eq!(json["covariance"], "nonrobust");
}

#[test]
fn diabetes_summary_equals_statsmodels() {
    let dev = dev();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let data = Dataset::from_csv(path, &["target"], &dev).unwrap();
    let names = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ]
    .map(String::from);
    assert_eq!(data.feature_names(), names);
    assert_eq!(data.target_names(), ["target"]);
    let r = reference("diabetes");
    for solver in [Solver::Qr, Solver::Svd, Solver::NormalEquations] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        check(&fit, &r, &names);
    }

    // The printed table: names, tiny p values as R prints them, the intervals.
    let text = LeastSquares::new()
        .fit(&data)
        .unwrap()
        .summary()
        .to_string();
    assert!(text.contains("Least squares fit of target on 10 feature(s), 442 observations"));
    let bmi = text
        .lines()
        .find(|l| l.starts_with("bmi "))
        .expect("a bmi row");
    assert!(bmi.contains("4.30e-14"), "{bmi}");
    assert!(text.contains("p-value: < 2.2e-16"), "{text}");
    assert!(text.contains("[0.025"));
    assert!(
        text.contains("Log-likelihood: -2385.993, AIC: 4793.986, BIC: 4838.99"),
        "{text}"
    );
    assert!(text.contains("condition number of [1 X]: 7236"), "{text}");
}

#[test]
fn longley_summary_equals_statsmodels() {
    let dev = dev();
    let data = common::longley(&dev);
    let names: Vec<String> = (1..=6).map(|i| format!("x{i}")).collect();
    let r = reference("longley");
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        check(&fit, &r, &names);
    }
}

#[test]
fn names_follow_the_data_into_models_files_and_checks() {
    let dev = dev();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/linnerud.csv");
    let data = Dataset::from_csv(path, &["Weight", "Waist", "Pulse"], &dev).unwrap();
    assert_eq!(data.feature_names(), ["Chins", "Situps", "Jumps"]);
    let (train, test) = data.train_test_split(0.25, 1).unwrap();
    assert_eq!(train.feature_names(), data.feature_names());
    assert_eq!(test.target_names(), data.target_names());
    let standardizer = StandardizerConfig::new().fit(&train).unwrap();
    let scaled = standardizer.transform(&train).unwrap();
    assert_eq!(scaled.feature_names(), data.feature_names());

    // Fitted models carry the names; the model's Display shows them, one line each.
    let fit = LeastSquares::new().fit(&train).unwrap();
    let model = fit.model();
    assert_eq!(model.feature_names().unwrap(), data.feature_names());
    let shown = model.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "LinearModel: 3 features -> 3 targets, f64");
    assert!(lines[1].contains("Weight") && lines[1].contains("Pulse"));
    assert!(lines[2].trim_start().starts_with("(intercept)"));
    assert!(lines[3].trim_start().starts_with("Chins"));
    assert_eq!(lines.len(), 6);
    let original = standardizer
        .to_original_units(
            &TrainerConfig::new(SgdConfig::new(0.01))
                .with_epochs(3)
                .init()
                .unwrap()
                .fit(
                    LinearModelConfig::new(3)
                        .with_n_targets(3)
                        .init(&dev)
                        .unwrap(),
                    &scaled,
                )
                .unwrap()
                .model,
        )
        .unwrap();
    assert_eq!(original.target_names().unwrap(), data.target_names());

    // JSON and burnpack keep them.
    let back = LinearModel::from_json(&model.to_json().unwrap(), &dev).unwrap();
    assert_eq!(back.feature_names(), model.feature_names());
    let file = std::env::temp_dir().join(format!("linfit-names-{}.bpk", std::process::id()));
    model.save(&file).unwrap();
    let loaded = LinearModel::load(&file, 3, 3, true, &dev).unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(loaded.target_names(), model.target_names());
    assert!(metrics::r2(&loaded, &test).is_ok());

    // Other names, or the same in another order: an error naming both.
    let renamed = test
        .clone()
        .with_feature_names(["Situps", "Chins", "Jumps"])
        .unwrap();
    let err = metrics::mse(&loaded, &renamed).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::NameMismatch { .. }), "{err}");
    assert!(
        message.contains("\"Chins\", \"Situps\", \"Jumps\""),
        "{message}"
    );
    assert!(message.contains("another order"), "{message}");
    let other = test.with_feature_names(["a", "b", "c"]).unwrap();
    let err = TrainerConfig::new(SgdConfig::new(0.01))
        .init()
        .unwrap()
        .fit(loaded, &other)
        .unwrap_err();
    assert!(err.to_string().contains("missing from the data"), "{err}");

    // Unnamed data (the defaults x1, x2, ...) are not checked against names.
    let unnamed =
        Dataset::from_rows_multi(&[vec![1.0, 2.0, 3.0]], &[vec![1.0, 2.0, 3.0]], &dev).unwrap();
    assert_eq!(unnamed.feature_names(), ["x1", "x2", "x3"]);
    assert!(metrics::mse(model, &unnamed).is_ok());
}

#[test]
fn invalid_names_are_errors() {
    let dev = dev();
    let data = Dataset::from_rows(&[vec![1.0, 2.0]], &[1.0], &dev).unwrap();
    for names in [
        vec!["a"],
        vec!["a", ""],
        vec!["a", "a"],
        vec!["a", "b", "c"],
    ] {
        let err = data.clone().with_feature_names(names.clone()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidNames { .. }),
            "{names:?}: {err}"
        );
    }
}
