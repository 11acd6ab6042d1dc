//! Train, save (Burn's burnpack format and a plain JSON export), load, and check nothing changed.
//!
//! ```text
//! cargo run --release --example save_load
//! ```

use linfit::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cpu = device::cpu(Precision::F64)?;
    let (data, _) = MakeRegression::new(500, 4)
        .with_noise(0.5)
        .with_bias(3.0)
        .with_seed(1)
        .generate(&cpu)?;
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(300)
        .init()?;
    let model = trainer
        .fit(LinearModelConfig::new(4).init(&cpu)?, &data)?
        .model;

    let dir = std::env::temp_dir().join("linfit-save-load");
    std::fs::create_dir_all(&dir)?;
    let (bpk, json) = (dir.join("model.bpk"), dir.join("model.json"));
    model.save(&bpk)?;
    std::fs::write(&json, model.to_json()?)?;
    println!("saved {} and {}", bpk.display(), json.display());

    let loaded = LinearModel::load(&bpk, 4, 1, true, &cpu)?;
    let from_json = LinearModel::from_json(&std::fs::read_to_string(&json)?, &cpu)?;
    assert_eq!(
        loaded.weights(),
        model.weights(),
        "burnpack round trip is bit-exact"
    );
    assert_eq!(
        from_json.weights(),
        model.weights(),
        "JSON round trip is exact (shortest round-trip decimals)"
    );
    println!(
        "both round trips bit-exact; MSE {:.6}",
        metrics::mse(&loaded, &data)?
    );

    // A file for another shape is an error, not a panic.
    match LinearModel::load(&bpk, 5, 1, true, &cpu) {
        Err(e) => println!("loading as a 5-feature model: {e}"),
        Ok(_) => println!("unexpected: a 5-feature model loaded"),
    }
    println!("\n{}", std::fs::read_to_string(&json)?);
    Ok(())
}
