//! Two `linfit-worker` processes on 127.0.0.1, started by the test: sharded training equals
//! training in one process, and failures are clear errors within a bounded time (a killed
//! worker, nothing listening, a refused precision or token). Feature `distributed`.
#![cfg(feature = "distributed")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linfit::prelude::*;

use common::nist;

/// A worker process, killed when dropped.
struct Worker {
    child: Child,
    address: String,
}

impl Worker {
    fn start(precision: &str, token: Option<&str>) -> Worker {
        Self::start_logging(precision, token, Stdio::null())
    }

    /// A worker whose log (stderr) goes to `log`.
    fn start_logging(precision: &str, token: Option<&str>, log: Stdio) -> Worker {
        Self::start_with(precision, token, log, &[])
    }

    /// A worker with these further flags.
    fn start_with(precision: &str, token: Option<&str>, log: Stdio, flags: &[&str]) -> Worker {
        let mut command = Command::new(env!("CARGO_BIN_EXE_linfit-worker"));
        command
            .args(["--listen", "127.0.0.1:0", "--precision", precision])
            .args(flags)
            // Each worker serves the device under test (flex or ndarray in CI).
            .args(["--device", &common::test_device_name()])
            .stdout(Stdio::piped())
            .stderr(log)
            .env_remove("LINFIT_WORKER_TOKEN");
        if let Some(token) = token {
            command.env("LINFIT_WORKER_TOKEN", token);
        }
        let mut child = command.spawn().expect("start linfit-worker");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "linfit-worker VERSION listening on ws://127.0.0.1:PORT (cpu, f64)"
        let address = line
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Worker { child, address }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data(n: usize, device: &Device) -> Dataset {
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| vec![(i % 9) as f64 / 9.0, ((i * 5) % 13) as f64 / 13.0])
        .collect();
    let targets: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 0.5 + 2.0 * r[0] - r[1] + 0.01 * ((i * 7) % 3) as f64)
        .collect();
    Dataset::from_rows(&rows, &targets, device).unwrap()
}

fn start(device: &Device) -> LinearModel {
    LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), device).unwrap()
}

#[test]
fn two_workers_train_as_one_process() {
    let (a, b) = (Worker::start("f64", None), Worker::start("f64", None));
    let cpu = common::test_device(Precision::F64);
    let remote = [
        device::remote(&a.address, Precision::F64).unwrap(),
        device::remote(&b.address, Precision::F64).unwrap(),
    ];
    let data = data(200, &cpu);
    let sharded = ShardedDataset::split(&data, &remote).unwrap();
    assert_eq!(sharded.shards()[1].n_samples(), 100);
    let trainer = TrainerConfig::new(SgdConfig::new(0.3).with_momentum(0.5))
        .with_epochs(100)
        .with_log_every(Some(10))
        .init()
        .unwrap();
    let whole = trainer.fit(start(&cpu), &data).unwrap();
    let fitted = trainer.fit_sharded(start(&cpu), &sharded).unwrap();
    for (x, y) in fitted.model.weights().iter().zip(whole.model.weights()) {
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
    }
    for (x, y) in fitted.history.iter().zip(&whole.history) {
        assert!((x.loss - y.loss).abs() <= 1e-12 * y.loss);
    }
    // Mini-batches, shuffled, on the workers: reproducible.
    let minibatch = TrainerConfig::new(SgdConfig::new(0.05))
        .with_epochs(5)
        .with_batch_size(Some(32))
        .init()
        .unwrap();
    let m1 = minibatch.fit_sharded(start(&cpu), &sharded).unwrap();
    let m2 = minibatch.fit_sharded(start(&cpu), &sharded).unwrap();
    assert_eq!(m1.model.weights(), m2.model.weights());
}

/// The closed form over two workers: the in-memory numbers, and NIST's Longley (the design the
/// normal equations lose 6 digits on) to the in-memory floor of `tests/nist.rs`.
#[test]
fn two_workers_solve_the_closed_form_as_one_process() {
    let (a, b) = (Worker::start("f64", None), Worker::start("f64", None));
    let cpu = common::test_device(Precision::F64);
    let remote = [
        device::remote(&a.address, Precision::F64).unwrap(),
        device::remote(&b.address, Precision::F64).unwrap(),
    ];
    let data = data(200, &cpu);
    let whole = LeastSquares::new().fit(&data).unwrap();
    let sharded = ShardedDataset::split(&data, &remote).unwrap();
    let fit = LeastSquares::new().fit_sharded(&sharded).unwrap();
    assert_eq!(fit.rank(), whole.rank());
    let got: Vec<f64> = fit
        .model()
        .weights()
        .into_iter()
        .chain(fit.model().bias().unwrap())
        .collect();
    let want: Vec<f64> = whole
        .model()
        .weights()
        .into_iter()
        .chain(whole.model().bias().unwrap())
        .collect();
    for (x, y) in got.iter().zip(&want) {
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
    }
    let cases = nist::load_all(concat!(env!("CARGO_MANIFEST_DIR"), "/data/nist-strd")).unwrap();
    let longley = cases.iter().find(|c| c.name == "Longley").unwrap();
    let data = Dataset::from_rows(&longley.x, &longley.y, &cpu).unwrap();
    let fit = LeastSquares::new()
        .fit_sharded(&ShardedDataset::split(&data, &remote).unwrap())
        .unwrap();
    let m = fit.model();
    let est: Vec<f64> = m.bias().unwrap().into_iter().chain(m.weights()).collect();
    let lre = nist::min_lre(&est, &longley.estimates);
    assert!(lre >= 14.3, "Longley over two workers: LRE {lre:.1}");
}

#[test]
fn a_killed_worker_is_an_error_naming_it() {
    let (a, mut b) = (Worker::start("f64", None), Worker::start("f64", None));
    let cpu = common::test_device(Precision::F64);
    let remote = [
        device::remote(&a.address, Precision::F64).unwrap(),
        device::remote(&b.address, Precision::F64).unwrap(),
    ];
    let sharded = ShardedDataset::split(&data(100, &cpu), &remote)
        .unwrap()
        .with_timeout(Duration::from_secs(20));
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(50)
        .init()
        .unwrap();
    let started = Instant::now();
    match trainer.fit_sharded(start(&cpu), &sharded) {
        Err(Error::Worker { worker, reason }) => {
            assert!(worker.starts_with("shard 1"), "{worker}: {reason}");
        }
        other => panic!("expected a worker error, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(25));
    let started = Instant::now();
    match LeastSquares::new().fit_sharded(&sharded) {
        Err(Error::Worker { worker, reason }) => {
            assert!(worker.starts_with("shard 1"), "{worker}: {reason}");
        }
        other => panic!("expected a worker error, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(25));
}

#[test]
fn unreachable_refused_and_wrong_addresses_are_errors() {
    // Nothing listens on port 1.
    let started = Instant::now();
    assert!(matches!(
        device::remote("ws://127.0.0.1:1", Precision::F64),
        Err(Error::Worker { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(matches!(
        device::remote("127.0.0.1:3001", Precision::F64),
        Err(Error::Worker { .. })
    ));
    // A worker serving f32 refuses an f64 client; one with a token refuses a client without.
    let f32_worker = Worker::start("f32", None);
    match device::remote(&f32_worker.address, Precision::F64) {
        Err(Error::Worker { reason, .. }) => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let guarded = Worker::start("f64", Some("secret"));
    assert!(matches!(
        device::remote(&guarded.address, Precision::F64),
        Err(Error::Worker { .. })
    ));
}

/// A client of another linfit version is refused, and the worker's log says why: the
/// credential is built here by hand with another version, as an older client would send it.
#[test]
fn a_client_of_another_version_is_refused() {
    use linfit::burn::tensor::remote::{ConnectError, RemoteHost};
    let mut worker = Worker::start_logging("f64", None, Stdio::piped());
    // linfit/VERSION/PRECISION/TIME/NONCE/MAC (src/credential.rs); the version is checked first.
    let credential = "linfit/0.0.1/f64/0/test-nonce/00";
    let host = RemoteHost::websocket(&worker.address).with_credential(credential);
    match Device::remote_options(&host).init() {
        Err(ConnectError::Unauthorized) => {}
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("a client of another version was served"),
    }
    worker.child.kill().unwrap();
    worker.child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut worker.child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("another linfit version (\"0.0.1\""),
        "the worker's log: {log}"
    );
}

/// SIGTERM stops a worker cleanly: exit status 0 (Burn's serve returns on the signal).
#[cfg(unix)]
#[test]
fn sigterm_stops_a_worker_with_status_zero() {
    let mut worker = Worker::start("f64", None);
    // A connected client first, so the worker has a session to close.
    let _device = device::remote(&worker.address, Precision::F64).unwrap();
    let pid = worker.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = worker.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the worker did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// A peer that accepts the TCP connection and never answers (not a worker, or a hung one)
/// fails `device::remote` within its handshake limit; it once blocked past a minute.
#[test]
fn a_silent_peer_fails_the_handshake_in_bounded_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("ws://{}", listener.local_addr().unwrap());
    // Accept and hold every connection, saying nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    let started = Instant::now();
    let limit = Duration::from_secs(2);
    match device::remote_with_timeout(&address, Precision::F64, limit) {
        Err(Error::Worker { reason, .. }) => {
            assert!(reason.contains("handshake"), "{reason}")
        }
        other => panic!("expected a worker error, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(took < limit + Duration::from_secs(3), "took {took:?}");
}

/// A worker without a token does not listen beyond loopback unless told to, and then warns.
#[test]
fn a_tokenless_worker_stays_on_loopback_unless_told() {
    let worker = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_linfit-worker"));
        command
            .args(["--listen", "0.0.0.0:0", "--precision", "f64"])
            .args(["--device", &common::test_device_name()])
            .env_remove("LINFIT_WORKER_TOKEN");
        command
    };
    let refused = worker().output().unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("refusing") && message.contains("LINFIT_WORKER_TOKEN"),
        "{message}"
    );

    // The first line a started worker prints (where it listens), and its stderr once killed.
    let serve = |command: &mut Command| -> (String, String) {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        (line, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    // Told so, it serves and warns on stderr.
    let (line, log) = serve(worker().arg("--serve-anyone"));
    assert!(line.contains("listening on ws://0.0.0.0:"), "{line}");
    assert!(log.contains("WITHOUT A TOKEN"), "{log}");
    // With a token it serves without a warning.
    let (line, log) = serve(worker().env("LINFIT_WORKER_TOKEN", "secret"));
    assert!(line.contains("listening"), "{line}");
    assert!(!log.contains("WARNING"), "{log}");
}

/// What reaches the worker's port before a credential is checked: only session requests (Burn's
/// server-to-server `/data` route is closed: 403), a first message of at most 64 KiB (a frame
/// announcing 2 GiB closes the connection at once, before anything is read), and nothing at all
/// past the handshake limit (a peer that sends nothing is closed). The worker keeps serving.
#[test]
fn a_stranger_reaches_only_the_session_route_and_briefly() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let mut worker = Worker::start_with("f64", None, Stdio::piped(), &["--handshake-timeout", "1"]);
    let host = worker.address.trim_start_matches("ws://").to_string();
    let upgrade = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
    };
    // Everything the worker sends until it closes, and how long that took.
    let until_closed = |stream: &mut TcpStream| -> (String, Duration) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    };

    let mut data_route = TcpStream::connect(&host).unwrap();
    data_route.write_all(upgrade("/data").as_bytes()).unwrap();
    let (answer, _) = until_closed(&mut data_route);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    let mut huge = TcpStream::connect(&host).unwrap();
    huge.write_all(upgrade("/session").as_bytes()).unwrap();
    // A masked binary frame announcing 2^31 bytes of payload.
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&(1u64 << 31).to_be_bytes());
    huge.write_all(&frame).unwrap();
    let (answer, took) = until_closed(&mut huge);
    // Closed before or after Burn's server's upgrade reached the client (the gate refuses the
    // frame as soon as its header arrives), but not refused as a route.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 101"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    let mut silent = TcpStream::connect(&host).unwrap();
    let (answer, took) = until_closed(&mut silent);
    assert!(answer.is_empty(), "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "a silent peer held for {took:?}"
    );

    // Still serving.
    let device = device::remote(&worker.address, Precision::F64).unwrap();
    let x = Tensor::<1>::from_floats([1.0, 2.0], &device);
    let sum: f64 = x.sum().into_scalar();
    assert_eq!(sum, 3.0);
    drop(device);
    worker.child.kill().unwrap();
    worker.child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut worker.child.stderr.take().unwrap(), &mut log).unwrap();
    for why in ["only /session is served", "a first message of", "handshake"] {
        assert!(log.contains(why), "the worker's log lacks {why:?}: {log}");
    }
}

/// At most `--max-pending` connections may be in their handshake at once (each holds a thread
/// of the worker for up to the handshake limit): one more is closed at once, and once the
/// pending ones are gone the worker serves again.
#[test]
fn handshakes_at_once_are_bounded() {
    use std::io::Read;
    use std::net::TcpStream;
    let worker = Worker::start_with(
        "f64",
        None,
        Stdio::null(),
        &["--handshake-timeout", "8", "--max-pending", "2"],
    );
    let host = worker.address.trim_start_matches("ws://").to_string();
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&host).unwrap()).collect();
    // Let the gate count both before the third arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(&host).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(6)))
        .unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 16];
    let read = third.read(&mut buffer);
    assert!(
        matches!(read, Ok(0) | Err(_)) && started.elapsed() < Duration::from_secs(4),
        "the third connection was held: {read:?} after {:?}",
        started.elapsed()
    );
    drop(held);
    // The gate sees the two close and frees their places.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match device::remote(&worker.address, Precision::F64) {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the worker no longer serves: {e}"),
        }
    }
}

/// The gate's rules against tricks a review found (each once held a connection, its thread
/// and its handshake place without limit, or reached Burn's server-to-server route): a ping
/// and a text frame before the credential (Burn's server answers the ping and keeps waiting), a
/// `/session` request that is not a websocket upgrade (a second, pipelined request could then
/// follow), and a request dripped one byte at a time (each read within the limit, the whole
/// not).
#[test]
fn the_gate_is_not_fooled_by_pings_pipelining_or_drips() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let mut worker = Worker::start_with("f64", None, Stdio::piped(), &["--handshake-timeout", "2"]);
    let host = worker.address.trim_start_matches("ws://").to_string();
    let until_closed = |stream: &mut TcpStream| -> (String, Duration) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    };
    let upgrade = format!(
        "GET /session HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );

    // A masked ping, then a masked empty text frame.
    let mut ping = TcpStream::connect(&host).unwrap();
    ping.write_all(upgrade.as_bytes()).unwrap();
    ping.write_all(&[0x89, 0x80, 1, 2, 3, 4, 0x81, 0x80, 1, 2, 3, 4])
        .unwrap();
    let (answer, took) = until_closed(&mut ping);
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert!(took < Duration::from_secs(4), "held {took:?}");

    // /session without the upgrade headers, a /data upgrade pipelined behind it.
    let mut pipelined = TcpStream::connect(&host).unwrap();
    pipelined
        .write_all(
            format!(
                "GET /session HTTP/1.1\r\nHost: {host}\r\n\r\n{}",
                upgrade.replace("/session", "/data")
            )
            .as_bytes(),
        )
        .unwrap();
    let (answer, _) = until_closed(&mut pipelined);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    // One byte every 400 ms, never a whole line: closed at the 2 s limit.
    let mut drip = TcpStream::connect(&host).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for b in b"GET /session HTTP/1.1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" {
        if drip.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
        let mut probe = [0u8; 1];
        drip.set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        if let Ok(0) = drip.read(&mut probe) {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a dripping client was held for {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Still serving.
    drop(device::remote(&worker.address, Precision::F64).unwrap());
    worker.child.kill().unwrap();
    worker.child.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut worker.child.stderr.take().unwrap(), &mut log).unwrap();
    for why in ["not one masked binary message", "not a websocket upgrade"] {
        assert!(log.contains(why), "the worker's log lacks {why:?}: {log}");
    }
}
