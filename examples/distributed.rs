//! Two `linfit` workers on this machine (this program started twice more with `--worker`, as
//! `linfit-worker` would be on other machines), a dataset split over them, and the same
//! full-batch training and closed form in one process and sharded: the results side by side,
//! the times, and the bytes that crossed the loopback interface (from `/proc/net/dev`: both
//! workers, both directions, with TCP/IP and websocket framing; anything else on loopback
//! counts too).
//!
//! ```text
//! cargo run --release --features distributed --example distributed [-- --rows 1000000 --cols 32 --steps 20]
//! ```
//!
//! On several machines: run `linfit-worker --listen ADDR:PORT` on each (the same
//! `LINFIT_WORKER_TOKEN` everywhere), then `device::remote("ws://ADDR:PORT", Precision::F64)`
//! here for each, `ShardedDataset::split` (or `from_csv`) over them, and `Trainer::fit_sharded`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use linfit::burn::server::{RemoteServer, WebSocketTransport};
use linfit::prelude::*;

fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let device = device::cpu(Precision::F64)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("listening on ws://{}", listener.local_addr()?);
    let token = std::env::var("LINFIT_WORKER_TOKEN").unwrap_or_default();
    // The check linfit-worker makes of a client's credential (version, precision, token).
    let check = linfit::credential::CredentialCheck::new(Precision::F64, &token);
    RemoteServer::new([device])
        .with_authorizer(
            move |request: linfit::burn::server::AuthorizationRequest<'_>| {
                check
                    .check(request.credential.as_bytes())
                    .map_err(|why| why.to_string())
            },
        )
        .serve(WebSocketTransport::from_listener(listener))?;
    Ok(())
}

struct Worker {
    child: Child,
    address: String,
}

/// Bytes sent over the loopback interface so far (Linux; 0 elsewhere).
fn loopback_bytes() -> u64 {
    std::fs::read_to_string("/proc/net/dev")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.trim_start().starts_with("lo:"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|fields| fields.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

impl Worker {
    fn start() -> Result<Worker, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--worker")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let address = line.trim().trim_start_matches("listening on ").to_string();
        Ok(Worker { child, address })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut rows, mut cols, mut steps) = (200_000usize, 16usize, 20usize);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--worker" => return serve(),
            "--rows" => rows = args.next().ok_or("--rows N")?.parse()?,
            "--cols" => cols = args.next().ok_or("--cols N")?.parse()?,
            "--steps" => steps = args.next().ok_or("--steps N")?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let cpu = device::cpu(Precision::F64)?;
    let (data, _) = MakeRegression::new(rows, cols)
        .with_noise(0.1)
        .with_seed(1)
        .generate(&cpu)?;
    let workers = [Worker::start()?, Worker::start()?];
    let devices = workers
        .iter()
        .map(|w| device::remote(&w.address, Precision::F64))
        .collect::<linfit::Result<Vec<_>>>()?;
    println!(
        "{rows} x {cols} f64, two workers at {} and {}",
        workers[0].address, workers[1].address
    );
    let started = Instant::now();
    let sharded = ShardedDataset::split(&data, &devices)?;
    println!(
        "split: {:.2} s ({} + {} rows)",
        started.elapsed().as_secs_f64(),
        sharded.shards()[0].n_samples(),
        sharded.shards()[1].n_samples()
    );
    let trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_epochs(steps)
        .init()?;
    let start = || LinearModel::from_values(cols, &vec![0.0; cols], Some(&[0.0]), &cpu);

    let t = Instant::now();
    let local = trainer.fit(start()?, &data)?;
    let local_step = t.elapsed().as_secs_f64() / steps as f64;

    let before = loopback_bytes();
    let t = Instant::now();
    let remote = trainer.fit_sharded(start()?, &sharded)?;
    let remote_step = t.elapsed().as_secs_f64() / steps as f64;
    let bytes = loopback_bytes() - before;

    println!("\n{:>10} {:>22} {:>22}", "", "one process", "two workers");
    for (j, (a, b)) in local
        .model
        .weights()
        .iter()
        .zip(remote.model.weights())
        .enumerate()
        .take(6)
    {
        println!("{:>10} {a:>22.15} {b:>22.15}", format!("w[{j}]"));
    }
    println!(
        "{:>10} {:>22.15} {:>22.15}",
        "bias",
        local.model.bias().unwrap_or_default()[0],
        remote.model.bias().unwrap_or_default()[0]
    );
    let diff = local
        .model
        .weights()
        .iter()
        .zip(remote.model.weights())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("largest difference: {diff:.1e}");
    println!(
        "\nfull-batch step: {:.2} ms in one process, {:.2} ms over two workers",
        local_step * 1e3,
        remote_step * 1e3
    );
    println!(
        "loopback traffic: {:.0} B per step for both workers (the payload: {} numbers out and {} \
         back per worker, {} B)",
        bytes as f64 / steps as f64,
        cols + 1,
        cols + 2,
        2 * 8 * (2 * cols + 3)
    );

    // The closed form: in one process (the QR that reads the rows back, and Auto's normal
    // equations), and over the workers (exact Gram blocks on each, combined here).
    let t = Instant::now();
    let qr = LeastSquares::new().with_solver(Solver::Qr).fit(&data)?;
    let qr_time = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let auto = LeastSquares::new().fit(&data)?;
    let auto_time = t.elapsed().as_secs_f64();
    let before = loopback_bytes();
    let t = Instant::now();
    let sharded_fit = LeastSquares::new().fit_sharded(&sharded)?;
    let sharded_time = t.elapsed().as_secs_f64();
    let bytes = loopback_bytes() - before;
    println!(
        "\nclosed form{:>11} {:>22} {:>22}",
        "", "one process (QR)", "two workers"
    );
    for (j, (a, b)) in qr
        .model()
        .weights()
        .iter()
        .zip(sharded_fit.model().weights())
        .enumerate()
        .take(6)
    {
        println!("{:>10} {a:>22.15} {b:>22.15}", format!("w[{j}]"));
    }
    let diff = qr
        .model()
        .weights()
        .iter()
        .zip(sharded_fit.model().weights())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("largest difference: {diff:.1e}");
    println!(
        "closed form: {qr_time:.2} s QR and {auto_time:.2} s {:?} in one process, \
         {sharded_time:.2} s over two workers; loopback traffic {:.0} KB",
        auto.solver(),
        bytes as f64 / 1e3
    );
    Ok(())
}
