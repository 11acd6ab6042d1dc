//! Loader for the NIST StRD linear-regression datasets in `data/nist-strd/` (shared by the `nist`
//! example and `tests/nist.rs`), and the log relative error used to score results.
#![allow(dead_code)]

use serde_json::Value;

/// One NIST dataset: its design (polynomial powers built here), response and certified values.
pub struct NistCase {
    pub name: String,
    pub intercept: bool,
    /// Rows of predictors (without the constant column).
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    /// For the polynomial models: the raw `x` and the degree.
    pub polynomial: Option<(Vec<f64>, usize)>,
    /// Certified estimates, B0 (intercept, when present) first.
    pub estimates: Vec<f64>,
    pub std_devs: Vec<f64>,
    pub residual_std_dev: f64,
    pub r_squared: f64,
    pub difficulty: String,
}

/// `x^k`, correctly rounded up to a few units in the last place: the product is carried in two
/// parts (an FMA gives each product's exact error), so the power is not the k-fold rounded one.
fn power(x: f64, k: u32) -> f64 {
    let (mut hi, mut lo) = (1.0f64, 0.0f64);
    for _ in 0..k {
        let p = hi * x;
        let e = hi.mul_add(x, -p);
        let l = lo * x + e;
        hi = p + l;
        lo = l - (hi - p);
    }
    hi + lo
}

fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.trim().replace(['E', 'e'], "e").parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn load_all(dir: &str) -> Result<Vec<NistCase>, Box<dyn std::error::Error>> {
    let certified: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/certified.json"))?)?;
    let mut cases = Vec::new();
    for (name, c) in certified
        .as_object()
        .ok_or("certified.json: not an object")?
    {
        if name.starts_with('_') {
            continue;
        }
        let text = std::fs::read_to_string(format!("{dir}/{}", c["file"].as_str().ok_or("file")?))?;
        let lines: Vec<&str> = text.lines().collect();
        let (first, last) = (
            c["data_lines"][0].as_u64().ok_or("data_lines")? as usize,
            c["data_lines"][1].as_u64().ok_or("data_lines")? as usize,
        );
        let columns: Vec<&str> = c["data_columns"]
            .as_array()
            .ok_or("data_columns")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let model = &c["model"];
        let degree = model["degree"].as_u64();
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut raw = Vec::new();
        for line in &lines[first - 1..last] {
            let values: Vec<f64> = line
                .split_whitespace()
                .map(|v| v.parse::<f64>())
                .collect::<Result<_, _>>()?;
            let get = |col: &str| values[columns.iter().position(|c| *c == col).unwrap_or(0)];
            y.push(get("y"));
            raw.push(get("x"));
            x.push(match degree {
                Some(d) => (1..=d as u32).map(|k| power(get("x"), k)).collect(),
                None => model["predictors"]
                    .as_array()
                    .ok_or("predictors")?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(get)
                    .collect(),
            });
        }
        let params = c["parameters"].as_array().ok_or("parameters")?;
        cases.push(NistCase {
            name: name.clone(),
            intercept: model["intercept"].as_bool().unwrap_or(true),
            x,
            y,
            polynomial: degree.map(|d| (raw, d as usize)),
            estimates: params.iter().map(|p| num(&p["estimate"])).collect(),
            std_devs: params.iter().map(|p| num(&p["std_dev"])).collect(),
            residual_std_dev: num(&c["residual_std_dev"]),
            r_squared: num(&c["r_squared"]),
            difficulty: c["difficulty"].as_str().unwrap_or("").into(),
        });
    }
    Ok(cases)
}

/// Log relative error: the number of correct significant digits of `value` against `certified`
/// (capped at 15; absolute error when the certified value is 0).
pub fn lre(value: f64, certified: f64) -> f64 {
    let err = if certified == 0.0 {
        value.abs()
    } else {
        ((value - certified) / certified).abs()
    };
    if err == 0.0 {
        15.0
    } else {
        (-err.log10()).clamp(0.0, 15.0)
    }
}

/// The minimum LRE over pairs.
pub fn min_lre(values: &[f64], certified: &[f64]) -> f64 {
    values
        .iter()
        .zip(certified)
        .map(|(v, c)| lre(*v, *c))
        .fold(15.0, f64::min)
}
