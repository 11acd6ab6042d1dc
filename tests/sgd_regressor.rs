//! `SgdRegressor` against scikit-learn 1.9.1's `SGDRegressor`, number for number.
//!
//! Expected numbers: `tests/data/sklearn_sgd_reference.json`, written by
//! `scripts/sklearn_sgd_reference.py` (every loss, penalty and schedule, averaging, no
//! intercept, sample weights, fixed epochs and `partial_fit`, all with `shuffle=False`). The
//! script checks that each reference is stable: 1e-13 relative noise in `x` moves no `n_iter_`
//! and no coefficient by more than 1e-10, so 1e-8 relative here is round-off, not luck.

mod common;

#[path = "../examples/support/sklearn_sgd.rs"]
mod sklearn_sgd;

use linfit::sgd_regressor::{LearningRate, SgdRegressor, SgdRegressorConfig};
use linfit::{Dataset, Error, Precision};
use serde_json::Value;
use sklearn_sgd::floats;

fn reference() -> Value {
    sklearn_sgd::reference().unwrap()
}

fn config(p: &Value) -> SgdRegressorConfig {
    assert_eq!(p["shuffle"], Value::Bool(false));
    assert_eq!(p["early_stopping"], Value::Bool(false));
    sklearn_sgd::config(p).unwrap()
}

fn close(name: &str, what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= 1e-8 * scale,
        "{name}: {what} = {got:e}, sklearn {want:e} (relative {:e})",
        (got - want).abs() / scale
    );
}

fn check(name: &str, case: &Value, sgd: &SgdRegressor) {
    let coef = floats(&case["coef"]);
    let w = sgd.model().weights();
    assert_eq!(w.len(), coef.len(), "{name}");
    // Relative to the largest coefficient: a coefficient sklearn's L1 set to exactly zero must
    // be zero here too, others agree to round-off.
    let scale = coef.iter().fold(0.0f64, |a, c| a.max(c.abs()));
    for (j, (g, c)) in w.iter().zip(&coef).enumerate() {
        if *c == 0.0 {
            assert!(
                g.abs() <= 1e-12 * scale,
                "{name}: coef[{j}] = {g:e}, sklearn 0"
            );
        } else {
            close(name, &format!("coef[{j}]"), *g, *c);
        }
    }
    let intercept = case["intercept"].as_f64().unwrap();
    match sgd.model().bias() {
        Some(b) => assert!(
            (b[0] - intercept).abs() <= 1e-8 * intercept.abs().max(1e-6 * scale),
            "{name}: intercept {} vs sklearn {intercept}",
            b[0]
        ),
        None => assert_eq!(intercept, 0.0, "{name}"),
    }
    assert_eq!(
        sgd.n_iter(),
        case["n_iter"].as_u64().unwrap() as usize,
        "{name}: n_iter"
    );
    assert_eq!(sgd.t(), case["t"].as_f64().unwrap(), "{name}: t");
}

#[test]
fn fit_equals_sklearn_for_every_loss_penalty_and_schedule() {
    let reference = reference();
    let cpu = common::test_device(Precision::F64);
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = sklearn_sgd::case_data(&reference, case, &cpu).unwrap();
        let sgd = config(&case["params"]).fit(&data).unwrap();
        check(name, case, &sgd);
    }
}

#[test]
fn partial_fit_equals_sklearn() {
    let reference = reference();
    let cpu = common::test_device(Precision::F64);
    for case in reference["partial_fit_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let set = case["dataset"].as_str().unwrap();
        let weighted = case["sample_weight"].as_bool().unwrap();
        let mut sgd: Option<SgdRegressor> = None;
        for chunk in case["chunks"].as_array().unwrap() {
            let (a, b) = (
                chunk[0].as_u64().unwrap() as usize,
                chunk[1].as_u64().unwrap() as usize,
            );
            let data = sklearn_sgd::dataset(&reference, set, weighted, (a, b), &cpu).unwrap();
            let s = sgd.get_or_insert_with(|| {
                config(&case["params"])
                    .init(data.n_features(), 1, &cpu)
                    .unwrap()
            });
            s.partial_fit(&data).unwrap();
        }
        check(name, case, sgd.as_ref().unwrap());
    }
}

#[test]
fn several_targets_are_fitted_as_independent_regressors() {
    let reference = reference();
    let cpu = common::test_device(Precision::F64);
    let case = &reference["cases"][1]; // squared_error_l2
    let d = &reference["datasets"]["diabetes_std"];
    let x: Vec<Vec<f64>> = d["x"].as_array().unwrap().iter().map(floats).collect();
    let y = floats(&d["y"]);
    // Target 0 is sklearn's target, target 1 its negation: coefficients negate exactly.
    let targets: Vec<Vec<f64>> = y.iter().map(|v| vec![*v, -*v]).collect();
    let data = Dataset::from_rows_multi(&x, &targets, &cpu).unwrap();
    let sgd = config(&case["params"]).fit(&data).unwrap();
    let w = sgd.model().weights();
    let coef = floats(&case["coef"]);
    for (j, c) in coef.iter().enumerate() {
        close("target 0", "coef", w[2 * j], *c);
        close("target 1", "coef", w[2 * j + 1], -*c);
    }
    assert_eq!(sgd.n_iters().len(), 2);
}

#[test]
fn shuffled_fits_are_reproducible_and_converge() {
    let reference = reference();
    let cpu = common::test_device(Precision::F64);
    let data = sklearn_sgd::dataset(&reference, "diabetes_std", false, (0, 442), &cpu).unwrap();
    let c = SgdRegressorConfig::new().with_seed(7);
    let a = c.fit(&data).unwrap();
    let b = c.fit(&data).unwrap();
    assert_eq!(a.model().weights(), b.model().weights());
    let other = c.clone().with_seed(8).fit(&data).unwrap();
    assert_ne!(a.model().weights(), other.model().weights());
    // Both near the unshuffled fit (within SGD's noise at these settings).
    let plain = c.with_shuffle(false).fit(&data).unwrap();
    for (x, y) in a.model().weights().iter().zip(plain.model().weights()) {
        assert!((x - y).abs() < 0.05, "{x} vs {y}");
    }
}

#[test]
fn early_stopping_holds_out_rows_and_stops() {
    let reference = reference();
    let cpu = common::test_device(Precision::F64);
    let data = sklearn_sgd::dataset(&reference, "diabetes_std", false, (0, 442), &cpu).unwrap();
    let sgd = SgdRegressorConfig::new()
        .with_early_stopping(true)
        .with_validation_fraction(0.2)
        .fit(&data)
        .unwrap();
    assert!(sgd.n_iter() < 1000);
    // t counts every row, held out or not (as sklearn's t_).
    assert_eq!(sgd.t(), 1.0 + (sgd.n_iter() * 442) as f64);
    assert!(linfit::metrics::r2(sgd.model(), &data).unwrap() > 0.45);
    let mut sgd = sgd;
    assert!(matches!(
        sgd.partial_fit(&data),
        Err(Error::InvalidHyperparameter {
            name: "early_stopping",
            ..
        })
    ));
}

#[test]
fn settings_sklearn_refuses_are_errors() {
    let cpu = common::test_device(Precision::F64);
    let data =
        Dataset::from_rows(&[vec![0.0], vec![1.0], vec![2.0]], &[0.0, 1.0, 2.0], &cpu).unwrap();
    let refused = |c: SgdRegressorConfig, field: &str| match c.fit(&data) {
        Err(Error::InvalidHyperparameter { name, .. }) => assert_eq!(name, field),
        other => panic!("{field}: {other:?}"),
    };
    let c = SgdRegressorConfig::new;
    refused(c().with_alpha(-1.0), "alpha");
    refused(c().with_alpha(f64::NAN), "alpha");
    refused(
        c().with_alpha(0.0)
            .with_learning_rate(LearningRate::Optimal),
        "alpha",
    );
    refused(c().with_l1_ratio(1.5), "l1_ratio");
    refused(c().with_l1_ratio(-0.1), "l1_ratio");
    refused(c().with_max_iter(0), "max_iter");
    refused(c().with_tol(Some(-1e-3)), "tol");
    refused(c().with_epsilon(-0.1), "epsilon");
    refused(c().with_eta0(0.0), "eta0");
    refused(c().with_eta0(f64::INFINITY), "eta0");
    refused(c().with_power_t(f64::NAN), "power_t");
    refused(
        c().with_early_stopping(true).with_validation_fraction(1.0),
        "validation_fraction",
    );
    refused(
        c().with_early_stopping(true).with_validation_fraction(0.0),
        "validation_fraction",
    );
    refused(c().with_n_iter_no_change(0), "n_iter_no_change");
    // A validation split that leaves no training row.
    refused(
        c().with_early_stopping(true).with_validation_fraction(0.9),
        "validation_fraction",
    );
    assert!(matches!(
        c().with_early_stopping(true).init(1, 1, &cpu),
        Err(Error::InvalidHyperparameter {
            name: "early_stopping",
            ..
        })
    ));
}

#[test]
fn overflow_is_an_error_not_a_model() {
    let cpu = common::test_device(Precision::F64);
    // sklearn clips each sample's loss derivative at 1e12; a step of eta0 1e12 x with x ~ 1e200
    // still overflows.
    let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![1e200 * (i as f64 + 1.0)]).collect();
    let targets: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let data = Dataset::from_rows(&rows, &targets, &cpu).unwrap();
    let err = SgdRegressorConfig::new()
        .with_learning_rate(LearningRate::Constant)
        .with_eta0(1e100)
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
}

#[test]
fn partial_fit_refuses_other_columns() {
    let cpu = common::test_device(Precision::F64);
    let data = Dataset::from_rows(&[vec![0.0, 1.0], vec![1.0, 0.0]], &[0.0, 1.0], &cpu)
        .unwrap()
        .with_feature_names(["a", "b"])
        .unwrap();
    let mut sgd = SgdRegressorConfig::new().fit(&data).unwrap();
    assert_eq!(
        sgd.model().feature_names(),
        Some(&["a".to_string(), "b".to_string()][..])
    );
    let narrow = Dataset::from_rows(&[vec![0.0], vec![1.0]], &[0.0, 1.0], &cpu).unwrap();
    assert!(matches!(
        sgd.partial_fit(&narrow),
        Err(Error::ShapeMismatch { .. })
    ));
    let swapped = data.with_feature_names(["b", "a"]).unwrap();
    assert!(matches!(
        sgd.partial_fit(&swapped),
        Err(Error::NameMismatch { .. })
    ));
}

#[test]
fn sklearn_names_parse() {
    use linfit::sgd_regressor::{Penalty, RegressionLoss};
    assert_eq!(
        "huber".parse::<RegressionLoss>().unwrap(),
        RegressionLoss::Huber
    );
    assert_eq!(
        "elasticnet".parse::<Penalty>().unwrap(),
        Penalty::ElasticNet
    );
    assert_eq!(
        "optimal".parse::<LearningRate>().unwrap(),
        LearningRate::Optimal
    );
    assert!(matches!(
        "squared_loss".parse::<RegressionLoss>(),
        Err(Error::InvalidHyperparameter { name: "loss", .. })
    ));
}
