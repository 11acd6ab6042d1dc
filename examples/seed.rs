//! The seed notebook, reproduced: the same data, the PyTorch-style loop printing the same lines,
//! then the same fit through `Trainer::fit`.
//!
//! ```text
//! cargo run --release --example seed [-- --device cpu|ndarray|wgpu|cuda[:N]]
//! ```
//!
//! The data are the notebook's exact inputs (`data/seed/seed_notebook.json`, regenerated with
//! PyTorch in float64): X = linspace((0,1,2), (1,2,3), 10), y = 3 + 3 x1 + 6 x2 + 9 x3 + noise,
//! and the initial parameters drawn by `torch.randn`.

use std::time::Instant;

use faer::linalg::solvers::DenseSolveCore;
use linfit::prelude::*;

#[path = "support/inputs.rs"]
mod support;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device_name = parse_device_flag()?;
    let device = device::from_name(&device_name, Precision::F64)?;

    let support::SeedNotebook {
        x,
        y,
        w0,
        b0,
        lr,
        n_iter,
    } = support::seed_notebook()?;

    let data = Dataset::from_rows(&x, &y, &device)?;
    println!("linfit: the seed notebook on {device:?}, float64\n");

    // ---- The notebook's loop, line for line ------------------------------------------------
    let mut model = LinearModel::from_values(3, &w0, Some(&[b0]), &device)?;
    let mut optimizer = SgdConfig::new(lr).init()?;
    let start = Instant::now();
    for t in 0..n_iter {
        optimizer.zero_grad();
        let current_loss = Loss::SumSquared.forward(model.forward(data.features()), data.targets());
        optimizer.backward(&current_loss, &model);
        model = optimizer.step(model)?;
        if t % 1000 == 0 {
            let loss: f64 = current_loss.into_scalar();
            let b = model.bias().unwrap_or_default();
            println!(
                "t = {t}, loss = {loss}, W_hat = {}, b_hat = {}",
                numpy_array(&model.weights()),
                b.first().copied().unwrap_or(0.0)
            );
        }
    }
    let loop_time = start.elapsed();

    // ---- The same fit with Trainer::fit --------------------------------------------------------
    let trainer = TrainerConfig::new(SgdConfig::new(lr))
        .with_loss(Loss::SumSquared)
        .with_epochs(n_iter)
        .with_log_every(Some(1000))
        .init()?;
    let start = Instant::now();
    let fitted = trainer.fit(
        LinearModel::from_values(3, &w0, Some(&[b0]), &device)?,
        &data,
    )?;
    let fit_time = start.elapsed();
    println!("\nTrainer::fit, the same run:");
    for entry in &fitted.history {
        println!("  step {:>5}  loss {}", entry.step, entry.loss);
    }
    println!(
        "  final W_hat = {}, b_hat = {}",
        numpy_array(&fitted.model.weights()),
        fitted
            .model
            .bias()
            .unwrap_or_default()
            .first()
            .copied()
            .unwrap_or(0.0)
    );
    println!(
        "\n{n_iter} steps: explicit loop {:.3} s, Trainer::fit {:.3} s (PyTorch 2.15's loop: \
         ~1.4 s on a 2-core machine once warm; its whole Python process, import included, ~5 s)",
        loop_time.as_secs_f64(),
        fit_time.as_secs_f64()
    );
    // ---- The closed form, and why it "disagrees" ------------------------------------------------
    println!(
        "\n---- The closed form --------------------------------------------------------------"
    );
    let fit = LeastSquares::new().fit(&data)?;
    println!("{}", fit.summary());
    let w_min = fit.model().weights();
    let b_min = fit.model().bias().unwrap_or_default();
    println!(
        "minimum-norm solution: W = {}, b = {}, loss = {}",
        numpy_array(&w_min),
        b_min.first().copied().unwrap_or(0.0),
        fit.sse()[0]
    );

    // The notebook's "analytical solution": inv(Xa^T Xa) Xa^T Y_true with Xa = [1, X]. Xa^T Xa
    // is singular (rank 2 of 4), so the inverse LU produces is rounding noise.
    let xa: Vec<[f64; 4]> = x.iter().map(|r| [1.0, r[0], r[1], r[2]]).collect();
    let y_true: Vec<f64> = x
        .iter()
        .map(|r| 3.0 + 3.0 * r[0] + 6.0 * r[1] + 9.0 * r[2])
        .collect();
    let gram = faer::Mat::from_fn(4, 4, |i, j| xa.iter().map(|r| r[i] * r[j]).sum::<f64>());
    let xty = faer::Mat::from_fn(4, 1, |i, _| {
        xa.iter().zip(&y_true).map(|(r, y)| r[i] * y).sum::<f64>()
    });
    let inverse = faer::linalg::solvers::PartialPivLu::new(gram.as_ref()).inverse();
    let naive: Vec<f64> = (0..4)
        .map(|i| (0..4).map(|j| inverse[(i, j)] * xty[(j, 0)]).sum())
        .collect();
    let naive_model = LinearModel::from_values(3, &naive[1..], Some(&naive[..1]), &device)?;
    let naive_loss = fit.explain(&naive_model)?.loss_other;
    println!(
        "the notebook's naive inverse: b = {}, W = {}, loss = {naive_loss:.1}\n  (Xa^T Xa is singular, so \
         this is rounding noise: the notebook's numpy/LAPACK inverse gave other numbers, with a loss of ~14023.9)",
        naive[0],
        numpy_array(&naive[1..]),
    );

    println!("\nWhy gradient descent's answer differs from the minimum-norm one:");
    println!("{}", fit.explain(&fitted.model)?);
    Ok(())
}

/// `--device NAME` (default `cpu`), or `LINFIT_DEVICE`.
fn parse_device_flag() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut name = std::env::var("LINFIT_DEVICE").unwrap_or_else(|_| "cpu".into());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--device" => {
                name = args
                    .next()
                    .ok_or("--device needs a name, e.g. --device cpu")?
            }
            other if other.starts_with("--device=") => name = other["--device=".len()..].into(),
            "-h" | "--help" => {
                println!("usage: seed [--device cpu|flex|ndarray|wgpu|cuda[:N]]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(name)
}

/// NumPy's default printing of a float array (`precision=8`, trailing zeros dropped, aligned).
fn numpy_array(values: &[f64]) -> String {
    let parts: Vec<(String, String)> = values
        .iter()
        .map(|v| {
            let s = format!("{v:.8}");
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let frac = frac.trim_end_matches('0');
            (
                int.to_string(),
                if frac.is_empty() {
                    String::new()
                } else {
                    frac.to_string()
                },
            )
        })
        .collect();
    let int_width = parts.iter().map(|(i, _)| i.len()).max().unwrap_or(0);
    let frac_width = parts.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
    let cells: Vec<String> = parts
        .iter()
        .map(|(i, f)| format!("{i:>int_width$}.{f:<frac_width$}"))
        .collect();
    format!("[{}]", cells.join(" "))
}
