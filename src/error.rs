//! The one error type of linfit, and its `Result` alias.

use burn::tensor::TensorReadError;

use crate::precision::Precision;

/// Result of every fallible linfit function.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in linfit, each variant carrying the offending values.
///
/// Constructors, `init`, `fit` and the other checked calls return one of these on bad data or
/// bad settings. What can panic, each documented under `# Panics`:
/// - the hot path, which relies on Burn's own checks: [`LinearModel::forward`] and
///   [`Loss::forward`] with tensors of the wrong shape, device or float type (use
///   [`LinearModel::predict`] for a checked call);
/// - [`LinearModel::weights`] and [`LinearModel::bias`] when the device fails to return the data
///   (a device fault, not bad input; [`LinearModel::try_weights`] and
///   [`LinearModel::try_bias`] return it as [`Error::Readback`]);
/// - Burn itself on a device fault (out of memory on a GPU, a lost device).
///
/// [`LinearModel::forward`]: crate::LinearModel::forward
/// [`LinearModel::predict`]: crate::LinearModel::predict
/// [`LinearModel::weights`]: crate::LinearModel::weights
/// [`LinearModel::bias`]: crate::LinearModel::bias
/// [`LinearModel::try_weights`]: crate::LinearModel::try_weights
/// [`LinearModel::try_bias`]: crate::LinearModel::try_bias
/// [`Loss::forward`]: crate::Loss::forward
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two shapes that must agree do not.
    #[error("shape mismatch in {context}: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// What was being checked.
        context: String,
        /// The shape or length that was expected.
        expected: String,
        /// The shape or length that was found.
        actual: String,
    },

    /// There is nothing to work with: no rows, no features or no targets.
    #[error("empty data: {what}")]
    EmptyData {
        /// What is empty.
        what: String,
    },

    /// A NaN or infinite value in the data.
    #[error("non-finite value {value} in {what} at row {row}, column {column}")]
    NonFinite {
        /// `features` or `targets`.
        what: &'static str,
        /// The row (0-based).
        row: usize,
        /// The column (0-based).
        column: usize,
        /// The offending value.
        value: f64,
    },

    /// A value or a size that cannot be represented or processed: a number too large for the
    /// device's float type, a size whose arithmetic overflows or that cannot be allocated, a
    /// range a plot cannot draw, squared errors that overflow.
    #[error("{what} is out of range: {value} ({rule})")]
    OutOfRange {
        /// What is out of range, and where (the row and column of a value).
        what: String,
        /// The value or size, as written.
        value: String,
        /// The limit it passes, and what to do about it.
        rule: String,
    },

    /// A setting outside its allowed range.
    #[error("invalid {name} = {value}: {rule}")]
    InvalidHyperparameter {
        /// The setting's name.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },

    /// Column names that cannot name a dataset's columns: a wrong count, an empty name, or one
    /// name twice.
    #[error("invalid {what}: {reason}")]
    InvalidNames {
        /// Which names (`"feature names"`, `"target names"`).
        what: String,
        /// What is wrong with them.
        reason: String,
    },

    /// A model fitted on columns of some names applied to data whose columns have other names,
    /// or the same names in another order (scikit-learn's `feature_names_in_` check).
    #[error(
        "{context}: the model was fitted on {what} {expected:?} but the data have {found:?}{hint}",
        hint = name_mismatch_hint(expected, found)
    )]
    NameMismatch {
        /// Where it happened.
        context: String,
        /// `"features"` or `"targets"`.
        what: &'static str,
        /// The model's names.
        expected: Vec<String>,
        /// The data's names.
        found: Vec<String>,
    },

    /// `Sgd::step` was called with no gradient pending.
    #[error(
        "optimizer step without gradients: call `backward` on a loss of this model before `step` \
         (and `zero_grad` only before `backward`)"
    )]
    NoGradients,

    /// Training diverged: the loss became NaN or infinite, grew past the trainer's divergence
    /// rule (`trainer::DIVERGENCE_GROWTH` times its start), or the parameters are not finite.
    #[error("training diverged at step {step} (epoch {epoch}): the loss is {loss}. {hint}")]
    Diverged {
        /// The optimizer step at which the divergence was seen.
        step: usize,
        /// The epoch of that step.
        epoch: usize,
        /// The loss read at that point (NaN when only the parameters showed it).
        loss: f64,
        /// What to try.
        hint: String,
    },

    /// A device cannot give the precision asked for.
    #[error("precision {requested:?} is not available on {device}: {reason}")]
    Precision {
        /// The device, as Burn prints it.
        device: String,
        /// The precision asked for.
        requested: Precision,
        /// Why not.
        reason: String,
    },

    /// A device name that is unknown or whose backend was not compiled in.
    #[error("device {name:?}: {reason}")]
    Device {
        /// The name given.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// A remote worker (`linfit-worker`, feature `distributed`) that cannot be reached, refused
    /// the connection, failed, or did not answer in time.
    #[error("worker {worker}: {reason}")]
    Worker {
        /// The worker's address, or the shard's device.
        worker: String,
        /// What happened, and what to check.
        reason: String,
    },

    /// Tensors that must live together are on different devices or have different float types.
    #[error("{context}: {left} and {right} differ")]
    DeviceMismatch {
        /// What was being combined.
        context: String,
        /// The first device or dtype.
        left: String,
        /// The second device or dtype.
        right: String,
    },

    /// A CSV file has a problem at a known place.
    #[error("{path}, line {line}{}: {message}", if column.is_empty() { String::new() } else { format!(", column {column:?}") })]
    Csv {
        /// The file.
        path: String,
        /// The line (1-based; the header is line 1).
        line: u64,
        /// The column's name (empty when the whole row is at fault).
        column: String,
        /// What is wrong.
        message: String,
    },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause (for a plot or a model file, the plotting or storage library's error,
        /// reachable with [`std::io::Error::get_ref`]).
        #[source]
        source: std::io::Error,
    },

    /// A data file (CSV or row file) that cannot be used as it is: not a row file, damaged or
    /// truncated, or changed while (or between passes when) it was read. A bad cell of a CSV
    /// file is [`Error::Csv`], with its line and column.
    #[error("data file {path}: {message}")]
    DataFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
        /// The cause, when another error caused it.
        #[source]
        source: Option<BoxError>,
    },

    /// A saved model does not fit: wrong shape, missing parameters, corrupt file.
    #[error("cannot load a model from {path}: {message}")]
    Load {
        /// The file (`<json>` for [`LinearModel::from_json`](crate::LinearModel::from_json)).
        path: String,
        /// What went wrong.
        message: String,
        /// The storage or JSON library's error, when one caused it.
        #[source]
        source: Option<BoxError>,
    },

    /// A factorisation failed to converge (NaN-free input makes this very rare), or the solution
    /// of a design too ill-conditioned for the solver is not finite.
    #[error("numerical failure: {0}")]
    Numerical(String),

    /// A tensor could not be read back from the device.
    #[error("could not read a tensor back from the device: {0}")]
    Readback(#[from] TensorReadError),

    /// A tensor's float type is not one linfit computes in (f32 or f64), or a device is set to
    /// such a type.
    #[error("{context}: linfit works in f32 or f64, not {dtype}")]
    UnsupportedDtype {
        /// The tensor or device concerned.
        context: String,
        /// The float type found, as Burn prints it.
        dtype: String,
    },

    /// A step that cannot fail on valid input failed anyway (a bug: please report it), with the
    /// library error that says why.
    #[error("internal error in {context}: {source}")]
    Internal {
        /// What linfit was doing.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// A boxed error of another library, kept as the [`source`](std::error::Error::source) of an
/// [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// A [`Error::ShapeMismatch`]: in `context`, `expected` was expected and `actual` found.
    pub(crate) fn shape_mismatch(
        context: impl Into<String>,
        expected: impl core::fmt::Display,
        actual: impl core::fmt::Display,
    ) -> Self {
        Error::ShapeMismatch {
            context: context.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }

    /// An [`Error::Io`] for `path`, from an I/O error or from another library's error.
    pub(crate) fn io(path: &std::path::Path, source: impl Into<BoxError>) -> Self {
        let source: BoxError = source.into();
        let source = match source.downcast::<std::io::Error>() {
            Ok(io) => *io,
            Err(other) => std::io::Error::other(other),
        };
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The hint of [`Error::NameMismatch`]: a reordering, or the names on one side only.
fn name_mismatch_hint(expected: &[String], found: &[String]) -> String {
    let mut a = expected.to_vec();
    let mut b = found.to_vec();
    a.sort();
    b.sort();
    if a == b {
        return " (the same columns in another order: select them in the model's order)".into();
    }
    let missing: Vec<&String> = expected.iter().filter(|n| !found.contains(n)).collect();
    let extra: Vec<&String> = found.iter().filter(|n| !expected.contains(n)).collect();
    format!(" (missing from the data: {missing:?}; not known to the model: {extra:?})")
}
