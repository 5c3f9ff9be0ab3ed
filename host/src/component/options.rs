//! What a component may see and use.

use std::sync::Arc;
use std::time::Duration;

use super::limits::MemoryBudget;
use crate::capability::CapabilitySettings;
use crate::streams::ErrorStream;

/// What a component may see and where its output goes.
#[derive(Clone)]
pub struct AppOptions {
    /// Where the guest's stdout and stderr go (the server log).
    pub log: ErrorStream,
    /// What the capabilities were configured with for this app (its
    /// directories, environment, outbound policy: see
    /// [`crate::capability`]); what is not set there, the guest does not
    /// get.
    pub capabilities: CapabilitySettings,
    /// How many requests run in instances of this app at once; more wait
    /// for a free slot rather than failing. Keep it within the engine's
    /// `max_instances`.
    pub max_concurrency: usize,
    /// How many requests may wait for one of those slots; a request beyond
    /// them gets 503 with `Retry-After` at once, without waiting.
    pub max_queue: usize,
    /// How much CPU time the guest may use for one request (`None`: no
    /// limit). Time spent waiting (for the client, for the request body)
    /// does not count. Over the limit the guest is stopped and the request
    /// fails with a `TimeoutError`.
    pub cpu_limit: Option<Duration>,
    /// The most linear memory one instance may hold, in bytes. A guest
    /// growing past it is stopped with a `MemoryError` naming the limit.
    pub max_memory: usize,
    /// The memory all guests of the process may hold together; shared by
    /// every app that clones these options. A guest growing past it is
    /// stopped the same way.
    pub memory_budget: Arc<MemoryBudget>,
    /// How the app's instances serve more than one request (`--reuse`,
    /// `--reuse-concurrency`, `--idle-instance-timeout`).
    pub reuse: Reuse,
    /// What a limit's log line names as its source: empty for the command
    /// line's flags (`--max-memory`), or the manifest app that set it
    /// (`app "shop"`, giving `max_memory of app "shop"`).
    pub limits_set_by: Arc<str>,
    /// Called with the time each fresh instance took to instantiate (the
    /// server's metrics); `None`: not measured.
    pub instantiated: Option<Instantiated>,
    /// Told the CPU time and memory the app's instances use (the server's
    /// metrics); `None`: not measured.
    pub usage: Option<Arc<dyn Usage>>,
}

/// How an app's instances serve more than one request. Unset values are
/// the component kind's defaults: a wasgi or `wasi:http` 0.2 component gets
/// a fresh instance per request; a WASIp3 component's instance serves up to
/// 128 requests, 16 at once, and is dropped after 1 s idle (as under
/// `wasmtime serve` and Spin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    /// How many requests one instance may serve (`--reuse N`); 1 gives
    /// every request a fresh instance. With more, an instance that served
    /// a request cleanly serves the next one: its memory and globals carry
    /// over (faster; less isolated).
    pub requests: Option<u32>,
    /// How many requests one WASIp3 instance serves at once
    /// (`--reuse-concurrency M`). Other kinds take one at a time.
    pub concurrency: Option<u32>,
    /// How long a WASIp3 instance with nothing to do is kept for the next
    /// request (`--idle-instance-timeout`).
    pub idle: Option<Duration>,
}

/// What a WASIp3 component's instances default to: `wasmtime serve`'s and
/// Spin's figures.
pub const P3_REUSE: (u32, u32, Duration) = (128, 16, Duration::from_secs(1));

impl Reuse {
    /// Requests per instance of a component of one request at a time
    /// (wasgi, `wasi:http` 0.2): a fresh instance each unless set.
    pub fn requests(&self) -> u32 {
        self.requests.unwrap_or(1)
    }

    /// These settings over `below`'s (a manifest app's over `[defaults]`'s).
    pub fn over(&self, below: &Reuse) -> Reuse {
        Reuse {
            requests: self.requests.or(below.requests),
            concurrency: self.concurrency.or(below.concurrency),
            idle: self.idle.or(below.idle),
        }
    }
}

/// A hook receiving instantiation times.
pub type Instantiated = Arc<dyn Fn(Duration) + Send + Sync>;

/// What an app's instances use, as they use it.
pub trait Usage: Send + Sync {
    /// A request's guest used `cpu` of CPU time (told when it ends).
    fn cpu(&self, cpu: Duration);
    /// The app's instances hold `bytes` more of linear memory (fewer,
    /// when negative).
    fn memory(&self, bytes: i64);
    /// A guest's call `op` (`get`, `set`) on its key-value store `store`
    /// ended, failing when `failed`.
    fn store_call(&self, store: &str, op: &'static str, failed: bool) {
        let _ = (store, op, failed);
    }
    /// The app may open `store` (its bytes and quota are in `/metrics`).
    fn store_opened(&self, store: &Arc<crate::capability::keyvalue::store::OpenStore>) {
        let _ = store;
    }
}

/// `max_concurrency` as given: at least one request must be able to run.
pub fn max_concurrency(n: usize) -> Result<usize, &'static str> {
    match n {
        0 => Err("at least one request must be able to run"),
        n => Ok(n),
    }
}

/// The default `max_queue`: requests waiting for a concurrency slot.
pub const DEFAULT_MAX_QUEUE: usize = 1000;

/// The default `max_memory`: 256 MiB, room for a CPython app, while a
/// memory bomb costs little.
pub const DEFAULT_MAX_MEMORY: usize = 256 << 20;

/// The default memory budget of all guests together: half the machine's
/// memory (4 GiB where it cannot be read).
pub fn default_memory_budget() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
        .unwrap_or(8 << 30);
    total / 2
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            log: ErrorStream::stderr(),
            capabilities: CapabilitySettings::default(),
            max_concurrency: 1000,
            max_queue: DEFAULT_MAX_QUEUE,
            cpu_limit: Some(Duration::from_secs(30)),
            max_memory: DEFAULT_MAX_MEMORY,
            memory_budget: MemoryBudget::new(default_memory_budget()),
            reuse: Reuse::default(),
            limits_set_by: Arc::from(""),
            instantiated: None,
            usage: None,
        }
    }
}
