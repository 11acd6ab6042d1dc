//! Helpers shared by the integration tests: the seed notebook's data and tolerance checks.
#![allow(dead_code)]

use serde_json::Value;

/// The seed notebook's exact inputs and printed trajectory (`data/seed/seed_notebook.json`,
/// regenerated with PyTorch 2.15 in float64; see `data/seed/README.md`).
pub struct Seed {
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    pub w0: Vec<f64>,
    pub b0: f64,
    pub lr: f64,
    pub n_iter: usize,
    /// (t, loss before the t-th update, w after it, b after it)
    pub trajectory: Vec<(usize, f64, Vec<f64>, f64)>,
    pub final_w: Vec<f64>,
    pub final_b: f64,
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn seed() -> Seed {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/seed/seed_notebook.json");
    let text = std::fs::read_to_string(path).expect("read seed_notebook.json");
    let json: Value = serde_json::from_str(&text).expect("parse seed_notebook.json");
    Seed {
        x: json["X"].as_array().unwrap().iter().map(floats).collect(),
        y: floats(&json["y"]),
        w0: floats(&json["w0"]),
        b0: json["b0"].as_f64().unwrap(),
        lr: json["lr"].as_f64().unwrap(),
        n_iter: json["n_iter"].as_u64().unwrap() as usize,
        trajectory: json["trajectory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["t"].as_u64().unwrap() as usize,
                    e["loss"].as_f64().unwrap(),
                    floats(&e["w"]),
                    e["b"].as_f64().unwrap(),
                )
            })
            .collect(),
        final_w: floats(&json["final_w"]),
        final_b: json["final_b"].as_f64().unwrap(),
    }
}

/// |a - b| <= rel * max(|a|, |b|), with a report of the worst offender.
#[track_caller]
pub fn assert_rel(what: &str, actual: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let scale = a.abs().max(e.abs()).max(f64::MIN_POSITIVE);
        let err = (a - e).abs() / scale;
        assert!(
            err <= rel,
            "{what}[{i}]: got {a:e}, expected {e:e} (relative error {err:e} > {rel:e})"
        );
    }
}
