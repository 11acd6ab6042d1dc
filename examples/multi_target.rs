//! Several targets at once: Linnerud (20 men; exercises Chins, Situps, Jumps; physiological
//! targets Weight, Waist, Pulse), by SGD on standardised data and by the closed form.
//!
//! ```text
//! cargo run --release --example multi_target
//! ```

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cpu = device::cpu(Precision::F64)?;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/linnerud.csv");
    let targets = ["Weight", "Waist", "Pulse"];
    let data = Dataset::from_csv(path, &targets, &cpu)?;
    let scaler = StandardizerConfig::new().with_targets(true).fit(&data)?;
    let trainer = TrainerConfig::new(SgdConfig::new(0.05).with_momentum(0.9))
        .with_epochs(3000)
        .init()?;
    let fitted = trainer.fit(
        LinearModelConfig::new(3).with_n_targets(3).init(&cpu)?,
        &scaler.transform(&data)?,
    )?;
    let sgd = scaler.to_original_units(&fitted.model)?;
    let exact = LeastSquares::new().fit(&data)?;
    println!(
        "R² (averaged over the 3 targets): SGD {:.6}, closed form {:.6}\n",
        metrics::r2(&sgd, &data)?,
        metrics::r2(exact.model(), &data)?
    );
    let (ws, we) = (sgd.weights(), exact.model().weights());
    for (t, name) in targets.iter().enumerate() {
        print!("{name:<7}");
        for (j, feature) in ["Chins", "Situps", "Jumps"].iter().enumerate() {
            print!(
                "  {feature} {:>9.5} ({:>9.5})",
                ws[j * 3 + t],
                we[j * 3 + t]
            );
        }
        println!();
    }
    println!("(SGD, closed form in parentheses)\n");
    print!("{}", exact.summary());
    Ok(())
}
