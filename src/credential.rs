//! The credential a client presents to a `linfit-worker`, and the worker's check of it.
//!
//! ```text
//! linfit/VERSION/PRECISION/TIME/NONCE/MAC
//! MAC = hex(BLAKE3-keyed(key, "linfit/VERSION/PRECISION/TIME/NONCE")),
//! key = BLAKE3-derive-key(CONTEXT, LINFIT_WORKER_TOKEN)
//! ```
//!
//! The token itself never travels: one who reads a handshake off the network learns a MAC that
//! is good for that handshake only. The worker accepts a credential whose MAC is right
//! (compared in constant time), whose `TIME` (Unix seconds) lies within [`WINDOW`] of its own
//! clock, and whose `NONCE` it has not accepted before within that window (a replayed
//! handshake is refused). Burn's remote protocol sends the credential unprompted, so the
//! worker cannot send a challenge; the window and the nonce take its place.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::device::{Precision, precision_name};

/// How far a credential's time may lie from the worker's clock (either way: machines' clocks
/// differ), and how long its nonce is remembered.
pub const WINDOW: Duration = Duration::from_secs(300);

/// The key derivation's context string (BLAKE3's `derive_key`): fixed for this format.
const CONTEXT: &str = "linfit 2026-12-03 worker credential v1";

fn key(token: &str) -> [u8; 32] {
    blake3::derive_key(CONTEXT, token.as_bytes())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh credential for a worker serving `precision` with `token` (empty when unset), at
/// this moment, with this `nonce` (unique per connection).
pub fn client_credential(precision: Precision, token: &str, nonce: &str) -> String {
    credential_at(precision, token, nonce, now())
}

fn credential_at(precision: Precision, token: &str, nonce: &str, time: u64) -> String {
    let head = format!(
        "linfit/{}/{}/{time}/{nonce}",
        env!("CARGO_PKG_VERSION"),
        precision_name(precision)
    );
    let mac = blake3::keyed_hash(&key(token), head.as_bytes());
    format!("{head}/{}", mac.to_hex())
}

/// Why a credential was refused (for the worker's log; the client is told only that it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a linfit credential, or one of another format.
    Malformed,
    /// Another linfit version (the one it names).
    Version(String),
    /// Another precision (the one it names).
    Precision(String),
    /// Its time lies outside the window (seconds from the worker's clock).
    Time(i64),
    /// The MAC is wrong: another token.
    Token,
    /// Its nonce was accepted before: a replayed handshake.
    Replay,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed => write!(f, "not a linfit credential"),
            Refusal::Version(v) => write!(
                f,
                "another linfit version ({v:?}; this worker runs {})",
                env!("CARGO_PKG_VERSION")
            ),
            Refusal::Precision(p) => write!(f, "another precision ({p:?})"),
            Refusal::Time(off) => write!(
                f,
                "its time is {off} s from this machine's clock (more than {} s: a replayed \
                 handshake, or clocks that disagree)",
                WINDOW.as_secs()
            ),
            Refusal::Token => write!(f, "wrong LINFIT_WORKER_TOKEN"),
            Refusal::Replay => write!(f, "a handshake replayed (its nonce was used before)"),
        }
    }
}

/// A worker's check of its clients' credentials.
pub struct CredentialCheck {
    precision: &'static str,
    key: [u8; 32],
    /// Nonces accepted within the window, with the time they carried.
    seen: Mutex<HashMap<String, u64>>,
}

impl CredentialCheck {
    /// The check of a worker serving `precision` with `token` (empty when unset).
    pub fn new(precision: Precision, token: &str) -> Self {
        CredentialCheck {
            precision: precision_name(precision),
            key: key(token),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Accepts `credential` now, or says why not.
    pub fn check(&self, credential: &[u8]) -> Result<(), Refusal> {
        self.check_at(credential, now())
    }

    fn check_at(&self, credential: &[u8], now: u64) -> Result<(), Refusal> {
        let text = std::str::from_utf8(credential).map_err(|_| Refusal::Malformed)?;
        let (head, mac) = text.rsplit_once('/').ok_or(Refusal::Malformed)?;
        let parts: Vec<&str> = head.split('/').collect();
        let [magic, version, precision, time, nonce] = parts[..] else {
            return Err(Refusal::Malformed);
        };
        if magic != "linfit" {
            return Err(Refusal::Malformed);
        }
        if version != env!("CARGO_PKG_VERSION") {
            return Err(Refusal::Version(version.to_string()));
        }
        if precision != self.precision {
            return Err(Refusal::Precision(precision.to_string()));
        }
        let time: u64 = time.parse().map_err(|_| Refusal::Malformed)?;
        // Without overflow for any u64 a peer may send.
        let distance = time.abs_diff(now);
        if distance > WINDOW.as_secs() {
            let distance = i64::try_from(distance).unwrap_or(i64::MAX);
            return Err(Refusal::Time(if time < now { -distance } else { distance }));
        }
        let given = blake3::Hash::from_hex(mac).map_err(|_| Refusal::Malformed)?;
        // blake3's Hash compares in constant time.
        if given != blake3::keyed_hash(&self.key, head.as_bytes()) {
            return Err(Refusal::Token);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, t| t.abs_diff(now) <= 2 * WINDOW.as_secs());
        if seen.insert(nonce.to_string(), time).is_some() {
            return Err(Refusal::Replay);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_good_once_within_its_window_and_for_its_token_only() {
        let t = 1_800_000_000;
        let worker = CredentialCheck::new(Precision::F64, "s3cret");
        let good = credential_at(Precision::F64, "s3cret", "a", t);
        assert!(
            !good.contains("s3cret"),
            "the token must not travel: {good}"
        );
        assert_eq!(worker.check_at(good.as_bytes(), t + 10), Ok(()));
        assert_eq!(
            worker.check_at(good.as_bytes(), t + 20),
            Err(Refusal::Replay)
        );
        let other_token = credential_at(Precision::F64, "guess", "b", t);
        assert_eq!(
            worker.check_at(other_token.as_bytes(), t),
            Err(Refusal::Token)
        );
        let old = credential_at(Precision::F64, "s3cret", "c", t - 301);
        assert_eq!(worker.check_at(old.as_bytes(), t), Err(Refusal::Time(-301)));
        let f32 = credential_at(Precision::F32, "s3cret", "d", t);
        assert_eq!(
            worker.check_at(f32.as_bytes(), t),
            Err(Refusal::Precision("f32".into()))
        );
        // Any change to the signed part breaks the MAC.
        let tampered = good.replacen("/a/", "/e/", 1);
        assert_eq!(worker.check_at(tampered.as_bytes(), t), Err(Refusal::Token));
        let version = good.replacen(env!("CARGO_PKG_VERSION"), "0.0.0", 1);
        assert_eq!(
            worker.check_at(version.as_bytes(), t),
            Err(Refusal::Version("0.0.0".into()))
        );
        let far = format!("linfit/{}/f64/{}/n/00", env!("CARGO_PKG_VERSION"), u64::MAX);
        assert!(matches!(
            worker.check_at(far.as_bytes(), t),
            Err(Refusal::Time(_))
        ));
        for junk in [&b"linfit"[..], b"", b"\xff\xfe", b"linfit/a/b/c/d/e/f"] {
            assert_eq!(
                worker.check_at(junk, t),
                Err(Refusal::Malformed),
                "{junk:?}"
            );
        }
        // A worker without a token checks the MAC of the empty token.
        let open = CredentialCheck::new(Precision::F64, "");
        let c = credential_at(Precision::F64, "", "f", t);
        assert_eq!(open.check_at(c.as_bytes(), t), Ok(()));
        assert_eq!(
            open.check_at(other_token.as_bytes(), t),
            Err(Refusal::Token)
        );
    }

    /// The MAC is BLAKE3's keyed hash under BLAKE3's derived key, as the format says: checked
    /// against the blake3 crate's reference `Hasher` API (an independent route to the same
    /// function), not against this module's own helpers.
    #[test]
    fn the_mac_is_blake3_keyed_under_the_derived_key() {
        let c = credential_at(Precision::F32, "tok", "n-1", 42);
        let (head, mac) = c.rsplit_once('/').unwrap();
        assert_eq!(
            head,
            format!("linfit/{}/f32/42/n-1", env!("CARGO_PKG_VERSION"))
        );
        let mut derive = blake3::Hasher::new_derive_key(CONTEXT);
        derive.update(b"tok");
        let key: [u8; 32] = *derive.finalize().as_bytes();
        let mut keyed = blake3::Hasher::new_keyed(&key);
        keyed.update(head.as_bytes());
        assert_eq!(mac, keyed.finalize().to_hex().as_str());
    }
}
