//! `ShardedDataset` and `Trainer::fit_sharded` on local devices: the sharded full-batch
//! trajectory equals `fit`'s on the whole data (the same gradient summed in another order), and
//! the documented mini-batch partition. (`tests/distributed.rs` runs the same on two
//! `linfit-worker` processes.)

mod common;

use linfit::prelude::*;
use linfit::schedule::StepLrConfig;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn data(n: usize) -> Dataset {
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            vec![
                (i % 7) as f64 / 7.0,
                ((i * 3) % 11) as f64 / 11.0,
                (i as f64 / n as f64),
            ]
        })
        .collect();
    let targets: Vec<Vec<f64>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let noise = 0.01 * ((i * 13) % 5) as f64;
            vec![
                1.0 + 2.0 * r[0] - r[1] + 0.5 * r[2] + noise,
                -r[0] + 3.0 * r[2] - noise,
            ]
        })
        .collect();
    Dataset::from_rows_multi(&rows, &targets, &dev())
        .unwrap()
        .with_feature_names(["a", "b", "c"])
        .unwrap()
}

fn start() -> LinearModel {
    LinearModel::from_values(
        3,
        &[0.1, -0.2, 0.3, 0.0, 0.5, -0.1],
        Some(&[0.0, 0.2]),
        &dev(),
    )
    .unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * y.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn split_keeps_rows_names_and_weights_in_order() {
    let data = data(10)
        .with_weights(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
        .unwrap();
    let cpu = dev();
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone(), cpu.clone()]).unwrap();
    let sizes: Vec<usize> = sharded.shards().iter().map(Dataset::n_samples).collect();
    assert_eq!(sizes, [4, 3, 3]);
    assert_eq!(sharded.n_samples(), 10);
    let x: Vec<f64> = sharded
        .shards()
        .iter()
        .flat_map(|s| s.features().try_into_vec_as::<f64>().unwrap())
        .collect();
    assert_eq!(x, data.features().try_into_vec_as::<f64>().unwrap());
    assert_eq!(
        sharded.shards()[1].weight_values(),
        Some(&[5.0, 6.0, 7.0][..])
    );
    assert_eq!(sharded.shards()[2].feature_names(), ["a", "b", "c"]);
    assert!(matches!(
        ShardedDataset::split(&data, &vec![cpu.clone(); 11]),
        Err(Error::EmptyData { .. })
    ));
    assert!(matches!(
        ShardedDataset::split(&data, &[]),
        Err(Error::EmptyData { .. })
    ));
}

#[test]
fn full_batch_equals_fit_on_the_whole_data() {
    let data = data(50);
    let cpu = dev();
    for loss in [Loss::MeanSquared, Loss::SumSquared] {
        let lr = if loss == Loss::MeanSquared {
            0.2
        } else {
            0.005
        };
        let trainer = TrainerConfig::new(SgdConfig::new(lr).with_momentum(0.9).with_nesterov(true))
            .with_loss(loss)
            .with_epochs(300)
            .with_log_every(Some(10))
            .with_schedule(Some(linfit::schedule::Schedule::Step(
                StepLrConfig::new(lr, 100).with_gamma(0.5),
            )))
            .init()
            .unwrap();
        let whole = trainer.fit(start(), &data).unwrap();
        for shards in [1, 2, 3] {
            let sharded = ShardedDataset::split(&data, &vec![cpu.clone(); shards]).unwrap();
            let fitted = trainer.fit_sharded(start(), &sharded).unwrap();
            close(&fitted.model.weights(), &whole.model.weights(), 1e-12);
            close(
                &fitted.model.bias().unwrap(),
                &whole.model.bias().unwrap(),
                1e-12,
            );
            assert_eq!(fitted.history.len(), whole.history.len());
            for (a, b) in fitted.history.iter().zip(&whole.history) {
                assert_eq!((a.step, a.epoch), (b.step, b.epoch));
                assert!((a.loss - b.loss).abs() <= 1e-12 * b.loss, "{a:?} vs {b:?}");
            }
            assert_eq!(fitted.model.feature_names(), whole.model.feature_names());
        }
    }
}

#[test]
fn weighted_full_batch_and_tol_equal_fit() {
    let weights: Vec<f64> = (0..40).map(|i| 0.5 + (i % 4) as f64).collect();
    let data = data(40).with_weights(&weights).unwrap();
    let cpu = dev();
    let trainer = TrainerConfig::new(SgdConfig::new(0.3))
        .with_epochs(5000)
        .with_tol(Some(1e-6))
        .init()
        .unwrap();
    let whole = trainer.fit(start(), &data).unwrap();
    let fitted = trainer
        .fit_sharded(
            start(),
            &ShardedDataset::split(&data, &[cpu.clone(), cpu]).unwrap(),
        )
        .unwrap();
    assert_eq!(whole.stop, StopReason::Converged);
    assert_eq!((fitted.stop, fitted.epochs), (whole.stop, whole.epochs));
    close(&fitted.model.weights(), &whole.model.weights(), 1e-12);
}

/// One shard, rows in order, batch size dividing n: the parts are `fit`'s batches.
#[test]
fn minibatch_partition_is_the_documented_one() {
    let data = data(24);
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(20)
        .with_batch_size(Some(8))
        .with_shuffle(false)
        .init()
        .unwrap();
    let whole = trainer.fit(start(), &data).unwrap();
    let one = ShardedDataset::split(&data, &[dev()]).unwrap();
    let fitted = trainer.fit_sharded(start(), &one).unwrap();
    assert_eq!(fitted.steps, whole.steps);
    close(&fitted.model.weights(), &whole.model.weights(), 1e-12);

    // Shuffled over three shards: reproducible, and it converges to the least-squares answer.
    let cpu = dev();
    let three = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone(), cpu]).unwrap();
    let shuffled = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(2000)
        .with_batch_size(Some(8))
        .with_seed(5)
        .init()
        .unwrap();
    let a = shuffled.fit_sharded(start(), &three).unwrap();
    let b = shuffled.fit_sharded(start(), &three).unwrap();
    assert_eq!(a.model.weights(), b.model.weights());
    assert_eq!(a.steps, 2000 * 3);
    let exact = LeastSquares::new().fit(&data).unwrap();
    close(&a.model.weights(), &exact.model().weights(), 2e-2);
}

#[test]
fn from_csv_streams_the_file_into_the_shards() {
    let path = std::env::temp_dir().join(format!("linfit-sharded-{}.csv", std::process::id()));
    let mut text = String::from("u,v,y\n");
    for i in 0..101 {
        text.push_str(&format!("{},{},{}\n", i, (i * 7) % 13, 2 * i + 1));
    }
    std::fs::write(&path, text).unwrap();
    let cpu = dev();
    let sharded = ShardedDataset::from_csv(&path, &["y"], &[cpu.clone(), cpu.clone()]).unwrap();
    let whole = Dataset::from_csv(&path, &["y"], &cpu).unwrap();
    let split = ShardedDataset::split(&whole, &[cpu.clone(), cpu]).unwrap();
    for (a, b) in sharded.shards().iter().zip(split.shards()) {
        assert_eq!(
            a.features().try_into_vec_as::<f64>().unwrap(),
            b.features().try_into_vec_as::<f64>().unwrap()
        );
        assert_eq!(
            a.targets().try_into_vec_as::<f64>().unwrap(),
            b.targets().try_into_vec_as::<f64>().unwrap()
        );
        assert_eq!(a.feature_names(), ["u", "v"]);
    }
    assert_eq!(sharded.shards()[0].n_samples(), 51);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn sharded_settings_and_shapes_are_checked() {
    let data = data(10);
    let cpu = dev();
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_validation_fraction(Some(0.2))
        .init()
        .unwrap();
    assert!(matches!(
        trainer.fit_sharded(start(), &sharded),
        Err(Error::InvalidHyperparameter {
            name: "validation_fraction",
            ..
        })
    ));
    let wrong = LinearModel::from_values(2, &[0.0; 4], Some(&[0.0, 0.0]), &cpu).unwrap();
    let trainer = TrainerConfig::new(SgdConfig::new(0.1)).init().unwrap();
    assert!(matches!(
        trainer.fit_sharded(wrong, &sharded),
        Err(Error::ShapeMismatch { .. })
    ));
    let diverging = TrainerConfig::new(SgdConfig::new(1e6))
        .with_epochs(500)
        .init()
        .unwrap();
    // As fit: the same training loop, the same read points (step 256 here).
    let got = diverging.fit_sharded(start(), &sharded);
    let whole = diverging.fit(start(), &data);
    match (got, whole) {
        (Err(Error::Diverged { step: a, .. }), Err(Error::Diverged { step: b, .. })) => {
            assert_eq!(a, b)
        }
        other => panic!("expected two divergences, got {other:?}"),
    }
}

/// Same numbers, names and statistics as `LeastSquares::fit` on the whole data (an independent
/// solver: the in-memory Householder QR), for several shard counts and both solvers.
#[test]
fn closed_form_equals_fit_on_the_whole_data() {
    let data = data(1000);
    let cpu = dev();
    for (solver, intercept) in [(Solver::Qr, true), (Solver::Svd, true), (Solver::Qr, false)] {
        let ls = LeastSquares::new()
            .with_solver(solver)
            .with_intercept(intercept);
        let whole = ls.fit(&data).unwrap();
        for shards in [1, 2, 3] {
            let devices = vec![cpu.clone(); shards];
            let sharded = ShardedDataset::split(&data, &devices).unwrap();
            let fit = ls.fit_sharded(&sharded).unwrap();
            assert_eq!(fit.rank(), whole.rank());
            assert_eq!(fit.n_samples(), 1000);
            assert_eq!(fit.solver(), solver);
            close(&fit.model().weights(), &whole.model().weights(), 1e-12);
            assert_eq!(fit.model().bias().is_some(), intercept);
            close(
                &fit.model().bias().unwrap_or_default(),
                &whole.model().bias().unwrap_or_default(),
                1e-12,
            );
            close(&fit.sse(), &whole.sse(), 1e-10);
            close(fit.singular_values(), whole.singular_values(), 1e-12);
            let (a, b) = (fit.summary(), whole.summary());
            for (ta, tb) in a.targets.iter().zip(&b.targets) {
                assert_eq!(ta.name, tb.name);
                for (ca, cb) in ta.coefficients.iter().zip(&tb.coefficients) {
                    close(&[ca.std_error.unwrap()], &[cb.std_error.unwrap()], 1e-10);
                }
                close(&[ta.r_squared], &[tb.r_squared], 1e-12);
            }
            assert_eq!(fit.model().feature_names().unwrap(), ["a", "b", "c"]);
        }
    }
}

/// The notebook's collinear design (`x`, `x + 1`, `x + 2` with an intercept): the same rank,
/// null space and minimum-norm solution as in memory.
#[test]
fn closed_form_reports_what_collinear_shards_cannot_identify() {
    let x: Vec<Vec<f64>> = (0..40)
        .map(|i| {
            let v = i as f64 / 8.0;
            vec![v, v + 1.0, v + 2.0]
        })
        .collect();
    let y: Vec<f64> = (0..40)
        .map(|i| 3.0 + 0.7 * (i as f64 / 8.0) + 0.01 * ((i * 7) % 3) as f64)
        .collect();
    let cpu = dev();
    let data = Dataset::from_rows(&x, &y, &cpu).unwrap();
    let whole = LeastSquares::new().fit(&data).unwrap();
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
    let fit = LeastSquares::new().fit_sharded(&sharded).unwrap();
    assert_eq!(whole.rank(), 1);
    assert_eq!(fit.rank(), 1);
    assert_eq!(fit.identifiable(), whole.identifiable());
    close(&fit.model().weights(), &whole.model().weights(), 1e-12);
    close(
        &fit.model().bias().unwrap(),
        &whole.model().bias().unwrap(),
        1e-12,
    );
    let (a, b) = (fit.null_space(), whole.null_space());
    assert_eq!(a.len(), b.len());
    // The same space: each basis vector of one is in the span of the other's.
    for v in &a {
        let projected: Vec<f64> = b.iter().fold(vec![0.0; v.len()], |mut acc, u| {
            let d: f64 = u.iter().zip(v).map(|(p, q)| p * q).sum();
            acc.iter_mut().zip(u).for_each(|(a, u)| *a += d * u);
            acc
        });
        close(&projected, v, 1e-10);
    }
}

/// Many rows (several chunks per shard, narrower slices): still the in-memory numbers, on a
/// design with a large offset that the Gram matrix in plain f64 would lose digits to.
#[test]
fn closed_form_of_many_rows_with_an_offset() {
    let n: usize = 300_000;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let t = i as f64 / n as f64;
            vec![1e6 + t, ((i * 7919) % 1000) as f64 / 1000.0]
        })
        .collect();
    let y: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 2.0 * (r[0] - 1e6) - r[1] + 1e-3 * ((i * 31) % 17) as f64)
        .collect();
    let cpu = dev();
    let data = Dataset::from_rows(&rows, &y, &cpu).unwrap();
    // In memory, Auto tries the normal equations (tall data), whose rounded X^T X hides both
    // directions here (it once answered rank 0 and zero weights), and falls back to QR.
    let whole = LeastSquares::new().fit(&data).unwrap();
    assert_eq!((whole.solver(), whole.rank()), (Solver::Qr, 2));
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
    let fit = LeastSquares::new().fit_sharded(&sharded).unwrap();
    assert_eq!(fit.rank(), 2);
    close(&fit.model().weights(), &[2.0, -1.0], 1e-6);
    close(&fit.model().weights(), &whole.model().weights(), 1e-9);
    close(
        &fit.model().bias().unwrap(),
        &whole.model().bias().unwrap(),
        1e-9,
    );
    close(&fit.sse(), &whole.sse(), 1e-9);
}

/// Weighted least squares over shards: the in-memory weighted fit's numbers and statistics
/// (statsmodels' WLS there, tested in `tests/weighted_lstsq.rs`), zero weights included.
#[test]
fn weighted_closed_form_equals_the_in_memory_weighted_fit() {
    let data = data(300);
    let weights: Vec<f64> = (0..300)
        .map(|i| {
            if i % 17 == 0 {
                0.0
            } else {
                0.5 + ((i * 7) % 5) as f64
            }
        })
        .collect();
    let data = data.with_weights(&weights).unwrap();
    let cpu = dev();
    for intercept in [true, false] {
        let ls = LeastSquares::new().with_intercept(intercept);
        let whole = ls.fit(&data).unwrap();
        let sharded =
            ShardedDataset::split(&data, &[cpu.clone(), cpu.clone(), cpu.clone()]).unwrap();
        let fit = ls.fit_sharded(&sharded).unwrap();
        assert_eq!(fit.n_samples(), whole.n_samples());
        assert_eq!(fit.weight_total(), whole.weight_total());
        close(&fit.model().weights(), &whole.model().weights(), 1e-12);
        close(
            &fit.model().bias().unwrap_or_default(),
            &whole.model().bias().unwrap_or_default(),
            1e-12,
        );
        close(&fit.sse(), &whole.sse(), 1e-10);
        let (a, b) = (fit.summary(), whole.summary());
        for (ta, tb) in a.targets.iter().zip(&b.targets) {
            for (ca, cb) in ta
                .intercept
                .iter()
                .chain(&ta.coefficients)
                .zip(tb.intercept.iter().chain(&tb.coefficients))
            {
                close(&[ca.std_error.unwrap()], &[cb.std_error.unwrap()], 1e-10);
            }
            close(
                &[ta.r_squared, ta.log_likelihood, ta.aic],
                &[tb.r_squared, tb.log_likelihood, tb.aic],
                1e-10,
            );
        }
    }
}

/// Ridge over shards, with and without sample weights: the in-memory ridge (scikit-learn's
/// `Ridge` there, tested in `tests/weighted_lstsq.rs`).
#[test]
fn ridge_closed_form_equals_the_in_memory_ridge() {
    let plain = data(200);
    let weights: Vec<f64> = (0..200).map(|i| 1.0 + (i % 3) as f64).collect();
    let weighted = plain.clone().with_weights(&weights).unwrap();
    let cpu = dev();
    for data in [plain, weighted] {
        for alpha in [0.1, 10.0] {
            let ls = LeastSquares::new().with_alpha(alpha);
            let whole = ls.fit(&data).unwrap();
            let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
            let fit = ls.fit_sharded(&sharded).unwrap();
            assert_eq!(fit.alpha(), alpha);
            close(&fit.model().weights(), &whole.model().weights(), 1e-12);
            close(
                &fit.model().bias().unwrap(),
                &whole.model().bias().unwrap(),
                1e-12,
            );
            close(&fit.sse(), &whole.sse(), 1e-9);
            let (a, b) = (fit.summary(), whole.summary());
            for (ta, tb) in a.targets.iter().zip(&b.targets) {
                close(&[ta.r_squared], &[tb.r_squared], 1e-10);
                assert_eq!(
                    ta.coefficients[0].std_error.is_some(),
                    tb.coefficients[0].std_error.is_some()
                );
            }
        }
    }
}

#[test]
fn closed_form_refuses_what_it_does_not_fit() {
    let data = data(10);
    let cpu = dev();
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
    assert!(matches!(
        LeastSquares::new().with_alpha(-1.0).fit_sharded(&sharded),
        Err(Error::InvalidHyperparameter { name: "alpha", .. })
    ));
    assert!(matches!(
        LeastSquares::new()
            .with_rcond(Some(f64::NAN))
            .fit_sharded(&sharded),
        Err(Error::InvalidHyperparameter { name: "rcond", .. })
    ));
}

/// Designs that once went wrong over shards, against the in-memory QR: fewer rows than
/// parameters with a constant and a dependent column (the double-double rounding left in the
/// constant column's centred part became a unit column under the rank decision's column
/// scaling: not the minimum-norm solution), a constant column, and data whose squares leave
/// f64's range (1e-160 and 1e160: scaled by powers of two as in memory, where they were
/// refused, or, for 1e160, solved as rank 0).
#[test]
fn closed_form_edges_match_the_in_memory_fit() {
    let cases: Vec<(Vec<Vec<f64>>, Vec<f64>, usize)> = vec![
        (
            (0..3)
                .map(|i| vec![i as f64, (i * i) as f64, 1.0 + i as f64 * 0.5, 7.0])
                .collect(),
            vec![1.0, 2.0, 4.0],
            3,
        ),
        (
            (0..10).map(|i| vec![i as f64, 5.0]).collect(),
            (0..10).map(|i| 2.0 * i as f64 + (i % 3) as f64).collect(),
            2,
        ),
        (
            (0..10).map(|i| vec![i as f64 * 1e-160]).collect(),
            (0..10)
                .map(|i| i as f64 * 1e-160 + 1e-161 * (i % 3) as f64)
                .collect(),
            2,
        ),
        (
            (0..10).map(|i| vec![i as f64 * 1e160]).collect(),
            (0..10)
                .map(|i| i as f64 * 1e160 + 1e159 * (i % 3) as f64)
                .collect(),
            2,
        ),
    ];
    let cpu = dev();
    for (x, y, shards) in cases {
        let data = Dataset::from_rows(&x, &y, &cpu).unwrap();
        let whole = LeastSquares::new()
            .with_solver(Solver::Qr)
            .fit(&data)
            .unwrap();
        let sharded = ShardedDataset::split(&data, &vec![cpu.clone(); shards]).unwrap();
        let fit = LeastSquares::new().fit_sharded(&sharded).unwrap();
        assert_eq!(fit.rank(), whole.rank(), "{x:?}");
        assert_eq!(fit.null_space().len(), whole.null_space().len(), "{x:?}");
        close(&fit.model().weights(), &whole.model().weights(), 1e-12);
        let (a, b) = (
            fit.model().bias().unwrap()[0],
            whole.model().bias().unwrap()[0],
        );
        let size = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!((a - b).abs() <= 1e-12 * size, "{a} vs {b}");
    }
}

/// Cases a review of the sharded closed form found, against the in-memory fit: ridge with
/// fewer rows than features (its rank is m, not n - 1) and on tiny features (alpha scaled
/// with them), subnormal sample weights, a constant feature with weights, columns below
/// 2^-1002, and `rcond = 0` with a dependent column.
#[test]
fn closed_form_review_cases_match_the_in_memory_fit() {
    let cpu = dev();
    let wide: Vec<Vec<f64>> = (0..4)
        .map(|i| {
            (0..6)
                .map(|j| ((i * 7 + j * 3) % 5) as f64 + 0.1 * j as f64)
                .collect()
        })
        .collect();
    let wide_y = vec![1.0, -2.0, 0.5, 3.0];
    let line: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![i as f64, ((i * 5) % 7) as f64])
        .collect();
    let line_y: Vec<f64> = (0..12).map(|i| 2.0 * i as f64 - (i % 4) as f64).collect();
    let scaled = |rows: &[Vec<f64>], by: f64| -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| r.iter().map(|v| v * by).collect())
            .collect()
    };
    let with_constant: Vec<Vec<f64>> = line.iter().map(|r| vec![r[0], 3.7, r[1]]).collect();
    let offset: Vec<Vec<f64>> = (0..12)
        .map(|i| vec![1e12 + 0.9 * i as f64 / 12.0, ((i * 5) % 7) as f64])
        .collect();
    let dependent: Vec<Vec<f64>> = line.iter().map(|r| vec![r[0], r[1], 2.0 * r[0]]).collect();
    // (what, features, targets, weights, alpha, rcond)
    type Case = (
        &'static str,
        Vec<Vec<f64>>,
        Vec<f64>,
        Option<Vec<f64>>,
        f64,
        Option<f64>,
    );
    let cases: Vec<Case> = vec![
        ("ridge, 4 rows x 6 features", wide, wide_y, None, 0.5, None),
        (
            "ridge, features of 1e-160",
            scaled(&line, 1e-160),
            line_y.clone(),
            None,
            1e-321,
            None,
        ),
        (
            "subnormal weights",
            line.clone(),
            line_y.clone(),
            Some((0..12).map(|i| 1e-310 * (1 + i % 3) as f64).collect()),
            0.0,
            None,
        ),
        (
            "weighted constant feature",
            with_constant.clone(),
            line_y.clone(),
            Some((0..12).map(|i| 0.3 + (i % 5) as f64).collect()),
            0.0,
            None,
        ),
        (
            "constant feature where the weights are positive",
            line.iter()
                .enumerate()
                .map(|(i, r)| vec![r[0], if i % 4 == 1 { 5.0 } else { 3.7 }, r[1]])
                .collect(),
            line_y.clone(),
            Some(
                (0..12)
                    .map(|i| {
                        if i % 4 == 1 {
                            0.0
                        } else {
                            0.3 + (i % 5) as f64
                        }
                    })
                    .collect(),
            ),
            0.0,
            None,
        ),
        (
            "features of 1e-305",
            scaled(&line, 1e-305),
            line_y.clone(),
            None,
            0.0,
            None,
        ),
        (
            "rcond 0, dependent column",
            dependent,
            line_y.clone(),
            None,
            0.0,
            Some(0.0),
        ),
        // A second review: large offsets (the factor once subtracted a large mean from itself
        // in double-double: rank 0 at 2^53, 6 digits at 1e12), ridge with a constant column
        // (its pivot, sqrt(alpha), was cleared as rounding), and ridge's sum of squares on a
        // near-exact fit (once a difference of nearly equal numbers).
        (
            "offset 2^53",
            (0..12)
                .map(|i| vec![2f64.powi(53) + 2.0 * (i % 3) as f64, ((i * 5) % 7) as f64])
                .collect(),
            line_y.clone(),
            None,
            0.0,
            None,
        ),
        (
            "offset 1e12",
            offset.clone(),
            line_y.clone(),
            None,
            0.0,
            None,
        ),
        (
            "offset 1e12, near-exact fit",
            offset.clone(),
            offset
                .iter()
                .map(|r| 3.0 * (r[0] - 1e12) + 1e6 - r[1])
                .collect(),
            None,
            0.0,
            None,
        ),
        (
            "ridge with a constant column",
            with_constant.clone(),
            line_y.clone(),
            None,
            0.5,
            None,
        ),
        (
            "weighted ridge with a constant column",
            with_constant,
            line_y.clone(),
            Some((0..12).map(|i| 0.3 + (i % 5) as f64).collect()),
            0.5,
            None,
        ),
        (
            "ridge on a near-exact fit",
            line.clone(),
            line.iter()
                .map(|r| 2.0 * r[0] - r[1] + 1e-9 * r[1] * r[1])
                .collect(),
            None,
            1e-6,
            None,
        ),
    ];
    for (what, x, y, weights, alpha, rcond) in cases {
        let mut data = Dataset::from_rows(&x, &y, &cpu).unwrap();
        if let Some(w) = &weights {
            data = data.with_weights(w).unwrap();
        }
        let ls = LeastSquares::new()
            .with_solver(Solver::Qr)
            .with_alpha(alpha)
            .with_rcond(rcond);
        // With rcond 0 the in-memory QR keeps the rounding of the dependent column as a
        // direction (rank 3, meaningless weights); the exact Gram matrix has a zero pivot there
        // (rank 2), the in-memory answer with the default rcond.
        let whole = ls.clone().with_rcond(None).fit(&data).unwrap();
        let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()]).unwrap();
        let fit = ls
            .fit_sharded(&sharded)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(fit.rank(), whole.rank(), "{what}");
        // The reference: the in-memory fit of the data with each column that lies within a
        // factor of two of its smallest value shifted by it (exact). Unshifted, the in-memory
        // QR loses digits to large offsets: at 1e12 its weights are off by 6e-9 (the exact
        // rational solution, from Python's fractions, is what fit_sharded gives), and its
        // residuals of 2^53 + 2 i give 488.94 for numpy's exact 488.75.
        let (shifted, shifts): (Vec<Vec<f64>>, Vec<f64>) = {
            let lows: Vec<f64> = (0..x[0].len())
                .map(|j| x.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min))
                .collect();
            let highs: Vec<f64> = (0..x[0].len())
                .map(|j| x.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max))
                .collect();
            let shifts: Vec<f64> = lows
                .iter()
                .zip(&highs)
                .map(|(l, h)| if *l > 0.0 && *h <= 2.0 * l { *l } else { 0.0 })
                .collect();
            let shifted = x
                .iter()
                .map(|r| r.iter().zip(&shifts).map(|(v, c)| v - c).collect())
                .collect();
            (shifted, shifts)
        };
        let mut reference = Dataset::from_rows(&shifted, &y, &cpu).unwrap();
        if let Some(w) = &weights {
            reference = reference.with_weights(w).unwrap();
        }
        let reference = ls.clone().with_rcond(None).fit(&reference).unwrap();
        let (a, b) = (fit.model().weights(), reference.model().weights());
        for (u, v) in a.iter().zip(&b) {
            assert!(
                (u - v).abs() <= 1e-9 * v.abs().max(1.0),
                "{what}: {a:?} vs {b:?}"
            );
        }
        // b = b_shifted - sum_j c_j w_j.
        let want = b
            .iter()
            .zip(&shifts)
            .fold(reference.model().bias().unwrap()[0], |acc, (w, c)| {
                acc - w * c
            });
        let got = fit.model().bias().unwrap()[0];
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: bias {got} vs {want}"
        );
        let (u, v) = (fit.sse()[0], reference.sse()[0]);
        let scale: f64 = y.iter().map(|v| v * v).sum();
        assert!(
            (u - v).abs() <= 1e-9 * v.abs() + 1e-24 * scale,
            "{what}: sse {u} vs {v}"
        );
    }
}

/// More shards than rows per step: steps in which no shard has a row are skipped (they once
/// divided by zero rows: NaN, reported as divergence at step 0); every row is still seen once
/// per epoch.
#[test]
fn minibatches_smaller_than_the_shard_count_train() {
    let data = data(12);
    let cpu = dev();
    let sharded = ShardedDataset::split(&data, &vec![cpu.clone(); 4]).unwrap();
    let trainer = TrainerConfig::new(SgdConfig::new(0.05))
        .with_loss(Loss::MeanSquared)
        .with_batch_size(Some(2))
        .with_epochs(20)
        .with_log_every(Some(1))
        .init()
        .unwrap();
    let fitted = trainer.fit_sharded(start(), &sharded).unwrap();
    assert!(
        fitted
            .history
            .iter()
            .all(|e| e.loss.is_finite() && e.loss > 0.0)
    );
    // 6 steps of 4 shards x 3 rows, of which 3 are empty in every epoch.
    assert_eq!(fitted.steps, 20 * 3);
}

/// A timeout too long for a deadline (`Duration::MAX`) means no limit: it once overflowed
/// `Instant + Duration` and panicked.
#[test]
fn an_unbounded_timeout_waits_instead_of_panicking() {
    let data = data(30);
    let cpu = dev();
    let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu])
        .unwrap()
        .with_timeout(std::time::Duration::MAX);
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(3)
        .init()
        .unwrap();
    let whole = trainer.fit(start(), &data).unwrap();
    let fitted = trainer.fit_sharded(start(), &sharded).unwrap();
    close(&fitted.model.weights(), &whole.model.weights(), 1e-12);
    let fit = LeastSquares::new().fit_sharded(&sharded).unwrap();
    assert_eq!(fit.rank(), 3);
}
