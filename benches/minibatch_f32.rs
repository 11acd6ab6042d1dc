//! Mini-batch SGD on 1 000 000 x 32 in float32, batch 256, shuffled: samples per second of
//! `Trainer::fit` and of a plain Burn loop gathering the same shuffled batches.
//! Its own bench binary, so that the CPU device can be f32. Run:
//! `cargo bench --bench minibatch_f32`.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{PlainLoop, synthetic};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linfit::burn::tensor::{Int, TensorData};
use linfit::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha12Rng;

const BATCH: usize = 256;

fn trainer_epoch(data: &Dataset) -> Fitted {
    let trainer = TrainerConfig::new(SgdConfig::new(0.01))
        .with_epochs(1)
        .with_batch_size(Some(BATCH))
        .init()
        .unwrap();
    let model = LinearModelConfig::new(data.n_features())
        .init(&data.device())
        .unwrap();
    trainer.fit(model, data).unwrap()
}

fn plain_epoch(data: &Dataset, rng: &mut ChaCha12Rng) -> f64 {
    let n = data.n_samples();
    let mut p = PlainLoop::new(data.n_features(), &data.device(), Precision::F32.dtype());
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(rng);
    let perm = Tensor::<1, Int>::from_data(TensorData::new(order, [n]), &data.device());
    let mut last = None;
    for start in (0..n).step_by(BATCH) {
        let idx = perm.clone().slice(start..(start + BATCH).min(n));
        let x = data.features().select(0, idx.clone());
        let y = data.targets().select(0, idx);
        last = Some(p.step(x, y, 0.01, true));
    }
    last.unwrap().into_scalar()
}

fn minibatch(c: &mut Criterion) {
    let dev = device::cpu(Precision::F32).unwrap();
    let (n, m) = (1_000_000, 32);
    let (x, y) = synthetic(n, m, 2);
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
    let mut rng = ChaCha12Rng::seed_from_u64(0);

    let mut linfit_s = Vec::new();
    let mut plain_s = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        black_box(trainer_epoch(&data));
        linfit_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(plain_epoch(&data, &mut rng));
        plain_s.push(t.elapsed().as_secs_f64());
    }
    linfit_s.sort_by(f64::total_cmp);
    plain_s.sort_by(f64::total_cmp);
    println!(
        "RATIO mini-batch 1e6 x 32 f32, batch {BATCH}, one shuffled epoch: linfit {:.0} samples/s, plain Burn loop {:.0} samples/s, time ratio {:.3}",
        n as f64 / linfit_s[1],
        n as f64 / plain_s[1],
        linfit_s[1] / plain_s[1]
    );

    let mut g = c.benchmark_group("minibatch_1e6x32_f32_batch256_epoch");
    g.sample_size(10).throughput(Throughput::Elements(n as u64));
    g.bench_function("trainer_fit", |b| b.iter(|| trainer_epoch(&data)));
    g.bench_function("plain_burn_loop", |b| {
        b.iter(|| plain_epoch(&data, &mut rng))
    });
    g.finish();
}

criterion_group!(benches, minibatch);
criterion_main!(benches);
