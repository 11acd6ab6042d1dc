//! linfit's `SgdRegressor` next to the numbers scikit-learn 1.9.1 printed for the same settings
//! (`tests/data/sklearn_sgd_reference.json`, from `scripts/sklearn_sgd_reference.py`: the
//! standardised diabetes data, `shuffle=False`).
//!
//! ```text
//! cargo run --release --example sgd_regressor                 # the side-by-side table
//! cargo run --release --example sgd_regressor -- --time 200   # and fit times (for benches/compare_sklearn_sgd.py)
//! ```
//!
//! With `--time R`, each case is also fitted `R` times and the median time of one `fit` is
//! printed as `time <case> <seconds>` lines.

#[path = "support/sklearn_sgd.rs"]
mod sklearn_sgd;

use std::time::Instant;

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut rounds = 0usize;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--time" => rounds = args.next().ok_or("--time needs a count")?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let cpu = device::cpu(Precision::F64)?;
    let reference = sklearn_sgd::reference()?;
    println!("{}", reference["generator"].as_str().unwrap_or_default());
    println!(
        "{:<44} {:>6} {:>6}  {:>13} {:>13}  {:>9}",
        "case (SGDRegressor settings)", "n_iter", "sk", "coef[2] (bmi)", "sklearn", "max rel."
    );
    let mut worst = 0.0f64;
    let mut times = Vec::new();
    for case in reference["cases"].as_array().ok_or("cases")? {
        let name = case["name"].as_str().ok_or("name")?;
        let data = sklearn_sgd::case_data(&reference, case, &cpu)?;
        let config = sklearn_sgd::config(&case["params"])?;
        let sgd = config.fit(&data)?;
        let coef = sklearn_sgd::floats(&case["coef"]);
        let w = sgd.model().weights();
        let scale = coef.iter().fold(0.0f64, |a, c| a.max(c.abs()));
        let rel = w
            .iter()
            .zip(&coef)
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0, f64::max);
        worst = worst.max(rel);
        let j = 2.min(coef.len() - 1);
        println!(
            "{name:<44} {:>6} {:>6}  {:>13.9} {:>13.9}  {rel:>9.1e}",
            sgd.n_iter(),
            case["n_iter"],
            w[j],
            coef[j]
        );
        if rounds > 0 {
            let mut samples: Vec<f64> = (0..rounds)
                .map(|_| {
                    let start = Instant::now();
                    let fitted = config.fit(&data);
                    let secs = start.elapsed().as_secs_f64();
                    std::hint::black_box(fitted.map(|f| f.n_iter()).unwrap_or(0));
                    secs
                })
                .collect();
            samples.sort_by(f64::total_cmp);
            times.push((name.to_string(), samples[samples.len() / 2]));
        }
    }
    println!(
        "largest difference from scikit-learn, relative to the largest coefficient: {worst:.1e}"
    );
    for (name, secs) in times {
        println!("time {name} {secs:e}");
    }
    Ok(())
}
