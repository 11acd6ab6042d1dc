//! Real data: scikit-learn's diabetes set (442 patients, 10 raw baseline variables), from CSV.
//!
//! ```text
//! cargo run --release --example diabetes [-- --out DIR]
//! ```
//!
//! 1. Plain SGD on the raw features: their scales differ by two orders of magnitude, so a
//!    learning rate that suits `bmi` makes `s1` (serum cholesterol, ~200) diverge, and one small
//!    enough for `s1` crawls. 2. With the `Standardizer`, one rate suits every coefficient and
//!    SGD converges; the model is mapped back to the original units. 3. The closed form on the
//!    same training set, and test-set R² for both. 4. Plots: the loss curve and predicted vs
//!    actual (`DIR`, default `target/plots`).

use std::ops::ControlFlow;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/plots")),
            PathBuf::from,
        );
    let cpu = device::cpu(Precision::F64)?;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    let data = Dataset::from_csv(path, &["target"], &cpu)?;
    let (train, test) = data.train_test_split(0.2, 42)?;
    println!(
        "diabetes: {} rows, {} features; {} for training, {} for testing\n",
        data.n_samples(),
        data.n_features(),
        train.n_samples(),
        test.n_samples()
    );

    // 1. Raw features.
    let raw = |lr: f64, epochs: usize| {
        TrainerConfig::new(SgdConfig::new(lr))
            .with_epochs(epochs)
            .with_log_every(Some(epochs.max(1) / 4))
            .init()?
            .fit(LinearModelConfig::new(10).init(&cpu)?, &train)
    };
    match raw(1e-3, 200) {
        Err(e) => println!("raw features, lr 1e-3: {e}\n"),
        Ok(f) => println!(
            "raw features, lr 1e-3: final loss {:.1}",
            f.history.last().map_or(f64::NAN, |e| e.loss)
        ),
    }
    let crawl = raw(1e-5, 2000)?;
    println!(
        "raw features, lr 1e-5, 2000 epochs: training MSE {:.1}, test R² {:.3} (still crawling)\n",
        metrics::mse(&crawl.model, &train)?,
        metrics::r2(&crawl.model, &test)?
    );

    // 2. Standardised features and targets.
    let scaler = StandardizerConfig::new().with_targets(true).fit(&train)?;
    let train_s = scaler.transform(&train)?;
    let epochs = 500;
    let bar = ProgressBar::new(epochs as u64);
    bar.set_style(ProgressStyle::with_template(
        "SGD on standardised data {bar:40} {pos}/{len} epochs  loss {msg}",
    )?);
    let trainer = TrainerConfig::new(SgdConfig::new(0.1).with_momentum(0.9))
        .with_epochs(epochs)
        .with_log_every(Some(5))
        .init()?;
    let fitted = trainer.fit_with(LinearModelConfig::new(10).init(&cpu)?, &train_s, |entry| {
        bar.set_position(entry.epoch as u64 + 1);
        bar.set_message(format!("{:.6}", entry.loss));
        ControlFlow::Continue(())
    })?;
    bar.finish();
    let sgd = scaler.to_original_units(&fitted.model)?;
    // The same without momentum, for the loss plot's comparison.
    #[cfg(feature = "plot")]
    let plain = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(epochs)
        .with_log_every(Some(5))
        .init()?
        .fit(LinearModelConfig::new(10).init(&cpu)?, &train_s)?;

    // 3. The closed form on the raw training data.
    let exact = LeastSquares::new().fit(&train)?;
    println!("\n{:<28} {:>14} {:>10}", "", "train MSE", "test R²");
    println!(
        "{:<28} {:>14.6} {:>10.4}",
        "SGD, standardised",
        metrics::mse(&sgd, &train)?,
        metrics::r2(&sgd, &test)?
    );
    println!(
        "{:<28} {:>14.6} {:>10.4}",
        "closed form (QR)",
        metrics::mse(exact.model(), &train)?,
        metrics::r2(exact.model(), &test)?
    );
    println!("\ncoefficients in original units (SGD vs closed form):");
    for (name, (a, b)) in data
        .feature_names()
        .iter()
        .zip(sgd.weights().iter().zip(exact.model().weights()))
    {
        println!("  {name:<4} {a:>12.5} {b:>12.5}");
    }
    println!(
        "  bias {:>12.5} {:>12.5}",
        sgd.bias().unwrap_or_default()[0],
        exact.model().bias().unwrap_or_default()[0]
    );
    println!("\n{}", exact.summary());

    // 4. Plots.
    #[cfg(feature = "plot")]
    {
        std::fs::create_dir_all(&out)?;
        let (loss_png, pred_png) = (
            out.join("diabetes_loss.png"),
            out.join("diabetes_predicted.png"),
        );
        linfit::plot::LossPlot::new()
            .series("SGD, momentum 0.9", &fitted.history)
            .series("SGD, no momentum", &plain.history)
            .loss(Loss::MeanSquared)
            .title("Diabetes: training loss on the standardised data (lr 0.1)")
            .save(&loss_png)?;
        linfit::plot::predicted_vs_actual(&sgd, &test, &pred_png)?;
        println!("plots: {} and {}", loss_png.display(), pred_png.display());
    }
    #[cfg(not(feature = "plot"))]
    println!(
        "(plots need the `plot` feature; {} not written)",
        out.display()
    );
    Ok(())
}
