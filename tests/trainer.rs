//! `Trainer::fit` reaches the least-squares optimum, and its shuffling is seeded and complete.

mod common;

use linfit::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

/// Seeded synthetic data: 200 x 5 features U(-1, 1) (well conditioned), y = 1 + x w + noise.
fn synthetic() -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = ChaCha12Rng::seed_from_u64(42);
    let w = [1.5, -2.0, 0.5, 3.0, -1.0];
    let x: Vec<Vec<f64>> = (0..200)
        .map(|_| (0..5).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let y = x
        .iter()
        .map(|r| {
            1.0 + r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + rng.random_range(-0.3..0.3)
        })
        .collect();
    (x, y)
}

/// Independent least squares: normal equations of [1, x] solved by Gaussian elimination with
/// partial pivoting, on the host. Returns the minimal sum of squared errors.
fn least_squares_sse(x: &[Vec<f64>], y: &[f64]) -> f64 {
    let p = x[0].len() + 1;
    let row =
        |r: &Vec<f64>| -> Vec<f64> { std::iter::once(1.0).chain(r.iter().copied()).collect() };
    let mut a = vec![vec![0.0; p + 1]; p];
    for (r, &t) in x.iter().zip(y) {
        let z = row(r);
        for i in 0..p {
            for j in 0..p {
                a[i][j] += z[i] * z[j];
            }
            a[i][p] += z[i] * t;
        }
    }
    for c in 0..p {
        let piv = (c..p)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, piv);
        let pivot_row = a[c].clone();
        for row in a.iter_mut().skip(c + 1) {
            let f = row[c] / pivot_row[c];
            for (v, pv) in row.iter_mut().zip(&pivot_row).skip(c) {
                *v -= f * pv;
            }
        }
    }
    let mut beta = vec![0.0; p];
    for c in (0..p).rev() {
        beta[c] = (a[c][p] - (c + 1..p).map(|k| a[c][k] * beta[k]).sum::<f64>()) / a[c][c];
    }
    x.iter()
        .zip(y)
        .map(|(r, t)| (row(r).iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() - t).powi(2))
        .sum()
}

fn sse(model: &LinearModel, x: &[Vec<f64>], y: &[f64]) -> f64 {
    let (w, b) = (model.weights(), model.bias().unwrap()[0]);
    x.iter()
        .zip(y)
        .map(|(r, t)| (b + r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() - t).powi(2))
        .sum()
}

#[test]
fn fit_reaches_the_least_squares_optimum() {
    let dev = dev();
    let (x, y) = synthetic();
    let best = least_squares_sse(&x, &y);
    let data = Dataset::from_rows(&x, &y, &dev).unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(0.3).with_momentum(0.9))
        .with_epochs(1500)
        .init()
        .unwrap()
        .fit(LinearModelConfig::new(5).init(&dev).unwrap(), &data)
        .unwrap();
    let reached = sse(&fitted.model, &x, &y);
    let rel = (reached - best) / best;
    assert!(
        (0.0 - 1e-12..=1e-8).contains(&rel),
        "relative excess loss {rel:e} (best {best}, reached {reached})"
    );
}

#[test]
fn shuffled_mini_batches_are_seeded_and_documented() {
    // The documented shuffle: each epoch permutes the row order with rand's ChaCha12Rng seeded once
    // with `seed`, and takes consecutive batches of that order. Replaying it with plain Sgd on
    // gathered rows must give the same model (same operations, so bit-for-bit up to 1e-12).
    let dev = dev();
    let (x, y) = synthetic();
    let data = Dataset::from_rows(&x, &y, &dev).unwrap();
    let w0 = [0.1, 0.2, 0.3, 0.4, 0.5];
    let config = TrainerConfig::new(SgdConfig::new(0.05).with_momentum(0.5))
        .with_epochs(3)
        .with_batch_size(Some(32))
        .with_seed(9)
        .with_log_every(Some(1));
    let run = |c: &TrainerConfig| {
        let model = LinearModel::from_values(5, &w0, Some(&[0.0]), &dev).unwrap();
        c.init().unwrap().fit(model, &data).unwrap()
    };
    let a = run(&config);
    let b = run(&config);
    assert_eq!(a.history, b.history, "same seed, same run");
    assert_eq!(a.steps, 3 * 7); // 200 rows in batches of 32: 6 full + 1 partial of 8
    let c = run(&config.clone().with_seed(10));
    assert_ne!(a.history, c.history, "another seed, another order");

    let mut rng = ChaCha12Rng::seed_from_u64(9);
    let mut order: Vec<usize> = (0..200).collect();
    let mut model = LinearModel::from_values(5, &w0, Some(&[0.0]), &dev).unwrap();
    let mut sgd = SgdConfig::new(0.05).with_momentum(0.5).init().unwrap();
    for _ in 0..3 {
        order.shuffle(&mut rng);
        for batch in order.chunks(32) {
            let xs: Vec<Vec<f64>> = batch.iter().map(|&i| x[i].clone()).collect();
            let ys: Vec<f64> = batch.iter().map(|&i| y[i]).collect();
            let d = Dataset::from_rows(&xs, &ys, &dev).unwrap();
            sgd.zero_grad();
            let loss = Loss::MeanSquared.forward(model.forward(d.features()), d.targets());
            sgd.backward(&loss, &model);
            model = sgd.step(model).unwrap();
        }
    }
    common::assert_rel(
        "shuffled run weights",
        &a.model.weights(),
        &model.weights(),
        1e-12,
    );
}

/// Resident memory of this process, in bytes (Linux).
#[cfg(target_os = "linux")]
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[cfg(target_os = "linux")]
#[test]
fn long_training_does_not_accumulate_memory() {
    // Each update makes new parameters; an autodiff leaf registered per step and never freed
    // (Burn frees graph entries only in a backward pass) grew this by ~2.4 KB per step, 100 MB
    // over these 40 000 steps. Other tests of this binary allocate a few MB at most.
    let dev = dev();
    let (x, y) = synthetic();
    let data = Dataset::from_rows(&x[..10], &y[..10], &dev).unwrap();
    let fit = |epochs: usize| {
        let model = LinearModelConfig::new(5).init(&dev).unwrap();
        TrainerConfig::new(SgdConfig::new(0.01))
            .with_epochs(epochs)
            .init()
            .unwrap()
            .fit(model, &data)
            .unwrap()
    };
    fit(2_000);
    let before = resident_bytes();
    let fitted = fit(40_000);
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 30 << 20,
        "resident memory grew by {} MB over 40 000 steps",
        grown >> 20
    );
    // The trained model is ready for the explicit loop: its parameters take gradients.
    let mut sgd = SgdConfig::new(0.01).init().unwrap();
    let loss = fitted
        .model
        .loss(data.features(), data.targets(), Loss::MeanSquared);
    sgd.backward(&loss, &fitted.model);
    sgd.step(fitted.model)
        .expect("gradients of the fitted model");
}

#[test]
fn large_shuffled_batches_read_in_place_match_gathered_rows() {
    // Batches of 3000 rows of 32 columns: the fused kernel reads them where they lie, in many
    // chunks over the threads. Replayed with the rows gathered first and the plain graph.
    let dev = dev();
    let (n, m) = (7000, 32);
    let (x, y) = common::problem(n, m, 1, 11);
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let w0 = vec![0.0; m];
    let fitted = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(2)
        .with_batch_size(Some(3000))
        .with_seed(5)
        .init()
        .unwrap()
        .fit(
            LinearModel::from_values(m, &w0, Some(&[0.0]), &dev).unwrap(),
            &data,
        )
        .unwrap();

    let mut rng = ChaCha12Rng::seed_from_u64(5);
    let mut order: Vec<usize> = (0..n).collect();
    let mut model = LinearModel::from_values(m, &w0, Some(&[0.0]), &dev).unwrap();
    let mut sgd = SgdConfig::new(0.1).init().unwrap();
    for _ in 0..2 {
        order.shuffle(&mut rng);
        for batch in order.chunks(3000) {
            let xs: Vec<Vec<f64>> = batch.iter().map(|&i| x[i].clone()).collect();
            let ys: Vec<Vec<f64>> = batch.iter().map(|&i| y[i].clone()).collect();
            let d = Dataset::from_rows_multi(&xs, &ys, &dev).unwrap();
            sgd.zero_grad();
            let loss = Loss::MeanSquared.forward(model.forward(d.features()), d.targets());
            sgd.backward(&loss, &model);
            model = sgd.step(model).unwrap();
        }
    }
    common::assert_rel("weights", &fitted.model.weights(), &model.weights(), 1e-12);
    common::assert_rel(
        "bias",
        &fitted.model.bias().unwrap(),
        &model.bias().unwrap(),
        1e-12,
    );
}

/// `validation_fraction`: the returned model is the epoch with the lowest held-out loss. Checked
/// against a second run: the same trainer without validation on the same split (the documented
/// `train_test_split(fraction, seed)`), stopped after the best epoch, gives the same weights;
/// and the held-out loss of the last epoch is not lower.
#[test]
fn validation_keeps_the_best_epoch() {
    let dev = dev();
    // 36 rows, 30 features, much noise: 25 training rows are fitted exactly in the end, so
    // gradient descent first fits the signal, then the noise (the held-out loss falls, then
    // rises).
    let (data, _) = MakeRegression::new(36, 30)
        .with_noise(5.0)
        .with_seed(3)
        .generate(&dev)
        .unwrap();
    let (fraction, seed, epochs) = (0.3, 11, 2000);
    let config = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(epochs)
        .with_seed(seed);
    let start = || LinearModel::from_values(30, &[0.0; 30], Some(&[0.0]), &dev).unwrap();
    let fitted = config
        .clone()
        .with_validation_fraction(Some(fraction))
        .init()
        .unwrap()
        .fit(start(), &data)
        .unwrap();
    let v = fitted.validation.expect("validation");
    assert_eq!(v.n_samples, 11);
    assert!(v.best_epoch + 1 < epochs, "best epoch {}", v.best_epoch);
    assert_eq!(fitted.stop, StopReason::EpochsDone);

    let (train, held_out) = data.train_test_split(fraction, seed).unwrap();
    let again = config
        .clone()
        .with_epochs(v.best_epoch + 1)
        .init()
        .unwrap()
        .fit(start(), &train)
        .unwrap();
    assert_eq!(fitted.model.weights(), again.model.weights());
    let best = metrics::mse(&fitted.model, &held_out).unwrap();
    assert!((best - v.best_loss).abs() <= 1e-12 * best);
    let last = config.init().unwrap().fit(start(), &train).unwrap();
    assert!(metrics::mse(&last.model, &held_out).unwrap() > best);

    // With tol, the held-out loss stops training.
    let stopped = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(epochs)
        .with_seed(seed)
        .with_validation_fraction(Some(fraction))
        .with_tol(Some(0.0))
        .with_n_iter_no_change(5)
        .init()
        .unwrap()
        .fit(start(), &data)
        .unwrap();
    assert_eq!(stopped.stop, StopReason::Converged);
    assert!(stopped.epochs < epochs);
    let sv = stopped.validation.unwrap();
    assert_eq!(sv.best_epoch + 6, stopped.epochs);
}

#[test]
fn validation_settings_are_checked() {
    for f in [0.0, 1.0, -0.2, f64::NAN] {
        assert!(matches!(
            TrainerConfig::new(SgdConfig::new(0.1))
                .with_validation_fraction(Some(f))
                .init(),
            Err(Error::InvalidHyperparameter {
                name: "validation_fraction",
                ..
            })
        ));
    }
    let dev = dev();
    let path = std::env::temp_dir().join(format!("linfit-valid-{}.csv", std::process::id()));
    std::fs::write(&path, "x,y\n0,1\n1,3\n2,5\n").unwrap();
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_validation_fraction(Some(0.2))
        .init()
        .unwrap();
    let model = LinearModelConfig::new(1).init(&dev).unwrap();
    assert!(matches!(
        trainer.fit_csv(model, &path, &["y"]),
        Err(Error::InvalidHyperparameter {
            name: "validation_fraction",
            ..
        })
    ));
    std::fs::remove_file(&path).ok();
    // Too few rows to hold any out.
    let tiny = Dataset::from_rows(&[vec![0.0]], &[0.0], &dev).unwrap();
    let model = LinearModelConfig::new(1).init(&dev).unwrap();
    assert!(trainer.fit(model, &tiny).is_err());
}
