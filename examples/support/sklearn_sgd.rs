//! The scikit-learn reference of `SgdRegressor` (`tests/data/sklearn_sgd_reference.json`,
//! written by `scripts/sklearn_sgd_reference.py`), shared by the example and the tests.
#![allow(dead_code)]

use linfit::sgd_regressor::SgdRegressorConfig;
use linfit::{Dataset, Device};
use serde_json::Value;

type AnyError = Box<dyn std::error::Error>;

pub fn reference() -> Result<Value, AnyError> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sklearn_sgd_reference.json"
    );
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Rows `a..b` of the reference's data set `name`, with its sample weights if `weighted`.
pub fn dataset(
    reference: &Value,
    name: &str,
    weighted: bool,
    (a, b): (usize, usize),
    device: &Device,
) -> Result<Dataset, AnyError> {
    let set = &reference["datasets"][name];
    let x: Vec<Vec<f64>> = set["x"].as_array().ok_or("x")?.iter().map(floats).collect();
    let y = floats(&set["y"]);
    let data = Dataset::from_rows(&x[a..b], &y[a..b], device)?;
    Ok(if weighted {
        data.with_weights(&floats(&set["weights"])[a..b])?
    } else {
        data
    })
}

/// All rows of a case's data set, weighted as the case says.
pub fn case_data(reference: &Value, case: &Value, device: &Device) -> Result<Dataset, AnyError> {
    let name = case["dataset"].as_str().ok_or("dataset")?;
    let n = reference["datasets"][name]["y"]
        .as_array()
        .ok_or("y")?
        .len();
    let weighted = case["sample_weight"].as_bool().unwrap_or(false);
    dataset(reference, name, weighted, (0, n), device)
}

/// The `SGDRegressor(**params)` of a case, field for field.
pub fn config(p: &Value) -> Result<SgdRegressorConfig, AnyError> {
    let f = |key: &str| p[key].as_f64().ok_or(format!("missing {key}"));
    let u = |key: &str| {
        p[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or(format!("missing {key}"))
    };
    let s = |key: &str| p[key].as_str().unwrap_or("none").to_string();
    Ok(SgdRegressorConfig::new()
        .with_loss(s("loss").parse()?)
        .with_penalty(s("penalty").parse()?)
        .with_alpha(f("alpha")?)
        .with_l1_ratio(f("l1_ratio")?)
        .with_fit_intercept(p["fit_intercept"].as_bool().ok_or("fit_intercept")?)
        .with_max_iter(u("max_iter")?)
        .with_tol(p["tol"].as_f64())
        .with_shuffle(p["shuffle"].as_bool().ok_or("shuffle")?)
        .with_epsilon(f("epsilon")?)
        .with_learning_rate(s("learning_rate").parse()?)
        .with_eta0(f("eta0")?)
        .with_power_t(f("power_t")?)
        .with_early_stopping(p["early_stopping"].as_bool().ok_or("early_stopping")?)
        .with_validation_fraction(f("validation_fraction")?)
        .with_n_iter_no_change(u("n_iter_no_change")?)
        .with_average(u("average")?))
}
