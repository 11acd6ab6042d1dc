//! Times gradient-descent training on a design read from a raw file, for
//! `benches/compare_torch.py` (which runs PyTorch on the same file and the same workloads).
//!
//! ```text
//! cargo run --release --example training_timing -- FILE --precision f64|f32 [--rounds 5]
//! ```
//!
//! File format: little-endian `u64 n`, `u64 m`, then `n * m` f64 features (row-major), then `n`
//! f64 targets (as `lstsq_timing`). One precision per process: a device's float type is fixed
//! at its first tensor. Prints one line per workload, `linfit <workload> <median> <unit>
//! <check>`, the check being a number both sides compute (a loss or a weight):
//! - `full_batch_step`: mean-squared-error full-batch steps, lr 0.1, from zero parameters;
//!   median of `rounds` runs of 10 steps, per step.
//! - `one_pass` (f64 and f32): one read of the features (`X w` with `w = 0.5`), the memory
//!   limit of a step; the check is `sum(X w)`.
//! - `minibatch_epoch` (f32): one shuffled epoch of batch 256, lr 0.01, from zero parameters;
//!   samples per second.
//! - `seed_run` (f64): the seed notebook's 10 000 full-batch steps (`data/seed`), the
//!   `Trainer::fit` and explicit-loop forms; seconds.

use std::time::Instant;

#[path = "support/inputs.rs"]
mod inputs;
#[path = "support/one_pass.rs"]
mod support;

use linfit::burn::nn::Initializer;
use linfit::prelude::*;
use support::one_pass;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: training_timing FILE --precision f64|f32")?;
    let (mut precision, mut rounds) = (Precision::F64, 5usize);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--precision" => {
                precision = match value.as_str() {
                    "f64" => Precision::F64,
                    "f32" => Precision::F32,
                    other => return Err(format!("unknown precision {other}").into()),
                }
            }
            "--rounds" => rounds = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let (n, m, x, y) = inputs::read_design(&path)?;
    let name = match precision {
        Precision::F64 => "f64",
        _ => "f32",
    };
    let dev = device::cpu(precision)?;

    // The memory limit: one read of X in the device's float type.
    let w = vec![0.5; m];
    let (secs, check) = match precision {
        Precision::F64 => median(rounds, || one_pass(&x, &w)),
        _ => {
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            median(rounds, || one_pass(&x32, &w))
        }
    };
    println!("linfit one_pass_{name} {:.6} ms {check:.6e}", secs * 1e3);

    let data = Dataset::from_flat(x, y, [n, m], 1, &dev)?;
    let zero_model = || {
        LinearModelConfig::new(m)
            .with_initializer(Initializer::Zeros)
            .init(&dev)
    };
    let (secs, check) = median(rounds, || {
        let trainer = TrainerConfig::new(SgdConfig::new(0.1))
            .with_epochs(10)
            .init()
            .expect("valid settings");
        let fitted = trainer
            .fit(zero_model().expect("model"), &data)
            .expect("training");
        fitted.model.weights()[0]
    });
    println!(
        "linfit full_batch_step_{name} {:.6} ms {check:.12e}",
        secs * 1e3 / 10.0
    );

    if precision == Precision::F32 {
        let (secs, check) = median(rounds, || {
            let trainer = TrainerConfig::new(SgdConfig::new(0.01))
                .with_epochs(1)
                .with_batch_size(Some(256))
                .init()
                .expect("valid settings");
            let fitted = trainer
                .fit(zero_model().expect("model"), &data)
                .expect("training");
            fitted.model.weights()[0]
        });
        println!(
            "linfit minibatch_epoch_{name} {:.0} samples/s {check:.6e}",
            n as f64 / secs
        );
    } else {
        seed_runs(rounds, &dev)?;
    }
    Ok(())
}

/// The seed notebook's run, as `Trainer::fit` and as the explicit loop.
fn seed_runs(rounds: usize, dev: &Device) -> Result<(), Box<dyn std::error::Error>> {
    let inputs::SeedNotebook {
        x,
        y,
        w0,
        b0,
        lr,
        n_iter: steps,
    } = inputs::seed_notebook()?;
    let data = Dataset::from_rows(&x, &y, dev)?;
    let initial = || LinearModel::from_values(3, &w0, Some(&[b0]), dev).expect("model");

    let (secs, check) = median(rounds, || {
        let trainer = TrainerConfig::new(SgdConfig::new(lr))
            .with_loss(Loss::SumSquared)
            .with_epochs(steps)
            .init()
            .expect("valid settings");
        trainer
            .fit(initial(), &data)
            .expect("training")
            .model
            .weights()[0]
    });
    println!("linfit seed_run_fit {secs:.6} s {check:.12e}");
    let (secs, check) = median(rounds, || {
        let mut model = initial();
        let mut sgd = SgdConfig::new(lr).init().expect("valid settings");
        for _ in 0..steps {
            sgd.zero_grad();
            let loss = model.loss(data.features(), data.targets(), Loss::SumSquared);
            sgd.backward(&loss, &model);
            model = sgd.step(model).expect("step");
        }
        model.weights()[0]
    });
    println!("linfit seed_run_loop {secs:.6} s {check:.12e}");
    Ok(())
}

/// Median seconds over `rounds` runs after one warm-up, and the last run's check value.
fn median(rounds: usize, mut f: impl FnMut() -> f64) -> (f64, f64) {
    let mut check = f();
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            check = f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[rounds / 2], check)
}
