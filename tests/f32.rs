//! Single precision. This test binary is its own process, so its CPU device can lock to f32
//! (Burn fixes a device's float type at its first tensor for the life of the process).

mod common;

use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F32)
}

#[test]
fn f32_device_keeps_f32_and_refuses_f64_afterwards() {
    let dev = dev();
    let data = Dataset::from_rows(&[vec![0.1], vec![0.2]], &[1.0, 2.0], &dev).unwrap();
    assert_eq!(data.precision(), Precision::F32);
    let _lock = data.features();
    // The device under test is locked to f32 now, whichever backend it is.
    assert!(matches!(
        common::try_test_device(Precision::F64),
        Err(Error::Precision { .. })
    ));
    let model = LinearModel::from_values(1, &[0.1], Some(&[0.0]), &dev).unwrap();
    // Values read back are the f32 roundings of what went in.
    assert_eq!(model.weights(), vec![f64::from(0.1f32)]);
}

#[test]
fn seed_run_in_f32_stays_close_to_the_f64_trajectory() {
    // f32 carries ~7 digits; 10 000 steps of a contraction keep the loss within ~1e-5 relative
    // of PyTorch's float64 numbers (2.8e-6 observed on flex), and far from the 1e-9 of the f64 test.
    let (_, losses, losses_ref) = common::seed_fit(&dev());
    common::assert_rel("f32 losses", &losses, &losses_ref, 1e-5);
}

#[test]
fn save_load_round_trip_in_f32_is_bit_exact() {
    let dev = dev();
    let model = LinearModelConfig::new(4).with_seed(11).init(&dev).unwrap();
    let path = std::env::temp_dir().join(format!("linfit-f32-{}.bpk", std::process::id()));
    model.save(&path).unwrap();
    let loaded = LinearModel::load(&path, 4, 1, true, &dev).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(loaded.precision(), Some(Precision::F32));
    assert_eq!(loaded.weights(), model.weights());
    assert_eq!(loaded.bias(), model.bias());
}

#[test]
fn values_beyond_f32_are_refused_not_cast_to_infinity() {
    // 1e39 > f32::MAX (3.4e38): on an f32 device it would silently become inf.
    let dev = dev();
    let out_of_range = |e: Error| {
        assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
        assert!(e.to_string().contains("f32"), "{e}");
    };
    out_of_range(Dataset::from_rows(&[vec![1e39], vec![1.0]], &[1.0, 2.0], &dev).unwrap_err());
    out_of_range(Dataset::from_rows(&[vec![1.0], vec![2.0]], &[1.0, -1e39], &dev).unwrap_err());
    out_of_range(
        Dataset::from_flat(vec![1.0, 2.0], vec![3.0, 1e300], [2, 1], 1, &dev).unwrap_err(),
    );
    out_of_range(LinearModel::from_values(1, &[1e39], None, &dev).unwrap_err());
    let json = r#"{"format":"linfit.LinearModel","n_features":1,"n_targets":1,
                   "precision":"f64","weights":[[1e39]],"bias":null}"#;
    out_of_range(LinearModel::from_json(json, &dev).unwrap_err());
    let huge = linfit::burn::nn::Initializer::Normal {
        mean: 0.0,
        std: 1e300,
    };
    out_of_range(
        LinearModelConfig::new(3)
            .with_initializer(huge)
            .init(&dev)
            .unwrap_err(),
    );
    let path = std::env::temp_dir().join(format!("linfit-f32-range-{}.csv", std::process::id()));
    std::fs::write(&path, "x,y\n1,2\n1e39,3\n").unwrap();
    out_of_range(Dataset::from_csv(&path, &["y"], &dev).unwrap_err());
    std::fs::remove_file(&path).ok();
    // Just below the limit is fine.
    assert!(Dataset::from_rows(&[vec![3.0e38], vec![1.0]], &[1.0, 2.0], &dev).is_ok());
}

#[test]
fn standardizer_handles_f32_columns_whose_squares_overflow() {
    // i * 1e20 squares to 1e40 > f32::MAX; the standard deviation is 1e20 * sqrt(2).
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64 * 1e20]).collect();
    let data = Dataset::from_rows(&rows, &[0.0; 5], &dev).unwrap();
    let std = StandardizerConfig::new().fit(&data).unwrap().feature_std()[0];
    assert!((std / (1e20 * 2f64.sqrt()) - 1.0).abs() < 1e-6, "{std}");
}

#[test]
fn an_f64_file_beyond_f32_does_not_load_as_infinity() {
    // tests/data/f64_beyond_f32.bpk: LinearModel::from_values(2, &[1e39, 1.0], Some(&[0.5]))
    // saved from an f64 device (see tests/data/README.md).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/f64_beyond_f32.bpk");
    let e = LinearModel::load(path, 2, 1, true, &dev()).unwrap_err();
    assert!(matches!(e, Error::Load { .. }), "{e}");
    assert!(e.to_string().contains("precision"), "{e}");
}

/// `SgdRegressor` on f32 data: fitted in f64 on the host, returned in f32. The reference is
/// scikit-learn's fit of the f64 data (`tests/data/sklearn_sgd_reference.json`, case
/// `squared_error_l2`); rounding the data to f32 once moves the fit by about f32's epsilon.
#[test]
fn sgd_regressor_fits_f32_data_in_f64() {
    use linfit::sgd_regressor::SgdRegressorConfig;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sklearn_sgd_reference.json"
    ))
    .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let set = &reference["datasets"]["diabetes_std"];
    let x: Vec<Vec<f64>> = set["x"].as_array().unwrap().iter().map(floats).collect();
    let data = Dataset::from_rows(&x, &floats(&set["y"]), &dev()).unwrap();
    let case = &reference["cases"][1];
    assert_eq!(case["name"], "squared_error_l2");
    let sgd = SgdRegressorConfig::new()
        .with_alpha(case["params"]["alpha"].as_f64().unwrap())
        .with_shuffle(false)
        .fit(&data)
        .unwrap();
    assert_eq!(sgd.model().precision(), Some(Precision::F32));
    assert_eq!(sgd.n_iter(), case["n_iter"].as_u64().unwrap() as usize);
    for (g, c) in sgd.model().weights().iter().zip(floats(&case["coef"])) {
        assert!((g - c).abs() < 1e-5 * c.abs().max(0.1), "{g} vs {c}");
    }
}

/// The sharded closed form forms exact products in f64 only: f32 shards are refused, saying
/// how to load them.
#[test]
fn sharded_closed_form_refuses_f32_shards() {
    let f32_cpu = dev();
    let rows: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64]).collect();
    let small = Dataset::from_rows(&rows, &[0.0, 1.0, 2.0, 3.0, 5.0, 4.0], &f32_cpu).unwrap();
    let sharded = ShardedDataset::split(&small, &[f32_cpu.clone(), f32_cpu]).unwrap();
    let err = LeastSquares::new().fit_sharded(&sharded).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidHyperparameter {
                name: "shard precision",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--precision f64"), "{err}");
}

/// A `partial_fit` that fails leaves the regressor as it was: here the epoch's weight (host f64
/// arithmetic, sklearn's step `w = -eta0 dloss x` with `dloss = p - y = -1e12`, the most
/// sklearn's clip `MAX_DLOSS = 1e12` lets through: `1e28 * 1e12 = 1e40`) exceeds f32's range,
/// so the model cannot be stored on this f32 device. Before, the state (`t`, the weights) had
/// already advanced, and every later good call failed too.
#[test]
fn a_failed_partial_fit_changes_nothing() {
    use linfit::sgd_regressor::LearningRate;
    let dev = dev();
    let mut sgd = SgdRegressorConfig::new()
        .with_learning_rate(LearningRate::Constant)
        .with_eta0(1e28)
        .with_alpha(0.0)
        .with_fit_intercept(false)
        .with_shuffle(false)
        .init(1, 1, &dev)
        .unwrap();
    let huge = Dataset::from_rows(&[vec![1.0]], &[1e12], &dev).unwrap();
    let failed = sgd.partial_fit(&huge);
    assert!(
        matches!(failed, Err(Error::OutOfRange { .. })),
        "{failed:?}"
    );
    assert_eq!(sgd.t(), 1.0);
    assert_eq!(sgd.model().weights(), vec![0.0]);
    // A good call afterwards starts from the untouched state, as a fresh regressor's first:
    // w = 0 - eta0 (0 - y) x = 1e28 * 2 * 1, stored in f32 (relative rounding <= 2^-24).
    let good = Dataset::from_rows(&[vec![1.0]], &[2.0], &dev).unwrap();
    sgd.partial_fit(&good).unwrap();
    assert_eq!(sgd.t(), 2.0);
    let w = sgd.model().weights()[0];
    assert!((w - 2e28).abs() <= 2e28 * 2f64.powi(-24), "{w}");
}

#[test]
fn influence_on_f32_accepts_its_own_data_with_large_offsets() {
    // Features near 1e5 beside a target near 3: each prediction sums terms far larger than
    // itself (an intercept near -5e4), which f32 rounds at ~4e-3; that is rounding, not "other data".
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..200)
        .map(|i| vec![100_000.0 + i as f64 * 0.01, ((i * 37) % 11) as f64])
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 3.0 + 0.5 * (r[0] - 100_000.0) - 0.1 * r[1] + ((i * 7) % 5) as f64 * 0.01)
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    let influence = fit.influence(&data).unwrap().remove(0);
    // The hat matrix is a projection on the 3 parameters' directions: its trace is 3.
    let trace: f64 = influence.hat.iter().sum();
    assert!((trace - 3.0).abs() < 1e-5, "trace {trace}");
    assert!(influence.hat.iter().all(|h| (0.0..1.0).contains(h)));
    assert!(influence.cooks.iter().all(|c| c.is_finite() && *c >= 0.0));
}
