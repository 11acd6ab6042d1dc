//! Devices and precision: the one place in linfit that knows about backends and float types.
//!
//! Burn 0.22 has no backend type parameter: a tensor's backend is a property of its [`Device`],
//! and every device has a default float type that **locks at its first tensor**. Without
//! configuration that float type is `f32`, and `f64` data sent to such a device is silently cast.
//! The functions here configure the device first, so that `Precision::F64` really means float64
//! arithmetic, and they tolerate a device that is already locked to the precision asked for.
//!
//! | name        | cargo feature        | device                         | f64            |
//! |-------------|----------------------|--------------------------------|----------------|
//! | `cpu`       | `flex` or `ndarray`  | flex if enabled, else ndarray  | yes            |
//! | `flex`      | `flex` (default)     | Burn's flex CPU backend        | yes            |
//! | `ndarray`   | `ndarray`            | Burn's ndarray CPU backend     | yes            |
//! | `wgpu`      | `wgpu`               | the default wgpu adapter       | if the adapter has it |
//! | `cuda[:i]`  | `cuda`               | NVIDIA GPU `i` (default 0)     | yes            |

use burn::tensor::{Device, DeviceError, Tensor};

use crate::{Error, Result};

pub use crate::precision::Precision;

/// The precision a device creates float tensors in (its current or default settings).
///
/// `None` when the device's default float type is neither `f32` nor `f64` (a half-precision
/// device configured outside linfit).
///
/// # Example
/// ```
/// use linfit::{device, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// assert_eq!(device::precision(&cpu), Some(Precision::F64));
/// # Ok::<(), linfit::Error>(())
/// ```
pub fn precision(device: &Device) -> Option<Precision> {
    Precision::from_dtype(device.settings().float_dtype.into())
}

/// The default CPU device (flex; ndarray when that is the only CPU feature), set to `precision`.
///
/// Idempotent and safe from parallel threads: a second call with the same precision is `Ok`.
///
/// # Errors
/// [`Error::Precision`] when the device is already locked to the other precision (Burn locks a
/// device's float type at its first tensor, for the life of the process); [`Error::Device`]
/// when linfit was built without a CPU backend feature.
///
/// # Example
/// ```
/// use linfit::{device, Precision};
/// let cpu = device::cpu(Precision::F64)?;
/// let again = device::cpu(Precision::F64)?; // fine
/// assert_eq!(cpu, again);
/// assert!(device::cpu(Precision::F32).is_err()); // locked to f64 now
/// # Ok::<(), linfit::Error>(())
/// ```
pub fn cpu(precision: Precision) -> Result<Device> {
    #[cfg(feature = "flex")]
    {
        configure(Device::flex(), precision)
    }
    #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
    {
        #[allow(deprecated)] // Burn deprecates ndarray in favour of flex; we keep supporting it.
        configure(Device::ndarray(), precision)
    }
    #[cfg(not(any(feature = "flex", feature = "ndarray")))]
    {
        let _ = precision;
        Err(Error::Device {
            name: "cpu".into(),
            reason:
                "linfit was built without a CPU backend: enable the `flex` or `ndarray` feature"
                    .into(),
        })
    }
}

/// The device named `name`, set to `precision`.
///
/// Names: `cpu`, `flex`, `ndarray`, `wgpu`, `cuda`, `cuda:N` (case-insensitive, surrounding
/// spaces ignored). Meant for examples' `--device` flags and the `LINFIT_DEVICE` variable.
///
/// # Errors
/// [`Error::Device`] for an unknown name or one whose cargo feature is not compiled in (the
/// message names the feature); [`Error::Precision`] as for [`cpu`], and when the device has no
/// `f64` support.
///
/// # Example
/// ```
/// use linfit::{device, Precision};
/// let dev = device::from_name("cpu", Precision::F64)?;
/// assert!(device::from_name("tpu", Precision::F64).is_err());
/// # Ok::<(), linfit::Error>(())
/// ```
pub fn from_name(name: &str, precision: Precision) -> Result<Device> {
    let (backend, index) = parse_name(name)?;
    let missing = |feature: &str| Error::Device {
        name: name.into(),
        reason: format!(
            "this build of linfit has no {feature} backend: enable the `{feature}` cargo feature"
        ),
    };
    match backend.as_str() {
        "cpu" => cpu(precision),
        "flex" => {
            #[cfg(feature = "flex")]
            {
                configure(Device::flex(), precision)
            }
            #[cfg(not(feature = "flex"))]
            {
                Err(missing("flex"))
            }
        }
        "ndarray" => {
            #[cfg(feature = "ndarray")]
            {
                #[allow(deprecated)]
                configure(Device::ndarray(), precision)
            }
            #[cfg(not(feature = "ndarray"))]
            {
                Err(missing("ndarray"))
            }
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            {
                configure(
                    Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                    precision,
                )
            }
            #[cfg(not(feature = "wgpu"))]
            {
                Err(missing("wgpu"))
            }
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            {
                let index = index.unwrap_or(0);
                // Burn's CUDA runtime panics in a device thread without a driver or a device.
                check_cuda(index).map_err(|reason| Error::Device {
                    name: name.into(),
                    reason,
                })?;
                configure(Device::cuda(index), precision)
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = index;
                Err(missing("cuda"))
            }
        }
        _ => Err(Error::Device {
            name: name.into(),
            reason: "unknown device: expected cpu, flex, ndarray, wgpu, cuda or cuda:N".into(),
        }),
    }
}

/// A device name's backend (lower case, spaces trimmed) and index (`cuda:N`).
fn parse_name(name: &str) -> Result<(String, Option<usize>)> {
    let lower = name.trim().to_ascii_lowercase();
    let (backend, index) = match lower.split_once(':') {
        Some((backend, index)) => {
            let index: usize = index.parse().map_err(|_| Error::Device {
                name: name.into(),
                reason: format!("{index:?} is not a device index (expected e.g. `cuda:1`)"),
            })?;
            (backend, Some(index))
        }
        None => (lower.as_str(), None),
    };
    if index.is_some() && backend != "cuda" {
        return Err(Error::Device {
            name: name.into(),
            reason: "only `cuda` takes a device index".into(),
        });
    }
    Ok((backend.to_string(), index))
}

/// Whether the NVIDIA driver can serve CUDA device `index`: its library loads, `cuInit`
/// succeeds and the device exists. Without this check Burn's CUDA runtime (cudarc) panics in a
/// device thread ("Unable to dynamically load the \"cuda\" shared library").
#[cfg(feature = "cuda")]
fn check_cuda(index: usize) -> std::result::Result<(), String> {
    type CuInit = unsafe extern "C" fn(u32) -> i32;
    type CuDeviceGetCount = unsafe extern "C" fn(*mut i32) -> i32;
    let names: &[&str] = if cfg!(windows) {
        &["nvcuda.dll"]
    } else {
        &["libcuda.so.1", "libcuda.so"]
    };
    let mut last = String::new();
    for name in names {
        // SAFETY: loading the driver library runs its initialisers, as cudarc does when Burn
        // creates a CUDA device.
        let library = match unsafe { libloading::Library::new(name) } {
            Ok(library) => library,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        // SAFETY: the CUDA driver API's signatures: `CUresult cuInit(unsigned int)` and
        // `CUresult cuDeviceGetCount(int *)`.
        let (init, count) = unsafe {
            (
                library.get::<CuInit>(b"cuInit\0"),
                library.get::<CuDeviceGetCount>(b"cuDeviceGetCount\0"),
            )
        };
        let (Ok(init), Ok(count)) = (init, count) else {
            return Err(format!(
                "{name} lacks cuInit or cuDeviceGetCount: not an NVIDIA driver"
            ));
        };
        // SAFETY: the driver API as declared above.
        let status = unsafe { init(0) };
        if status != 0 {
            return Err(format!(
                "the NVIDIA driver did not start (cuInit error {status}{})",
                match status {
                    100 => ": no CUDA-capable device",
                    35 => ": the driver is older than the CUDA runtime needs",
                    _ => "",
                }
            ));
        }
        let mut devices = 0i32;
        // SAFETY: as above.
        let status = unsafe { count(&mut devices) };
        if status != 0 {
            return Err(format!("cuDeviceGetCount error {status}"));
        }
        if index >= devices.max(0) as usize {
            return Err(format!(
                "this machine has {devices} CUDA device(s): cuda:{index} does not exist"
            ));
        }
        // The driver stays loaded for cudarc, which loads it again.
        std::mem::forget(library);
        return Ok(());
    }
    Err(format!(
        "the NVIDIA driver library cannot be loaded ({last}): install the NVIDIA driver, or use \
         another device"
    ))
}

/// The device named by the environment variable `var` (for instance `LINFIT_DEVICE`), or the
/// CPU when it is unset or empty.
///
/// # Errors
/// As [`from_name`].
pub fn from_env(var: &str, precision: Precision) -> Result<Device> {
    match std::env::var(var) {
        Ok(name) if !name.trim().is_empty() => from_name(&name, precision),
        _ => cpu(precision),
    }
}

/// Sets `device`'s default float type to `precision`, tolerating a device already locked to it.
///
/// Use this for a device built by hand with Burn's constructors.
///
/// # Errors
/// [`Error::Precision`] when the device lacks the float type, or is locked to another one.
pub fn configure(mut device: Device, precision: Precision) -> Result<Device> {
    let dtype = precision.float_dtype();
    let precision_error = |device: &Device, reason: String| Error::Precision {
        device: format!("{device:?}"),
        requested: precision,
        reason,
    };
    if !device.supports_dtype(dtype) {
        return Err(precision_error(
            &device,
            "the backend or adapter does not support this float type".into(),
        ));
    }
    match device.configure(dtype) {
        Ok(()) => Ok(device),
        Err(DeviceError::AlreadyInitialized { .. }) => {
            let locked = device.settings().float_dtype;
            if locked == dtype {
                Ok(device)
            } else {
                Err(precision_error(
                    &device,
                    format!(
                        "the device is already locked to {locked:?} (Burn fixes a device's float type at \
                         its first tensor, for the life of the process); ask for one precision per process"
                    ),
                ))
            }
        }
        Err(other) => Err(precision_error(&device, other.to_string())),
    }
}

/// Whether `device` computes on the host CPU through flex or ndarray. Products with a long
/// inner dimension and a small result are fastest there as plain matmuls, while a GPU needs
/// them split (see `lstsq::row_passes`).
pub(crate) fn is_host_cpu(device: &Device) -> bool {
    use burn::backend::DispatchDevice as Dispatch;
    match device.as_dispatch() {
        #[cfg(feature = "flex")]
        Dispatch::Flex(_) => true,
        #[cfg(feature = "ndarray")]
        Dispatch::NdArray(_) => true,
        _ => false,
    }
}

/// The precision `device` creates float tensors in, or an error for a device set to another
/// float type (half precision, configured outside linfit).
pub(crate) fn device_precision(device: &Device) -> Result<Precision> {
    precision(device).ok_or_else(|| Error::UnsupportedDtype {
        context: format!(
            "device {device:?} (configure it with linfit::device::configure or get it from \
             linfit::device::cpu / from_name)"
        ),
        dtype: format!("{:?}", device.settings().float_dtype),
    })
}

/// Reads a tensor back to the host as `f64` values, whatever its float type.
pub(crate) fn read_f64<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f64>> {
    Ok(tensor.try_into_vec_as::<f64>()?)
}

/// Reads a one-element tensor (a loss, a sum) back to the host as an `f64`, without its
/// autodiff graph.
pub(crate) fn read_scalar(tensor: Tensor<1>) -> Result<f64> {
    let values = read_f64(tensor.without_autodiff())?;
    Ok(values.first().copied().unwrap_or(f64::NAN))
}

/// How long [`remote`] waits for a worker to accept a connection.
#[cfg(feature = "distributed")]
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long [`remote`] waits for a worker to answer the handshake once it accepted the
/// connection ([`remote_with_timeout`] sets another limit).
#[cfg(feature = "distributed")]
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `f32` or `f64`.
#[cfg(feature = "distributed")]
#[doc(hidden)]
pub fn precision_name(precision: Precision) -> &'static str {
    match precision {
        Precision::F64 => "f64",
        _ => "f32",
    }
}

/// A device served by a `linfit-worker` (Burn's remote backend) at `address`
/// (`"ws://host:port"`), in `precision`; feature `distributed`.
///
/// Tensors created on it live on the worker; operations on them run there; reading one back
/// brings its values over the network. The connection presents this linfit's version, the
/// precision and a proof of the token in the environment variable `LINFIT_WORKER_TOKEN` (which
/// the worker must have been given too; the token itself is not sent: see the README's threat
/// model): a worker of another version, serving another precision, or with another token
/// refuses it, as does one whose clock differs from this machine's by more than 5 minutes. Run the workers on a private network: a worker runs the tensor
/// programs of anyone holding its token.
///
/// # Errors
/// [`Error::Worker`] when nothing accepts a connection at `address` within
/// [`CONNECT_TIMEOUT`], when the peer does not answer the handshake within
/// [`HANDSHAKE_TIMEOUT`] (something listens there, but not a worker that answers), when the
/// worker refuses this client (version, precision or token: the worker's log says which), or
/// for an address that is not `ws://host:port`; [`Error::Precision`] when the worker's device
/// lacks the float type.
#[cfg(feature = "distributed")]
pub fn remote(address: &str, precision: Precision) -> Result<Device> {
    remote_with_timeout(address, precision, HANDSHAKE_TIMEOUT)
}

/// [`remote`] with another limit on the handshake (`handshake`, from the accepted connection
/// to the worker's answer). A handshake given up on finishes or fails in the background (Burn
/// cannot cancel it); the device it may yield is not used.
///
/// # Errors
/// As [`remote`], the handshake's limit being `handshake`.
#[cfg(feature = "distributed")]
pub fn remote_with_timeout(
    address: &str,
    precision: Precision,
    handshake: std::time::Duration,
) -> Result<Device> {
    use burn::tensor::remote::{ConnectError, RemoteHost};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::sync::atomic::{AtomicU64, Ordering};

    let worker = |reason: String| Error::Worker {
        worker: address.to_string(),
        reason,
    };
    let host_port = address
        .strip_prefix("ws://")
        .ok_or_else(|| worker("the address must be ws://host:port".into()))?;
    let addrs: Vec<_> = host_port
        .to_socket_addrs()
        .map_err(|e| worker(format!("cannot resolve {host_port}: {e}")))?
        .collect();
    // Burn retries a refused connection for 16 s and has no timeout of its own: probe first.
    let reachable = addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, CONNECT_TIMEOUT).is_ok());
    if !reachable {
        return Err(worker(format!(
            "nothing accepted a connection within {CONNECT_TIMEOUT:?}: is linfit-worker running \
             there, and reachable?"
        )));
    }
    // Unique per connection (Burn keeps one session per address and credential, and the
    // worker accepts a nonce once).
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let nonce = format!(
        "{}-{}-{:016x}",
        std::process::id(),
        NONCE.fetch_add(1, Ordering::Relaxed),
        {
            use std::hash::{BuildHasher, Hasher};
            // Randomly keyed by the standard library, fresh per call.
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        }
    );
    let token = std::env::var("LINFIT_WORKER_TOKEN").unwrap_or_default();
    let host = RemoteHost::websocket(address).with_credential(
        crate::credential::client_credential(precision, &token, &nonce),
    );
    // Burn's connect has no limit of its own: a peer that accepts TCP and never answers would
    // block it forever. It runs on a thread of its own, waited for within `handshake`.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("linfit-remote-connect".into())
        .spawn(move || {
            let _ = sender.send(Device::remote_options(&host).init());
        })
        .map_err(|e| worker(format!("cannot start the connecting thread: {e}")))?;
    let answer = receiver.recv_timeout(handshake).map_err(|_| {
        worker(format!(
            "the peer accepted the connection but did not answer the handshake within \
             {handshake:?}: is it a linfit-worker, and is it responsive?"
        ))
    })?;
    let device = answer.map_err(|e| match e {
        ConnectError::Unauthorized => worker(format!(
            "the worker refused this client: it runs another linfit version than {}, serves \
             another precision than {}, or expects another LINFIT_WORKER_TOKEN (its log says \
             which)",
            env!("CARGO_PKG_VERSION"),
            precision_name(precision)
        )),
        other => worker(other.to_string()),
    })?;
    configure(device, precision)
}
