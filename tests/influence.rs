//! `LeastSquaresFit::influence` against statsmodels' `OLSInfluence`
//! (`tests/data/statsmodels_influence_reference.json`, written by
//! `scripts/statsmodels_influence_reference.py`, whose docstring lists the cases and why the
//! weighted and rank-deficient ones are referred to other statsmodels fits): diabetes and
//! Longley with a constant and without, diabetes weighted and with a redundant column; the CSV
//! tables and the file fit's streamed table.

mod common;

use common::{diabetes, floats, longley};
use linfit::prelude::*;
use serde_json::Value;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn reference(name: &str) -> Value {
    common::reference_json("statsmodels_influence_reference.json")[name].clone()
}

fn columns(i: &Influence) -> [(&'static str, &Vec<f64>); 8] {
    [
        ("fitted", &i.fitted),
        ("resid", &i.resid),
        ("hat", &i.hat),
        ("student_internal", &i.student_internal),
        ("student_external", &i.student_external),
        ("cooks", &i.cooks),
        ("cooks_p", &i.cooks_p),
        ("dffits", &i.dffits),
    ]
}

/// Every column to `rel` relative to the column's largest magnitude (a residual near zero has
/// no relative precision of its own), and `cooks_p`, near 1, relative to each value.
#[track_caller]
fn check(what: &str, got: &Influence, r: &Value, rel: f64) {
    for (name, got) in columns(got) {
        let want = floats(&r[name]);
        assert_eq!(got.len(), want.len(), "{what} {name}");
        let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let bound = if name == "cooks_p" { w.abs() } else { scale };
            assert!(
                (g - w).abs() <= rel * bound,
                "{what} {name}[{i}]: {g:e} vs statsmodels {w:e}"
            );
        }
    }
}

#[test]
fn ols_influence_equals_statsmodels() {
    let dev = dev();
    let data = diabetes(&dev);
    for solver in [Solver::Qr, Solver::Svd, Solver::NormalEquations] {
        for (intercept, case) in [(true, "diabetes_ols"), (false, "diabetes_no_constant")] {
            let fit = LeastSquares::new()
                .with_solver(solver)
                .with_intercept(intercept)
                .fit(&data)
                .unwrap();
            let influence = fit.influence(&data).unwrap();
            assert_eq!(influence.len(), 1);
            // The normal equations square the condition number (diabetes: 1e3 -> 1e6).
            let rel = match solver {
                Solver::NormalEquations => 1e-9,
                _ => 1e-10,
            };
            check(
                &format!("{case} {solver:?}"),
                &influence[0],
                &reference(case),
                rel,
            );
        }
    }
}

#[test]
fn longley_influence_equals_statsmodels() {
    let dev = dev();
    let data = longley(&dev);
    for (intercept, case) in [(true, "longley_ols"), (false, "longley_no_constant")] {
        let fit = LeastSquares::new()
            .with_intercept(intercept)
            .fit(&data)
            .unwrap();
        let influence = fit.influence(&data).unwrap();
        // Condition number 4.9e9 with the constant: statsmodels' pinv-based hat matrix is
        // 1.2e-10 off the exact rational table (the same script), which is the reference.
        let exact = reference(&format!("{case}_exact"));
        check(&format!("{case}, exact"), &influence[0], &exact, 1e-11);
        check(
            &format!("{case}, statsmodels"),
            &influence[0],
            &reference(case),
            1e-9,
        );
    }
}

#[test]
fn weighted_influence_is_the_whitened_regressions() {
    let dev = dev();
    let data = diabetes(&dev);
    let weights: Vec<f64> = (0..data.n_samples())
        .map(|i| 0.5 + (i % 7) as f64 / 4.0)
        .collect();
    let data = data.with_weights(&weights).unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    let influence = fit.influence(&data).unwrap();
    check(
        "diabetes WLS",
        &influence[0],
        &reference("diabetes_wls"),
        1e-10,
    );

    // Longley weighted by 1 + i / 10: the exact rational table of the whitened regression
    // (the same script) is the reference; statsmodels' whitened OLS is 3e-10 off it.
    let data = longley(&dev);
    let weights: Vec<f64> = (0..data.n_samples())
        .map(|i| 1.0 + i as f64 / 10.0)
        .collect();
    let data = data.with_weights(&weights).unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    let influence = fit.influence(&data).unwrap();
    let exact = reference("longley_wls_exact");
    check("Longley WLS, exact", &influence[0], &exact, 1e-11);
    check(
        "Longley WLS, statsmodels",
        &influence[0],
        &reference("longley_wls"),
        1e-9,
    );
}

#[test]
fn a_redundant_column_changes_no_influence() {
    // The hat matrix is the projection on the column space: s1 + s2 beside s1 and s2 adds
    // nothing to it, and Cook's distance counts the identified parameters (11, not 12).
    let dev = dev();
    let data = diabetes(&dev);
    let x = data.features();
    let extra =
        x.clone().slice([0..data.n_samples(), 4..5]) + x.clone().slice([0..data.n_samples(), 5..6]);
    let redundant = Dataset::from_tensors(Tensor::cat(vec![x, extra], 1), data.targets()).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new()
            .with_solver(solver)
            .fit(&redundant)
            .unwrap();
        assert_eq!(fit.rank(), 10);
        let influence = fit.influence(&redundant).unwrap();
        check(
            &format!("redundant {solver:?}"),
            &influence[0],
            &reference("diabetes_ols"),
            1e-9,
        );
    }
}

#[test]
fn other_data_than_the_fits_are_refused() {
    let dev = dev();
    let data = diabetes(&dev);
    let fit = LeastSquares::new().fit(&data).unwrap();
    // Fewer rows.
    let (x, y) = (data.features(), data.targets());
    let named = |d: Dataset| {
        d.with_feature_names(data.feature_names().to_vec())
            .unwrap()
            .with_target_names(data.target_names().to_vec())
            .unwrap()
    };
    let fewer =
        named(Dataset::from_tensors(x.clone().slice(0..400), y.clone().slice(0..400)).unwrap());
    assert!(matches!(fit.influence(&fewer), Err(Error::Numerical(_))));
    // The same rows with other targets.
    let other = named(Dataset::from_tensors(x, y.mul_scalar(1.01)).unwrap());
    let err = fit.influence(&other).unwrap_err();
    assert!(err.to_string().contains("not the fit's data"), "{err}");
    // Ridge fits have no influence in this sense.
    let ridge = LeastSquares::new().with_alpha(1.0).fit(&data).unwrap();
    assert!(matches!(ridge.influence(&data), Err(Error::Numerical(_))));
}

#[test]
fn zero_weights_and_leverage_one_give_nan_not_numbers() {
    let dev = dev();
    // Row 5 alone determines the second feature's weight (leverage 1); row 6 has weight 0.
    let rows: Vec<Vec<f64>> = (0..8)
        .map(|i| vec![i as f64, if i == 5 { 1.0 } else { 0.0 }])
        .collect();
    let y = [0.3, 1.1, 1.9, 3.2, 4.0, 9.0, 100.0, 6.9];
    let weights = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0];
    let data = Dataset::from_rows(&rows, &y, &dev)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    let i = &fit.influence(&data).unwrap()[0];
    assert!((i.hat[5] - 1.0).abs() < 1e-12, "{}", i.hat[5]);
    assert_eq!(i.hat[6], 0.0);
    for row in [5, 6] {
        for (name, v) in [
            ("internal", &i.student_internal),
            ("cooks", &i.cooks),
            ("dffits", &i.dffits),
        ] {
            assert!(v[row].is_nan(), "row {row} {name}: {}", v[row]);
        }
    }
    assert!(
        i.cooks
            .iter()
            .enumerate()
            .all(|(r, c)| r == 5 || r == 6 || c.is_finite())
    );
    // The leverages of the rows that count sum to the parameters.
    let total: f64 = i.hat.iter().sum();
    assert!((total - 3.0).abs() < 1e-12, "{total}");
}

#[test]
fn tables_round_trip_through_csv() {
    let dev = dev();
    let data = diabetes(&dev);
    let fit = LeastSquares::new().fit(&data).unwrap();
    let influence = fit.influence(&data).unwrap().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("influence.csv");
    influence.write_csv(&path).unwrap();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let names: Vec<&str> = columns(&influence).iter().map(|c| c.0).collect();
    assert_eq!(header, names);
    let rows: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), data.n_samples());
    for (c, (name, want)) in columns(&influence).iter().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(row[c].to_bits(), want[r].to_bits(), "{name}[{r}]");
        }
    }
    // The serialised form has the same fields.
    let json = serde_json::to_value(&influence).unwrap();
    assert_eq!(floats(&json["cooks"]), influence.cooks);
}

#[test]
fn a_file_fits_influence_is_streamed_to_csv_and_equals_the_in_memory_one() {
    let dev = dev();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let data = diabetes(&dev);
    let want = LeastSquares::new()
        .fit(&data)
        .unwrap()
        .influence(&data)
        .unwrap()
        .remove(0);
    let fit = LeastSquares::new()
        .fit_csv(path, &["target"], &dev)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("influence.csv");
    assert_eq!(
        fit.write_influence_csv(path, &["target"], &out).unwrap(),
        442
    );
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let rows: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    for (c, (name, want)) in columns(&want).iter().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(
                (row[c] - want[r]).abs() <= 1e-12 * scale,
                "{name}[{r}]: {} vs {}",
                row[c],
                want[r]
            );
        }
    }
    // Another file of the same columns is refused, and nothing is written.
    let other = dir.path().join("other.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    lines.pop();
    std::fs::write(&other, lines.join("\n")).unwrap();
    let refused = dir.path().join("refused.csv");
    assert!(
        fit.write_influence_csv(&other, &["target"], &refused)
            .is_err()
    );
    assert!(!refused.exists());
}

#[test]
fn prediction_frames_write_csv() {
    let dev = dev();
    let data = diabetes(&dev);
    let fit = LeastSquares::new().fit(&data).unwrap();
    let frame = fit
        .predict_intervals(data.features().slice(0..5), 0.9)
        .unwrap()
        .remove(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frame.csv");
    frame.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "mean,mean_se,mean_ci_lower,mean_ci_upper,obs_ci_lower,obs_ci_upper,estimable"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0].parse::<f64>().unwrap(), frame.mean[0]);
    assert_eq!(first[6], "true");
}

#[test]
fn a_weighted_fit_has_no_file_influence_and_short_columns_are_refused() {
    let dev = dev();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let data = diabetes(&dev);
    let weights: Vec<f64> = (0..data.n_samples())
        .map(|i| 1.0 + (i % 3) as f64)
        .collect();
    let weighted = data.clone().with_weights(&weights).unwrap();
    let fit = LeastSquares::new().fit(&weighted).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("influence.csv");
    assert!(matches!(
        fit.write_influence_csv(path, &["target"], &out),
        Err(Error::InvalidHyperparameter {
            name: "weights",
            ..
        })
    ));
    let mut influence = fit.influence(&weighted).unwrap().remove(0);
    influence.hat.truncate(3);
    assert!(matches!(
        influence.write_csv(&out),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(!out.exists());
}
