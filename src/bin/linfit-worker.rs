//! `linfit-worker`: serves this machine's device to linfit clients over Burn's remote protocol
//! (websocket), for `linfit::device::remote`, `ShardedDataset` and `Trainer::fit_sharded`.
//!
//! ```text
//! linfit-worker [--listen 127.0.0.1:3001] [--device cpu|wgpu|cuda|cuda:N] [--precision f64|f32]
//!               [--serve-anyone]
//! ```
//!
//! - `--listen`: the address to serve on; loopback by default (give the machine's private
//!   address, or `0.0.0.0`, to serve other machines; port 0 picks a free port).
//! - `--device`: the device to serve (the backend's cargo feature must be compiled in).
//! - `--precision`: the float type clients must ask for; others are refused.
//! - `LINFIT_WORKER_TOKEN`: a shared secret clients must present (set the same variable on the
//!   client). Without it any client that reaches the port is served, so a worker without a token
//!   refuses to listen beyond loopback unless given `--serve-anyone`, and then says so on
//!   stderr.
//!
//! Prints `linfit-worker VERSION listening on ws://ADDR (DEVICE, PRECISION)` once it listens,
//! logs connections and refusals on stderr (`RUST_LOG` sets the level), and exits with status 0
//! on SIGTERM or Ctrl-C.

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;

use linfit::Precision;
use linfit::burn::server::{AuthorizationRequest, RemoteServer, WebSocketTransport};

struct Options {
    listen: String,
    device: String,
    precision: Precision,
    /// Serve without a token on an address other machines can reach.
    serve_anyone: bool,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        listen: "127.0.0.1:3001".into(),
        device: "cpu".into(),
        precision: Precision::F64,
        serve_anyone: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        if flag == "--serve-anyone" {
            options.serve_anyone = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => options.listen = value,
            "--device" => options.device = value,
            "--precision" => {
                options.precision = match value.as_str() {
                    "f64" => Precision::F64,
                    "f32" => Precision::F32,
                    other => return Err(format!("unknown precision {other:?} (f64 or f32)")),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

fn run(options: Options) -> Result<(), String> {
    let device =
        linfit::device::from_name(&options.device, options.precision).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&options.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let token = std::env::var("LINFIT_WORKER_TOKEN").unwrap_or_default();
    if token.is_empty() && !address.ip().is_loopback() {
        if !options.serve_anyone {
            return Err(format!(
                "refusing to serve {address} without LINFIT_WORKER_TOKEN: anyone who reaches \
                 the port could run tensor programs on this machine. Set a token (the same on \
                 the clients), listen on 127.0.0.1, or pass --serve-anyone"
            ));
        }
        eprintln!(
            "linfit-worker: WARNING: serving {address} WITHOUT A TOKEN (--serve-anyone): anyone \
             who reaches this port can run tensor programs here"
        );
    }
    let precision = linfit::device::precision_name(options.precision);
    println!(
        "linfit-worker {} listening on ws://{address} ({}, {precision})",
        env!("CARGO_PKG_VERSION"),
        options.device
    );
    std::io::stdout().flush().ok();
    // The client's credential: "linfit/VERSION/PRECISION/TOKEN/NONCE".
    let expected = linfit::device::worker_credential(options.precision, &token, "");
    let version_prefix = format!("linfit/{}/", env!("CARGO_PKG_VERSION"));
    let precision_prefix = format!("{version_prefix}{precision}/");
    let authorize = move |request: AuthorizationRequest<'_>| -> Result<(), String> {
        let credential = String::from_utf8_lossy(request.credential.as_bytes()).into_owned();
        let refuse = |why: String| {
            eprintln!("linfit-worker: refused {}: {why}", request.client);
            Err(why)
        };
        if !credential.starts_with(&version_prefix) {
            return refuse(format!(
                "another linfit version ({:?}; this worker runs {})",
                credential.split('/').nth(1).unwrap_or("?"),
                env!("CARGO_PKG_VERSION")
            ));
        }
        if !credential.starts_with(&precision_prefix) {
            return refuse(format!(
                "another precision ({:?}; this worker serves {precision})",
                credential.split('/').nth(2).unwrap_or("?")
            ));
        }
        match credential.rsplit_once('/') {
            Some((head, _nonce)) if format!("{head}/") == expected => {
                eprintln!("linfit-worker: serving {}", request.client);
                Ok(())
            }
            _ => refuse("wrong LINFIT_WORKER_TOKEN".into()),
        }
    };
    RemoteServer::new([device])
        .with_authorizer(authorize)
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|e| e.to_string())?;
    eprintln!("linfit-worker: stopped");
    Ok(())
}

fn main() -> ExitCode {
    match parse().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) if message.is_empty() => {
            println!(
                "usage: linfit-worker [--listen 127.0.0.1:3001] [--device cpu|wgpu|cuda|cuda:N] \
                 [--precision f64|f32] [--serve-anyone]   (token: LINFIT_WORKER_TOKEN)"
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("linfit-worker: {message}");
            ExitCode::FAILURE
        }
    }
}
