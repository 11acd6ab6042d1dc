//! The plain Burn reference loop the benches compare linfit against, and data helpers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

#[path = "../../examples/support/one_pass.rs"]
mod one_pass_support;
#[allow(unused_imports)] // not every bench uses it
pub use one_pass_support::one_pass;

use linfit::burn::tensor::{DType, TensorData};
use linfit::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// Seeded n x m features U(-1, 1) and y = x w + 0.5 + noise, row-major.
pub fn synthetic(n: usize, m: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let w: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut x = Vec::with_capacity(n * m);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
        y.push(
            0.5 + row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + rng.random_range(-0.1..0.1),
        );
        x.extend(row);
    }
    (x, y)
}

/// The same tensor operations as linfit's training step, written directly on Burn:
/// forward `x W + b`, squared-error loss, backward, `p - lr g` on the inner tensors.
pub struct PlainLoop {
    pub w: Tensor<2>,
    pub b: Tensor<1>,
}

impl PlainLoop {
    pub fn new(m: usize, device: &Device, dtype: DType) -> Self {
        let ad = device.clone().autodiff();
        Self {
            w: Tensor::<2>::from_data(TensorData::new(vec![0.0f64; m], [m, 1]), (&ad, dtype))
                .require_grad(),
            b: Tensor::<1>::from_data(TensorData::new(vec![0.0f64], [1]), (&ad, dtype))
                .require_grad(),
        }
    }

    /// One step on the batch `x`, `y`; `mean` picks the mean (else sum) of squared errors.
    pub fn step(&mut self, x: Tensor<2>, y: Tensor<2>, lr: f64, mean: bool) -> Tensor<1> {
        let pred = x.matmul(self.w.clone()) + self.b.clone().unsqueeze_dim::<2>(0);
        let sq = (pred - y).square();
        let loss = if mean { sq.mean() } else { sq.sum() };
        let grads = loss.backward();
        let gw = self.w.grad(&grads).expect("w grad");
        let gb = self.b.grad(&grads).expect("b grad");
        self.w = (self.w.clone().without_autodiff() - gw.mul_scalar(lr))
            .autodiff()
            .require_grad();
        self.b = (self.b.clone().without_autodiff() - gb.mul_scalar(lr))
            .autodiff()
            .require_grad();
        loss
    }
}

/// Median over `rounds` of the time of `a` and of `b`, run alternately; prints the ratio a / b.
pub fn ratio(label: &str, rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) {
    let mut ta: Vec<Duration> = Vec::new();
    let mut tb: Vec<Duration> = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        a();
        ta.push(t.elapsed());
        let t = Instant::now();
        b();
        tb.push(t.elapsed());
    }
    ta.sort();
    tb.sort();
    let (ma, mb) = (ta[rounds / 2], tb[rounds / 2]);
    println!(
        "RATIO {label}: linfit {:.3} ms, plain Burn loop {:.3} ms, ratio {:.3}",
        ma.as_secs_f64() * 1e3,
        mb.as_secs_f64() * 1e3,
        ma.as_secs_f64() / mb.as_secs_f64()
    );
}

/// Medians over `rounds` of each case's time, the cases run in turn each round (so that the
/// machine's drift touches all alike); prints each median and its ratio to the first case.
pub fn alternate(label: &str, rounds: usize, cases: &mut [(&str, &mut dyn FnMut())]) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            f();
            times[i].push(t.elapsed());
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[rounds / 2].as_secs_f64()
        })
        .collect();
    let parts: Vec<String> = cases
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name} {:.3} ms (x{:.2})", m * 1e3, m / medians[0]))
        .collect();
    println!("RATIO {label}: {}", parts.join(", "));
}
