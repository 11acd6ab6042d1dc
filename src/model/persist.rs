//! Saving and loading models: Burn's own record format (burnpack) and a plain JSON export.

use std::path::Path;

use burn::module::Module;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::{check_values, checked_size, try_values};
use crate::device::Precision;
use crate::error::BoxError;
use crate::model::LinearModel;
use crate::{Error, Result};

/// The coefficients of a [`LinearModel`] as plain data, for use outside Rust (serde; JSON via
/// [`LinearModel::to_json`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCoefficients {
    /// Always `"linfit.LinearModel"`.
    pub format: String,
    /// Number of features `m`.
    pub n_features: usize,
    /// Number of targets `k`.
    pub n_targets: usize,
    /// `"f32"` or `"f64"`: the precision the model was trained in (`"unknown"` for a model whose
    /// parameters were moved to another float type outside linfit).
    pub precision: String,
    /// `weights[j][t]`: the weight of feature `j` for target `t`.
    pub weights: Vec<Vec<f64>>,
    /// The bias per target, if any.
    pub bias: Option<Vec<f64>>,
    /// The names of the features the model was fitted on, when the data named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<Vec<String>>,
    /// The names of the targets, when the data named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_names: Option<Vec<String>>,
}

const FORMAT: &str = "linfit.LinearModel";

/// The metadata key of the CRC-32 of a saved model's tensors.
const CHECKSUM_KEY: &str = "linfit.crc32";
/// The names a file records: (features, targets), each when given.
type SavedNames = (Option<Vec<String>>, Option<Vec<String>>);

/// The metadata keys of the names the model was fitted on (JSON arrays), when given.
const FEATURE_NAMES_KEY: &str = "linfit.feature_names";
const TARGET_NAMES_KEY: &str = "linfit.target_names";

/// The bytes burnpack stores for a tensor of `values` in `precision`: little-endian floats.
/// (The values were read back from that precision, so the conversion is exact.)
fn stored_bytes(values: &[f64], precision: Precision) -> Vec<u8> {
    match precision {
        Precision::F64 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Precision::F32 => values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect(),
    }
}

/// CRC-32 of named tensors' bytes, in name order, each as its name then its data, in hex.
fn checksum<N: AsRef<str>>(mut tensors: Vec<(N, Vec<u8>)>) -> String {
    tensors.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    let mut hasher = crc32fast::Hasher::new();
    for (name, bytes) in &tensors {
        hasher.update(name.as_ref().as_bytes());
        hasher.update(bytes);
    }
    format!("{:08x}", hasher.finalize())
}

/// Compares the checksum `save` stored with the tensors in the file, before anything is
/// loaded: a damaged data region (a flipped byte) would otherwise load as other weights.
/// Files without a checksum (written before linfit stored one) are accepted as they are.
///
/// Returns the names the file records (features, targets), if any.
fn verify_checksum(path: &Path) -> Result<SavedNames> {
    let shown = path.display().to_string();
    let load_error = |message: String, source: Option<BoxError>| Error::Load {
        path: shown.clone(),
        message,
        source,
    };
    let reader = burn::store::burn_pack::Reader::from_file_exact(path)
        .map_err(|e| load_error(e.to_string(), Some(Box::new(e))))?;
    let names = |key: &str| -> Result<Option<Vec<String>>> {
        reader
            .metadata()
            .get(key)
            .map(|json| {
                serde_json::from_str(json).map_err(|e| {
                    load_error(format!("its {key} are not a JSON list of names: {e}"), None)
                })
            })
            .transpose()
    };
    let names = (names(FEATURE_NAMES_KEY)?, names(TARGET_NAMES_KEY)?);
    let Some(expected) = reader.metadata().get(CHECKSUM_KEY).cloned() else {
        return Ok(names);
    };
    let mut tensors = Vec::new();
    for name in reader.tensor_names() {
        let bytes = reader
            .tensor_data(name)
            .map_err(|e| load_error(e.to_string(), Some(Box::new(e))))?;
        tensors.push((name.to_string(), bytes));
    }
    let actual = checksum(tensors);
    if actual != expected {
        return Err(load_error(
            format!(
                "the file is damaged: its tensors' checksum is {actual}, it was saved as {expected}"
            ),
            None,
        ));
    }
    Ok(names)
}

/// The length of the regular file at `path`; an error that says what is there otherwise (no
/// file, a directory, a device such as `/dev/zero`).
fn regular_file_len(path: &Path) -> Result<u64> {
    Ok(crate::data::files::regular_metadata(path)?.len())
}

/// How files name a model's precision: `"f32"`, `"f64"`, or `"unknown"` for a model whose
/// parameters another tool (Burn's quantisation, say) has moved to another float type.
fn precision_label(precision: Option<Precision>) -> &'static str {
    match precision {
        Some(Precision::F32) => "f32",
        Some(Precision::F64) => "f64",
        None => "unknown",
    }
}

/// A model of zeros of the shape asked for (`[n_features, n_targets]`, a bias or not), for
/// [`LinearModel::load`] to read the file at `shown` (`file_len` bytes) into.
///
/// # Errors
/// [`Error::EmptyData`] for no features or no targets; [`Error::Load`] for a shape whose values
/// the file is too small to hold.
fn zeros_to_load(
    shown: &str,
    file_len: u64,
    [n_features, n_targets]: [usize; 2],
    bias: bool,
    device: &Device,
) -> Result<LinearModel> {
    if n_features == 0 || n_targets == 0 {
        return Err(Error::EmptyData {
            what: "a model to load needs at least one feature and one target".into(),
        });
    }
    // The file must at least hold the values asked for (4 bytes each in f32): checked before
    // anything of that size is allocated.
    let n_weights = checked_size("weights", n_features, n_targets)?;
    let n_values = n_weights.saturating_add(if bias { n_targets } else { 0 });
    if (n_values as u128) * 4 > u128::from(file_len) {
        return Err(Error::Load {
            path: shown.to_string(),
            message: format!(
                "a model with {n_features} features and {n_targets} targets has {n_values} \
                 values, more than this {file_len}-byte file can hold"
            ),
            source: None,
        });
    }
    let mut zeros = try_values("weights", n_weights)?;
    zeros.resize(n_weights, 0.0);
    let bias_zeros = vec![0.0; n_targets];
    LinearModel::from_values(n_features, &zeros, bias.then_some(&bias_zeros[..]), device)
}

/// Reads the tensors of the burnpack file at `path` into `model`; an error unless the file
/// holds exactly a weight of `[n_features, n_targets]` and, when `bias`, a bias.
fn load_tensors(
    model: &mut LinearModel,
    path: &Path,
    shown: &str,
    [n_features, n_targets]: [usize; 2],
    bias: bool,
) -> Result<()> {
    let mut store = BurnpackStore::from_file(path).auto_extension(false);
    let result = model.load_from(&mut store).map_err(|e| Error::Load {
        path: shown.to_string(),
        message: e.to_string(),
        source: Some(Box::new(e)),
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        let mut problems: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        problems.extend(result.missing.iter().map(|(p, _)| format!("missing {p}")));
        problems.extend(result.unused.iter().map(|p| format!("unexpected {p}")));
        return Err(Error::Load {
            path: shown.to_string(),
            message: format!(
                "the file does not hold a model with {n_features} features, {n_targets} targets and {} bias: {}",
                if bias { "a" } else { "no" },
                problems.join("; ")
            ),
            source: None,
        });
    }
    Ok(())
}

/// The loaded model: `model`'s values copied into a new model on `device`, with the names the
/// file records (`names`, from [`verify_checksum`]).
fn copy_loaded(
    model: &LinearModel,
    shown: &str,
    n_features: usize,
    device: &Device,
    (feature_names, target_names): SavedNames,
) -> Result<LinearModel> {
    // Burn reads tensor data from the file lazily: copy the values now, so that the model
    // does not depend on the file staying in place, and so that a file whose data region is
    // damaged fails here, as an error (Burn panics inside its lazy read; that panic is
    // caught and reported).
    let values = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (model.try_weights(), model.try_bias())
    }));
    match values {
        // An f64 file on an f32 device: values beyond f32's range arrive as infinities.
        Ok((Ok(w), Ok(b))) => LinearModel::from_values(n_features, &w, b.as_deref(), device)
            .and_then(|model| model.with_saved_names(feature_names, target_names))
            .map_err(|e| Error::Load {
                path: shown.to_string(),
                message: format!(
                    "the saved values do not fit this device's precision \
                     ({:?}): {e}",
                    crate::device::precision(device)
                ),
                source: Some(Box::new(e)),
            }),
        Ok((Err(e), _)) | Ok((_, Err(e))) => Err(Error::Load {
            path: shown.to_string(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        }),
        Err(_) => Err(Error::Load {
            path: shown.to_string(),
            message: "the tensor data could not be read (truncated or damaged file)".into(),
            source: None,
        }),
    }
}

impl LinearModel {
    /// Saves the parameters in Burn's burnpack format at `path` (exactly that path; overwritten
    /// if it exists), in the model's precision.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a model with a NaN or infinite parameter (a diverged one);
    /// [`Error::Io`] when the file cannot be written.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, LinearModel, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let model = LinearModel::from_values(2, &[1.5, -2.0], Some(&[0.25]), &cpu)?;
    /// let path = std::env::temp_dir().join("linfit-doc-model.bpk");
    /// model.save(&path)?;
    /// let loaded = LinearModel::load(&path, 2, 1, true, &cpu)?;
    /// assert_eq!(loaded.weights(), model.weights());
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        // `load` refuses non-finite values: refuse to write them.
        let coefficients = self.coefficients()?;
        let mut metadata = vec![
            ("format", FORMAT.to_string()),
            ("precision", precision_label(self.precision()).to_string()),
        ];
        if let Some(precision) = self.precision() {
            let w: Vec<f64> = coefficients.weights.iter().flatten().copied().collect();
            let mut tensors = vec![("weight", stored_bytes(&w, precision))];
            if let Some(b) = &coefficients.bias {
                tensors.push(("bias", stored_bytes(b, precision)));
            }
            metadata.push((CHECKSUM_KEY, checksum(tensors)));
        }
        let as_json = |names: &Vec<String>| serde_json::to_string(names).unwrap_or_default();
        if let Some(names) = &coefficients.feature_names {
            metadata.push((FEATURE_NAMES_KEY, as_json(names)));
        }
        if let Some(names) = &coefficients.target_names {
            metadata.push((TARGET_NAMES_KEY, as_json(names)));
        }
        // Written beside `path` under a fresh name and renamed over it: a failed save leaves
        // the old file as it was, and a read-only one is refused.
        let valid = self.valid();
        crate::data::files::write_replacing(path, |_, temp| {
            let mut store = BurnpackStore::from_file(temp)
                .auto_extension(false)
                .overwrite(true);
            for (key, value) in metadata {
                store = store.metadata(key, value);
            }
            valid.save_into(&mut store).map_err(|e| Error::io(path, e))
        })
    }

    /// Loads a model saved by [`save`](Self::save), expecting `n_features`, `n_targets` and a
    /// bias or not; the values come back in `device`'s precision (bit-exact when it is the
    /// precision they were saved in).
    ///
    /// # Errors
    /// [`Error::Load`] for a file of another shape, a missing or extra parameter, or a corrupt
    /// file (also one too small for the shape asked for); [`Error::Io`] when it cannot be read,
    /// is a directory or is not a regular file.
    pub fn load(
        path: impl AsRef<Path>,
        n_features: usize,
        n_targets: usize,
        bias: bool,
        device: &Device,
    ) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let file_len = regular_file_len(path)?;
        let names = verify_checksum(path)?;
        let shape = [n_features, n_targets];
        let mut model = zeros_to_load(&shown, file_len, shape, bias, device)?;
        load_tensors(&mut model, path, &shown, shape, bias)?;
        copy_loaded(&model, &shown, n_features, device, names)
    }

    /// The coefficients as plain data.
    ///
    /// # Errors
    /// [`Error::NonFinite`] for a NaN or infinite parameter; [`Error::Readback`] when the device
    /// fails.
    pub fn coefficients(&self) -> Result<ModelCoefficients> {
        let (m, k) = (self.n_features(), self.n_targets());
        let w = self.try_weights()?;
        let b = self.try_bias()?;
        // A file that its own reader refuses is no export: a diverged model is an error here.
        check_values("weights", &w, k, Precision::F64)?;
        check_values("bias", b.as_deref().unwrap_or(&[]), k, Precision::F64)?;
        Ok(ModelCoefficients {
            format: FORMAT.into(),
            n_features: m,
            n_targets: k,
            precision: precision_label(self.precision()).into(),
            weights: (0..m).map(|j| w[j * k..(j + 1) * k].to_vec()).collect(),
            bias: b,
            feature_names: self.given_names().0,
            target_names: self.given_names().1,
        })
    }

    /// The coefficients as pretty-printed JSON (see [`ModelCoefficients`]).
    ///
    /// # Errors
    /// As [`coefficients`](Self::coefficients).
    ///
    /// # Example
    /// ```
    /// use linfit::{device, LinearModel, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let model = LinearModel::from_values(1, &[2.0], Some(&[1.0]), &cpu)?;
    /// let json = model.to_json()?;
    /// assert!(json.contains("\"weights\""));
    /// let back = LinearModel::from_json(&json, &cpu)?;
    /// assert_eq!(back.weights(), vec![2.0]);
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.coefficients()?).map_err(|e| Error::Internal {
            context: "writing a model's coefficients as JSON",
            source: Box::new(e),
        })
    }

    /// A model from JSON written by [`to_json`](Self::to_json).
    ///
    /// # Errors
    /// [`Error::Load`] for malformed JSON or inconsistent shapes; as
    /// [`from_values`](Self::from_values).
    pub fn from_json(json: &str, device: &Device) -> Result<Self> {
        let bad = |message: String, source: Option<BoxError>| Error::Load {
            path: "<json>".into(),
            message,
            source,
        };
        let c: ModelCoefficients =
            serde_json::from_str(json).map_err(|e| bad(e.to_string(), Some(Box::new(e))))?;
        if c.format != FORMAT
            || c.weights.len() != c.n_features
            || c.weights.iter().any(|r| r.len() != c.n_targets)
        {
            return Err(bad(
                format!(
                    "not a {FORMAT} of {} x {} weights",
                    c.n_features, c.n_targets
                ),
                None,
            ));
        }
        let flat: Vec<f64> = c.weights.into_iter().flatten().collect();
        LinearModel::from_values(c.n_features, &flat, c.bias.as_deref(), device)?
            .with_saved_names(c.feature_names, c.target_names)
    }
}
