//! `wasgi:wsgi/kdf`: PBKDF2 and scrypt done natively for the guest (the
//! Python bridge's `hashlib.pbkdf2_hmac` and `hashlib.scrypt`).
//!
//! The work runs off the async threads, at most one derivation per core
//! at once, and each is bounded (iterations, memory, output length): the
//! host's CPU is not the guest's CPU budget, so a guest must not be able
//! to buy unbounded amounts of it.

use std::sync::LazyLock;

use pbkdf2::pbkdf2_hmac;
use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};

use super::Capability;
use crate::component::RequestCtx;

use super::python_runtime::kdf;

/// Most PBKDF2 iterations one call may ask for (Django 6 uses 1.2
/// million; ten million take a few seconds of one core).
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// Most memory one scrypt call may use (hashlib's default is 32 MiB).
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;

/// The longest key one call may derive.
pub const MAX_KEY_LENGTH: u64 = 1 << 16;

/// Derivations running at once, per process.
static RUNNING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// The host's key derivation.
pub(crate) struct Kdf;

impl Capability for Kdf {
    fn name(&self) -> &'static str {
        "key derivation"
    }

    fn provides(&self) -> &'static [&'static str] {
        &["wasgi:wsgi/kdf"]
    }

    fn add_to_linker(&self, linker: &mut Linker<RequestCtx>) -> wasmtime::Result<()> {
        kdf::add_to_linker::<_, HasSelf<_>>(linker, |ctx| ctx)
    }
}

/// A derivation's answer: the key, or hashlib's `ValueError` message.
type Answer = wasmtime::Result<Result<Vec<u8>, String>>;

impl kdf::Host for RequestCtx {
    async fn pbkdf2_hmac(
        &mut self,
        hash: String,
        password: Vec<u8>,
        salt: Vec<u8>,
        iterations: u64,
        dklen: u64,
    ) -> Answer {
        if iterations < 1 {
            return Ok(Err("iteration value must be greater than 0.".into()));
        }
        if iterations > MAX_ITERATIONS {
            return Ok(Err(format!(
                "iteration value is too great (the host allows at most {MAX_ITERATIONS})."
            )));
        }
        if let Some(e) = key_length(dklen) {
            return Ok(Err(e));
        }
        let rounds = iterations as u32;
        run(move || {
            let mut key = vec![0; dklen as usize];
            match hash.as_str() {
                "sha1" => pbkdf2_hmac::<sha1::Sha1>(&password, &salt, rounds, &mut key),
                "sha224" => pbkdf2_hmac::<sha2::Sha224>(&password, &salt, rounds, &mut key),
                "sha256" => pbkdf2_hmac::<sha2::Sha256>(&password, &salt, rounds, &mut key),
                "sha384" => pbkdf2_hmac::<sha2::Sha384>(&password, &salt, rounds, &mut key),
                "sha512" => pbkdf2_hmac::<sha2::Sha512>(&password, &salt, rounds, &mut key),
                _ => return Err(format!("unsupported hash type {hash}")),
            }
            Ok(key)
        })
        .await
    }

    async fn scrypt(
        &mut self,
        password: Vec<u8>,
        salt: Vec<u8>,
        n: u64,
        r: u64,
        p: u64,
        maxmem: u64,
        dklen: u64,
    ) -> Answer {
        if n < 2 || !n.is_power_of_two() {
            return Ok(Err("n must be a power of 2 greater than 1".into()));
        }
        if let Some(e) = key_length(dklen) {
            return Ok(Err(e));
        }
        let maxmem = if maxmem == 0 { 32 << 20 } else { maxmem };
        // What OpenSSL counts: the 128·r·(n + p) bytes of V and B, and a
        // little more.
        let needed = 128u128 * r as u128 * (n as u128 + p as u128 + 2);
        if r == 0 || p == 0 || needed > maxmem as u128 || needed > MAX_SCRYPT_MEMORY as u128 {
            return Ok(Err(
                "Invalid parameter combination for n, r, p, maxmem.".into()
            ));
        }
        let Ok(params) = scrypt::Params::new(n.trailing_zeros() as u8, r as u32, p as u32, 10)
        else {
            return Ok(Err(
                "Invalid parameter combination for n, r, p, maxmem.".into()
            ));
        };
        run(move || {
            let mut key = vec![0; dklen as usize];
            scrypt::scrypt(&password, &salt, &params, &mut key)
                .map_err(|e| format!("scrypt: {e}"))?;
            Ok(key)
        })
        .await
    }
}

fn key_length(dklen: u64) -> Option<String> {
    if dklen < 1 {
        Some("key length must be greater than 0.".into())
    } else if dklen > MAX_KEY_LENGTH {
        Some(format!(
            "key length is too great (the host derives at most {MAX_KEY_LENGTH} bytes)."
        ))
    } else {
        None
    }
}

/// Runs `work` on a blocking thread once a core is free.
async fn run(work: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static) -> Answer {
    let _core = RUNNING.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}
