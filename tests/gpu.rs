//! The parity and convergence tests in single precision on the device named by
//! `LINFIT_TEST_DEVICE` (`cuda`, `wgpu`, `cpu`, ...). Ignored by default; run with
//! `LINFIT_TEST_DEVICE=cuda cargo test --features cuda --test gpu -- --include-ignored`
//! (`scripts/gpu-check.sh` does this). The references are host float64 implementations.
//!
//! Tolerances for f32 (unit roundoff u = 6e-8): the seed run's loss trajectory stays within
//! 1e-5 of PyTorch's float64 numbers on the CPU (2.8e-6 observed); a GPU sums in another order
//! (tree reductions), so we allow 1e-4: still 4 orders of magnitude tighter than a wrong
//! gradient or a missed update would give (those move the loss by > 1e-1 relative).

mod common;

use common::{Reference, problem, rel_norm};
use linfit::prelude::*;

fn device_under_test() -> Device {
    eprintln!("device under test: {} (f32)", common::test_device_name());
    common::test_device(Precision::F32)
}

#[test]
#[ignore = "set LINFIT_TEST_DEVICE and pass --include-ignored"]
fn seed_trajectory_in_f32() {
    let (_, losses, losses_ref) = common::seed_fit(&device_under_test());
    common::assert_rel("f32 losses", &losses, &losses_ref, 1e-4);
}

#[test]
#[ignore = "set LINFIT_TEST_DEVICE and pass --include-ignored"]
fn momentum_mini_batches_match_the_float64_reference() {
    // 200 steps with momentum and weight decay on well-conditioned data: f32 rounding (~1e-7 per
    // step) is damped by the contraction; 1e-4 norm-wise leaves a wide margin.
    let dev = device_under_test();
    let config = SgdConfig::new(0.05)
        .with_momentum(0.8)
        .with_weight_decay(0.001);
    let (x, y) = problem(40, 4, 2, 3);
    let w0 = vec![0.0; 8];
    let b0 = vec![0.0; 2];
    let mut reference = Reference::new(&config, &w0, Some(&b0));
    let ref_losses = reference.run(&x, &y, 8, 40, true);

    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let model = LinearModel::from_values(4, &w0, Some(&b0), &dev).unwrap();
    let fitted = TrainerConfig::new(config)
        .with_epochs(40)
        .with_batch_size(Some(8))
        .with_shuffle(false)
        .with_log_every(Some(1))
        .init()
        .unwrap()
        .fit(model, &data)
        .unwrap();
    let losses: Vec<f64> = fitted.history.iter().map(|e| e.loss).collect();
    assert!(rel_norm(&losses, &ref_losses) < 1e-4);
    assert!(rel_norm(&fitted.model.weights(), &reference.w) < 1e-4);
}

#[test]
#[ignore = "set LINFIT_TEST_DEVICE and pass --include-ignored"]
fn shuffled_training_converges_in_f32() {
    // Noise-free targets: the optimum has zero loss, so f32 training must get the weights to
    // ~1e-3 of the truth (f32 resolution of the loss floor is far below).
    let dev = device_under_test();
    let (x, _) = problem(512, 8, 1, 11);
    let truth: Vec<f64> = (0..8).map(|j| j as f64 - 3.5).collect();
    let y: Vec<Vec<f64>> = x
        .iter()
        .map(|r| vec![1.0 + r.iter().zip(&truth).map(|(a, b)| a * b).sum::<f64>()])
        .collect();
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(0.1).with_momentum(0.9))
        .with_epochs(60)
        .with_batch_size(Some(32))
        .init()
        .unwrap()
        .fit(LinearModelConfig::new(8).init(&dev).unwrap(), &data)
        .unwrap();
    for (w, t) in fitted.model.weights().iter().zip(&truth) {
        assert!((w - t).abs() < 1e-3, "weight {w} vs {t}");
    }
    assert!((fitted.model.bias().unwrap()[0] - 1.0).abs() < 1e-3);
}
