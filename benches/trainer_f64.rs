//! `Trainer::fit` against a plain Burn loop doing the same tensor operations, in float64:
//! the seed notebook's run (10 000 full-batch steps on 10 x 3) and full-batch steps on
//! 1 000 000 x 32. Run: `cargo bench --bench trainer_f64`.
//! Besides criterion's figures, each case prints a `RATIO` line: medians of alternating runs.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{PlainLoop, alternate, one_pass, synthetic};
use criterion::{Criterion, criterion_group, criterion_main};
use linfit::prelude::*;

fn seed_data(dev: &Device) -> Dataset {
    // The seed notebook's design: linspace((0,1,2), (1,2,3), 10); any targets do for timing.
    let x: Vec<Vec<f64>> = (0..10)
        .map(|i| {
            let t = i as f64 / 9.0;
            vec![t, t + 1.0, t + 2.0]
        })
        .collect();
    let y: Vec<f64> = (0..10).map(|i| 30.0 + 2.0 * i as f64).collect();
    Dataset::from_rows(&x, &y, dev).unwrap()
}

fn fit(data: &Dataset, steps: usize, lr: f64, loss: Loss) -> Fitted {
    let trainer = TrainerConfig::new(SgdConfig::new(lr))
        .with_loss(loss)
        .with_epochs(steps)
        .init()
        .unwrap();
    let model = LinearModelConfig::new(data.n_features())
        .with_initializer(linfit::burn::nn::Initializer::Zeros)
        .init(&data.device())
        .unwrap();
    trainer.fit(model, data).unwrap()
}

/// The explicit loop with the fused loss: `zero_grad`, `model.loss`, `backward`, `step`.
fn explicit(data: &Dataset, steps: usize, lr: f64, loss: Loss) -> LinearModel {
    let mut model = LinearModelConfig::new(data.n_features())
        .with_initializer(linfit::burn::nn::Initializer::Zeros)
        .init(&data.device())
        .unwrap();
    let mut sgd = SgdConfig::new(lr).init().unwrap();
    for _ in 0..steps {
        sgd.zero_grad();
        let l = model.loss(data.features(), data.targets(), loss);
        sgd.backward(&l, &model);
        model = sgd.step(model).unwrap();
    }
    model
}

fn plain(data: &Dataset, steps: usize, lr: f64, mean: bool) -> f64 {
    let mut p = PlainLoop::new(data.n_features(), &data.device(), Precision::F64.dtype());
    let mut last = None;
    for _ in 0..steps {
        last = Some(p.step(data.features(), data.targets(), lr, mean));
    }
    last.unwrap().into_scalar()
}

fn seed_run(c: &mut Criterion) {
    let dev = device::cpu(Precision::F64).unwrap();
    let data = seed_data(&dev);
    alternate(
        "seed 10 000 steps f64",
        7,
        &mut [
            ("Trainer::fit", &mut || {
                black_box(fit(&data, 10_000, 0.01, Loss::SumSquared));
            }),
            ("explicit loop, model.loss", &mut || {
                black_box(explicit(&data, 10_000, 0.01, Loss::SumSquared));
            }),
            ("plain Burn loop", &mut || {
                black_box(plain(&data, 10_000, 0.01, false));
            }),
        ],
    );
    let mut g = c.benchmark_group("seed_10000_steps_f64");
    g.sample_size(10);
    g.bench_function("trainer_fit", |b| {
        b.iter(|| fit(&data, 10_000, 0.01, Loss::SumSquared))
    });
    g.bench_function("plain_burn_loop", |b| {
        b.iter(|| plain(&data, 10_000, 0.01, false))
    });
    g.finish();
}

fn big_full_batch(c: &mut Criterion) {
    let dev = device::cpu(Precision::F64).unwrap();
    let (n, m) = (1_000_000, 32);
    let (x, y) = synthetic(n, m, 1);
    let host_x = x.clone();
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
    let w = vec![0.5; m];
    // 10 steps a run: per-step time is the run's time / 10; the one-pass limit reads X 10 times.
    alternate(
        "1e6 x 32 f64 full batch, 10 steps",
        5,
        &mut [
            ("Trainer::fit", &mut || {
                black_box(fit(&data, 10, 0.1, Loss::MeanSquared));
            }),
            ("explicit loop, model.loss", &mut || {
                black_box(explicit(&data, 10, 0.1, Loss::MeanSquared));
            }),
            ("plain Burn loop", &mut || {
                black_box(plain(&data, 10, 0.1, true));
            }),
            ("one pass over X (memory limit)", &mut || {
                for _ in 0..10 {
                    black_box(one_pass(&host_x, &w));
                }
            }),
        ],
    );
    let mut g = c.benchmark_group("full_batch_1e6x32_f64_per_step");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("trainer_fit", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            black_box(fit(&data, iters as usize, 0.1, Loss::MeanSquared));
            t.elapsed()
        })
    });
    g.bench_function("plain_burn_loop", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            black_box(plain(&data, iters as usize, 0.1, true));
            t.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, seed_run, big_full_batch);
criterion_main!(benches);
