//! The fused loss `model.loss(x, y, loss)` against the two-call form
//! `loss.forward(model.forward(x), y)` through Burn's autodiff (a second implementation), and
//! against the derivation on the host (`L = s sum r^2`, `dL/dW = 2 s X^T r`, `dL/db = 2 s 1^T r`),
//! in f64 on the test device (flex by default, ndarray in CI's second run).

mod common;

use common::{assert_rel, problem};
use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

/// Loss and gradients (W row-major, then b) from a loss tensor built on `model`.
fn loss_and_grads(model: &LinearModel, loss: Tensor<1>) -> (f64, Vec<f64>, Option<Vec<f64>>) {
    let value: f64 = loss.clone().into_scalar();
    let grads = loss.backward();
    let read = |t: Option<Tensor<2>>| -> Vec<f64> {
        t.expect("weight gradient")
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()
    };
    let gw = read(model.weight_param().val().grad(&grads));
    let gb = model.bias_param().map(|b| {
        b.val()
            .grad(&grads)
            .expect("bias gradient")
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()
    });
    (value, gw, gb)
}

/// The derivation on the host, in plain f64.
fn host(
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    w: &[f64],
    b: Option<&[f64]>,
    mean: bool,
) -> (f64, Vec<f64>, Vec<f64>) {
    let (m, k) = (x[0].len(), y[0].len());
    let s = if mean {
        1.0 / (x.len() * k) as f64
    } else {
        1.0
    };
    let (mut loss, mut gw, mut gb) = (0.0, vec![0.0; m * k], vec![0.0; k]);
    for (row, targets) in x.iter().zip(y) {
        for t in 0..k {
            let r = (0..m).map(|j| row[j] * w[j * k + t]).sum::<f64>() + b.map_or(0.0, |b| b[t])
                - targets[t];
            loss += s * r * r;
            gb[t] += 2.0 * s * r;
            for j in 0..m {
                gw[j * k + t] += 2.0 * s * r * row[j];
            }
        }
    }
    (loss, gw, gb)
}

struct Case {
    n: usize,
    m: usize,
    k: usize,
    bias: bool,
    loss: Loss,
}

#[test]
fn fused_loss_and_gradients_match_the_plain_graph_and_the_derivation() {
    let dev = dev();
    let cases = [
        // Small: one chunk of rows.
        Case {
            n: 10,
            m: 3,
            k: 1,
            bias: true,
            loss: Loss::SumSquared,
        },
        Case {
            n: 37,
            m: 5,
            k: 3,
            bias: false,
            loss: Loss::MeanSquared,
        },
        Case {
            n: 37,
            m: 9,
            k: 2,
            bias: true,
            loss: Loss::SumSquared,
        },
        // Rows over several chunks (parallel on flex), and a width not a multiple of 8.
        Case {
            n: 70_001,
            m: 5,
            k: 1,
            bias: true,
            loss: Loss::MeanSquared,
        },
        Case {
            n: 9_000,
            m: 33,
            k: 2,
            bias: true,
            loss: Loss::SumSquared,
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let (x, y) = problem(c.n, c.m, c.k, 100 + i as u64);
        let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
        let w: Vec<f64> = (0..c.m * c.k).map(|j| 0.3 - 0.07 * j as f64).collect();
        let b: Vec<f64> = (0..c.k).map(|t| 0.25 * t as f64 - 0.1).collect();
        let model = LinearModel::from_values(c.m, &w, c.bias.then_some(&b[..]), &dev).unwrap();

        let fused = model.loss(data.features(), data.targets(), c.loss);
        let plain = c
            .loss
            .forward(model.forward(data.features()), data.targets());
        let (lf, gwf, gbf) = loss_and_grads(&model, fused);
        let (lp, gwp, gbp) = loss_and_grads(&model, plain);
        let what = format!("case {i} (n {}, m {}, k {})", c.n, c.m, c.k);
        assert_rel(&format!("{what}: loss vs plain"), &[lf], &[lp], 1e-12);
        assert_rel(&format!("{what}: weight grad vs plain"), &gwf, &gwp, 1e-12);
        assert_eq!(gbf.is_some(), c.bias);
        if let (Some(gbf), Some(gbp)) = (&gbf, &gbp) {
            assert_rel(&format!("{what}: bias grad vs plain"), gbf, gbp, 1e-12);
        }

        let mean = c.loss == Loss::MeanSquared;
        let (lh, gwh, gbh) = host(&x, &y, &w, c.bias.then_some(&b[..]), mean);
        assert_rel(&format!("{what}: loss vs host"), &[lf], &[lh], 1e-12);
        assert_rel(&format!("{what}: weight grad vs host"), &gwf, &gwh, 1e-11);
        if let Some(gbf) = &gbf {
            assert_rel(&format!("{what}: bias grad vs host"), gbf, &gbh, 1e-11);
        }
    }
}

#[test]
fn fused_loss_composes_with_other_operations() {
    // d/dW (3 L + sum W^2) = 3 dL/dW + 2 W: the incoming gradient scales the saved ones.
    let dev = dev();
    let (x, y) = problem(50, 4, 1, 3);
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let model = LinearModel::from_values(4, &[0.5, -1.0, 2.0, 0.0], Some(&[1.0]), &dev).unwrap();
    let penalty = || model.weight_param().val().square().sum();
    let fused = model.loss(data.features(), data.targets(), Loss::SumSquared) * 3.0 + penalty();
    let plain =
        Loss::SumSquared.forward(model.forward(data.features()), data.targets()) * 3.0 + penalty();
    let (lf, gwf, gbf) = loss_and_grads(&model, fused);
    let (lp, gwp, gbp) = loss_and_grads(&model, plain);
    assert_rel("loss", &[lf], &[lp], 1e-12);
    assert_rel("weight grad", &gwf, &gwp, 1e-12);
    assert_rel("bias grad", &gbf.unwrap(), &gbp.unwrap(), 1e-12);
}

#[test]
fn views_and_inference_models_work() {
    let dev = dev();
    let (x, y) = problem(40, 3, 1, 4);
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let model = LinearModel::from_values(3, &[1.0, -0.5, 0.25], Some(&[0.5]), &dev).unwrap();
    // A slice of rows starting in the middle of the storage, and a transposed-twice view.
    let xs = data.features().slice(13..31);
    let ys = data.targets().slice(13..31);
    let fused: f64 = model
        .loss(xs.clone(), ys.clone(), Loss::MeanSquared)
        .into_scalar();
    let (lh, _, _) = host(
        &x[13..31],
        &y[13..31],
        &[1.0, -0.5, 0.25],
        Some(&[0.5]),
        true,
    );
    assert_rel("loss of a row slice", &[fused], &[lh], 1e-12);
    // The same rows stored column-major, seen through a transpose: a strided view.
    let column_major: Vec<f64> = (0..3)
        .flat_map(|j| x[13..31].iter().map(move |r| r[j]))
        .collect();
    let strided = Tensor::<2>::from_data(
        linfit::burn::tensor::TensorData::new(column_major, [3, 18]),
        (&dev, xs.dtype()),
    )
    .transpose();
    let fused: f64 = model
        .loss(strided, ys.clone(), Loss::MeanSquared)
        .into_scalar();
    assert_rel("loss of a strided view", &[fused], &[lh], 1e-12);
    // On the inference model: the same value, no graph.
    let valid = model.valid();
    let loss = valid.loss(xs, ys, Loss::MeanSquared);
    assert!(!loss.is_tracked());
    assert_rel("inference loss", &[loss.into_scalar::<f64>()], &[lh], 1e-12);
}

#[test]
fn features_that_need_a_gradient_get_one() {
    // X and Y are constants of the fused operation; a tracked X takes the plain graph.
    let dev = dev();
    let (x, y) = problem(6, 2, 1, 5);
    let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
    let model = LinearModel::from_values(2, &[1.0, 2.0], Some(&[0.0]), &dev).unwrap();
    let features = data.features().autodiff().require_grad();
    let loss = model.loss(features.clone(), data.targets(), Loss::SumSquared);
    let grads = loss.backward();
    let gx: Vec<f64> = features
        .grad(&grads)
        .expect("a gradient for the features")
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    // dL/dx_ij = 2 r_i w_j.
    let w = [1.0, 2.0];
    let expected: Vec<f64> = x
        .iter()
        .zip(&y)
        .flat_map(|(row, t)| {
            let r = row[0] * w[0] + row[1] * w[1] - t[0];
            w.iter().map(move |wj| 2.0 * r * wj)
        })
        .collect();
    assert_rel("feature gradient", &gx, &expected, 1e-14);
}

#[test]
#[should_panic(expected = "do not fit a model")]
fn wrong_shapes_panic_with_a_message() {
    let dev = dev();
    let data = Dataset::from_rows(&[vec![1.0, 2.0]], &[1.0], &dev).unwrap();
    let model = LinearModel::from_values(3, &[1.0, 2.0, 3.0], None, &dev).unwrap();
    let _ = model.loss(data.features(), data.targets(), Loss::SumSquared);
}
