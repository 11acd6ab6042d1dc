//! Property: no public function panics on bad data or settings; each returns `Ok` or `Err`.

mod common;

use linfit::prelude::*;
use proptest::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

/// Any f64, the nasty ones often.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e3..1e3f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => prop::num::f64::ANY,
    ]
}

fn table() -> impl Strategy<Value = Vec<Vec<f64>>> {
    // Rows of possibly different lengths (ragged), possibly none.
    prop::collection::vec(prop::collection::vec(value(), 0..4), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn data_model_and_training_never_panic(
        features in table(),
        targets in prop::collection::vec(value(), 0..6),
        multi in table(),
        weights in prop::collection::vec(value(), 0..5),
        n_features in 0usize..4,
        bias in prop::option::of(prop::collection::vec(value(), 0..3)),
        lr in value(), momentum in value(), dampening in value(), weight_decay in value(),
        nesterov in any::<bool>(),
        epochs in 0usize..4,
        batch_size in prop::option::of(0usize..5),
        log_every in prop::option::of(0usize..3),
        tol in prop::option::of(value()),
        n_iter_no_change in 0usize..3,
        sum_loss in any::<bool>(),
    ) {
        let dev = dev();
        let _ = Dataset::from_rows_multi(&features, &multi, &dev);
        let data = Dataset::from_rows(&features, &targets, &dev);
        let model = LinearModel::from_values(n_features, &weights, bias.as_deref(), &dev);
        let optimizer = SgdConfig::new(lr)
            .with_momentum(momentum)
            .with_dampening(dampening)
            .with_weight_decay(weight_decay)
            .with_nesterov(nesterov);
        let _ = optimizer.init();
        let trainer = TrainerConfig::new(optimizer)
            .with_loss(if sum_loss { Loss::SumSquared } else { Loss::MeanSquared })
            .with_epochs(epochs)
            .with_batch_size(batch_size)
            .with_log_every(log_every)
            .with_tol(tol)
            .with_n_iter_no_change(n_iter_no_change)
            .init();
        if let (Ok(data), Ok(model), Ok(trainer)) = (data, model, trainer) {
            if let Ok(prediction) = model.predict(data.features()) {
                prop_assert_eq!(prediction.dims(), [data.n_samples(), model.n_targets()]);
            }
            if let Ok(fitted) = trainer.fit(model.clone(), &data) {
                // A finished fit has finite parameters: divergence is always reported.
                prop_assert!(fitted.model.weights().iter().all(|w| w.is_finite()));
            }
            let mut sgd = SgdConfig::new(0.1).init().unwrap();
            let _ = sgd.step(model.clone());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Well-formed data with random sizes and random, often unstable, settings: training either
    /// succeeds with finite parameters or reports an error.
    #[test]
    fn training_on_well_formed_data_never_panics(
        (n, m, k, x, y) in (1usize..12, 1usize..4, 1usize..3).prop_flat_map(|(n, m, k)| (
            Just(n), Just(m), Just(k),
            prop::collection::vec(-1e3..1e3f64, n * m),
            prop::collection::vec(-1e3..1e3f64, n * k),
        )),
        lr in prop_oneof![0.0..0.1f64, 0.1..100.0f64],
        momentum in 0.0..0.99f64,
        epochs in 1usize..30,
        batch_size in prop::option::of(1usize..6),
        log_every in prop::option::of(1usize..4),
        tol in prop::option::of(0.0..1.0f64),
        shuffle in any::<bool>(),
        bias in any::<bool>(),
    ) {
        let dev = dev();
        let data = Dataset::from_flat(x, y, [n, m], k, &dev).unwrap();
        let model = LinearModelConfig::new(m).with_n_targets(k).with_bias(bias).init(&dev).unwrap();
        let trainer = TrainerConfig::new(SgdConfig::new(lr).with_momentum(momentum))
            .with_epochs(epochs)
            .with_batch_size(batch_size)
            .with_shuffle(shuffle)
            .with_log_every(log_every)
            .with_tol(tol)
            .init()
            .unwrap();
        match trainer.fit(model, &data) {
            Ok(fitted) => {
                prop_assert!(fitted.model.weights().iter().all(|w| w.is_finite()));
                prop_assert!(fitted.history.iter().all(|e| e.loss.is_finite()));
                prop_assert!(fitted.epochs <= epochs);
            }
            Err(Error::Diverged { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

/// A value of any magnitude: 1e-300..1e300 in both signs, subnormals, zero.
fn extreme() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-1.0..1.0f64, -300i32..300).prop_map(|(m, e)| m * 10f64.powi(e)),
        1 => (-1.0..1.0f64).prop_map(|m| m * 1e-310),
        1 => Just(0.0),
        2 => -10.0..10.0f64,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Data of extreme magnitudes, for every solver and the trainer: `Ok` with finite numbers,
    /// or an `Err`; never a panic. (A column's values share a magnitude, as real data do, or
    /// not: each value is drawn alone.)
    #[test]
    fn extreme_magnitudes_never_panic(
        (n, m, x, y) in (1usize..10, 1usize..4).prop_flat_map(|(n, m)| (
            Just(n), Just(m),
            prop::collection::vec(extreme(), n * m),
            prop::collection::vec(extreme(), n),
        )),
        column_scale in prop::collection::vec(-300i32..300, 3),
        intercept in any::<bool>(),
        lr in prop_oneof![1e-6..1.0f64, 1.0..1e6f64],
    ) {
        let dev = dev();
        // Half the cases: one magnitude per column.
        let x: Vec<f64> = if column_scale[0] % 2 == 0 {
            x.iter().enumerate().map(|(i, v)| (v / v.abs().max(1.0)) * 10f64.powi(column_scale[i % m])).collect()
        } else {
            x
        };
        let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
        for solver in [Solver::Auto, Solver::Qr, Solver::Svd, Solver::NormalEquations] {
            if let Ok(fit) = LeastSquares::new().with_solver(solver).with_intercept(intercept).fit(&data) {
                prop_assert!(fit.model().weights().iter().all(|w| w.is_finite()));
                let summary = fit.summary();
                let _ = summary.to_string();
                let _ = fit.explain(fit.model()).map(|e| e.to_string());
            }
        }
        let _ = LeastSquares::new().fit_polynomial(
            &data.features().try_into_vec_as::<f64>().unwrap(),
            &data.targets().try_into_vec_as::<f64>().unwrap(),
            2,
            &dev,
        );
        let _ = StandardizerConfig::new().with_targets(true).fit(&data).and_then(|s| s.transform(&data));
        let model = LinearModelConfig::new(m).with_bias(intercept).init(&dev).unwrap();
        let trainer = TrainerConfig::new(SgdConfig::new(lr)).with_epochs(5).init().unwrap();
        if let Ok(fitted) = trainer.fit(model, &data) {
            prop_assert!(fitted.model.weights().iter().all(|w| w.is_finite()));
        }
    }
}
