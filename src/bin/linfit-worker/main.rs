//! `linfit-worker`: serves this machine's device to linfit clients over Burn's remote protocol
//! (websocket), for `linfit::device::remote`, `ShardedDataset` and `Trainer::fit_sharded`.
//!
//! ```text
//! linfit-worker [--listen 127.0.0.1:3001] [--device cpu|wgpu|cuda|cuda:N] [--precision f64|f32]
//!               [--handshake-timeout SECONDS] [--max-pending N] [--serve-anyone]
//! ```
//!
//! - `--listen`: the address to serve on; loopback by default (give the machine's private
//!   address, or `0.0.0.0`, to serve other machines; port 0 picks a free port).
//! - `--device`: the device to serve (the backend's cargo feature must be compiled in).
//! - `--precision`: the float type clients must ask for; others are refused.
//! - `--handshake-timeout`: how long a connection may take to send its request and credential
//!   (default 10 s); one that sends nothing is closed then.
//! - `--max-pending`: how many connections may be in that handshake at once (default 64); more
//!   are closed at once.
//! - `LINFIT_WORKER_TOKEN`: a shared secret clients must prove they hold (set the same variable
//!   on the client; the token itself is never sent, see `linfit::credential`). Without it any
//!   client that reaches the port is served, so a worker without a token refuses to listen
//!   beyond loopback unless given `--serve-anyone`, and then says so on stderr.
//!
//! Connections pass through a gate (`gate.rs`) to Burn's remote server, which listens on a
//! loopback port of its own: only session requests are passed on, their first message is
//! bounded in size and time, and nothing else of a client's reaches Burn's server before its
//! credential is checked.
//!
//! Prints `linfit-worker VERSION listening on ws://ADDR (DEVICE, PRECISION)` once it listens,
//! logs connections and refusals on stderr (`RUST_LOG` sets the level), and exits with status 0
//! on SIGTERM or Ctrl-C.

mod gate;

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use linfit::Precision;
use linfit::burn::server::{AuthorizationRequest, ClientId, RemoteServer, WebSocketTransport};
use linfit::credential::CredentialCheck;

struct Options {
    listen: String,
    device: String,
    precision: Precision,
    /// How long a connection may take to send its request and credential.
    handshake: Duration,
    /// Connections in their handshake at once.
    max_pending: usize,
    /// Serve without a token on an address other machines can reach.
    serve_anyone: bool,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        listen: "127.0.0.1:3001".into(),
        device: "cpu".into(),
        precision: Precision::F64,
        handshake: Duration::from_secs(10),
        max_pending: 64,
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
            "--handshake-timeout" => {
                options.handshake = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
                    .map(Duration::from_secs_f64)
                    .ok_or(format!(
                        "--handshake-timeout wants seconds > 0, not {value:?}"
                    ))?
            }
            "--max-pending" => {
                options.max_pending = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--max-pending wants a count > 0, not {value:?}"))?
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
    // Burn's server on a loopback port of its own, behind the gate.
    let inner = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot listen on a loopback port for Burn's server: {e}"))?;
    let inner_address = inner.local_addr().map_err(|e| e.to_string())?;
    let clients = gate::Clients::default();
    let gate_clients = clients.clone();
    let limits = gate::Limits {
        handshake: options.handshake,
        max_pending: options.max_pending,
    };
    std::thread::Builder::new()
        .name("linfit-worker-gate-accept".into())
        .spawn(move || gate::serve(listener, inner_address, limits, gate_clients))
        .map_err(|e| format!("cannot start the gate: {e}"))?;
    let check = CredentialCheck::new(options.precision, &token);
    let authorize = move |request: AuthorizationRequest<'_>| -> Result<(), String> {
        // The client as the gate saw it (Burn's server sees the gate).
        #[allow(unreachable_patterns)]
        let client = match request.client {
            ClientId::WebSocket(gate) => clients
                .lock()
                .ok()
                .and_then(|c| c.get(&gate.port()).copied())
                .map_or_else(|| gate.to_string(), |a| a.to_string()),
            other => other.to_string(),
        };
        match check.check(request.credential.as_bytes()) {
            Ok(()) => {
                eprintln!("linfit-worker: serving {client}");
                Ok(())
            }
            Err(why) => {
                eprintln!("linfit-worker: refused {client}: {why}");
                Err(why.to_string())
            }
        }
    };
    RemoteServer::new([device])
        .with_authorizer(authorize)
        .serve(WebSocketTransport::from_listener(inner))
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
                 [--precision f64|f32] [--handshake-timeout SECONDS] [--max-pending N] \
                 [--serve-anyone]   \
                 (token: LINFIT_WORKER_TOKEN)"
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("linfit-worker: {message}");
            ExitCode::FAILURE
        }
    }
}
