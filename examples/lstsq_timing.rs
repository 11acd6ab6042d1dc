//! Times `LeastSquares` on a design read from a raw file, for `benches/compare_lstsq.py`.
//!
//! File format: little-endian `u64 n`, `u64 m`, then `n * m` f64 features (row-major), then `n`
//! f64 targets. Prints one line per solver: `linfit <solver> <median seconds> <w0>`.

use std::time::Instant;

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: lstsq_timing FILE")?;
    let bytes = std::fs::read(&path)?;
    let word = |i: usize| -> [u8; 8] { bytes[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]) };
    let (n, m) = (
        u64::from_le_bytes(word(0)) as usize,
        u64::from_le_bytes(word(1)) as usize,
    );
    if bytes.len() != 8 * (2 + n * m + n) {
        return Err(format!(
            "{path}: expected {} bytes for {n} x {m}",
            8 * (2 + n * m + n)
        )
        .into());
    }
    let floats = |start: usize, len: usize| -> Vec<f64> {
        (start..start + len)
            .map(|i| f64::from_le_bytes(word(i)))
            .collect()
    };
    let (x, y) = (floats(2, n * m), floats(2 + n * m, n));
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
