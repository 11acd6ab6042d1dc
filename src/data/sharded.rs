//! [`ShardedDataset`]: one dataset's rows in contiguous blocks, each block on its own device (a
//! local one, or a `linfit-worker`'s through [`crate::device::remote`]).

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use burn::tensor::{Device, Tensor, TensorData};

use super::{Dataset, FileFormat, Names, check_dims};
use crate::device::{device_precision, read_f64};
use crate::float::scale2;
use crate::{Error, Result};

/// How long a shard may take over one step's work before the fit fails naming it (default).
pub const DEFAULT_SHARD_TIMEOUT: Duration = Duration::from_secs(120);

/// The rows of one dataset split in contiguous blocks, as even as possible, one block per
/// device, in the order the devices are given. The data stay where they are loaded: training
/// ([`Trainer::fit_sharded`](crate::Trainer::fit_sharded)) sends each shard the parameters
/// and receives its gradients, `O(m k)` numbers per step.
///
/// # Example
/// ```
/// use linfit::{device, Dataset, Precision, ShardedDataset};
/// let cpu = device::cpu(Precision::F64)?;
/// let rows: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64]).collect();
/// let data = Dataset::from_rows(&rows, &[0.0, 1.0, 2.0, 3.0, 4.0], &cpu)?;
/// // Two shards (here both on this machine's CPU; remote devices in practice).
/// let sharded = ShardedDataset::split(&data, &[cpu.clone(), cpu.clone()])?;
/// assert_eq!(sharded.shards()[0].n_samples(), 3);
/// assert_eq!(sharded.shards()[1].n_samples(), 2);
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShardedDataset {
    shards: Vec<Dataset>,
    labels: Vec<String>,
    names: (Names, Names),
    /// The whole data's sample-weight normalisation `e` and `mean(w 2^-e)` over every row
    /// (`(0, 1)` without weights; see `data::weights`).
    weight_normalisation: (i32, f64),
    timeout: Duration,
}

/// Rows per shard: `n / s`, the first `n % s` shards one more.
fn block_sizes(n: usize, s: usize) -> Vec<usize> {
    (0..s).map(|i| n / s + usize::from(i < n % s)).collect()
}

fn check_devices(devices: &[Device], n: usize) -> Result<()> {
    if devices.is_empty() {
        return Err(Error::EmptyData {
            what: "a sharded dataset needs at least one device".into(),
        });
    }
    if n < devices.len() {
        return Err(Error::EmptyData {
            what: format!(
                "{n} rows cannot give each of {} devices a shard",
                devices.len()
            ),
        });
    }
    for device in devices {
        device_precision(device)?;
    }
    Ok(())
}

fn label(i: usize, device: &Device) -> String {
    format!("shard {i} on {device:?}")
}

/// Uploads row-major blocks of rows to a device, in chunks (a remote device takes one message
/// per tensor), as one dataset; each chunk and the final confirmation on a thread of its own,
/// awaited at most `timeout`, so that a worker that stops answering fails the upload naming
/// it instead of hanging it.
struct ShardBuilder {
    device: Device,
    label: String,
    timeout: Duration,
    widths: (usize, usize),
    features: Vec<Tensor<2>>,
    targets: Vec<Tensor<2>>,
}

impl ShardBuilder {
    fn new(i: usize, device: &Device, widths: (usize, usize), timeout: Duration) -> Self {
        ShardBuilder {
            device: device.clone(),
            label: label(i, device),
            timeout,
            widths,
            features: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn push(self, features: Vec<f64>, targets: Vec<f64>, rows: usize) -> Result<Self> {
        let (timeout, label) = (self.timeout, self.label.clone());
        within(timeout, &label, "an upload of its rows", move || {
            let mut builder = self;
            let (m, k) = builder.widths;
            let data = Dataset::from_flat(features, targets, [rows, m], k, &builder.device)?;
            builder.features.push(data.features());
            builder.targets.push(data.targets());
            Ok(builder)
        })
    }

    /// The shard, given `finish` (names, weights) and confirmed by its device: one value read
    /// back, so that the upload is known to have arrived.
    fn finish(
        self,
        finish: impl FnOnce(Dataset) -> Result<Dataset> + Send + 'static,
    ) -> Result<Dataset> {
        let (timeout, label) = (self.timeout, self.label.clone());
        within(timeout, &label, "the end of its upload", move || {
            let shard = finish(Dataset::from_tensors(
                Tensor::cat(self.features, 0),
                Tensor::cat(self.targets, 0),
            )?)?;
            read_f64(shard.targets().slice([0..1, 0..1]))?;
            Ok(shard)
        })
    }
}

/// `work` on a thread of its own, its answer awaited at most `timeout` (`Duration::MAX`: no
/// limit). A thread that does not answer in time is left behind (Burn's remote client cannot
/// be cancelled) and the call fails with [`Error::Worker`] naming `shard`; so does a panic.
fn within<T: Send + 'static>(
    timeout: Duration,
    shard: &str,
    what: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (answer_tx, answer) = channel();
    std::thread::Builder::new()
        .name(format!("linfit-upload-{shard}"))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = answer_tx.send(result);
        })
        .map_err(|e| Error::Worker {
            worker: shard.to_string(),
            reason: format!("cannot start a thread for {what}: {e}"),
        })?;
    let answer = match Instant::now().checked_add(timeout) {
        Some(_) => answer.recv_timeout(timeout),
        None => answer
            .recv()
            .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
    };
    match answer {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Error::Worker {
            worker: shard.to_string(),
            reason: panic_reason(panic),
        }),
        Err(_) => Err(Error::Worker {
            worker: shard.to_string(),
            reason: format!(
                "no answer to {what} within {timeout:?} (a hung or unreachable worker; \
                 ShardedDataset::split_with_timeout sets the limit)"
            ),
        }),
    }
}

/// What a caught panic said.
fn panic_reason(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "it panicked".into())
}

impl ShardedDataset {
    /// `data`'s rows in contiguous blocks, as even as possible, one per device, in the order
    /// given (the first `n % devices` blocks have one row more). The rows go through this
    /// process in chunks of about 8 MiB; sample weights and column names follow them.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no device or fewer rows than devices; as
    /// [`Dataset::from_flat`] on each device (a value f32 cannot hold on an f32 device);
    /// [`Error::Readback`] when a device fails; [`Error::Worker`] naming the shard whose
    /// device does not take a chunk of rows within [`DEFAULT_SHARD_TIMEOUT`] (see
    /// [`split_with_timeout`](Self::split_with_timeout)).
    pub fn split(data: &Dataset, devices: &[Device]) -> Result<ShardedDataset> {
        Self::split_with_timeout(data, devices, DEFAULT_SHARD_TIMEOUT)
    }

    /// [`split`](Self::split) with this limit on each shard's upload of a chunk (about
    /// 8 MiB) and on its final confirmation, and then on each shard's answer to one step
    /// ([`with_timeout`](Self::with_timeout)). `Duration::MAX` waits without a limit.
    ///
    /// # Errors
    /// As [`split`](Self::split).
    pub fn split_with_timeout(
        data: &Dataset,
        devices: &[Device],
        timeout: Duration,
    ) -> Result<ShardedDataset> {
        let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
        check_devices(devices, n)?;
        let chunk_rows = super::chunk_rows(m, k);
        let mut shards = Vec::with_capacity(devices.len());
        let mut start = 0;
        let sizes = block_sizes(n, devices.len());
        for (i, (device, size)) in devices.iter().zip(sizes).enumerate() {
            let mut builder = ShardBuilder::new(i, device, (m, k), timeout);
            let mut row = start;
            while row < start + size {
                let end = (row + chunk_rows).min(start + size);
                let (x, y) = data.rows(row, end);
                builder = builder.push(read_f64(x)?, read_f64(y)?, end - row)?;
                row = end;
            }
            let names = data.names();
            let names = (names.0.clone(), names.1.clone());
            let weights = data
                .weight_values()
                .map(|w| w[start..start + size].to_vec());
            shards.push(builder.finish(move |shard| {
                let shard = shard.with_names(names.0, names.1);
                match weights {
                    Some(w) => shard.with_part_weights(&w),
                    None => Ok(shard),
                }
            })?);
            start += size;
        }
        let (features, targets) = data.names();
        Ok(
            Self::assemble(shards, devices, (features.clone(), targets.clone()))
                .with_timeout(timeout),
        )
    }

    /// A CSV file (header row; the `targets` columns are the targets, every other column a
    /// feature, as [`Dataset::from_csv`]) read in chunks straight into the shards: one pass
    /// counts the rows, a second sends each chunk to its shard's device. This process never
    /// holds more than a chunk (about 8 MiB of values).
    ///
    /// # Errors
    /// As [`Dataset::from_csv`] for the file (a bad cell names its line and column), as
    /// [`split`](Self::split) for the devices; [`Error::DataFile`] when the file changes between the
    /// two passes.
    pub fn from_csv(
        path: impl AsRef<Path>,
        targets: &[&str],
        devices: &[Device],
    ) -> Result<ShardedDataset> {
        let path = path.as_ref();
        let format = FileFormat::Csv(targets.iter().map(|t| t.to_string()).collect());
        // Pass 1: the rows and the file's checksum.
        let mut reader = format.open(path)?;
        let (m, k) = reader.widths();
        let chunk_rows = super::chunk_rows(m, k);
        while reader.next_chunk(chunk_rows)?.is_some() {}
        let n = reader.rows_read();
        let first = reader.finish()?;
        check_dims(n, m, k)?;
        check_devices(devices, n)?;

        // Pass 2: each chunk's rows to their shards.
        let mut reader = format.open(path)?;
        let (feature_names, target_names) = reader.names();
        let sizes = block_sizes(n, devices.len());
        let mut builders: Vec<Option<ShardBuilder>> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| Some(ShardBuilder::new(i, d, (m, k), DEFAULT_SHARD_TIMEOUT)))
            .collect();
        let (mut shard, mut filled) = (0, 0);
        while let Some(chunk) = reader.next_chunk(chunk_rows)? {
            let mut row = 0;
            while row < chunk.rows {
                if shard >= sizes.len() {
                    break;
                }
                let take = (sizes[shard] - filled).min(chunk.rows - row);
                let builder = builders[shard].take().ok_or_else(|| Error::Internal {
                    context: "ShardedDataset::from_csv",
                    source: "a shard's upload taken twice".into(),
                })?;
                builders[shard] = Some(builder.push(
                    chunk.features[row * m..(row + take) * m].to_vec(),
                    chunk.targets[row * k..(row + take) * k].to_vec(),
                    take,
                )?);
                row += take;
                filled += take;
                if filled == sizes[shard] {
                    shard += 1;
                    filled = 0;
                }
            }
        }
        let rows = reader.rows_read();
        let second = reader.finish()?;
        if rows != n || second != first {
            return Err(Error::DataFile {
                path: path.display().to_string(),
                message: "the file changed between the pass that counted its rows and the pass \
                          that loaded them"
                    .into(),
                source: None,
            });
        }
        let names = (
            Names::given("feature names", feature_names, m)?,
            Names::given("target names", target_names, k)?,
        );
        let shards = builders
            .into_iter()
            .flatten()
            .map(|b| {
                let (f, t) = names.clone();
                b.finish(move |d| Ok(d.with_names(f, t)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::assemble(shards, devices, names))
    }

    /// The shards with their labels, names and weight normalisation, and the default timeout.
    fn assemble(shards: Vec<Dataset>, devices: &[Device], names: (Names, Names)) -> Self {
        let weight_normalisation = if shards.iter().all(|s| s.weight_values().is_none()) {
            (0, 1.0)
        } else {
            let all = || {
                shards
                    .iter()
                    .flat_map(|s| s.weight_values_or_ones().into_owned())
            };
            let e = super::normalising_exponent(all());
            let n: usize = shards.iter().map(Dataset::n_samples).sum();
            let total = crate::lstsq::double_double::sum(all().map(|w| scale2(w, -e)));
            (e, total / n as f64)
        };
        ShardedDataset {
            labels: devices
                .iter()
                .enumerate()
                .map(|(i, d)| label(i, d))
                .collect(),
            shards,
            names,
            weight_normalisation,
            timeout: DEFAULT_SHARD_TIMEOUT,
        }
    }

    /// Rows in all shards.
    pub fn n_samples(&self) -> usize {
        self.shards.iter().map(Dataset::n_samples).sum()
    }

    /// Feature columns.
    pub fn n_features(&self) -> usize {
        self.shards[0].n_features()
    }

    /// Target columns.
    pub fn n_targets(&self) -> usize {
        self.shards[0].n_targets()
    }

    /// The shards, in row order.
    pub fn shards(&self) -> &[Dataset] {
        &self.shards
    }

    /// The same shards, with this limit on each shard's answer to one step (default
    /// [`DEFAULT_SHARD_TIMEOUT`], 120 s): a worker that does not answer in time fails the fit
    /// with [`Error::Worker`] naming it. `Duration::MAX` waits without a limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on each shard's answer to one step.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn labels(&self) -> &[String] {
        &self.labels
    }

    pub(crate) fn names(&self) -> (&Names, &Names) {
        (&self.names.0, &self.names.1)
    }

    /// The whole data's sample-weight normalisation `e` and `mean(w 2^-e)` over all rows
    /// (`(0, 1)` without weights).
    pub(crate) fn weight_normalisation(&self) -> (i32, f64) {
        self.weight_normalisation
    }
}

impl Dataset {
    /// These data with these column names.
    pub(crate) fn with_names(mut self, features: Names, targets: Names) -> Self {
        self.feature_names = features;
        self.target_names = targets;
        self
    }
}

/// The rows `rows` of `data`'s device as an index tensor.
pub(crate) fn index_tensor(rows: &[i64], device: &Device) -> Tensor<1, burn::tensor::Int> {
    Tensor::from_data(TensorData::new(rows.to_vec(), [rows.len()]), device)
}

/// One thread per shard, owning it and answering its jobs in order, so that a shard whose
/// device fails (an error, a panic in Burn's remote client) or hangs is reported by name
/// within the data's timeout instead of taking the caller down or blocking it.
pub(crate) struct ShardWorkers<J, A> {
    threads: Vec<(Sender<J>, Receiver<Result<A>>)>,
    labels: Vec<String>,
    timeout: Duration,
}

impl<J: Send + 'static, A: Send + 'static> ShardWorkers<J, A> {
    /// A thread per shard of `data`, each answering its jobs with `work`.
    ///
    /// # Errors
    /// [`Error::Worker`] when a thread cannot be started.
    pub(crate) fn start<F>(data: &ShardedDataset, work: F) -> Result<Self>
    where
        F: Fn(&Dataset, J) -> Result<A> + Send + Clone + 'static,
    {
        let threads = data
            .shards()
            .iter()
            .zip(data.labels())
            .map(|(shard, name)| {
                let (jobs, job_rx) = channel::<J>();
                let (answer_tx, answers) = channel();
                let (shard, work) = (shard.clone(), work.clone());
                std::thread::Builder::new()
                    .name(format!("linfit-{name}"))
                    .spawn(move || {
                        while let Ok(job) = job_rx.recv() {
                            let result =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    work(&shard, job)
                                }))
                                .unwrap_or_else(|panic| {
                                    Err(Error::Worker {
                                        worker: String::new(),
                                        reason: panic_reason(panic),
                                    })
                                });
                            if answer_tx.send(result).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(|e| Error::Worker {
                        worker: name.clone(),
                        reason: format!("cannot start its thread: {e}"),
                    })?;
                Ok((jobs, answers))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ShardWorkers {
            threads,
            labels: data.labels().to_vec(),
            timeout: data.timeout(),
        })
    }

    /// Gives shard `shard` a job.
    pub(crate) fn send(&self, shard: usize, job: J) {
        // A closed channel means the thread ended: its answer says why.
        let _ = self.threads[shard].0.send(job);
    }

    /// Every shard's answer to its last job, in shard order, all within the timeout from now.
    ///
    /// # Errors
    /// [`Error::Worker`] naming the first shard (in order) that failed or did not answer in
    /// time (`what` names the work in the message, e.g. "step 3").
    pub(crate) fn answers(&self, what: &str) -> Result<Vec<A>> {
        // A timeout past what an Instant can hold (Duration::MAX) means no limit.
        let deadline = Instant::now().checked_add(self.timeout);
        self.threads
            .iter()
            .zip(&self.labels)
            .map(|((_, answers), name)| {
                let answer = match deadline {
                    Some(deadline) => {
                        answers.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    }
                    None => answers
                        .recv()
                        .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
                };
                match answer {
                    Ok(Ok(answer)) => Ok(answer),
                    Ok(Err(e)) => Err(Error::Worker {
                        worker: name.clone(),
                        reason: match e {
                            Error::Worker { reason, .. } => reason,
                            other => other.to_string(),
                        },
                    }),
                    Err(_) => Err(Error::Worker {
                        worker: name.clone(),
                        reason: format!(
                            "no answer to {what} within {:?} (a hung or unreachable worker; \
                             ShardedDataset::with_timeout sets the limit)",
                            self.timeout
                        ),
                    }),
                }
            })
            .collect()
    }
}
