//! Times `LeastSquares` on a design read from a raw file, for `benches/compare_lstsq.py`.
//!
//! File format: little-endian `u64 n`, `u64 m`, then `n * m` f64 features (row-major), then `n`
//! f64 targets. Prints one line per solver: `linfit <solver> <median seconds> <w0>`.

use std::time::Instant;

#[path = "support/inputs.rs"]
mod support;

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: lstsq_timing FILE")?;
    let (n, m, x, y) = support::read_design(&path)?;
    let dev = device::cpu(Precision::F64)?;
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev)?;
    for (name, solver) in [
        ("qr", Solver::Qr),
        ("normal_equations", Solver::NormalEquations),
    ] {
        let mut times = Vec::new();
        let mut w0 = f64::NAN;
        for _ in 0..5 {
            let t = Instant::now();
            let fit = LeastSquares::new().with_solver(solver).fit(&data)?;
            times.push(t.elapsed().as_secs_f64());
            w0 = fit.model().weights()[0];
        }
        times.sort_by(f64::total_cmp);
        println!("linfit {name} {:.4} {w0:.12e}", times[2]);
    }
    Ok(())
}
