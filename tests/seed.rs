//! The seed notebook, number for number: 10 000 full-batch SGD steps on the sum of squared errors,
//! lr 0.01, float64. Expected values: `data/seed/seed_notebook.json`, what PyTorch printed.
//! Relative tolerance 1e-9: the only differences allowed are the summation order of the matmul
//! and the sum (a few ulps per step, damped by the contraction of gradient descent).

mod common;

use common::{assert_rel, seed};
use linfit::prelude::*;

fn setup() -> (Device, Dataset, LinearModel, common::Seed) {
    let s = seed();
    let dev = common::test_device(Precision::F64);
    let data = Dataset::from_rows(&s.x, &s.y, &dev).unwrap();
    let model = LinearModel::from_values(3, &s.w0, Some(&[s.b0]), &dev).unwrap();
    (dev, data, model, s)
}

#[test]
fn explicit_loop_reproduces_the_notebook() {
    let (_dev, data, mut model, s) = setup();
    let mut sgd = SgdConfig::new(s.lr).init().unwrap();
    let mut checkpoints = s.trajectory.iter().peekable();
    for t in 0..s.n_iter {
        sgd.zero_grad();
        let loss = Loss::SumSquared.forward(model.forward(data.features()), data.targets());
        sgd.backward(&loss, &model);
        model = sgd.step(model).unwrap();
        if let Some((t_ref, loss_ref, w_ref, b_ref)) = checkpoints.peek()
            && *t_ref == t
        {
            let loss: f64 = loss.into_scalar();
            assert_rel(&format!("loss at t = {t}"), &[loss], &[*loss_ref], 1e-9);
            assert_rel(&format!("w at t = {t}"), &model.weights(), w_ref, 1e-9);
            assert_rel(
                &format!("b at t = {t}"),
                &model.bias().unwrap(),
                &[*b_ref],
                1e-9,
            );
            checkpoints.next();
        }
    }
    assert!(checkpoints.next().is_none(), "every checkpoint was visited");
    assert_rel("final w", &model.weights(), &s.final_w, 1e-9);
    assert_rel("final b", &model.bias().unwrap(), &[s.final_b], 1e-9);
}

#[test]
fn trainer_fit_reproduces_the_notebook() {
    let (dev, _, _, s) = setup();
    let (fitted, losses, losses_ref) = common::seed_fit(&dev);
    assert_eq!(fitted.steps, s.n_iter);
    assert_eq!(fitted.epochs, s.n_iter);
    assert_eq!(fitted.stop, StopReason::EpochsDone);
    let steps: Vec<usize> = fitted.history.iter().map(|e| e.step).collect();
    let steps_ref: Vec<usize> = s.trajectory.iter().map(|e| e.0).collect();
    assert_eq!(steps, steps_ref);
    assert_rel("logged losses", &losses, &losses_ref, 1e-9);
    assert_rel("final w", &fitted.model.weights(), &s.final_w, 1e-9);
    assert_rel("final b", &fitted.model.bias().unwrap(), &[s.final_b], 1e-9);
}
