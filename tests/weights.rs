//! Sample weights: weighted metrics against scikit-learn, weighted training against row
//! repetition and against the explicit loop.
//!
//! Expected numbers: `tests/data/statsmodels_wls_reference.json`
//! (`scripts/statsmodels_wls_reference.py`: scikit-learn 1.9.1's `mean_squared_error`,
//! `mean_absolute_error` and `r2_score` with `sample_weight`, on fixed predictions).

mod common;

use common::{close, floats};
use linfit::prelude::*;
use serde_json::Value;

fn reference() -> Value {
    common::reference_json("statsmodels_wls_reference.json")
}

fn data_file(name: &str) -> String {
    format!("{}/data/sklearn/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn weighted_metrics_equal_sklearn() {
    let r = reference();
    let cpu = common::test_device(Precision::F64);

    // Diabetes, predictions of the WLS fit (intercept first in statsmodels' params).
    let data = Dataset::from_csv(data_file("diabetes.csv"), &["target"], &cpu).unwrap();
    let params = floats(&r["diabetes"]["params"]);
    let model = LinearModel::from_values(10, &params[1..], Some(&params[..1]), &cpu).unwrap();
    let m = &r["metrics"]["diabetes"];
    for (set, key) in [
        (data.clone(), "unweighted"),
        (
            data.with_weights(&floats(&r["diabetes"]["weights"]))
                .unwrap(),
            "weighted",
        ),
    ] {
        // Sums of 442 terms of size 1e4 in another order: 1e-12 relative.
        close(
            "mse",
            metrics::mse(&model, &set).unwrap(),
            m[key]["mse"].as_f64().unwrap(),
            1e-12,
        );
        close(
            "mae",
            metrics::mae(&model, &set).unwrap(),
            m[key]["mae"].as_f64().unwrap(),
            1e-12,
        );
        close(
            "r2",
            metrics::r2(&model, &set).unwrap(),
            m[key]["r2"].as_f64().unwrap(),
            1e-12,
        );
    }

    // Linnerud, three targets (uniform average over them).
    let l = &r["metrics"]["linnerud"];
    let data = Dataset::from_csv(
        data_file("linnerud.csv"),
        &["Weight", "Waist", "Pulse"],
        &cpu,
    )
    .unwrap();
    let coef: Vec<Vec<f64>> = l["coef"].as_array().unwrap().iter().map(floats).collect();
    // coef is [target][feature]; linfit's weights are [feature][target], row-major.
    let flat: Vec<f64> = (0..3)
        .flat_map(|j| coef.iter().map(move |c| c[j]))
        .collect();
    let model = LinearModel::from_values(3, &flat, Some(&floats(&l["intercept"])), &cpu).unwrap();
    for (set, key) in [
        (data.clone(), "unweighted"),
        (
            data.with_weights(&floats(&l["weights"])).unwrap(),
            "weighted",
        ),
    ] {
        close(
            "mse",
            metrics::mse(&model, &set).unwrap(),
            l[key]["mse"].as_f64().unwrap(),
            1e-12,
        );
        close(
            "mae",
            metrics::mae(&model, &set).unwrap(),
            l[key]["mae"].as_f64().unwrap(),
            1e-12,
        );
        close(
            "r2",
            metrics::r2(&model, &set).unwrap(),
            l[key]["r2"].as_f64().unwrap(),
            1e-12,
        );
    }
}

/// Integer weights are row counts: a weighted full-batch fit equals the fit on the rows
/// repeated that many times (both losses), to round-off.
#[test]
fn weighted_training_equals_repeated_rows() {
    let cpu = common::test_device(Precision::F64);
    let rows: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![(i % 4) as f64 / 4.0, (i % 5) as f64 / 5.0])
        .collect();
    let targets: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 0.5 + r[0] - 2.0 * r[1] + 0.1 * ((i * 7) % 3) as f64)
        .collect();
    let counts: Vec<usize> = (0..12).map(|i| 1 + i % 3).collect();
    let weights: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let weighted = Dataset::from_rows(&rows, &targets, &cpu)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let (mut rep_rows, mut rep_targets) = (vec![], vec![]);
    for i in 0..12 {
        for _ in 0..counts[i] {
            rep_rows.push(rows[i].clone());
            rep_targets.push(targets[i]);
        }
    }
    let repeated = Dataset::from_rows(&rep_rows, &rep_targets, &cpu).unwrap();
    for (loss, lr) in [(Loss::MeanSquared, 0.3), (Loss::SumSquared, 0.01)] {
        let trainer = TrainerConfig::new(SgdConfig::new(lr).with_momentum(0.5))
            .with_loss(loss)
            .with_epochs(200)
            .with_log_every(Some(50))
            .init()
            .unwrap();
        let start = || LinearModel::from_values(2, &[0.2, 0.1], Some(&[0.0]), &cpu).unwrap();
        let a = trainer.fit(start(), &weighted).unwrap();
        let b = trainer.fit(start(), &repeated).unwrap();
        for (x, y) in a.model.weights().iter().zip(b.model.weights()) {
            assert!((x - y).abs() < 1e-12, "{loss:?}: {x} vs {y}");
        }
        for (x, y) in a.history.iter().zip(&b.history) {
            assert!(
                (x.loss - y.loss).abs() <= 1e-12 * y.loss,
                "{loss:?}: {x:?} vs {y:?}"
            );
        }
        // And the weighted metrics agree with the repeated rows' plain ones.
        let mse_w = metrics::mse(&a.model, &weighted).unwrap();
        let mse_r = metrics::mse(&a.model, &repeated).unwrap();
        assert!((mse_w - mse_r).abs() < 1e-13 * mse_r);
    }
}

/// Weighted mini-batches (shuffled, in place) equal the explicit loop with
/// `Loss::forward_weighted` and Burn's autodiff on the same batches, each batch's sum divided by
/// its rows times the data's mean weight (the documented normalisation: a batch's gradient
/// estimates the whole weighted loss's, batch size 1 included).
#[test]
fn weighted_minibatches_equal_the_explicit_loop() {
    use burn::tensor::{Int, Tensor, TensorData};
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let cpu = common::test_device(Precision::F64);
    let n = 30;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| vec![(i % 6) as f64 / 6.0, ((i * 5) % 7) as f64 / 7.0])
        .collect();
    let targets: Vec<f64> = rows.iter().map(|r| 1.0 - r[0] + 0.5 * r[1]).collect();
    let weights: Vec<f64> = (0..n).map(|i| 0.25 + (i % 4) as f64).collect();
    let data = Dataset::from_rows(&rows, &targets, &cpu)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let (epochs, batch, seed) = (5, 7, 3);
    let mean_weight = weights.iter().sum::<f64>() / n as f64;
    let fitted = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(epochs)
        .with_batch_size(Some(batch))
        .with_seed(seed)
        .init()
        .unwrap()
        .fit(
            LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &cpu).unwrap(),
            &data,
        )
        .unwrap();

    // The trainer's documented shuffle: ChaCha12Rng::seed_from_u64(seed), one shuffle per epoch.
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut model = LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &cpu).unwrap();
    let mut sgd = SgdConfig::new(0.1).init().unwrap();
    for _ in 0..epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(batch) {
            let idx =
                Tensor::<1, Int>::from_data(TensorData::new(chunk.to_vec(), [chunk.len()]), &cpu);
            let x = data.features().select(0, idx.clone());
            let y = data.targets().select(0, idx.clone());
            let w = data.sample_weights().unwrap().select(0, idx);
            sgd.zero_grad();
            let loss = Loss::SumSquared
                .forward_weighted(model.forward(x), y, w)
                .mul_scalar(1.0 / (chunk.len() as f64 * mean_weight));
            sgd.backward(&loss, &model);
            model = sgd.step(model).unwrap();
        }
    }
    for (a, b) in fitted.model.weights().iter().zip(model.weights()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert!((fitted.model.bias().unwrap()[0] - model.bias().unwrap()[0]).abs() < 1e-12);
}

#[test]
fn bad_weights_are_errors_naming_the_row() {
    let cpu = common::test_device(Precision::F64);
    let data =
        Dataset::from_rows(&[vec![1.0], vec![2.0], vec![3.0]], &[1.0, 2.0, 3.0], &cpu).unwrap();
    assert!(matches!(
        data.clone().with_weights(&[1.0, 2.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        data.clone().with_weights(&[1.0, f64::NAN, 1.0]),
        Err(Error::NonFinite { row: 1, .. })
    ));
    assert!(matches!(
        data.clone().with_weights(&[1.0, f64::INFINITY, 1.0]),
        Err(Error::NonFinite { .. })
    ));
    match data.clone().with_weights(&[1.0, 1.0, -0.5]) {
        Err(Error::OutOfRange { what, .. }) => assert!(what.contains("row 2"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        data.clone().with_weights(&[0.0, 0.0, 0.0]),
        Err(Error::EmptyData { .. })
    ));
    // Zero weights are allowed while one is not zero; a split whose part is all zero is refused.
    let weighted = data.with_weights(&[0.0, 0.0, 1.0]).unwrap();
    assert_eq!(weighted.weight_values(), Some(&[0.0, 0.0, 1.0][..]));
    let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64]).collect();
    let mut w = vec![0.0; 10];
    w[0] = 1.0;
    let data = Dataset::from_rows(&rows, &[0.0; 10], &cpu)
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let mut refused = 0;
    for seed in 0..20 {
        match data.train_test_split(0.5, seed) {
            Ok((train, test)) => {
                // Weights follow their rows.
                let total: f64 = train
                    .weight_values()
                    .unwrap()
                    .iter()
                    .chain(test.weight_values().unwrap())
                    .sum();
                assert_eq!(total, 1.0);
            }
            Err(Error::EmptyData { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused > 0);
}

#[test]
fn weighted_data_are_not_saved_without_their_weights() {
    let cpu = common::test_device(Precision::F64);
    let data = Dataset::from_rows(&[vec![1.0], vec![2.0]], &[1.0, 2.0], &cpu)
        .unwrap()
        .with_weights(&[1.0, 2.0])
        .unwrap();
    let path = std::env::temp_dir().join(format!("linfit-weighted-{}.rows", std::process::id()));
    assert!(matches!(
        data.save_rows(&path),
        Err(Error::InvalidHyperparameter {
            name: "weights",
            ..
        })
    ));
    assert!(!path.exists());
    data.without_weights().save_rows(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// With batch size 1, each step is the sample's squared-error step times its weight over the
/// mean weight (sklearn's SGD scales each sample's step by its weight): checked against that
/// host computation.
#[test]
fn weighted_batch_size_one_scales_each_step_by_its_weight() {
    let cpu = common::test_device(Precision::F64);
    let rows = vec![vec![1.0], vec![2.0], vec![-1.0], vec![0.5]];
    let targets = [1.0, 3.0, -2.0, 0.0];
    let weights = [1.0, 3.0, 0.0, 2.0];
    let data = Dataset::from_rows(&rows, &targets, &cpu)
        .unwrap()
        .with_weights(&weights)
        .unwrap();
    let lr = 0.05;
    let fitted = TrainerConfig::new(SgdConfig::new(lr))
        .with_epochs(3)
        .with_batch_size(Some(1))
        .with_shuffle(false)
        .init()
        .unwrap()
        .fit(
            LinearModel::from_values(1, &[0.0], Some(&[0.0]), &cpu).unwrap(),
            &data,
        )
        .unwrap();
    let mean_w = weights.iter().sum::<f64>() / 4.0;
    let (mut w, mut b) = (0.0f64, 0.0f64);
    for _ in 0..3 {
        for i in 0..4 {
            let r = w * rows[i][0] + b - targets[i];
            let s = weights[i] / mean_w;
            w -= lr * 2.0 * s * r * rows[i][0];
            b -= lr * 2.0 * s * r;
        }
    }
    assert!((fitted.model.weights()[0] - w).abs() < 1e-14);
    assert!((fitted.model.bias().unwrap()[0] - b).abs() < 1e-14);
}

/// Weights whose scale leaves the float range are refused; 1e300 or 1e-300 weights (f64) give
/// the fits of the same weights near 1 (only ratios matter).
#[test]
fn weight_scale_does_not_matter() {
    let cpu = common::test_device(Precision::F64);
    let rows: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64, (i * i) as f64]).collect();
    let targets: Vec<f64> = (0..6)
        .map(|i| 1.0 + i as f64 + 0.1 * ((i * 5) % 3) as f64)
        .collect();
    let base = [1.0, 2.0, 0.5, 1.5, 1.0, 3.0];
    let data = Dataset::from_rows(&rows, &targets, &cpu).unwrap();
    let fit = |w: &[f64]| {
        LeastSquares::new()
            .fit(&data.clone().with_weights(w).unwrap())
            .unwrap()
    };
    let reference = fit(&base);
    for scale in [1e300, 1e-300] {
        let scaled: Vec<f64> = base.iter().map(|w| w * scale / 3.0).collect();
        let f = fit(&scaled);
        for (a, b) in f.model().weights().iter().zip(reference.model().weights()) {
            assert!(
                (a - b).abs() < 1e-12 * b.abs().max(1.0),
                "{scale}: {a} vs {b}"
            );
        }
        let (s, r) = (f.summary(), reference.summary());
        let (s, r) = (&s.targets[0], &r.targets[0]);
        assert!((s.r_squared - r.r_squared).abs() < 1e-12);
        let se = |t: &TargetSummary| t.coefficients[0].std_error.unwrap();
        assert!((se(s) - se(r)).abs() < 1e-10 * se(r));
        // SSE scales with the weights.
        assert!((f.sse()[0] / (reference.sse()[0] * scale / 3.0) - 1.0).abs() < 1e-12);
    }
    // Weights whose sum overflows f64 are only their ratios: the fit of the ratios.
    let huge = fit(&[1e308, 1e308, 1.0, 1.0, 1.0, 1.0]);
    let ratios = fit(&[1.0, 1.0, 1e-308, 1e-308, 1e-308, 1e-308]);
    for (a, b) in huge.model().weights().iter().zip(ratios.model().weights()) {
        assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }
}

/// Weights meet residuals normalised by a power of two (exact): uniform weights anywhere in
/// f64's range, subnormal included, give the metrics and the (mean-loss) training of no
/// weights. Before, `w r^2` underflowed (1e-310: R² of 0.9 became NaN-free garbage or 0/0)
/// or overflowed (1e300 times squares of 1e10).
#[test]
fn uniform_weights_at_the_ends_of_the_range_are_no_weights() {
    let cpu = common::test_device(Precision::F64);
    let n = 24;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| vec![(i % 6) as f64 / 6.0, ((i * 5) % 7) as f64 / 7.0])
        .collect();
    let targets: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 1e5 * (1.0 - r[0] + 0.5 * r[1]) + (i % 3) as f64)
        .collect();
    let data = Dataset::from_rows(&rows, &targets, &cpu).unwrap();
    let model = LinearModel::from_values(2, &[-0.9e5, 0.4e5], Some(&[1.1e5]), &cpu).unwrap();
    let train = |data: &Dataset, batch: Option<usize>| {
        TrainerConfig::new(SgdConfig::new(0.05))
            .with_loss(Loss::MeanSquared)
            .with_epochs(4)
            .with_batch_size(batch)
            .with_shuffle(true)
            .with_seed(7)
            .init()
            .unwrap()
            .fit(model.clone(), data)
            .unwrap()
            .model
    };
    let plain_metrics = [
        metrics::mse(&model, &data).unwrap(),
        metrics::mae(&model, &data).unwrap(),
        metrics::r2(&model, &data).unwrap(),
    ];
    let plain_models = [train(&data, None), train(&data, Some(5))];
    for w in [1e-310, 5e-324, 1e-300, 1e300, 1.7e308] {
        let weighted = data.clone().with_weights(&vec![w; n]).unwrap();
        let got = [
            metrics::mse(&model, &weighted).unwrap(),
            metrics::mae(&model, &weighted).unwrap(),
            metrics::r2(&model, &weighted).unwrap(),
        ];
        for (g, p) in got.iter().zip(&plain_metrics) {
            assert!(
                (g - p).abs() <= 1e-13 * p.abs(),
                "weights {w:e}: {g:e} vs {p:e}"
            );
        }
        for (batch, plain) in [None, Some(5)].into_iter().zip(&plain_models) {
            let fitted = train(&weighted, batch);
            let a: Vec<f64> = fitted
                .weights()
                .into_iter()
                .chain(fitted.bias().unwrap())
                .collect();
            let b: Vec<f64> = plain
                .weights()
                .into_iter()
                .chain(plain.bias().unwrap())
                .collect();
            for (a, b) in a.iter().zip(&b) {
                assert!(
                    (a - b).abs() <= 1e-11 * b.abs().max(1.0),
                    "weights {w:e}, batch {batch:?}: {a} vs {b}"
                );
            }
        }
    }
}

/// The sum loss keeps the weights' magnitude: weights times `2^-600` with a learning rate
/// times `2^600` is the same trajectory, exactly (both are powers of two).
#[test]
fn the_sum_loss_keeps_the_weights_magnitude() {
    let cpu = common::test_device(Precision::F64);
    let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 / 10.0]).collect();
    let targets: Vec<f64> = (0..10).map(|i| 2.0 * i as f64 / 10.0 + 1.0).collect();
    let base: Vec<f64> = (0..10).map(|i| 0.5 + (i % 3) as f64).collect();
    let fit = |scale: f64, lr: f64| {
        let data = Dataset::from_rows(&rows, &targets, &cpu)
            .unwrap()
            .with_weights(&base.iter().map(|w| w * scale).collect::<Vec<_>>())
            .unwrap();
        TrainerConfig::new(SgdConfig::new(lr))
            .with_loss(Loss::SumSquared)
            .with_epochs(1000)
            .init()
            .unwrap()
            .fit(
                LinearModel::from_values(1, &[0.0], Some(&[0.0]), &cpu).unwrap(),
                &data,
            )
            .unwrap()
    };
    let plain = fit(1.0, 0.02);
    let scaled = fit(2f64.powi(-600), 0.02 * 2f64.powi(600));
    assert_eq!(scaled.model.weights(), plain.model.weights());
    assert_eq!(scaled.model.bias(), plain.model.bias());
    assert!(
        (plain.model.weights()[0] - 2.0).abs() < 1e-3,
        "{:?}",
        plain.model.weights()
    );
}
