//! Every error variant that bad data or settings can reach, and the messages users see.

mod common;

use core::ops::ControlFlow;

use linfit::burn::nn::Initializer;
use linfit::burn::tensor::{DType, TensorData};
use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn small(dev: &Device) -> Dataset {
    Dataset::from_rows(
        &[vec![1.0, 2.0], vec![3.0, 5.0], vec![4.0, 1.0]],
        &[1.0, 2.0, 3.0],
        dev,
    )
    .unwrap()
}

#[test]
fn dataset_rejects_bad_rows() {
    let dev = dev();
    let e = Dataset::from_rows(&[vec![1.0, 2.0], vec![3.0]], &[1.0, 2.0], &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("row 1"), "{e}");

    let e = Dataset::from_rows(&[vec![1.0], vec![3.0]], &[1.0], &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");

    let e = Dataset::from_rows(&[], &[], &dev).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");

    let e = Dataset::from_rows(&[vec![], vec![]], &[1.0, 2.0], &dev).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");

    let e =
        Dataset::from_rows(&[vec![1.0, 2.0], vec![3.0, f64::NAN]], &[1.0, 2.0], &dev).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "features",
                row: 1,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("row 1, column 1"), "{e}");

    let e = Dataset::from_rows(&[vec![1.0], vec![3.0]], &[1.0, f64::INFINITY], &dev).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "targets",
                row: 1,
                column: 0,
                ..
            }
        ),
        "{e}"
    );

    let e = Dataset::from_rows_multi(&[vec![1.0], vec![3.0]], &[vec![1.0, 2.0], vec![1.0]], &dev)
        .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = Dataset::from_rows_multi(&[vec![1.0], vec![3.0]], &[vec![1.0]], &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = Dataset::from_flat(vec![1.0; 5], vec![1.0; 3], [3, 2], 1, &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
}

#[test]
fn dataset_from_tensors_checks_shapes_dtypes_and_values() {
    let dev = dev();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0, 4.0], [2, 2]), &dev);
    let y = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0], [2, 1]), &dev);
    let data = Dataset::from_tensors(x.clone(), y.clone()).unwrap();
    assert_eq!(
        (data.n_samples(), data.n_features(), data.n_targets()),
        (2, 2, 1)
    );

    let y3 = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0], [3, 1]), &dev);
    let e = Dataset::from_tensors(x.clone(), y3).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");

    let y32 = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 2.0], [2, 1]),
        (&dev, DType::F32),
    );
    let e = Dataset::from_tensors(x.clone(), y32).unwrap_err();
    assert!(matches!(e, Error::DeviceMismatch { .. }), "{e}");

    let x_nan = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f64, 2.0, f64::NAN, 4.0], [2, 2]),
        &dev,
    );
    let e = Dataset::from_tensors(x_nan, y.clone()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "features",
                row: 1,
                column: 0,
                ..
            }
        ),
        "{e}"
    );

    // Half precision is refused (where the backend has it at all: ndarray does not).
    if dev.supports_dtype(DType::F16) {
        let x16 = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f64, 2.0, 3.0, 4.0], [2, 2]),
            (&dev, DType::F16),
        );
        let y16 = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f64, 2.0], [2, 1]),
            (&dev, DType::F16),
        );
        let e = Dataset::from_tensors(x16, y16).unwrap_err();
        assert!(matches!(e, Error::UnsupportedDtype { .. }), "{e}");
        assert!(e.to_string().contains("f32 or f64"), "{e}");
    }

    let empty = Tensor::<2>::from_data(TensorData::new(Vec::<f64>::new(), [0, 2]), &dev);
    let empty_y = Tensor::<2>::from_data(TensorData::new(Vec::<f64>::new(), [0, 1]), &dev);
    let e = Dataset::from_tensors(empty, empty_y).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
}

#[test]
fn model_construction_errors() {
    let dev = dev();
    let e = LinearModel::from_values(2, &[1.0, 2.0, 3.0], None, &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = LinearModel::from_values(2, &[1.0, 2.0], Some(&[1.0, 2.0]), &dev).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = LinearModel::from_values(0, &[], None, &dev).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    let e = LinearModel::from_values(1, &[f64::NAN], None, &dev).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "weights",
                ..
            }
        ),
        "{e}"
    );
    let e = LinearModelConfig::new(0).init(&dev).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    let e = LinearModelConfig::new(2)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: -1.0,
        })
        .init(&dev)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidHyperparameter {
                name: "initializer",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn predict_is_checked() {
    let dev = dev();
    let model = LinearModel::from_values(2, &[1.0, 2.0], Some(&[0.5]), &dev).unwrap();
    let x3 = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0], [1, 3]), &dev);
    assert!(matches!(
        model.predict(x3),
        Err(Error::ShapeMismatch { .. })
    ));
    let x32 = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 2.0], [1, 2]),
        (&dev, DType::F32),
    );
    assert!(matches!(
        model.predict(x32),
        Err(Error::DeviceMismatch { .. })
    ));
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0], [1, 2]), &dev);
    let y = model.predict(x).unwrap();
    assert!(!y.is_autodiff(), "predict builds no autodiff graph");
    assert_eq!(y.into_data().try_to_vec::<f64>().unwrap(), vec![5.5]); // 1*1 + 2*2 + 0.5
}

#[test]
fn sgd_validates_like_pytorch() {
    let bad = [
        (SgdConfig::new(-0.1), "lr"),
        (SgdConfig::new(f64::NAN), "lr"),
        (SgdConfig::new(0.1).with_momentum(-0.5), "momentum"),
        (SgdConfig::new(0.1).with_weight_decay(-1.0), "weight_decay"),
        (
            SgdConfig::new(0.1).with_dampening(f64::INFINITY),
            "dampening",
        ),
        (SgdConfig::new(0.1).with_nesterov(true), "nesterov"),
        (
            SgdConfig::new(0.1)
                .with_nesterov(true)
                .with_momentum(0.9)
                .with_dampening(0.1),
            "nesterov",
        ),
    ];
    for (config, expected) in bad {
        match config.init() {
            Err(Error::InvalidHyperparameter { name, .. }) => {
                assert_eq!(name, expected, "{config:?}")
            }
            other => panic!("{config:?}: expected an error for {expected}, got {other:?}"),
        }
    }
    // PyTorch accepts lr = 0 and nesterov with momentum and no dampening.
    assert!(SgdConfig::new(0.0).init().is_ok());
    let mut sgd = SgdConfig::new(0.1)
        .with_momentum(0.9)
        .with_nesterov(true)
        .init()
        .unwrap();
    assert!(sgd.set_lr(-1.0).is_err());
    sgd.set_lr(0.2).unwrap();
    assert_eq!(sgd.lr(), 0.2);
}

#[test]
fn step_errors() {
    let dev = dev();
    let data = small(&dev);
    let model = LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &dev).unwrap();
    let mut sgd = SgdConfig::new(0.1).init().unwrap();
    let e = sgd.step(model.clone()).unwrap_err();
    assert!(matches!(e, Error::NoGradients), "{e}");
    assert!(e.to_string().contains("backward"), "{e}");

    // A loss without autodiff graph (on the validation copy) leaves nothing pending.
    let loss = Loss::MeanSquared.forward(model.valid().forward(data.features()), data.targets());
    sgd.backward(&loss, &model);
    assert!(matches!(sgd.step(model.clone()), Err(Error::NoGradients)));

    // Gradients of one model applied to a model of another shape.
    let loss = Loss::MeanSquared.forward(model.forward(data.features()), data.targets());
    sgd.backward(&loss, &model);
    let other = LinearModel::from_values(3, &[0.0; 3], Some(&[0.0]), &dev).unwrap();
    assert!(matches!(sgd.step(other), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn trainer_settings_are_validated() {
    let base = || TrainerConfig::new(SgdConfig::new(0.1));
    let bad = [
        (base().with_batch_size(Some(0)), "batch_size"),
        (base().with_log_every(Some(0)), "log_every"),
        (base().with_tol(Some(-1.0)), "tol"),
        (base().with_tol(Some(f64::NAN)), "tol"),
        (
            base().with_tol(Some(1e-3)).with_n_iter_no_change(0),
            "n_iter_no_change",
        ),
        (TrainerConfig::new(SgdConfig::new(-1.0)), "lr"),
    ];
    for (config, expected) in bad {
        match config.init() {
            Err(Error::InvalidHyperparameter { name, .. }) => assert_eq!(name, expected),
            other => panic!("expected an error for {expected}, got {other:?}"),
        }
    }
}

#[test]
fn fit_rejects_a_model_that_does_not_fit_the_data() {
    let dev = dev();
    let data = small(&dev);
    let trainer = TrainerConfig::new(SgdConfig::new(0.1)).init().unwrap();
    let three = LinearModelConfig::new(3).init(&dev).unwrap();
    assert!(matches!(
        trainer.fit(three, &data),
        Err(Error::ShapeMismatch { .. })
    ));
    let two_targets = LinearModelConfig::new(2)
        .with_n_targets(2)
        .init(&dev)
        .unwrap();
    assert!(matches!(
        trainer.fit(two_targets, &data),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn divergence_is_reported_with_advice() {
    let dev = dev();
    let data = small(&dev);
    for log_every in [None, Some(7)] {
        let trainer = TrainerConfig::new(SgdConfig::new(10.0))
            .with_loss(Loss::SumSquared)
            .with_epochs(5000)
            .with_log_every(log_every)
            .init()
            .unwrap();
        let e = trainer
            .fit(LinearModelConfig::new(2).init(&dev).unwrap(), &data)
            .unwrap_err();
        match &e {
            Error::Diverged { step, loss, .. } => {
                // Caught either as a non-finite loss or by the growth rule (1e10 times the
                // starting loss per row; the start here is below 1e3).
                assert!(!loss.is_finite() || *loss > 1e10, "{loss}");
                assert!(*step < 5000);
            }
            other => panic!("expected Diverged, got {other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains("lower the learning rate") && msg.contains("standardise"),
            "{msg}"
        );
    }
}

#[test]
fn callback_stops_and_tol_converges() {
    let dev = dev();
    let data = small(&dev);
    let trainer = TrainerConfig::new(SgdConfig::new(0.01))
        .with_epochs(1000)
        .with_log_every(Some(10))
        .init()
        .unwrap();
    let mut seen = 0;
    let fitted = trainer
        .fit_with(
            LinearModelConfig::new(2).init(&dev).unwrap(),
            &data,
            |entry| {
                seen += 1;
                if entry.step >= 30 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
    assert_eq!(fitted.stop, StopReason::Stopped);
    assert_eq!(seen, 4); // steps 0, 10, 20, 30
    assert_eq!(fitted.steps, 30); // stopped before the update of step 30
    assert_eq!(fitted.history.len(), 4);

    let fitted = TrainerConfig::new(SgdConfig::new(0.02).with_momentum(0.5))
        .with_epochs(100_000)
        .with_tol(Some(1e-12))
        .init()
        .unwrap()
        .fit(LinearModelConfig::new(2).init(&dev).unwrap(), &data)
        .unwrap();
    assert_eq!(fitted.stop, StopReason::Converged);
    assert!(fitted.epochs < 100_000);
}

#[test]
fn device_names_and_precision_locks() {
    if common::skip_unless_default_device("it tests device::cpu itself") {
        return;
    }
    // This binary's CPU device is f64 (first tensor locks it); asking for f32 now is an error.
    let dev = device::cpu(Precision::F64).unwrap();
    let _lock = Tensor::<1>::zeros([1], &dev);
    let e = device::cpu(Precision::F32).unwrap_err();
    assert!(matches!(e, Error::Precision { .. }), "{e}");
    assert!(e.to_string().contains("locked"), "{e}");
    assert_eq!(device::cpu(Precision::F64).unwrap(), dev);
    assert_eq!(device::precision(&dev), Some(Precision::F64));

    let e = device::from_name("tpu", Precision::F64).unwrap_err();
    assert!(matches!(e, Error::Device { .. }), "{e}");
    let e = device::from_name("cuda:x", Precision::F64).unwrap_err();
    assert!(matches!(e, Error::Device { .. }), "{e}");
    let e = device::from_name("flex:1", Precision::F64).unwrap_err();
    assert!(matches!(e, Error::Device { .. }), "{e}");
    #[cfg(not(feature = "wgpu"))]
    {
        let e = device::from_name("wgpu", Precision::F32).unwrap_err();
        assert!(e.to_string().contains("`wgpu` cargo feature"), "{e}");
    }
    #[cfg(not(feature = "cuda"))]
    {
        let e = device::from_name("CUDA:1", Precision::F32).unwrap_err();
        assert!(e.to_string().contains("`cuda` cargo feature"), "{e}");
    }
    assert!(device::from_name(" CPU ", Precision::F64).is_ok());
}

/// With both CPU backends compiled in, `cpu` keeps meaning flex and `ndarray` reaches ndarray:
/// two different devices.
#[cfg(all(feature = "flex", feature = "ndarray"))]
#[test]
fn cpu_means_flex_and_ndarray_is_reachable_by_name() {
    let cpu = device::cpu(Precision::F64).unwrap();
    assert_eq!(device::from_name("flex", Precision::F64).unwrap(), cpu);
    let ndarray = device::from_name("ndarray", Precision::F64).unwrap();
    assert_ne!(ndarray, cpu);
    // Both compute: the same sum on each.
    let sum = |dev: &Device| {
        Tensor::<1>::from_data(TensorData::new(vec![1.0f64, 2.0, 3.5], [3]), dev)
            .sum()
            .into_scalar::<f64>()
    };
    assert_eq!(sum(&cpu), 6.5);
    assert_eq!(sum(&ndarray), 6.5);
}

#[test]
fn devices_are_safe_from_parallel_threads() {
    if common::skip_unless_default_device("it tests device::cpu itself") {
        return;
    }
    let handles: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| device::cpu(Precision::F64).map(|d| device::precision(&d))))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), Some(Precision::F64));
    }
}

#[test]
fn errors_travel_across_threads_and_into_error_reporters() {
    // `anyhow`, `Box<dyn Error + Send + Sync>` and threads need this; a non-Send cause kept as a
    // source would break it (derivation: the bound below does not compile otherwise).
    fn send_sync_static<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync_static::<Error>();
    let boxed: linfit::BoxError =
        Box::new(LinearModel::from_values(0, &[], None, &dev()).unwrap_err());
    assert!(
        boxed.to_string().contains("at least one feature"),
        "{boxed}"
    );
}

/// Without an NVIDIA driver (or without the device asked for), `from_name("cuda...")` is an
/// error, not a panic in Burn's device thread. No machine has a thousand GPUs.
#[cfg(feature = "cuda")]
#[test]
fn cuda_without_the_driver_or_the_device_is_an_error_not_a_panic() {
    match device::from_name("cuda:999", Precision::F32) {
        Err(Error::Device { reason, .. }) => {
            assert!(
                reason.contains("cuda:999") || reason.contains("driver"),
                "{reason}"
            )
        }
        other => panic!("expected a device error, got {other:?}"),
    }
    // Either answer, but an answer (this machine may or may not have the driver and a GPU).
    match device::from_name("cuda", Precision::F32) {
        Ok(_) => println!("CUDA device 0 is here"),
        Err(Error::Device { reason, .. }) => println!("no CUDA here: {reason}"),
        Err(other) => panic!("expected a device error, got {other:?}"),
    }
}
