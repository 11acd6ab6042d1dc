//! Closed-form fits on 1 000 000 x 32 float64, one target: `Solver::Qr` (host, faer) and
//! `Solver::NormalEquations` (Burn matmul on the device, small host solve).
//! `cargo bench --bench lstsq`. For the comparison with numpy and scikit-learn on the same data,
//! run `python3 benches/compare_lstsq.py` (it calls the `lstsq_timing` example).

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use linfit::prelude::*;

fn lstsq(c: &mut Criterion) {
    let dev = device::cpu(Precision::F64).unwrap();
    let (n, m) = (1_000_000, 32);
    let (x, y) = common::synthetic(n, m, 3);
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
    let mut g = c.benchmark_group("lstsq_1e6x32_f64");
    g.sample_size(10);
    for solver in [Solver::Qr, Solver::NormalEquations] {
        g.bench_function(format!("{solver:?}"), |b| {
            b.iter(|| LeastSquares::new().with_solver(solver).fit(&data).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, lstsq);
criterion_main!(benches);
