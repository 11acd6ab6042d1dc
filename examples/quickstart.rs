//! The smallest useful linfit program: fit y = 1 + 2 x1 - 3 x2 from noisy data.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use linfit::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

fn main() -> linfit::Result<()> {
    let cpu = device::cpu(Precision::F64)?;

    let mut rng = ChaCha12Rng::seed_from_u64(0);
    let rows: Vec<Vec<f64>> = (0..1000)
        .map(|_| vec![rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
        .collect();
    let targets: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 + 2.0 * r[0] - 3.0 * r[1] + rng.random_range(-0.1..0.1))
        .collect();
    let data = Dataset::from_rows(&rows, &targets, &cpu)?;

    let trainer = TrainerConfig::new(SgdConfig::new(0.1).with_momentum(0.9))
        .with_epochs(20)
        .with_batch_size(Some(32))
        .with_log_every(Some(100))
        .init()?;
    let fitted = trainer.fit(LinearModelConfig::new(2).init(&cpu)?, &data)?;

    for entry in &fitted.history {
        println!(
            "step {:>4} (epoch {:>2}): loss {:.6}",
            entry.step, entry.epoch, entry.loss
        );
    }
    println!(
        "weights {:?}, bias {:?}",
        fitted.model.weights(),
        fitted.model.bias()
    );
    println!("(true values: weights [2, -3], bias 1)");
    Ok(())
}
