//! A quick timing report on one device, for comparing the CPU and a GPU in one short run
//! (`scripts/gpu-check.sh` runs it on both): a full-batch step, a mini-batch epoch, and the two
//! closed forms. Criterion benches in `benches/` give the careful
//! figures; this gives comparable ones in seconds.
//!
//! ```text
//! cargo run --release --example bench_report -- [--device cpu|cuda|wgpu] [--precision f32|f64]
//!                                                [--rows 1000000] [--cols 32]
//! ```

use std::time::Instant;

use linfit::burn::nn::Initializer;
use linfit::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

struct Args {
    device: String,
    precision: Precision,
    rows: usize,
    cols: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        device: "cpu".into(),
        precision: Precision::F32,
        rows: 1_000_000,
        cols: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--device" => a.device = value()?,
            "--precision" => {
                a.precision = match value()?.as_str() {
                    "f32" => Precision::F32,
                    "f64" => Precision::F64,
                    other => return Err(format!("precision {other:?}: f32 or f64")),
                }
            }
            "--rows" => a.rows = value()?.parse().map_err(|e| format!("--rows: {e}"))?,
            "--cols" => a.cols = value()?.parse().map_err(|e| format!("--cols: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let dev = device::from_name(&args.device, args.precision)?;
    let (n, m) = (args.rows, args.cols);
    let mut rng = ChaCha12Rng::seed_from_u64(1);
    let w: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut x = Vec::with_capacity(n * m);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
        y.push(0.5 + row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>());
        x.extend(row);
    }
    let t = Instant::now();
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev)?;
    dev.sync()?;
    let upload = t.elapsed().as_secs_f64();
    let zero = || {
        LinearModelConfig::new(m)
            .with_initializer(Initializer::Zeros)
            .init(&dev)
    };

    // Full batch: 3 warm-up steps, then 20 timed steps (the loss is read once, at the end).
    let full = |steps: usize| -> linfit::Result<f64> {
        let trainer = TrainerConfig::new(SgdConfig::new(0.1))
            .with_epochs(steps)
            .init()?;
        let t = Instant::now();
        trainer.fit(zero()?, &data)?;
        dev.sync().ok();
        Ok(t.elapsed().as_secs_f64() / steps as f64)
    };
    full(3)?;
    let step = full(20)?;

    // One shuffled epoch of mini-batches of 256.
    let trainer = TrainerConfig::new(SgdConfig::new(0.01))
        .with_epochs(1)
        .with_batch_size(Some(256))
        .init()?;
    trainer.fit(zero()?, &data)?; // warm-up
    let t = Instant::now();
    trainer.fit(zero()?, &data)?;
    dev.sync().ok();
    let epoch = t.elapsed().as_secs_f64();

    // The closed form by normal equations, accumulated on the device (warm-up, then timed).
    let normal = LeastSquares::new().with_solver(Solver::NormalEquations);
    normal.fit(&data)?;
    let t = Instant::now();
    normal.fit(&data)?;
    let normal_equations = t.elapsed().as_secs_f64();
    // The QR fit (tall: streamed back from the device chunk by chunk, folded on the host).
    let qr = LeastSquares::new().with_solver(Solver::Qr);
    qr.fit(&data)?;
    let t = Instant::now();
    qr.fit(&data)?;
    let qr_fit = t.elapsed().as_secs_f64();
    // After the fit: statsmodels' prediction frames for n new rows (the same rows) and the
    // influence table of the n training rows (warm-up, then timed).
    let fit = normal.fit(&data)?;
    fit.predict_intervals(data.features(), 0.95)?;
    let t = Instant::now();
    fit.predict_intervals(data.features(), 0.95)?;
    let intervals = t.elapsed().as_secs_f64();
    fit.influence(&data)?;
    let t = Instant::now();
    fit.influence(&data)?;
    let influence = t.elapsed().as_secs_f64();

    println!(
        "device {:?} ({}), {:?}, {n} x {m}",
        dev, args.device, args.precision
    );
    println!("  upload                       {:>10.3} s", upload);
    println!("  full-batch step              {:>10.3} ms", step * 1e3);
    println!(
        "  mini-batch (256) epoch       {:>10.3} s  = {:.3} M samples/s",
        epoch,
        n as f64 / epoch / 1e6
    );
    println!(
        "  normal-equations fit         {:>10.3} s",
        normal_equations
    );
    println!("  QR fit (streamed to host)    {:>10.3} s", qr_fit);
    println!(
        "  prediction frames, {n} rows {:>6.3} s  = {:.2}x the normal-equations fit",
        intervals,
        intervals / normal_equations
    );
    println!(
        "  influence table, {n} rows   {:>6.3} s  = {:.2}x the normal-equations fit",
        influence,
        influence / normal_equations
    );
    Ok(())
}
