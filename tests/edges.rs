//! Adversarial inputs at the edges: each ends as a clear `Err` or a correct result, never a
//! panic, a hang or a silently wrong `Ok`. One test per cause (the f32 ones are in tests/f32.rs:
//! a process has one precision per device).

mod common;

use std::path::PathBuf;

use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn temp(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linfit-edges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// 20 rows of two features on the scale of 0..19: full-batch gradient descent on the mean
/// squared error diverges for lr above 2 / lambda_max(H), H = (2/n) D^T D with D = [1 x1 x2];
/// lambda_max >= 2 mean(x1^2) = 2 * 123.5 = 247 (a diagonal entry bounds it from below), so
/// any lr above 2 / 247 = 0.0081 diverges.
fn twenty_by_two(dev: &Device) -> Dataset {
    let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, (i % 3) as f64]).collect();
    let y: Vec<f64> = rows.iter().map(|r| 1.0 + 2.0 * r[0] - r[1]).collect();
    Dataset::from_rows(&rows, &y, dev).unwrap()
}

fn model(dev: &Device) -> LinearModel {
    LinearModelConfig::new(2).init(dev).unwrap()
}

fn assert_diverged(result: linfit::Result<Fitted>, case: &str) {
    match result {
        Err(Error::Diverged { hint, .. }) => {
            assert!(hint.contains("learning rate"), "{case}: {hint}")
        }
        Err(other) => panic!("{case}: expected Diverged, got {other}"),
        Ok(f) => panic!(
            "{case}: diverged run returned Ok ({:?}, weights {:?})",
            f.stop,
            f.model.weights()
        ),
    }
}

#[test]
fn divergence_is_never_ok() {
    let dev = dev();
    let data = twenty_by_two(&dev);
    // (a) With tol, a rising loss used to count as "no improvement" and stop as Converged.
    let trainer = TrainerConfig::new(SgdConfig::new(1e3))
        .with_epochs(50)
        .with_tol(Some(1e-4))
        .init()
        .unwrap();
    assert_diverged(trainer.fit(model(&dev), &data), "lr 1e3 with tol");
    // (b) Blow-ups that stay finite: each step multiplies the error along the top eigenvector
    // by |1 - lr lambda_max| >= 2 * 247 - 1, so 20 steps reach ~1e54, far from overflow.
    let trainer = TrainerConfig::new(SgdConfig::new(2.0))
        .with_epochs(20)
        .init()
        .unwrap();
    assert_diverged(trainer.fit(model(&dev), &data), "lr 2, 20 epochs");
    // Dampening 3 makes the momentum buffer flip sign and grow (w ~ -1e63), at a rate that
    // alone would converge.
    let trainer = TrainerConfig::new(SgdConfig::new(0.001).with_momentum(0.9).with_dampening(3.0))
        .with_epochs(200)
        .init()
        .unwrap();
    assert_diverged(trainer.fit(model(&dev), &data), "dampening 3");
    // (c) One update to infinity: the loss before it was finite, the parameters after are not.
    let trainer = TrainerConfig::new(SgdConfig::new(1e308))
        .with_epochs(1)
        .init()
        .unwrap();
    assert_diverged(trainer.fit(model(&dev), &data), "lr 1e308, 1 epoch");
    // Mini-batches and a log: the growth rule also applies per batch.
    let trainer = TrainerConfig::new(SgdConfig::new(0.5))
        .with_epochs(30)
        .with_batch_size(Some(4))
        .with_log_every(Some(3))
        .init()
        .unwrap();
    assert_diverged(trainer.fit(model(&dev), &data), "mini-batches, lr 0.5");
}

#[test]
fn stable_training_is_not_flagged() {
    // A stable rate (below 2 / lambda_max, see twenty_by_two) and momentum, whose loss rises
    // for a while before falling: the growth rule must not fire.
    let dev = dev();
    let data = twenty_by_two(&dev);
    for (lr, momentum, tol) in [
        (0.005, 0.0, None),
        (0.002, 0.95, None),
        (0.005, 0.0, Some(0.0)),
    ] {
        let fitted = TrainerConfig::new(SgdConfig::new(lr).with_momentum(momentum))
            .with_epochs(3000)
            .with_tol(tol)
            .init()
            .unwrap()
            .fit(model(&dev), &data)
            .unwrap();
        let mse = metrics::mse(&fitted.model, &data).unwrap();
        assert!(mse < 1e-3, "lr {lr} momentum {momentum}: mse {mse}");
    }
}

#[test]
fn data_that_overflow_are_not_called_divergence() {
    // Squares of 1e200 overflow f64 before any update: the error says so, not "lower the rate".
    let dev = dev();
    let rows = vec![vec![1e200], vec![2e200], vec![3e200]];
    let data = Dataset::from_rows(&rows, &[1.0, 2.0, 3.0], &dev).unwrap();
    let model = LinearModel::from_values(1, &[1.0], Some(&[0.0]), &dev).unwrap();
    let e = TrainerConfig::new(SgdConfig::new(0.1))
        .init()
        .unwrap()
        .fit(model, &data)
        .unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    assert!(e.to_string().contains("before any update"), "{e}");
}

#[test]
fn a_diverged_model_is_neither_saved_nor_exported() {
    // The explicit loop returns what the user computes, like PyTorch; writing it is refused.
    let dev = dev();
    let data = twenty_by_two(&dev);
    let mut model = model(&dev);
    let mut sgd = SgdConfig::new(1e308).init().unwrap();
    sgd.backward(
        &Loss::SumSquared.forward(model.forward(data.features()), data.targets()),
        &model,
    );
    model = sgd.step(model).unwrap();
    assert!(model.weights().iter().any(|w| !w.is_finite()));
    assert!(matches!(model.to_json(), Err(Error::NonFinite { .. })));
    let path = temp("diverged.bpk", b"");
    assert!(matches!(model.save(&path), Err(Error::NonFinite { .. })));
}

#[test]
fn sizes_that_overflow_or_cannot_be_held_are_errors() {
    let dev = dev();
    // n * m wraps to 0 in usize arithmetic.
    let e = Dataset::from_flat(vec![], vec![], [1 << 63, 2], 1, &dev).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    let e = MakeRegression::new(1 << 63, 2).generate(&dev).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    // 2^60 values are 2^63 bytes, past what any allocation may request: an error whatever the
    // machine's overcommit policy.
    let e = MakeRegression::new(1 << 60, 1).generate(&dev).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    let e = LinearModelConfig::new(usize::MAX).init(&dev).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    let e = LinearModelConfig::new(1 << 60).init(&dev).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
    // A long first row and short ones: ragged, reported before anything is allocated.
    let mut rows = vec![vec![0.0; 1 << 16]];
    rows.extend(std::iter::repeat_n(Vec::new(), 1 << 12));
    let e = Dataset::from_rows(&rows, &vec![0.0; rows.len()], &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");

    // Loading checks the shape against the file before allocating it.
    let small = LinearModel::from_values(2, &[1.0, 2.0], Some(&[3.0]), &dev).unwrap();
    let path = temp("small.bpk", b"");
    small.save(&path).unwrap();
    for (m, k) in [(usize::MAX, 1), (1 << 32, 1 << 32), (1 << 20, 1)] {
        let e = LinearModel::load(&path, m, k, true, &dev).unwrap_err();
        assert!(
            matches!(e, Error::Load { .. } | Error::OutOfRange { .. }),
            "{m} x {k}: {e}"
        );
    }
}

#[test]
fn loading_a_directory_or_a_device_says_what_it_is() {
    let dev = dev();
    let dir = std::env::temp_dir();
    let e = LinearModel::load(&dir, 2, 1, true, &dev).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let e = LinearModel::load("/dev/zero", 2, 1, true, &dev).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let e = LinearModel::load("/nonexistent/model.bpk", 2, 1, true, &dev).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[test]
fn csv_without_line_breaks_is_refused_not_read_forever() {
    // A file of zeros has no newline: the header would grow without bound. A sparse file of
    // 257 MiB (past the 256 MiB line limit), so that the test writes nothing to the disk.
    let dev = dev();
    let path = temp("zeros.csv", b"");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(257 << 20)
        .unwrap();
    let e = Dataset::from_csv(&path, &["y"], &dev).unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
    std::fs::remove_file(&path).unwrap();
    // /dev/zero itself is no regular file: refused before it is read at all.
    let e = Dataset::from_csv("/dev/zero", &["y"], &dev).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn csv_target_columns_cannot_leak_into_the_features() {
    let dev = dev();
    /// (file, contents, targets, features, what the message says)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a [&'a str],
        Option<&'a [&'a str]>,
        &'a str,
    );
    let cases: [Case; 4] = [
        (
            "dup_header.csv",
            "x,y,y\n1,2,3\n",
            &["y"],
            None,
            "2 columns named",
        ),
        ("twice.csv", "x,y\n1,2\n", &["y", "y"], None, "named twice"),
        (
            "both.csv",
            "x,y\n1,2\n",
            &["y"],
            Some(&["x", "y"]),
            "both as a target and as a feature",
        ),
        (
            "dup_feature.csv",
            "x,x,y\n1,2,3\n",
            &["y"],
            Some(&["x"]),
            "2 columns named",
        ),
    ];
    for (name, text, targets, features, expected) in cases {
        let path = temp(name, text.as_bytes());
        let e = Dataset::from_csv_columns(&path, targets, features, &dev).unwrap_err();
        assert!(matches!(e, Error::Csv { .. }), "{name}: {e}");
        assert!(e.to_string().contains(expected), "{name}: {e}");
    }
}

#[test]
fn csv_messages_say_what_is_wrong() {
    let dev = dev();
    // An empty file, and one holding only a byte-order mark.
    for (name, text) in [("empty.csv", &b""[..]), ("bom.csv", &b"\xef\xbb\xbf"[..])] {
        let e = Dataset::from_csv(temp(name, text), &["y"], &dev).unwrap_err();
        assert!(e.to_string().contains("the file is empty"), "{name}: {e}");
    }
    // A 1 MB bad cell is not echoed whole.
    let big = format!("x,y\n{},1\n", "z".repeat(1 << 20));
    let e = Dataset::from_csv(temp("big.csv", big.as_bytes()), &["y"], &dev).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.len() < 400 && msg.contains("1048576 bytes"),
        "{}",
        &msg[..200]
    );
    // An empty header name is named by its position.
    let e = Dataset::from_csv(temp("noname.csv", b"a,,y\n1,,2\n"), &["y"], &dev).unwrap_err();
    assert!(e.to_string().contains("#2 (unnamed)"), "{e}");
    // An unterminated quote is named as such.
    let text = b"x,y\n1,2\n\"3,4\n5,6\n";
    let e = Dataset::from_csv(temp("quote.csv", text), &["y"], &dev).unwrap_err();
    assert!(e.to_string().contains("closing quote"), "{e}");
}

#[test]
fn a_split_never_leaves_a_side_empty() {
    let dev = dev();
    let fractions = [
        1e-320,
        1e-300,
        1e-9,
        0.01,
        0.1,
        0.25,
        0.5,
        0.75,
        0.9,
        0.99,
        0.999_999_999,
        1.0 - 1e-16,
    ];
    for n in 1..40usize {
        let rows: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64]).collect();
        let data = Dataset::from_rows(&rows, &vec![0.0; n], &dev).unwrap();
        for &f in &fractions {
            match data.train_test_split(f, 7) {
                Ok((train, test)) => {
                    assert!(train.n_samples() > 0 && test.n_samples() > 0, "n {n} f {f}");
                    assert_eq!(train.n_samples() + test.n_samples(), n);
                }
                Err(e) => assert!(matches!(e, Error::InvalidHyperparameter { .. }), "{e}"),
            }
        }
    }
}

/// Runs `f` on its own thread and fails the test if it takes longer than `seconds`.
#[cfg(feature = "plot")]
fn within<T: Send + 'static>(seconds: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(seconds))
        .expect("did not finish in time (a hang)")
}

#[cfg(feature = "plot")]
#[test]
fn plots_of_extreme_values_end() {
    use linfit::plot;
    let dev = dev();
    let png = |name: &str| temp(name, b"");
    // Targets at +-1.5e308 (their span overflows f64) and at +-0.85e308 (the span fits, the
    // padded axis does not).
    let rows = vec![vec![0.0], vec![1.0], vec![2.0]];
    for top in [1.5e308, 0.85e308] {
        let data = Dataset::from_rows(&rows, &[-top, 0.0, top], &dev).unwrap();
        let model = LinearModel::from_values(1, &[1.0], Some(&[0.0]), &dev).unwrap();
        let path = png("span.png");
        let e = within(60, move || plot::predicted_vs_actual(&model, &data, &path)).unwrap_err();
        assert!(matches!(e, Error::OutOfRange { .. }), "{top:e}: {e}");
    }
    // Predictions at infinity.
    let data = Dataset::from_rows(&rows, &[0.0, 1.0, 2.0], &dev).unwrap();
    let model = LinearModel::from_values(1, &[f64::MAX], Some(&[f64::MAX]), &dev).unwrap();
    let path = png("inf.png");
    let e = within(60, move || plot::predicted_vs_actual(&model, &data, &path)).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    // Large but drawable values are drawn.
    let data = Dataset::from_rows(&rows, &[1e300, 2e300, 3e300], &dev).unwrap();
    let model = LinearModel::from_values(1, &[1e300], Some(&[1e300]), &dev).unwrap();
    let path = png("large.png");
    within(60, move || plot::predicted_vs_actual(&model, &data, &path)).unwrap();
    // A loss history near f64::MAX (three targets of 7.5e153 square to 1.69e308 in all).
    let data = Dataset::from_rows(&rows, &[7.5e153, -7.5e153, 7.5e153], &dev).unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(1e-3))
        .with_epochs(3)
        .with_log_every(Some(1))
        .with_loss(Loss::SumSquared)
        .init()
        .unwrap()
        .fit(
            LinearModel::from_values(1, &[0.0], Some(&[0.0]), &dev).unwrap(),
            &data,
        )
        .unwrap();
    assert!(
        fitted.history[0].loss > 1.6e308,
        "{}",
        fitted.history[0].loss
    );
    let path = png("loss.png");
    within(60, move || plot::loss_history(&fitted.history, &path)).unwrap();
}

#[test]
fn standardizer_handles_columns_whose_squares_overflow() {
    // Column i * 1e200: its squares overflow f64, its standard deviation (1e200 * sqrt(2) for
    // i = 0..4, population formula: the values' spread is 1e200 * std(0..4) = 1e200 * sqrt(2))
    // does not.
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64 * 1e200, i as f64]).collect();
    let data = Dataset::from_rows(&rows, &[0.0; 5], &dev).unwrap();
    let scaler = StandardizerConfig::new().fit(&data).unwrap();
    let std = scaler.feature_std();
    assert!(
        (std[0] / (1e200 * 2f64.sqrt()) - 1.0).abs() < 1e-14,
        "{std:?}"
    );
    assert!((std[1] / 2f64.sqrt() - 1.0).abs() < 1e-14, "{std:?}");
    assert!(scaler.constant_columns().is_empty());
    let z = scaler.transform(&data).unwrap().features();
    let z: Vec<f64> = z.try_into_vec_as::<f64>().unwrap();
    // Both columns standardise to the same values: (i - 2) / sqrt(2).
    for (i, pair) in z.chunks(2).enumerate() {
        let expected = (i as f64 - 2.0) / 2f64.sqrt();
        assert!((pair[0] - expected).abs() < 1e-14 && (pair[1] - expected).abs() < 1e-14);
    }
    // Values near f64::MAX: x - mean itself overflows unless scaled first. Column
    // (1, 1, -1) 1.7e308 standardises like (1, 1, -1): mean 1/3, population std sqrt(8)/3,
    // so (1 - 1/3) / (sqrt(8)/3) = 1/sqrt(2) and (-1 - 1/3) / (sqrt(8)/3) = -sqrt(2).
    let rows = vec![vec![1.7e308], vec![1.7e308], vec![-1.7e308]];
    let data = Dataset::from_rows(&rows, &[0.0; 3], &dev).unwrap();
    let scaler = StandardizerConfig::new().fit(&data).unwrap();
    let z: Vec<f64> = scaler
        .transform(&data)
        .unwrap()
        .features()
        .try_into_vec_as::<f64>()
        .unwrap();
    let expected = [0.5f64.sqrt(), 0.5f64.sqrt(), -(2f64.sqrt())];
    assert!(
        z.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-14),
        "{z:?}"
    );
}

#[test]
fn designs_of_rank_zero_are_solved_by_every_solver() {
    // Nothing to identify: w = 0 (minimum norm), b = mean(y), rank 0, every direction null.
    let dev = dev();
    /// (what, rows, targets, intercept)
    type Case = (&'static str, Vec<Vec<f64>>, Vec<f64>, bool);
    let cases: Vec<Case> = vec![
        ("one row", vec![vec![1.0, 2.0]], vec![3.0], true),
        (
            "constant columns",
            vec![vec![1.0, 5.0], vec![1.0, 5.0], vec![1.0, 5.0]],
            vec![1.0, 2.0, 6.0],
            true,
        ),
        (
            "zero features, no intercept",
            vec![vec![0.0, 0.0], vec![0.0, 0.0]],
            vec![1.0, 2.0],
            false,
        ),
    ];
    for (name, rows, y, intercept) in cases {
        let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        for solver in [
            Solver::Qr,
            Solver::Svd,
            Solver::NormalEquations,
            Solver::Auto,
        ] {
            let fit = LeastSquares::new()
                .with_solver(solver)
                .with_intercept(intercept)
                .fit(&data)
                .unwrap_or_else(|e| panic!("{name} {solver:?}: {e}"));
            assert_eq!(fit.rank(), 0, "{name} {solver:?}");
            assert_eq!(fit.model().weights(), vec![0.0, 0.0], "{name} {solver:?}");
            if intercept {
                let b = fit.model().bias().unwrap()[0];
                assert!((b - mean).abs() < 1e-14, "{name} {solver:?}: b {b}");
            }
            assert_eq!(fit.null_space().len(), 2, "{name} {solver:?}");
            let _ = fit.summary().to_string();
        }
    }
    // Tall data take the streamed QR (over 2^20 entries): constant columns there too.
    let n = 300_000;
    let y: Vec<f64> = (0..n).map(|i| (i % 10) as f64).collect();
    let data = Dataset::from_flat(vec![3.0; n * 4], y, [n, 4], 1, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(
            (fit.rank(), fit.model().weights()),
            (0, vec![0.0; 4]),
            "{solver:?}"
        );
        let b = fit.model().bias().unwrap()[0];
        assert!((b - 4.5).abs() < 1e-12, "tall {solver:?}: b {b}");
    }
    let x = [2.0; 6];
    let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let fit = LeastSquares::new().fit_polynomial(&x, &y, 2, &dev).unwrap();
    let c = fit.coefficients();
    assert!(
        (c[0] - 3.5).abs() < 1e-14 && c[1] == 0.0 && c[2] == 0.0,
        "{c:?}"
    );
}

#[test]
fn a_damaged_model_file_is_refused_not_loaded_with_other_weights() {
    // Every single-byte flip of a saved model either fails to load or loads the same values:
    // none gives other weights silently (24 of 520 did before the checksum).
    let dev = dev();
    let model = LinearModel::from_values(
        3,
        &[1.5, -2.0, 0.25, 8.0, -0.5, 3.0],
        Some(&[0.1, 0.2]),
        &dev,
    )
    .unwrap();
    let path = temp("flip.bpk", b"");
    model.save(&path).unwrap();
    let original = std::fs::read(&path).unwrap();
    let (mut refused, mut same) = (0, 0);
    for i in 0..original.len() {
        let mut bytes = original.clone();
        bytes[i] ^= 0x5a;
        let flipped = temp("flipped.bpk", &bytes);
        match LinearModel::load(&flipped, 3, 2, true, &dev) {
            Err(_) => refused += 1,
            Ok(loaded) => {
                assert_eq!(loaded.weights(), model.weights(), "byte {i}: other weights");
                assert_eq!(loaded.bias(), model.bias(), "byte {i}: other bias");
                same += 1;
            }
        }
    }
    assert!(refused > 0, "{refused} refused, {same} harmless");
}

/// Weights and intercept of a one-target fit.
fn solve(data: &Dataset, solver: Solver) -> linfit::Result<(Vec<f64>, f64, usize)> {
    let fit = LeastSquares::new().with_solver(solver).fit(data)?;
    let b = fit.model().bias().unwrap()[0];
    let _ = fit.summary().to_string();
    Ok((fit.model().weights(), b, fit.rank()))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn closed_form_answers_do_not_depend_on_the_units() {
    let dev = dev();
    // A column near 1e200 next to one near 1: y = 1 + 2 x2 + 3e-200 x1 exactly (x1 = k 1e200,
    // so 3e-200 x1 = 3k up to one rounding), 12 rows, full rank: the answer is unique.
    let rows: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![((5 * i) % 7) as f64 * 1e200, ((3 * i) % 5) as f64])
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 + 2.0 * r[1] + 3e-200 * r[0])
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd, Solver::Auto] {
        let (w, b, rank) = solve(&data, solver).unwrap();
        assert_eq!(rank, 2, "{solver:?}");
        assert!(
            close(w[0], 3e-200, 1e-12) && close(w[1], 2.0, 1e-12),
            "{solver:?}: {w:?}"
        );
        assert!(close(b, 1.0, 1e-12), "{solver:?}: b {b}");
    }
    // The same design with its second column in other units (x 1e100): Svd decides the rank
    // as Qr does, on the column-scaled design, so the answer only changes by the units.
    let scaled: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[0], r[1] * 1e100]).collect();
    let data = Dataset::from_rows(&scaled, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let (w, _, rank) = solve(&data, solver).unwrap();
        assert_eq!(rank, 2, "{solver:?}");
        assert!(close(w[1], 2e-100, 1e-12), "{solver:?}: {w:?}");
    }
    // Subnormal data: x = i 1e-310, y = 2 x.
    let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64 * 1e-310]).collect();
    let y: Vec<f64> = rows.iter().map(|r| 2.0 * r[0]).collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd, Solver::Auto] {
        let (w, _, rank) = solve(&data, solver).unwrap();
        assert_eq!(rank, 1, "{solver:?}");
        assert!(close(w[0], 2.0, 1e-10), "{solver:?}: {w:?}");
    }
    // The normal equations square the data: out of their range, an error that says so.
    match solve(&data, Solver::NormalEquations) {
        Ok((w, _, _)) => assert!(close(w[0], 2.0, 1e-10), "{w:?}"),
        Err(e) => assert!(matches!(e, Error::OutOfRange { .. }), "{e}"),
    }
}

#[test]
fn sums_of_squares_that_overflow_do_not_break_the_summary() {
    // y = (i - 3.5) 1e300 for x = 0..8: w = 1e300, b = -3.5e300; the residuals' rounding
    // (~1e284) squares past f64, the fit does not.
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64]).collect();
    let y: Vec<f64> = (0..8).map(|i| (i as f64 - 3.5) * 1e300).collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert!(close(fit.model().weights()[0], 1e300, 1e-12), "{solver:?}");
        let summary = fit.summary();
        let t = &summary.targets[0];
        assert!(t.r_squared > 1.0 - 1e-12, "{solver:?}: R^2 {}", t.r_squared);
        assert!(t.residual_std_dev.is_finite(), "{solver:?}");
        let _ = summary.to_string();
    }
}

#[test]
fn tall_data_out_of_the_streamed_range_are_refused() {
    // Over 2^20 values the QR is streamed and cannot scale the data first: values whose
    // squares overflow (1e200) or underflow (1e-200) are an error that says so. (A design
    // with no variation at all still has its exact answer: designs_of_rank_zero_...)
    let dev = dev();
    let n = 300_000;
    for magnitude in [1e200, 1e-200] {
        let x: Vec<f64> = (0..n * 4)
            .map(|i| ((i % 13) as f64 - 6.0) * magnitude)
            .collect();
        let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let data = Dataset::from_flat(x, y, [n, 4], 1, &dev).unwrap();
        for solver in [
            Solver::Qr,
            Solver::Svd,
            Solver::NormalEquations,
            Solver::Auto,
        ] {
            let e = LeastSquares::new()
                .with_solver(solver)
                .fit(&data)
                .unwrap_err();
            assert!(
                matches!(e, Error::OutOfRange { .. }),
                "{magnitude:e} {solver:?}: {e}"
            );
        }
    }
    // Targets whose squares underflow: the streamed sums of squares would read 0.
    let x: Vec<f64> = (0..n * 4).map(|i| ((i * 7) % 13) as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 1e-200).collect();
    let data = Dataset::from_flat(x, y, [n, 4], 1, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let e = LeastSquares::new()
            .with_solver(solver)
            .fit(&data)
            .unwrap_err();
        assert!(e.to_string().contains("target column 0"), "{solver:?}: {e}");
    }
}

#[test]
fn fit_polynomial_stays_well_conditioned_and_finite() {
    let dev = dev();
    // x in [1000, 1001]: u must span about [-1, 1] (the old 4-bit shift gave [-48, -46]).
    let x: Vec<f64> = (0..=20).map(|i| 1000.0 + i as f64 / 20.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 2.0 - 0.5 * (x - 1000.5).powi(3)).collect();
    let poly = LeastSquares::new().fit_polynomial(&x, &y, 3, &dev).unwrap();
    let (shift, scale) = poly.shift_scale();
    for v in [x[0], x[20]] {
        assert!(
            ((v - shift) / scale).abs() <= 1.25,
            "u({v}) with {shift}, {scale}"
        );
    }
    assert!(poly.fit_in_u().condition_number() < 100.0);
    for (xi, yi) in x.iter().zip(&y) {
        // Evaluating in powers of x cancels: ~1e9-sized terms make 2.
        assert!((poly.eval(*xi) - yi).abs() < 1e-5, "{xi}");
    }
    // x near 1e160 (x^2 overflows, the answer does not): y = 1e-100 x^2 gives b2 = 1e-100.
    let x: Vec<f64> = (0..12).map(|i| (1.0 + i as f64 / 11.0) * 1e160).collect();
    let y: Vec<f64> = x.iter().map(|x| 1e-100 * x * x).collect();
    let poly = LeastSquares::new().fit_polynomial(&x, &y, 2, &dev).unwrap();
    assert!(
        close(poly.coefficients()[2], 1e-100, 1e-8),
        "{:?}",
        poly.coefficients()
    );
    // x near 1e300: the fit in u works, the coefficients in powers of x leave f64's range.
    let x: Vec<f64> = (0..10).map(|i| (1.0 + i as f64 / 10.0) * 1e300).collect();
    let y: Vec<f64> = (0..10).map(|i| (i * i) as f64).collect();
    match LeastSquares::new().fit_polynomial(&x, &y, 2, &dev) {
        Ok(poly) => assert!(poly.coefficients().iter().all(|c| c.is_finite())),
        Err(e) => assert!(matches!(e, Error::OutOfRange { .. }), "{e}"),
    }
}

#[test]
fn streamed_svd_decides_the_rank_in_any_units() {
    // Tall data (streamed) with a column in units 1e100 times too small: full rank in any units.
    let dev = dev();
    let n = 300_000;
    let x: Vec<f64> = (0..n)
        .flat_map(|i| [((i % 13) as f64) * 1e-100, ((i * 7) % 11) as f64])
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1.0 + 3.0 * (i % 13) as f64 + 0.5 * ((i * 7) % 11) as f64)
        .collect();
    let data = Dataset::from_flat(x, y, [n, 2], 1, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(fit.rank(), 2, "{solver:?}");
        let w = fit.model().weights();
        assert!(
            close(w[0], 3e100, 1e-10) && close(w[1], 0.5, 1e-10),
            "{solver:?}: {w:?}"
        );
    }
}

#[test]
fn mini_batches_of_very_different_rows_are_not_divergence() {
    // The first row's loss is ~1e-12, the others' ~1e6: a reference taken from the first batch
    // alone would call the second batch a 1e18-fold growth. The rule's reference is the whole
    // data's loss. (Per-sample steps with lr 0.1 on x in [0, 1] are stable: 2 lr (1 + x^2) < 2.)
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64 / 20.0]).collect();
    let y: Vec<f64> = (0..20)
        .map(|i| {
            if i == 0 {
                1e-6
            } else {
                1000.0 * i as f64 / 20.0 + 500.0
            }
        })
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    let zeros = LinearModelConfig::new(1)
        .with_initializer(linfit::burn::nn::Initializer::Zeros)
        .init(&dev)
        .unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(50)
        .with_batch_size(Some(1))
        .with_shuffle(false)
        .init()
        .unwrap()
        .fit(zeros, &data)
        .unwrap();
    assert!(fitted.model.weights()[0].is_finite());
}

#[test]
fn rank_deficient_designs_in_mixed_units_get_the_minimum_norm_answer() {
    // x1 = u 1e-100 (independent, tiny units), x2, x3 = 3 x2 (collinear), y = 1 + 2 u + x2.
    // Derivation: w1 = 2e100 is identified; along (x2, x3) only w2 + 3 w3 = 1 is, and the
    // minimum-norm choice is (w2, w3) = (1, 3) / 10; the null direction is (0, 3, -1) / sqrt(10).
    // Truncating the design's own SVD at the scaled rank kept its rounding-noise direction
    // instead of x1's (singular value ~1e-100 < 1e-16 |x2|).
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..15)
        .map(|i| {
            let (u, x2) = (((7 * i) % 11) as f64, ((5 * i) % 9) as f64);
            vec![u * 1e-100, x2, 3.0 * x2]
        })
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 + 2.0 * (r[0] * 1e100) + r[1])
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(fit.rank(), 2, "{solver:?}");
        let w = fit.model().weights();
        assert!(close(w[0], 2e100, 1e-10), "{solver:?}: {w:?}");
        assert!(
            close(w[1], 0.1, 1e-10) && close(w[2], 0.3, 1e-10),
            "{solver:?}: {w:?}"
        );
        let null = fit.null_space();
        assert_eq!(null.len(), 1, "{solver:?}");
        // Intercept first: the null direction is (0, 0, 3, -1) / sqrt(10) up to sign.
        let q = &null[0];
        let s = q[2].signum();
        let expected = [0.0, 0.0, 3.0 / 10f64.sqrt(), -1.0 / 10f64.sqrt()];
        assert!(
            q.iter()
                .zip(&expected)
                .all(|(a, b)| (a * s - b).abs() < 1e-10),
            "{q:?}"
        );
        assert_eq!(
            fit.identifiable(),
            vec![true, true, false, false],
            "{solver:?}"
        );
    }
}

#[test]
fn columns_1e400_apart_keep_their_answer_and_statistics() {
    // x1 = u1 1e200, x2 = u2 1e-200, y = 1 + 3 u1 + 5 u2 + noise: w1 = 3e-200, w2 = 5e200, and
    // every standard error exists (one common scaling would have flushed x2 to zero).
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..14)
        .map(|i| vec![((3 * i) % 7) as f64 * 1e200, ((2 * i) % 5) as f64 * 1e-200])
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 1.0 + 3.0 * (r[0] * 1e-200) + 5.0 * (r[1] * 1e200) + (i % 3) as f64 * 1e-3)
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(fit.rank(), 2, "{solver:?}");
        let w = fit.model().weights();
        assert!(
            close(w[0], 3e-200, 1e-3) && close(w[1], 5e200, 1e-3),
            "{solver:?}: {w:?}"
        );
        let summary = fit.summary();
        let t = &summary.targets[0];
        for c in t.coefficients.iter().chain(&t.intercept) {
            assert!(
                c.std_error.is_some_and(|s| s.is_finite() && s > 0.0),
                "{solver:?}: {c:?}"
            );
        }
        // Well conditioned once each column is in its own units: no collinearity warning (the
        // condition number of the raw design, 1e400, is still reported, as statsmodels does).
        assert!(
            !summary.warnings.iter().any(|w| w.contains("eigenvalue")),
            "{solver:?}: {:?}",
            summary.warnings
        );
    }
}

/// A tall design with a large offset (`1e6 + t`, `t` in `[0, 1)`): the raw `X^T X` of the
/// normal equations rounds away both directions (their eigenvalues fall below its rounding),
/// which `Solver::Auto` once returned as rank 0 and zero weights; it now takes QR there.
/// Expected weights from the construction `y = 2 (x0 - 1e6) - x1` (no noise).
#[test]
fn auto_falls_back_to_qr_when_the_gram_rounding_hides_directions() {
    let n = 20_000;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            vec![
                1e6 + i as f64 / n as f64,
                ((i * 7919) % 1000) as f64 / 1000.0,
            ]
        })
        .collect();
    let y: Vec<f64> = rows.iter().map(|r| 2.0 * (r[0] - 1e6) - r[1]).collect();
    let data = Dataset::from_rows(&rows, &y, &dev()).unwrap();
    let ne = LeastSquares::new()
        .with_solver(Solver::NormalEquations)
        .fit(&data)
        .unwrap();
    assert!(
        ne.rank() < 2,
        "the plain normal equations lose it (rank {})",
        ne.rank()
    );
    let auto = LeastSquares::new().fit(&data).unwrap();
    assert_eq!((auto.solver(), auto.rank()), (Solver::Qr, 2));
    for (w, want) in auto.model().weights().iter().zip([2.0, -1.0]) {
        assert!((w - want).abs() < 1e-8, "{w} vs {want}");
    }
}

/// `Solver::NormalEquations` equilibrates the Gram matrix (powers of two) before deciding the
/// rank: columns 1e100 apart in scale were a rank-1 answer (the small column's eigenvalue lay
/// below the large one's rounding), where QR, SVD and Auto answer rank 2. The design is exact:
/// `y = 1 + 3e-50 x1 + 2e50 x2` with `x1 = k 1e50`, `x2 = j 1e-50`, so the weights are known.
#[test]
fn the_normal_equations_decide_the_rank_in_any_units() {
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![((5 * i) % 7) as f64 * 1e50, ((3 * i) % 5) as f64 * 1e-50])
        .collect();
    let y: Vec<f64> = (0..12)
        .map(|i| 1.0 + 3.0 * ((5 * i) % 7) as f64 + 2.0 * ((3 * i) % 5) as f64)
        .collect();
    let data = Dataset::from_rows(&rows, &y, &dev).unwrap();
    for solver in [
        Solver::NormalEquations,
        Solver::Qr,
        Solver::Svd,
        Solver::Auto,
    ] {
        let (w, b, rank) = solve(&data, solver).unwrap();
        assert_eq!(rank, 2, "{solver:?}: {w:?}");
        assert!(
            close(w[0], 3e-50, 1e-10) && close(w[1], 2e50, 1e-10),
            "{solver:?}: {w:?}"
        );
        assert!(close(b, 1.0, 1e-10), "{solver:?}: b {b}");
    }
}

/// Columns far from zero relative to their spread (timestamps, 1e12 + a fraction) are shifted
/// exactly by their end nearest zero before the in-memory QR and SVD centre them, as
/// `fit_sharded` does: before, the rounded mean (an ulp of 1e12) cost the slopes 6e-9. The
/// reference is the fit of the same data shifted by hand (exact by Sterbenz's lemma: every
/// value lies within a factor of two of 1e12), whose slopes are the same numbers.
#[test]
fn columns_far_from_zero_keep_their_digits_in_memory() {
    let dev = dev();
    let offset = 1e12;
    let rows: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![offset + 0.9 * i as f64 / 12.0, ((i * 5) % 7) as f64])
        .collect();
    let y: Vec<f64> = (0..12).map(|i| 2.0 * i as f64 - (i % 4) as f64).collect();
    let shifted: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[0] - offset, r[1]]).collect();
    let weights: Vec<f64> = (0..12).map(|i| 0.5 + (i % 3) as f64).collect();
    for weighted in [false, true] {
        let load = |rows: &[Vec<f64>]| {
            let data = Dataset::from_rows(rows, &y, &dev).unwrap();
            if weighted {
                data.with_weights(&weights).unwrap()
            } else {
                data
            }
        };
        let (data, reference) = (load(&rows), load(&shifted));
        for solver in [Solver::Qr, Solver::Svd] {
            let (w, b, _) = solve(&data, solver).unwrap();
            let (wr, br, _) = solve(&reference, solver).unwrap();
            for (a, r) in w.iter().zip(&wr) {
                assert!(
                    close(*a, *r, 1e-13),
                    "{solver:?}, weighted {weighted}: {w:?} vs {wr:?}"
                );
            }
            // b = b_s - 1e12 w1: the intercept in the data's units, to its own rounding.
            let want = br - offset * wr[0];
            assert!(
                close(b, want, 1e-14),
                "{solver:?}, weighted {weighted}: {b} vs {want}"
            );
        }
    }
}
