//! What a component may see and use.

use std::path::PathBuf;
use std::time::Duration;

use super::OutboundPolicy;
use crate::streams::ErrorStream;

/// What a component may see and where its output goes.
#[derive(Clone)]
pub struct AppOptions {
    /// Where the guest's stdout and stderr go (the server log).
    pub log: ErrorStream,
    /// Host directories the guest can open files in; nothing else of the
    /// host filesystem is visible.
    pub dirs: Vec<Preopen>,
    /// How many requests run in instances of this app at once; more wait
    /// for a free slot rather than failing. Keep it within the engine's
    /// `max_instances`.
    pub max_concurrency: usize,
    /// How much CPU time the guest may use for one request (`None`: no
    /// limit). Time spent waiting (for the client, for the request body)
    /// does not count. Over the limit the guest is stopped and the request
    /// fails with a `TimeoutError`.
    pub cpu_limit: Option<Duration>,
    /// Where the guest may send HTTP requests (`wasi:http/outgoing-handler`);
    /// nowhere by default.
    pub outbound: OutboundPolicy,
    /// The guest's environment variables (`std::env::var` in a Rust
    /// guest; not the WSGI environ). Only these: the host's own
    /// environment never reaches a guest.
    pub env: Vec<(String, String)>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            log: ErrorStream::stderr(),
            dirs: Vec::new(),
            max_concurrency: 1000,
            cpu_limit: Some(Duration::from_secs(30)),
            outbound: OutboundPolicy::default(),
            env: Vec::new(),
        }
    }
}

/// A host directory made visible to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

impl Preopen {
    /// Parses `HOST_PATH[::GUEST_PATH]` (the guest path defaults to the host
    /// path as given).
    pub fn parse(spec: &str, writable: bool) -> Preopen {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            writable,
        }
    }
}
