//! `Sgd` and `Trainer` against an independent float64 implementation of `torch.optim.SGD`,
//! written here from PyTorch's documented algorithm (docs of `torch.optim.SGD`), on the host.
//!
//! Tolerance: norm-wise relative 1e-10 after hundreds of steps. The two implementations differ
//! only in summation order (a few ulps per step); on these well-conditioned problems gradient
//! descent contracts such differences instead of amplifying them.

mod common;

use common::{Reference, problem, rel_norm};
use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

struct Case {
    name: &'static str,
    config: SgdConfig,
    k: usize,
    bias: bool,
    batch: Option<usize>,
    loss: Loss,
}

fn cases() -> Vec<Case> {
    let c = |name, config, k, bias, batch, loss| Case {
        name,
        config,
        k,
        bias,
        batch,
        loss,
    };
    vec![
        c(
            "plain, sum, full batch",
            SgdConfig::new(0.005),
            1,
            true,
            None,
            Loss::SumSquared,
        ),
        c(
            "momentum",
            SgdConfig::new(0.05).with_momentum(0.9),
            1,
            true,
            None,
            Loss::MeanSquared,
        ),
        c(
            "momentum + dampening",
            SgdConfig::new(0.05).with_momentum(0.8).with_dampening(0.3),
            1,
            true,
            None,
            Loss::MeanSquared,
        ),
        c(
            "nesterov",
            SgdConfig::new(0.05).with_momentum(0.9).with_nesterov(true),
            2,
            true,
            None,
            Loss::MeanSquared,
        ),
        c(
            "weight decay",
            SgdConfig::new(0.1).with_weight_decay(0.01),
            1,
            true,
            None,
            Loss::MeanSquared,
        ),
        c(
            "everything, mini-batches in order, 3 targets",
            SgdConfig::new(0.03)
                .with_momentum(0.7)
                .with_dampening(0.1)
                .with_weight_decay(0.001),
            3,
            true,
            Some(7),
            Loss::MeanSquared,
        ),
        c(
            "nesterov + weight decay, mini-batches, no bias, sum",
            SgdConfig::new(0.002)
                .with_momentum(0.5)
                .with_nesterov(true)
                .with_weight_decay(0.01),
            2,
            false,
            Some(16),
            Loss::SumSquared,
        ),
    ]
}

/// Runs the reference over `epochs` passes in row order; returns it and the per-step losses.
fn reference_run(
    case: &Case,
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    epochs: usize,
    w0: &[f64],
    b0: Option<&[f64]>,
) -> (Reference, Vec<f64>) {
    let mut r = Reference::new(&case.config, w0, b0);
    let losses = r.run(
        x,
        y,
        case.batch.unwrap_or(x.len()),
        epochs,
        case.loss == Loss::MeanSquared,
    );
    (r, losses)
}

#[test]
fn trainer_matches_reference_sgd() {
    let dev = dev();
    for (i, case) in cases().iter().enumerate() {
        let m = 4;
        let (x, y) = problem(45, m, case.k, 100 + i as u64);
        let w0: Vec<f64> = (0..m * case.k).map(|j| 0.1 * j as f64 - 0.2).collect();
        let b0: Option<Vec<f64>> = case.bias.then(|| vec![0.3; case.k]);
        let epochs = if case.batch.is_some() { 120 } else { 300 };
        let (reference, ref_losses) = reference_run(case, &x, &y, epochs, &w0, b0.as_deref());

        let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
        let model = LinearModel::from_values(m, &w0, b0.as_deref(), &dev).unwrap();
        let fitted = TrainerConfig::new(case.config.clone())
            .with_loss(case.loss)
            .with_epochs(epochs)
            .with_batch_size(case.batch)
            .with_shuffle(false)
            .with_log_every(Some(1))
            .init()
            .unwrap()
            .fit(model, &data)
            .unwrap();
        assert_eq!(fitted.steps, ref_losses.len(), "{}", case.name);
        assert!(ref_losses.len() >= 300, "{}: hundreds of steps", case.name);
        let losses: Vec<f64> = fitted.history.iter().map(|e| e.loss).collect();
        let err = rel_norm(&losses, &ref_losses);
        assert!(
            err < 1e-10,
            "{}: loss trajectory differs by {err:e}",
            case.name
        );
        let err = rel_norm(&fitted.model.weights(), &reference.w);
        assert!(err < 1e-10, "{}: weights differ by {err:e}", case.name);
        assert_eq!(fitted.model.bias().is_some(), case.bias);
        if let (Some(b), Some(rb)) = (fitted.model.bias(), &reference.b) {
            let err = rel_norm(&b, rb);
            assert!(err < 1e-10, "{}: bias differs by {err:e}", case.name);
        }
    }
}

#[test]
fn explicit_loop_matches_reference_with_momentum() {
    let dev = dev();
    let case = &cases()[5];
    let m = 4;
    let (x, y) = problem(45, m, case.k, 7);
    let w0 = vec![0.0; m * case.k];
    let b0 = vec![0.0; case.k];
    let (reference, _) = reference_run(case, &x, &y, 50, &w0, Some(&b0));

    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    // The PyTorch form `loss_fn(model(x), y)` and the fused `model.loss(x, y, loss_fn)`.
    for fused in [false, true] {
        let mut model = LinearModel::from_values(m, &w0, Some(&b0), &dev).unwrap();
        let mut sgd = case.config.init().unwrap();
        for _ in 0..50 {
            for start in (0..45).step_by(7) {
                let xb = data.features().slice(start..(start + 7).min(45));
                let yb = data.targets().slice(start..(start + 7).min(45));
                sgd.zero_grad();
                let loss = if fused {
                    model.loss(xb, yb, case.loss)
                } else {
                    case.loss.forward(model.forward(xb), yb)
                };
                sgd.backward(&loss, &model);
                model = sgd.step(model).unwrap();
            }
        }
        let err = rel_norm(&model.weights(), &reference.w);
        assert!(err < 1e-10, "fused {fused}: weights differ by {err:e}");
        let err = rel_norm(&model.bias().unwrap(), reference.b.as_ref().unwrap());
        assert!(err < 1e-10, "fused {fused}: bias differs by {err:e}");
    }
}

#[test]
fn backward_without_zero_grad_accumulates() {
    // Two backward calls of the same loss give exactly twice one gradient: a step with lr 1 from
    // zero parameters moves them by -2g instead of -g (both exact in f64: g is exactly doubled).
    let dev = dev();
    let (x, y) = problem(10, 3, 1, 1);
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let zero = || LinearModel::from_values(3, &[0.0; 3], Some(&[0.0]), &dev).unwrap();
    let loss_of = |model: &LinearModel| {
        Loss::SumSquared.forward(model.forward(data.features()), data.targets())
    };

    let mut once = SgdConfig::new(1.0).init().unwrap();
    let model = zero();
    once.backward(&loss_of(&model), &model);
    let once = once.step(model).unwrap();

    let mut twice = SgdConfig::new(1.0).init().unwrap();
    let model = zero();
    twice.backward(&loss_of(&model), &model);
    twice.backward(&loss_of(&model), &model);
    let twice = twice.step(model).unwrap();

    let g1: Vec<f64> = once
        .weights()
        .iter()
        .chain(&once.bias().unwrap())
        .map(|v| -v)
        .collect();
    let g2: Vec<f64> = twice
        .weights()
        .iter()
        .chain(&twice.bias().unwrap())
        .map(|v| -v)
        .collect();
    for (a, b) in g1.iter().zip(&g2) {
        assert_eq!(2.0 * a, *b);
    }
    // And the gradient itself is the derivation's 2 X^T (X w + b - y) at w = b = 0: -2 X^T y.
    let expected_gb: f64 = -2.0 * y.iter().map(|r| r[0]).sum::<f64>();
    common::assert_rel("bias gradient", &[g1[3]], &[expected_gb], 1e-14);
}

#[test]
fn gradients_stay_pending_after_step_like_pytorch() {
    // PyTorch keeps .grad after step(); a second step without backward applies it again.
    let dev = dev();
    let data = Dataset::from_rows(&[vec![1.0], vec![2.0]], &[1.0, 2.0], &dev).unwrap();
    let model = LinearModel::from_values(1, &[0.0], None, &dev).unwrap();
    let mut sgd = SgdConfig::new(0.1).init().unwrap();
    let loss = Loss::SumSquared.forward(model.forward(data.features()), data.targets());
    sgd.backward(&loss, &model);
    let model = sgd.step(model).unwrap();
    let model = sgd.step(model).unwrap();
    // g = 2 * sum x (0 - y) = -10; two steps of 0.1 * 10.
    assert_eq!(model.weights(), vec![2.0]);
    sgd.zero_grad();
    assert!(matches!(sgd.step(model), Err(Error::NoGradients)));
}

/// A failed `Sgd::step` (gradients of another model's shape) or `set_lr` (a negative rate)
/// leaves the optimizer as it was: the next good steps equal those of an optimizer that never
/// saw the failure (momentum buffers, pending gradients and rate unchanged).
#[test]
fn a_failed_call_leaves_the_optimizer_unchanged() {
    let dev = dev();
    let x = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]], &dev);
    let y = Tensor::<2>::from_floats([[1.0], [2.0], [3.0]], &dev);
    let wide = LinearModel::from_values(3, &[0.0; 3], Some(&[0.0]), &dev).unwrap();
    let config = SgdConfig::new(0.01).with_momentum(0.9).with_nesterov(true);
    let (mut failed, mut clean) = (config.init().unwrap(), config.init().unwrap());
    let run = |sgd: &mut Sgd, fail: bool| {
        let mut model = LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &dev).unwrap();
        for step in 0..4 {
            sgd.zero_grad();
            let loss = Loss::SumSquared.forward(model.forward(x.clone()), y.clone());
            sgd.backward(&loss, &model);
            if fail && step == 2 {
                assert!(matches!(
                    sgd.step(wide.clone()),
                    Err(Error::ShapeMismatch { .. })
                ));
                assert!(sgd.set_lr(-1.0).is_err());
                assert_eq!(sgd.lr(), 0.01);
            }
            model = sgd.step(model).unwrap();
        }
        (model.weights(), model.bias())
    };
    assert_eq!(run(&mut failed, true), run(&mut clean, false));
}
