//! Inputs shared by the examples: the seed notebook's data, and the raw design files that
//! `benches/compare_*.py` write.
#![allow(dead_code)]

use serde_json::Value;

type AnyError = Box<dyn std::error::Error>;

/// The seed notebook's exact inputs (`data/seed/seed_notebook.json`).
pub struct SeedNotebook {
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    pub w0: Vec<f64>,
    pub b0: f64,
    pub lr: f64,
    pub n_iter: usize,
}

pub fn seed_notebook() -> Result<SeedNotebook, AnyError> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/seed/seed_notebook.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    Ok(SeedNotebook {
        x: json["X"]
            .as_array()
            .ok_or("X")?
            .iter()
            .map(floats)
            .collect(),
        y: floats(&json["y"]),
        w0: floats(&json["w0"]),
        b0: json["b0"].as_f64().ok_or("b0")?,
        lr: json["lr"].as_f64().ok_or("lr")?,
        n_iter: json["n_iter"].as_u64().ok_or("n_iter")? as usize,
    })
}

/// A design file: little-endian `u64 n`, `u64 m`, `n * m` f64 features (row-major), `n` f64
/// targets. Returns `(n, m, features, targets)`.
pub fn read_design(path: &str) -> Result<(usize, usize, Vec<f64>, Vec<f64>), AnyError> {
    let bytes = std::fs::read(path)?;
    let word = |i: usize| -> [u8; 8] { bytes[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]) };
    if bytes.len() < 16 {
        return Err(format!("{path}: too short for a design file").into());
    }
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
    Ok((n, m, floats(2, n * m), floats(2 + n * m, n)))
}
