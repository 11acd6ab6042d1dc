//! [`Dataset`]: features and targets on one device, validated once at construction; loading
//! from CSV, splitting, and synthetic data.

mod csv;
pub(crate) mod files;
mod names;
mod rows_file;
mod sharded;
mod split;
mod synthetic;
mod weights;

pub(crate) use csv::RowChunk;
pub use rows_file::convert_csv;
pub(crate) use rows_file::{ChunkReader, FileFormat};

/// Values (features and targets) per chunk when files are read in chunks: 8 MiB of f64.
pub(crate) const MAX_CHUNK_VALUES: usize = 1 << 20;

/// Rows per chunk of a file pass over rows of `m` features and `k` targets: as many as
/// [`MAX_CHUNK_VALUES`] holds, at least one.
pub(crate) fn chunk_rows(m: usize, k: usize) -> usize {
    (MAX_CHUNK_VALUES / (m + k).max(1)).max(1)
}
pub(crate) use names::Names;
pub use sharded::{DEFAULT_SHARD_TIMEOUT, ShardedDataset};
pub(crate) use sharded::{ShardWorkers, index_tensor};
pub(crate) use split::seeded_split;
pub use synthetic::MakeRegression;
pub(crate) use weights::{DeviceWeights, Weights, normalising_exponent};

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::device::{Precision, device_precision, read_f64};
use crate::{Error, Result};

/// A regression dataset: `features` `[n_samples, n_features]` and `targets`
/// `[n_samples, n_targets]`, both on one device, in one float type.
///
/// Construction validates everything once (shapes, emptiness, finiteness, device and float type),
/// so training loops can trust the data. The tensors never carry autodiff: data are constants.
///
/// The columns have names: a CSV file's header, or [`with_feature_names`](Self::with_feature_names)
/// / [`with_target_names`](Self::with_target_names), else `x1, x2, ...` and `y1, y2, ...`. They
/// follow the data through splits and standardisation into the models fitted on it, their
/// summaries and plots; a model fitted on named columns refuses data whose names differ.
///
/// # Example
/// ```
/// use linfit::{device, Dataset, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let data = Dataset::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]], &[1.0, 2.0], &cpu)?;
/// assert_eq!((data.n_samples(), data.n_features(), data.n_targets()), (2, 2, 1));
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dataset {
    features: Tensor<2>,
    targets: Tensor<2>,
    feature_names: Names,
    target_names: Names,
    /// Sample weights, on the host (as given) and on the data's device.
    weights: Option<Weights>,
}

impl Dataset {
    /// A dataset with one target per row, created in `device`'s precision.
    ///
    /// # Shapes
    /// `features`: `n_samples` rows of `n_features` values; `targets`: `n_samples` values.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for zero rows or zero features; [`Error::ShapeMismatch`] for ragged
    /// rows or a targets length other than the number of rows; [`Error::NonFinite`] for a NaN or
    /// infinite value (its row and column named).
    pub fn from_rows(features: &[Vec<f64>], targets: &[f64], device: &Device) -> Result<Self> {
        let (n_samples, n_features, flat_features) = flatten("features", features)?;
        if targets.len() != n_samples {
            return Err(Error::shape_mismatch(
                "targets length vs number of feature rows",
                n_samples,
                targets.len(),
            ));
        }
        check_finite("targets", targets, 1)?;
        Self::from_flat(
            flat_features,
            targets.to_vec(),
            [n_samples, n_features],
            1,
            device,
        )
    }

    /// A dataset with `n_targets` targets per row, created in `device`'s precision.
    ///
    /// # Shapes
    /// `features`: `n_samples` rows of `n_features`; `targets`: `n_samples` rows of `n_targets`.
    ///
    /// # Errors
    /// As [`Dataset::from_rows`], for both tables.
    pub fn from_rows_multi(
        features: &[Vec<f64>],
        targets: &[Vec<f64>],
        device: &Device,
    ) -> Result<Self> {
        let (n_samples, n_features, flat_features) = flatten("features", features)?;
        let (n_target_rows, n_targets, flat_targets) = flatten("targets", targets)?;
        if n_target_rows != n_samples {
            return Err(Error::shape_mismatch(
                "number of target rows vs number of feature rows",
                n_samples,
                n_target_rows,
            ));
        }
        Self::from_flat(
            flat_features,
            flat_targets,
            [n_samples, n_features],
            n_targets,
            device,
        )
    }

    /// A dataset from row-major host buffers; no copy beyond the upload.
    ///
    /// # Shapes
    /// `features.len() == n_samples * n_features`, `targets.len() == n_samples * n_targets`.
    ///
    /// # Errors
    /// As [`Dataset::from_rows`].
    pub fn from_flat(
        features: Vec<f64>,
        targets: Vec<f64>,
        [n_samples, n_features]: [usize; 2],
        n_targets: usize,
        device: &Device,
    ) -> Result<Self> {
        check_dims(n_samples, n_features, n_targets)?;
        let precision = device_precision(device)?;
        for (what, len, expected) in [
            (
                "features",
                features.len(),
                checked_size("features", n_samples, n_features)?,
            ),
            (
                "targets",
                targets.len(),
                checked_size("targets", n_samples, n_targets)?,
            ),
        ] {
            if len != expected {
                return Err(Error::shape_mismatch(
                    format!("length of the flat {what} buffer"),
                    expected,
                    len,
                ));
            }
        }
        check_values("features", &features, n_features, precision)?;
        check_values("targets", &targets, n_targets, precision)?;
        let dtype = precision.dtype();
        let device = device.clone().without_autodiff();
        let features = Tensor::<2>::from_data(
            TensorData::new(features, [n_samples, n_features]),
            (&device, dtype),
        );
        let targets = Tensor::<2>::from_data(
            TensorData::new(targets, [n_samples, n_targets]),
            (&device, dtype),
        );
        Ok(Self::with_default_names(features, targets))
    }

    /// The dataset of these tensors, its columns named `x1, ...` and `y1, ...`.
    pub(crate) fn with_default_names(features: Tensor<2>, targets: Tensor<2>) -> Self {
        let (m, k) = (features.dims()[1], targets.dims()[1]);
        Self {
            features,
            targets,
            feature_names: Names::defaults("x", m),
            target_names: Names::defaults("y", k),
            weights: None,
        }
    }

    /// These data with the column names of `other` (same columns, other rows or units).
    pub(crate) fn with_names_of(mut self, other: &Dataset) -> Self {
        self.feature_names = other.feature_names.clone();
        self.target_names = other.target_names.clone();
        self
    }

    /// These data with the sample weights of `other` (the same rows, in other units).
    pub(crate) fn with_weights_of(mut self, other: &Dataset) -> Self {
        self.weights = other.weights.clone();
        self
    }

    /// The same data with sample weights: row `i` counts `weights[i]` times in every estimator
    /// and metric, as scikit-learn's `sample_weight`:
    /// - [`Trainer`](crate::Trainer): the loss `sum_i w_i sum_j r_ij^2` (`Loss::SumSquared`) or
    ///   that divided by `n_targets * sum_i w_i` (`Loss::MeanSquared`); a mini-batch of `b` rows
    ///   divides by `n_targets * b * mean(w)`, so that its gradient estimates the whole loss's
    ///   (a batch is not normalised by its own weights);
    /// - [`SgdRegressor`](crate::sgd_regressor::SgdRegressor): each sample's step times `w_i`;
    /// - [`LeastSquares`](crate::LeastSquares): weighted least squares with statsmodels' `WLS`
    ///   statistics;
    /// - [`metrics`](crate::metrics): weighted means, as scikit-learn's metrics.
    ///
    /// Weights follow the rows through [`train_test_split`](Self::train_test_split) and
    /// standardisation. Only their ratios matter, except to the sum loss and `SgdRegressor`:
    /// the estimators divide them by a power of two above the largest (exact), so weights of
    /// 1e-300 or 1e300 give the same answers as ones where the ratios agree.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless there is one weight per row; [`Error::NonFinite`] for a
    /// NaN or infinite weight; [`Error::OutOfRange`] for a negative weight (its row named), or
    /// on an f32 device one beyond f32's range or below `2^-149` times the largest;
    /// [`Error::EmptyData`] when every weight is zero.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let data = Dataset::from_rows(&[vec![1.0], vec![2.0]], &[1.0, 2.0], &cpu)?;
    /// let weighted = data.clone().with_weights(&[1.0, 3.0])?;
    /// assert_eq!(weighted.weight_values(), Some(&[1.0, 3.0][..]));
    /// assert!(data.with_weights(&[1.0, -1.0]).is_err());
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn with_weights(self, weights: &[f64]) -> Result<Self> {
        self.with_checked_weights(weights, false)
    }

    /// [`with_weights`](Self::with_weights) for a part of a dataset (a shard), whose weights
    /// may all be zero when the whole's are not.
    pub(crate) fn with_part_weights(self, weights: &[f64]) -> Result<Self> {
        self.with_checked_weights(weights, true)
    }

    fn with_checked_weights(mut self, weights: &[f64], part: bool) -> Result<Self> {
        let (n, device, precision) = (self.n_samples(), self.device(), self.precision());
        self.weights = Some(Weights::new(weights, n, &device, precision, part)?);
        Ok(self)
    }

    /// The sample weights as given, on the data's device, `[n_samples]`, if any were given
    /// (uploaded on each call: the estimators use a normalised copy of their own).
    pub fn sample_weights(&self) -> Option<Tensor<1>> {
        self.weights.as_ref().map(|w| {
            Tensor::<1>::from_data(
                TensorData::new(w.host.to_vec(), [w.host.len()]),
                (&self.device(), self.precision().dtype()),
            )
        })
    }

    /// The sample weights on the data's device: [`sample_weights`](Self::sample_weights).
    #[deprecated(note = "renamed sample_weights: `weights` is the model's coefficients")]
    pub fn weights(&self) -> Option<Tensor<1>> {
        self.sample_weights()
    }

    /// The sample weights as given, if any.
    pub fn weight_values(&self) -> Option<&[f64]> {
        self.weights.as_ref().map(|w| &w.host[..])
    }

    /// The sample weights, or ones for unweighted data.
    pub(crate) fn weight_values_or_ones(&self) -> std::borrow::Cow<'_, [f64]> {
        match self.weight_values() {
            Some(w) => std::borrow::Cow::Borrowed(w),
            None => std::borrow::Cow::Owned(vec![1.0; self.n_samples()]),
        }
    }

    /// The same data without sample weights.
    pub fn without_weights(mut self) -> Self {
        self.weights = None;
        self
    }

    /// The sample weights as the estimators see them (normalised by a power of two), if any.
    pub(crate) fn device_weights(&self) -> Option<DeviceWeights> {
        self.weights.as_ref().map(|w| w.device.clone())
    }

    /// The weights of the rows at `rows` (host indices), if the data are weighted.
    pub(crate) fn weights_at(&self, rows: &[i64]) -> Option<Vec<f64>> {
        self.weights
            .as_ref()
            .map(|w| rows.iter().map(|&i| w.host[i as usize]).collect())
    }

    /// The same data with these feature names, one per column, unique and not empty.
    ///
    /// # Errors
    /// [`Error::InvalidNames`] for a wrong count, an empty name or a name used twice.
    ///
    /// # Example
    /// ```
    /// use linfit::{device, Dataset, Precision};
    /// let cpu = device::cpu(Precision::F64)?;
    /// let data = Dataset::from_rows(&[vec![1.0, 2.0], vec![3.0, 5.0]], &[1.0, 2.0], &cpu)?
    ///     .with_feature_names(["height", "weight"])?
    ///     .with_target_names(["age"])?;
    /// assert_eq!(data.feature_names(), ["height", "weight"]);
    /// assert!(data.clone().with_feature_names(["a", "a"]).is_err());
    /// # Ok::<(), linfit::Error>(())
    /// ```
    pub fn with_feature_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let names = names.into_iter().map(Into::into).collect();
        self.feature_names = Names::given("feature names", names, self.n_features())?;
        Ok(self)
    }

    /// The same data with these target names; as [`with_feature_names`](Self::with_feature_names).
    ///
    /// # Errors
    /// [`Error::InvalidNames`] for a wrong count, an empty name or a name used twice.
    pub fn with_target_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let names = names.into_iter().map(Into::into).collect();
        self.target_names = Names::given("target names", names, self.n_targets())?;
        Ok(self)
    }

    /// The feature columns' names (`x1, x2, ...` unless given).
    pub fn feature_names(&self) -> &[String] {
        self.feature_names.list()
    }

    /// The target columns' names (`y1, y2, ...` unless given).
    pub fn target_names(&self) -> &[String] {
        self.target_names.list()
    }

    /// Both sides' names, for models fitted on these data.
    pub(crate) fn names(&self) -> (&Names, &Names) {
        (&self.feature_names, &self.target_names)
    }

    /// A dataset from tensors already on a device. Autodiff, if any, is dropped: data are
    /// constants.
    ///
    /// Checking finiteness reads one boolean back from the device (and, on failure, the data, to
    /// name the place).
    ///
    /// # Shapes
    /// `features` `[n_samples, n_features]`, `targets` `[n_samples, n_targets]`.
    ///
    /// # Errors
    /// [`Error::EmptyData`], [`Error::ShapeMismatch`] (row counts differ), [`Error::DeviceMismatch`]
    /// (different devices or float types), [`Error::UnsupportedDtype`] (a float type other than
    /// f32/f64), [`Error::NonFinite`].
    pub fn from_tensors(features: Tensor<2>, targets: Tensor<2>) -> Result<Self> {
        let features = features.without_autodiff();
        let targets = targets.without_autodiff();
        let [n_samples, n_features] = features.dims();
        let [n_target_rows, n_targets] = targets.dims();
        check_dims(n_samples, n_features, n_targets)?;
        if n_target_rows != n_samples {
            return Err(Error::shape_mismatch(
                "number of target rows vs number of feature rows",
                n_samples,
                n_target_rows,
            ));
        }
        if features.device() != targets.device() {
            return Err(Error::DeviceMismatch {
                context: "features and targets devices".into(),
                left: format!("{:?}", features.device()),
                right: format!("{:?}", targets.device()),
            });
        }
        if features.dtype() != targets.dtype() {
            return Err(Error::DeviceMismatch {
                context: "features and targets float types".into(),
                left: format!("{:?}", features.dtype()),
                right: format!("{:?}", targets.dtype()),
            });
        }
        if Precision::from_dtype(features.dtype()).is_none() {
            return Err(Error::UnsupportedDtype {
                context: "features and targets".into(),
                dtype: format!("{:?}", features.dtype()),
            });
        }
        for (what, tensor, width) in [
            ("features", &features, n_features),
            ("targets", &targets, n_targets),
        ] {
            let all_finite = tensor.clone().is_finite().all().try_into_vec_as::<bool>()?;
            if all_finite.first() != Some(&true) {
                let values = read_f64(tensor.clone())?;
                check_finite(what, &values, width)?;
            }
        }
        Ok(Self::with_default_names(features, targets))
    }

    /// Number of rows.
    pub fn n_samples(&self) -> usize {
        self.features.dims()[0]
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.features.dims()[1]
    }

    /// Number of target columns.
    pub fn n_targets(&self) -> usize {
        self.targets.dims()[1]
    }

    /// The features, `[n_samples, n_features]` (a cheap handle; no copy).
    pub fn features(&self) -> Tensor<2> {
        self.features.clone()
    }

    /// The targets, `[n_samples, n_targets]` (a cheap handle; no copy).
    pub fn targets(&self) -> Tensor<2> {
        self.targets.clone()
    }

    /// The device the data live on.
    pub fn device(&self) -> Device {
        self.features.device()
    }

    /// The float type of the data.
    pub fn precision(&self) -> Precision {
        // Validated at construction: always f32 or f64.
        Precision::from_dtype(self.features.dtype()).unwrap_or(Precision::F32)
    }

    /// The rows `start..end` (clamped to the data), as `(features, targets)`.
    pub(crate) fn rows(&self, start: usize, end: usize) -> (Tensor<2>, Tensor<2>) {
        (
            self.features.clone().slice(start..end),
            self.targets.clone().slice(start..end),
        )
    }

    /// The rows at `indices` (an index tensor on the data's device), as `(features, targets)`.
    pub(crate) fn select_rows(&self, indices: Tensor<1, Int>) -> (Tensor<2>, Tensor<2>) {
        (
            self.features.clone().select(0, indices.clone()),
            self.targets.clone().select(0, indices),
        )
    }
}

fn check_dims(n_samples: usize, n_features: usize, n_targets: usize) -> Result<()> {
    if n_samples == 0 {
        return Err(Error::EmptyData {
            what: "no rows (samples)".into(),
        });
    }
    if n_features == 0 {
        return Err(Error::EmptyData {
            what: "no feature columns".into(),
        });
    }
    if n_targets == 0 {
        return Err(Error::EmptyData {
            what: "no target columns".into(),
        });
    }
    Ok(())
}

/// Row-major flattening of a table, checking it is rectangular and not empty.
fn flatten(what: &'static str, rows: &[Vec<f64>]) -> Result<(usize, usize, Vec<f64>)> {
    let Some(first) = rows.first() else {
        return Err(Error::EmptyData {
            what: format!("no rows in {what}"),
        });
    };
    let width = first.len();
    if width == 0 {
        return Err(Error::EmptyData {
            what: format!("no columns in {what}"),
        });
    }
    // Every row's width first, then one checked allocation: a long first row followed by
    // short ones is a shape error, not an allocation of rows x that width.
    if let Some((row, values)) = rows.iter().enumerate().find(|(_, r)| r.len() != width) {
        return Err(Error::shape_mismatch(
            format!("{what} row {row} (ragged rows)"),
            format!("{width} values, as in row 0"),
            format!("{} values", values.len()),
        ));
    }
    let mut flat = try_values(what, checked_size(what, rows.len(), width)?)?;
    for (row, values) in rows.iter().enumerate() {
        if values.len() != width {
            return Err(Error::shape_mismatch(
                format!("{what} row {row} (ragged rows)"),
                format!("{width} values, as in row 0"),
                format!("{} values", values.len()),
            ));
        }
        flat.extend_from_slice(values);
    }
    check_finite(what, &flat, width)?;
    Ok((rows.len(), width, flat))
}

/// `rows * columns`, or an error when the product overflows `usize`.
pub(crate) fn checked_size(what: &str, rows: usize, columns: usize) -> Result<usize> {
    rows.checked_mul(columns).ok_or_else(|| Error::OutOfRange {
        what: format!("the size of the {what}"),
        value: format!("{rows} x {columns}"),
        rule: "the number of values overflows this machine's address space".into(),
    })
}

/// An empty buffer with room for `len` values, or an error when this machine cannot hold them
/// (instead of the abort of a failed allocation).
pub(crate) fn try_values(what: &str, len: usize) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    values
        .try_reserve_exact(len)
        .map_err(|e| Error::OutOfRange {
            what: format!("the {what}"),
            value: format!("{len} values ({} bytes)", len as f64 * 8.0),
            rule: format!("this machine cannot hold them: {e}"),
        })?;
    Ok(values)
}

/// Checks that every value is finite and representable in `precision` (an f64 above f32's
/// largest value would become infinite on an f32 device). `width` values make a row.
pub(crate) fn check_values(
    what: &'static str,
    values: &[f64],
    width: usize,
    precision: Precision,
) -> Result<()> {
    check_finite(what, values, width)?;
    if precision == Precision::F32
        && let Some(i) = values.iter().position(|&v| (v as f32).is_infinite())
    {
        return Err(Error::OutOfRange {
            what: format!(
                "{what} at row {}, column {}",
                i / width.max(1),
                i % width.max(1)
            ),
            value: values[i].to_string(),
            rule: format!(
                "larger in magnitude than f32's largest value {:e}: rescale the data or use \
                 Precision::F64",
                f32::MAX
            ),
        });
    }
    Ok(())
}

fn check_finite(what: &'static str, values: &[f64], width: usize) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            what,
            row: i / width.max(1),
            column: i % width.max(1),
            value: values[i],
        }),
    }
}
