//! Helpers shared by the integration tests: the device under test, the seed notebook's data
//! and tolerance checks.
#![allow(dead_code)]

use linfit::{Device, Precision, device};

#[path = "../../examples/support/nist.rs"]
pub mod nist;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde_json::Value;

/// The environment variable that names the device every test runs on (`cpu` when unset).
pub const TEST_DEVICE_VAR: &str = "LINFIT_TEST_DEVICE";

/// The name of the device under test: `LINFIT_TEST_DEVICE`, lower case, or `cpu` when it is
/// unset or empty. CI runs the same test binaries once with `flex` (as `cpu`) and once with
/// `ndarray`.
pub fn test_device_name() -> String {
    match std::env::var(TEST_DEVICE_VAR) {
        Ok(name) if !name.trim().is_empty() => name.trim().to_ascii_lowercase(),
        _ => "cpu".into(),
    }
}

/// The device under test in `precision`, or the error `device::from_name` gives for it (a
/// backend not compiled in, a device locked to the other precision).
pub fn try_test_device(precision: Precision) -> linfit::Result<Device> {
    device::from_name(&test_device_name(), precision)
}

/// The device under test (see [`test_device_name`]) in `precision`; every test that needs a
/// device takes it from here.
#[track_caller]
pub fn test_device(precision: Precision) -> Device {
    try_test_device(precision).unwrap_or_else(|e| {
        panic!(
            "{TEST_DEVICE_VAR}={:?} does not give a {precision:?} device: {e}",
            test_device_name()
        )
    })
}

/// Whether the device under test is the default CPU device (`device::cpu`): `cpu`, or the
/// backend `cpu` means in this build. A test of `device::cpu` itself runs there only, and says
/// so elsewhere (see [`skip_unless_default_device`]).
pub fn on_default_device() -> bool {
    let name = test_device_name();
    name == "cpu" || (cfg!(feature = "flex") && name == "flex")
}

/// `true` (and a printed reason) when this test should not run on the device under test: a
/// test that only makes sense on the default CPU device calls
/// `if skip_unless_default_device("why") { return; }`.
pub fn skip_unless_default_device(why: &str) -> bool {
    if on_default_device() {
        return false;
    }
    eprintln!(
        "skipped on {TEST_DEVICE_VAR}={}: {why} (runs on the default device)",
        test_device_name()
    );
    true
}

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

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
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

/// A seeded, well-conditioned problem: features U(-1, 1), targets a linear function plus noise.
pub fn problem(n: usize, m: usize, k: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let w: Vec<f64> = (0..m * k).map(|_| rng.random_range(-2.0..2.0)).collect();
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..m).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let y = x
        .iter()
        .map(|row| {
            (0..k)
                .map(|j| {
                    0.5 + (0..m).map(|f| row[f] * w[f * k + j]).sum::<f64>()
                        + rng.random_range(-0.1..0.1)
                })
                .collect()
        })
        .collect();
    (x, y)
}

/// The reference: PyTorch's SGD on `y = x W + b`, in plain f64 on the host.
pub struct Reference {
    pub w: Vec<f64>, // row-major [m, k]
    pub b: Option<Vec<f64>>,
    pub buf_w: Option<Vec<f64>>,
    pub buf_b: Option<Vec<f64>>,
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl Reference {
    pub fn new(config: &linfit::SgdConfig, w0: &[f64], b0: Option<&[f64]>) -> Self {
        Reference {
            w: w0.to_vec(),
            b: b0.map(<[f64]>::to_vec),
            buf_w: None,
            buf_b: None,
            lr: config.lr,
            momentum: config.momentum,
            dampening: config.dampening,
            weight_decay: config.weight_decay,
            nesterov: config.nesterov,
        }
    }

    /// `epochs` passes over the rows in order, in batches of `batch`; returns each step's loss.
    pub fn run(
        &mut self,
        x: &[Vec<f64>],
        y: &[Vec<f64>],
        batch: usize,
        epochs: usize,
        mean: bool,
    ) -> Vec<f64> {
        let mut losses = Vec::new();
        for _ in 0..epochs {
            for start in (0..x.len()).step_by(batch) {
                let end = (start + batch).min(x.len());
                losses.push(self.step(&x[start..end], &y[start..end], mean));
            }
        }
        losses
    }

    /// Loss and gradients on rows `x`, `y` (sum or mean of squared errors).
    pub fn grads(&self, x: &[Vec<f64>], y: &[Vec<f64>], mean: bool) -> (f64, Vec<f64>, Vec<f64>) {
        let (m, k) = (x[0].len(), y[0].len());
        let scale = if mean {
            1.0 / (x.len() * k) as f64
        } else {
            1.0
        };
        let mut loss = 0.0;
        let mut gw = vec![0.0; m * k];
        let mut gb = vec![0.0; k];
        for (row, target) in x.iter().zip(y) {
            for j in 0..k {
                let pred: f64 = (0..m).map(|f| row[f] * self.w[f * k + j]).sum::<f64>()
                    + self.b.as_ref().map_or(0.0, |b| b[j]);
                let r = pred - target[j];
                loss += r * r;
                for f in 0..m {
                    gw[f * k + j] += 2.0 * r * row[f] * scale;
                }
                gb[j] += 2.0 * r * scale;
            }
        }
        (loss * scale, gw, gb)
    }

    pub fn update(&self, p: &mut [f64], g: &[f64], buf: &mut Option<Vec<f64>>) {
        let mut g: Vec<f64> = g
            .iter()
            .zip(p.iter())
            .map(|(g, p)| g + self.weight_decay * p)
            .collect();
        if self.momentum != 0.0 {
            let b = match buf.take() {
                None => g.clone(),
                Some(b) => b
                    .iter()
                    .zip(&g)
                    .map(|(b, g)| self.momentum * b + (1.0 - self.dampening) * g)
                    .collect(),
            };
            g = if self.nesterov {
                g.iter()
                    .zip(&b)
                    .map(|(g, b)| g + self.momentum * b)
                    .collect()
            } else {
                b.clone()
            };
            *buf = Some(b);
        }
        for (p, g) in p.iter_mut().zip(&g) {
            *p -= self.lr * g;
        }
    }

    pub fn step(&mut self, x: &[Vec<f64>], y: &[Vec<f64>], mean: bool) -> f64 {
        let (loss, gw, gb) = self.grads(x, y, mean);
        let mut w = std::mem::take(&mut self.w);
        let mut buf_w = self.buf_w.take();
        self.update(&mut w, &gw, &mut buf_w);
        self.w = w;
        self.buf_w = buf_w;
        if let Some(mut b) = self.b.take() {
            let mut buf_b = self.buf_b.take();
            self.update(&mut b, &gb, &mut buf_b);
            self.b = Some(b);
            self.buf_b = buf_b;
        }
        loss
    }
}

/// Norm-wise relative difference ||a - e|| / ||e||.
pub fn rel_norm(actual: &[f64], expected: &[f64]) -> f64 {
    let diff: f64 = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).powi(2))
        .sum();
    let norm: f64 = expected.iter().map(|e| e * e).sum();
    (diff / norm).sqrt()
}

/// The seed notebook's run through `Trainer::fit` on `dev`: full batch, sum of squared errors,
/// lr 0.01, 10 000 epochs, the loss logged every 1000 steps. Returns the fit, its logged losses
/// and the notebook's.
pub fn seed_fit(dev: &linfit::Device) -> (linfit::Fitted, Vec<f64>, Vec<f64>) {
    use linfit::prelude::*;
    let s = seed();
    let data = Dataset::from_rows(&s.x, &s.y, dev).unwrap();
    let model = LinearModel::from_values(3, &s.w0, Some(&[s.b0]), dev).unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(s.lr))
        .with_loss(Loss::SumSquared)
        .with_epochs(s.n_iter)
        .with_log_every(Some(1000))
        .init()
        .unwrap()
        .fit(model, &data)
        .unwrap();
    let losses = fitted.history.iter().map(|e| e.loss).collect();
    let losses_ref = s.trajectory.iter().map(|e| e.1).collect();
    (fitted, losses, losses_ref)
}

/// What [`reference_lstsq`] returns: weights `[m][k]` row-major, intercepts, SSE per target.
pub struct ReferenceFit {
    pub weights: Vec<f64>,
    pub intercepts: Vec<f64>,
    pub sse: Vec<f64>,
    pub rank: usize,
}

/// An independent least-squares reference, written here from the textbook and not through
/// linfit: centre (when `intercept`), thin SVD of the whole design with faer, minimum-norm
/// solution over the singular values above `eps * max(n, m) * s_max`, residuals summed directly
/// from the centred data.
/// `x` row-major `[n][m]`, `y` row-major `[n][k]`.
pub fn reference_lstsq(x: &[f64], y: &[f64], m: usize, k: usize, intercept: bool) -> ReferenceFit {
    let n = x.len() / m;
    // Two-pass mean (a first estimate, then the mean of the deviations from it), so that large
    // offsets leave no rounding error in the centring.
    let mean = |v: &[f64], w: usize, j: usize| {
        if intercept {
            let first = (0..n).map(|i| v[i * w + j]).sum::<f64>() / n as f64;
            first + (0..n).map(|i| v[i * w + j] - first).sum::<f64>() / n as f64
        } else {
            0.0
        }
    };
    let x_mean: Vec<f64> = (0..m).map(|j| mean(x, m, j)).collect();
    let y_mean: Vec<f64> = (0..k).map(|t| mean(y, k, t)).collect();
    let z = faer::Mat::from_fn(n, m, |i, j| x[i * m + j] - x_mean[j]);
    let svd = faer::linalg::solvers::Svd::new_thin(z.as_ref()).expect("SVD");
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let tol = f64::EPSILON * n.max(m) as f64 * s[0];
    let rank = (0..s.nrows()).filter(|&c| s[c] > tol).count();
    let mut weights = vec![0.0; m * k];
    for t in 0..k {
        for c in 0..rank {
            let uty: f64 = (0..n).map(|i| u[(i, c)] * (y[i * k + t] - y_mean[t])).sum();
            for j in 0..m {
                weights[j * k + t] += v[(j, c)] * uty / s[c];
            }
        }
    }
    let intercepts: Vec<f64> = (0..k)
        .map(|t| y_mean[t] - (0..m).map(|j| x_mean[j] * weights[j * k + t]).sum::<f64>())
        .collect();
    // Residuals from the centred data (exact differences of nearby numbers), so that large
    // offsets do not round them away.
    let sse = (0..k)
        .map(|t| {
            (0..n)
                .map(|i| {
                    let pred: f64 = (0..m).map(|j| z[(i, j)] * weights[j * k + t]).sum();
                    let r = (y[i * k + t] - y_mean[t]) - pred;
                    r * r
                })
                .sum()
        })
        .collect();
    ReferenceFit {
        weights,
        intercepts,
        sse,
        rank,
    }
}

/// A reference file of `tests/data/` (written by a script in `scripts/`), parsed.
pub fn reference_json(file: &str) -> Value {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `actual` within `rel` of `expected`, relative to `expected`.
#[track_caller]
pub fn close(what: &str, actual: f64, expected: f64, rel: f64) {
    let err = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        err <= rel,
        "{what}: {actual:e} vs reference {expected:e} (relative {err:.2e} > {rel:e})"
    );
}

/// scikit-learn's diabetes data (`data/sklearn/diabetes.csv`, target `target`) on `dev`.
pub fn diabetes(dev: &Device) -> linfit::Dataset {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sklearn/diabetes.csv");
    linfit::Dataset::from_csv(path, &["target"], dev).unwrap()
}

/// NIST's Longley data (`data/nist-strd/Longley.dat`: y on x1..x6) on `dev`.
pub fn longley(dev: &Device) -> linfit::Dataset {
    let case = nist::load_all(concat!(env!("CARGO_MANIFEST_DIR"), "/data/nist-strd"))
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Longley")
        .unwrap();
    linfit::Dataset::from_rows(&case.x, &case.y, dev).unwrap()
}
