//! The gate in front of Burn's remote server: what reaches the port the worker listens on.
//!
//! Burn's server (on a loopback port of its own) serves two websocket routes: `/session`, whose
//! first message carries the credential that the worker's authorizer checks, and `/data`, for
//! tensor transfers between servers, which no authorizer sees and which linfit never uses. Its
//! websocket reads messages of up to 1 GiB, the first one included, and it waits without a
//! limit for a peer that sends nothing. The gate closes all of that to a peer without a
//! credential:
//! - only an HTTP upgrade to `/session` is passed on (anything else gets `403` and is closed);
//! - the request headers and the first websocket message (the credential) must arrive within
//!   the handshake limit, and the message may hold at most [`MAX_FIRST_MESSAGE`] bytes;
//! - nothing more of the client's is passed on until Burn's server has answered that first
//!   message (accepted or refused), so a refused peer cannot make it read more;
//! - at most `max_pending` connections are in that handshake at once (each holds a thread
//!   for up to the handshake limit); more are closed at once.
//!
//! After that the gate relays bytes both ways, untouched.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most bytes the first websocket message (Burn's session request, a few hundred bytes)
/// may hold.
pub const MAX_FIRST_MESSAGE: u64 = 64 * 1024;

/// The most bytes of HTTP request headers.
const MAX_HEADERS: usize = 16 * 1024;

/// The clients behind the gate's connections to Burn's server, by the gate's local port (the
/// port Burn's server sees as the client's), so that the worker's log names the real client.
pub type Clients = Arc<Mutex<HashMap<u16, SocketAddr>>>;

/// What the gate allows a connection before Burn's server has answered its session request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The time for the request and the first message.
    pub handshake: Duration,
    /// Connections in that handshake at once.
    pub max_pending: usize,
}

/// A connection counted among those in their handshake until dropped.
struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accepts connections on `public` and passes each, through the gate, to `inner` (Burn's
/// server), each on threads of its own; runs until the listener fails.
pub fn serve(public: TcpListener, inner: SocketAddr, limits: Limits, clients: Clients) {
    let pending = Arc::new(AtomicUsize::new(0));
    for stream in public.incoming() {
        let Ok(client) = stream else {
            // Out of descriptors, say: do not spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let peer = client.peer_addr().ok();
        let who = peer.map_or("a client".to_string(), |p| p.to_string());
        if pending.fetch_add(1, Ordering::SeqCst) >= limits.max_pending {
            pending.fetch_sub(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            eprintln!(
                "linfit-worker: closed {who}: {} connections are already in their handshake",
                limits.max_pending
            );
            continue;
        }
        let slot = Pending(pending.clone());
        let clients = clients.clone();
        let _ = std::thread::Builder::new()
            .name("linfit-worker-gate".into())
            .spawn(move || {
                if let Err(why) = pass(client, inner, limits.handshake, &clients, slot) {
                    eprintln!("linfit-worker: closed {who}: {why}");
                }
            });
    }
}

/// One connection through the gate. A watchdog closes it when the handshake limit passes
/// before Burn's server has answered its session request (every read, however slow its bytes
/// arrive, ends then).
fn pass(
    client: TcpStream,
    inner: SocketAddr,
    handshake: Duration,
    clients: &Clients,
    slot: Pending,
) -> Result<(), String> {
    let deadline = Instant::now() + handshake;
    let peer = client.peer_addr().map_err(|e| e.to_string())?;
    let (finished, watch) = channel::<()>();
    let watched = client.try_clone().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("linfit-worker-gate-watch".into())
        .spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(handshake) {
                let _ = watched.shutdown(Shutdown::Both);
            }
        })
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(client.try_clone().map_err(|e| e.to_string())?);
    let late = |why: String| match Instant::now() >= deadline {
        true => format!("the handshake limit passed ({why})"),
        false => why,
    };
    let headers = read_headers(&mut reader, deadline).map_err(late)?;
    if let Err(why) = check_request(&headers) {
        let mut client = client;
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return Err(why);
    }
    let mut server = TcpStream::connect(inner).map_err(|e| format!("Burn's server: {e}"))?;
    let port = server.local_addr().map_err(|e| e.to_string())?.port();
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(port, peer);
    let result = relay(
        client,
        reader,
        &mut server,
        &headers,
        deadline,
        (slot, finished),
    )
    .map_err(late);
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&port);
    result
}

/// Only a websocket upgrade of `/session` (`GET /session`, `Upgrade: websocket`, a
/// `Sec-WebSocket-Key`) is passed on.
fn check_request(headers: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(headers).to_ascii_lowercase();
    let target = text.split(' ').nth(1).unwrap_or_default().to_string();
    let header = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let upgrade = header("upgrade").is_some_and(|v| v == "websocket")
        && header("connection").is_some_and(|v| v.split(',').any(|t| t.trim() == "upgrade"))
        && header("sec-websocket-key").is_some();
    if !headers.starts_with(b"GET /session ") {
        return Err(format!(
            "refused a request for {target:?} (only /session is served)"
        ));
    }
    if !upgrade {
        return Err("refused a request for /session that is not a websocket upgrade".into());
    }
    Ok(())
}

/// The HTTP request's header block, up to and including the empty line, within `deadline`.
fn read_headers(reader: &mut BufReader<TcpStream>, deadline: Instant) -> Result<Vec<u8>, String> {
    let mut headers = Vec::new();
    loop {
        set_deadline(reader.get_ref(), deadline)?;
        let mut line = Vec::new();
        let read = reader
            .by_ref()
            .take((MAX_HEADERS - headers.len()) as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("no complete request within the handshake limit ({e})"))?;
        headers.extend_from_slice(&line);
        if headers.len() > MAX_HEADERS {
            return Err(format!("request headers over {MAX_HEADERS} bytes"));
        }
        if read == 0 {
            return Err("closed before the end of its request".into());
        }
        if line == b"\r\n" || line == b"\n" {
            return Ok(headers);
        }
    }
}

/// A read timeout of what is left until `deadline`.
fn set_deadline(stream: &TcpStream, deadline: Instant) -> Result<(), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("the handshake limit passed".into());
    }
    stream
        .set_read_timeout(Some(left))
        .map_err(|e| e.to_string())
}

/// Passes the request on and the server's `101` back, then the first message, waits for the
/// server's answer to it, then relays both ways. `handshake` is the connection's place among
/// those in their handshake and the watchdog's stop signal, both given up once answered.
fn relay(
    client: TcpStream,
    mut reader: BufReader<TcpStream>,
    server: &mut TcpStream,
    headers: &[u8],
    deadline: Instant,
    handshake: (Pending, std::sync::mpsc::Sender<()>),
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    server.write_all(headers).map_err(io)?;
    // The server's response head, before any websocket byte of the client's is passed on.
    let mut from_server = BufReader::new(server.try_clone().map_err(io)?);
    let head = read_headers(&mut from_server, deadline)?;
    let mut to_client = client.try_clone().map_err(io)?;
    to_client.write_all(&head).map_err(io)?;
    if !head.starts_with(b"HTTP/1.1 101") {
        let _ = client.shutdown(Shutdown::Both);
        return Err("Burn's server did not upgrade the session request".into());
    }
    from_server.get_ref().set_read_timeout(None).map_err(io)?;
    // Server to client: untouched; tells when the server has answered the first message (its
    // first bytes once that message is passed on).
    let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (answered_tx, answered) = channel();
    let sent_back = sent.clone();
    let back = std::thread::Builder::new()
        .name("linfit-worker-gate-back".into())
        .spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            let mut told = false;
            while let Ok(n) = from_server.read(&mut buffer) {
                if n == 0 || to_client.write_all(&buffer[..n]).is_err() {
                    break;
                }
                if !told && sent_back.load(Ordering::SeqCst) {
                    told = answered_tx.send(()).is_ok();
                }
            }
            let _ = to_client.shutdown(Shutdown::Both);
        })
        .map_err(io)?;
    let first = first_message(&mut reader, server, deadline, &sent);
    let outcome = first.and_then(|()| {
        answered
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .map_err(|_| "Burn's server did not answer the session request in time".to_string())
    });
    match outcome {
        Ok(()) => {
            // Answered: no longer in the handshake, no longer watched.
            let (slot, finished) = handshake;
            let _ = finished.send(());
            drop(slot);
            // The rest of the session, untouched and without a read limit.
            reader.get_ref().set_read_timeout(None).map_err(io)?;
            let _ = std::io::copy(&mut reader, server);
        }
        Err(why) => {
            let _ = server.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
            let _ = back.join();
            return Err(why);
        }
    }
    let _ = server.shutdown(Shutdown::Both);
    let _ = back.join();
    Ok(())
}

/// Passes on the websocket frames of the client's first message, each header read within
/// `deadline`, refusing a message over [`MAX_FIRST_MESSAGE`] bytes before reading it.
fn first_message(
    reader: &mut BufReader<TcpStream>,
    server: &mut TcpStream,
    deadline: Instant,
    sent: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    let mut total = 0u64;
    let mut frame_count = 0;
    loop {
        set_deadline(reader.get_ref(), deadline)?;
        let timed = |e: std::io::Error| format!("no session request within the limit ({e})");
        let mut head = [0u8; 2];
        reader.read_exact(&mut head).map_err(timed)?;
        let (fin, opcode, masked) = (head[0] & 0x80 != 0, head[0] & 0x0f, head[1] & 0x80 != 0);
        // One binary message (Burn's session request), masked as every client frame must be:
        // a binary frame, then continuations. Nothing else (text, ping: Burn's server would
        // answer or skip it and wait on) before the credential.
        let expected = if frame_count == 0 { 2 } else { 0 };
        if opcode != expected || !masked {
            return Err(format!(
                "a first message that is not one masked binary message (opcode {opcode})"
            ));
        }
        frame_count += 1;
        let mut frame = head.to_vec();
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                reader.read_exact(&mut ext).map_err(timed)?;
                frame.extend_from_slice(&ext);
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                reader.read_exact(&mut ext).map_err(timed)?;
                frame.extend_from_slice(&ext);
                u64::from_be_bytes(ext)
            }
            short => u64::from(short),
        };
        total = total.saturating_add(len);
        if total > MAX_FIRST_MESSAGE {
            return Err(format!(
                "a first message of {total} bytes or more (at most {MAX_FIRST_MESSAGE} before \
                 the credential is checked)"
            ));
        }
        let mut mask = [0u8; 4];
        reader.read_exact(&mut mask).map_err(timed)?;
        frame.extend_from_slice(&mask);
        let mut payload = vec![0u8; len as usize];
        reader.read_exact(&mut payload).map_err(timed)?;
        frame.extend_from_slice(&payload);
        // Before the message's last frame goes, so that an answer however quick is seen.
        if fin {
            sent.store(true, Ordering::SeqCst);
        }
        server.write_all(&frame).map_err(|e| e.to_string())?;
        if fin {
            return Ok(());
        }
    }
}
