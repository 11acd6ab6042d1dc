//! Every NIST StRD linear-regression dataset through `LeastSquares`, scored by the log relative
//! error (LRE: the number of correct significant digits, at most 15) of the estimates, their
//! standard errors, the residual standard deviation and R².
//!
//! Polynomial datasets are fitted twice: with the powers `x, x^2, ...` as features (what a user
//! would build by hand: the powers are rounded to f64, which alone limits Filip to ~7.6 digits
//! whatever the solver), and with `LeastSquares::fit_polynomial`, which works in a
//! well-conditioned basis.
//!
//! ```text
//! cargo run --release --example nist [-- --solver qr|svd|normal]
//! ```

#[path = "support/nist.rs"]
mod nist;

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let solver = match args
        .iter()
        .position(|a| a == "--solver")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
    {
        None | Some("qr") => Solver::Qr,
        Some("svd") => Solver::Svd,
        Some("normal") => Solver::NormalEquations,
        Some(other) => return Err(format!("unknown solver {other:?}: qr, svd or normal").into()),
    };
    let cpu = device::cpu(Precision::F64)?;
    let cases = nist::load_all(concat!(env!("CARGO_MANIFEST_DIR"), "/data/nist-strd"))?;
    println!(
        "NIST StRD linear least squares, solver {solver:?}: LRE (correct significant digits, max 15)\n"
    );
    println!(
        "{:<10} {:<8} {:<16} {:>10} {:>10} {:>10} {:>10}",
        "dataset", "level", "design", "estimates", "std errs", "resid SD", "R^2"
    );
    for case in &cases {
        let ls = LeastSquares::new()
            .with_intercept(case.intercept)
            .with_solver(solver);
        let fit = ls.fit(&Dataset::from_rows(&case.x, &case.y, &cpu)?)?;
        let s = &fit.summary().targets[0];
        let coefs: Vec<&Coefficient> = s.intercept.iter().chain(&s.coefficients).collect();
        let est: Vec<f64> = coefs.iter().map(|c| c.estimate).collect();
        let se: Vec<f64> = coefs
            .iter()
            .map(|c| c.std_error.unwrap_or(f64::NAN))
            .collect();
        let row = |design: &str, est: &[f64], se: &[f64], sd: f64, r2: f64| {
            println!(
                "{:<10} {:<8} {:<16} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                case.name,
                case.difficulty,
                design,
                nist::min_lre(est, &case.estimates),
                nist::min_lre(se, &case.std_devs),
                nist::lre(sd, case.residual_std_dev),
                nist::lre(r2, case.r_squared),
            );
        };
        let design = if case.polynomial.is_some() {
            "powers of x"
        } else {
            "as given"
        };
        row(design, &est, &se, s.residual_std_dev, s.r_squared);
        if let Some((x, degree)) = &case.polynomial {
            let poly = ls.fit_polynomial(x, &case.y, *degree, &cpu)?;
            let se: Vec<f64> = poly
                .std_errors()
                .iter()
                .map(|s| s.unwrap_or(f64::NAN))
                .collect();
            let s = &poly.fit_in_u().summary().targets[0];
            row(
                "fit_polynomial",
                poly.coefficients(),
                &se,
                s.residual_std_dev,
                s.r_squared,
            );
        }
    }
    Ok(())
}
