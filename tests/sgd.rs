//! `Sgd` and `Trainer` against an independent float64 implementation of `torch.optim.SGD`,
//! written here from PyTorch's documented algorithm (docs of `torch.optim.SGD`), on the host.
//!
//! Tolerance: norm-wise relative 1e-10 after hundreds of steps. The two implementations differ
//! only in summation order (a few ulps per step); on these well-conditioned problems gradient
//! descent contracts such differences instead of amplifying them.

mod common;

use linfit::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn dev() -> Device {
    device::from_env("LINFIT_TEST_DEVICE", Precision::F64).expect("f64 device")
}

/// A seeded, well-conditioned problem: features U(-1, 1), targets a linear function plus noise.
fn problem(n: usize, m: usize, k: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let w: Vec<f64> = (0..m * k).map(|_| rng.random_range(-2.0..2.0)).collect();
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..m).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let y = x
        .iter()
        .map(|row| {
            (0..k)
                .map(|j| {
                    0.5 + (0..m).map(|f| row[f] * w[f * k + j]).sum::<f64>()
                        + rng.random_range(-0.1..0.1)
                })
                .collect()
        })
        .collect();
    (x, y)
}

/// The reference: PyTorch's SGD on `y = x W + b`, in plain f64 on the host.
struct Reference {
    w: Vec<f64>, // row-major [m, k]
    b: Option<Vec<f64>>,
    buf_w: Option<Vec<f64>>,
    buf_b: Option<Vec<f64>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

impl Reference {
    /// Loss and gradients on rows `x`, `y` (sum or mean of squared errors).
    fn grads(&self, x: &[Vec<f64>], y: &[Vec<f64>], mean: bool) -> (f64, Vec<f64>, Vec<f64>) {
        let (m, k) = (x[0].len(), y[0].len());
        let scale = if mean {
            1.0 / (x.len() * k) as f64
        } else {
            1.0
        };
        let mut loss = 0.0;
        let mut gw = vec![0.0; m * k];
        let mut gb = vec![0.0; k];
        for (row, target) in x.iter().zip(y) {
            for j in 0..k {
                let pred: f64 = (0..m).map(|f| row[f] * self.w[f * k + j]).sum::<f64>()
                    + self.b.as_ref().map_or(0.0, |b| b[j]);
                let r = pred - target[j];
                loss += r * r;
                for f in 0..m {
                    gw[f * k + j] += 2.0 * r * row[f] * scale;
                }
                gb[j] += 2.0 * r * scale;
            }
        }
        (loss * scale, gw, gb)
    }

    fn update(&self, p: &mut [f64], g: &[f64], buf: &mut Option<Vec<f64>>) {
        let mut g: Vec<f64> = g
            .iter()
            .zip(p.iter())
            .map(|(g, p)| g + self.weight_decay * p)
            .collect();
        if self.momentum != 0.0 {
            let b = match buf.take() {
                None => g.clone(),
                Some(b) => b
                    .iter()
                    .zip(&g)
                    .map(|(b, g)| self.momentum * b + (1.0 - self.dampening) * g)
                    .collect(),
            };
            g = if self.nesterov {
                g.iter()
                    .zip(&b)
                    .map(|(g, b)| g + self.momentum * b)
                    .collect()
            } else {
                b.clone()
            };
            *buf = Some(b);
        }
        for (p, g) in p.iter_mut().zip(&g) {
            *p -= self.lr * g;
        }
    }

    fn step(&mut self, x: &[Vec<f64>], y: &[Vec<f64>], mean: bool) -> f64 {
        let (loss, gw, gb) = self.grads(x, y, mean);
        let mut w = std::mem::take(&mut self.w);
        let mut buf_w = self.buf_w.take();
        self.update(&mut w, &gw, &mut buf_w);
        self.w = w;
        self.buf_w = buf_w;
        if let Some(mut b) = self.b.take() {
            let mut buf_b = self.buf_b.take();
            self.update(&mut b, &gb, &mut buf_b);
            self.b = Some(b);
            self.buf_b = buf_b;
        }
        loss
    }
}

fn rel_norm(actual: &[f64], expected: &[f64]) -> f64 {
    let diff: f64 = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).powi(2))
        .sum();
    let norm: f64 = expected.iter().map(|e| e * e).sum();
    (diff / norm).sqrt()
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

/// Runs the reference over `epochs` passes in row order; returns the per-step losses.
fn reference_run(
    case: &Case,
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    epochs: usize,
    w0: &[f64],
    b0: Option<&[f64]>,
) -> (Reference, Vec<f64>) {
    let mut r = Reference {
        w: w0.to_vec(),
        b: b0.map(<[f64]>::to_vec),
        buf_w: None,
        buf_b: None,
        lr: case.config.lr,
        momentum: case.config.momentum,
        dampening: case.config.dampening,
        weight_decay: case.config.weight_decay,
        nesterov: case.config.nesterov,
    };
    let batch = case.batch.unwrap_or(x.len());
    let mut losses = Vec::new();
    for _ in 0..epochs {
        for start in (0..x.len()).step_by(batch) {
            let end = (start + batch).min(x.len());
            losses.push(r.step(
                &x[start..end],
                &y[start..end],
                case.loss == Loss::MeanSquared,
            ));
        }
    }
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
    let mut model = LinearModel::from_values(m, &w0, Some(&b0), &dev).unwrap();
    let mut sgd = case.config.init().unwrap();
    for _ in 0..50 {
        for start in (0..45).step_by(7) {
            let xb = data.features().slice(start..(start + 7).min(45));
            let yb = data.targets().slice(start..(start + 7).min(45));
            sgd.zero_grad();
            let loss = case.loss.forward(model.forward(xb), yb);
            sgd.backward(&loss, &model);
            model = sgd.step(model).unwrap();
        }
    }
    assert!(rel_norm(&model.weights(), &reference.w) < 1e-10);
    assert!(rel_norm(&model.bias().unwrap(), reference.b.as_ref().unwrap()) < 1e-10);
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
