//! Per-request limits: CPU time (metered while the guest is on a thread,
//! enforced at epoch ticks) and memory (a `ResourceLimiter` per store,
//! within a budget shared by every store of the process).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{ResourceLimiter, UpdateDeadline};

use super::RequestCtx;

/// The CPU time a request's guest has used: the time its futures spent
/// being polled, i.e. on a worker thread. Time spent waiting (for a
/// thread, the client, a timer) is never counted, however many guests
/// compete for the cores.
#[derive(Debug, Default)]
pub struct CpuMeter {
    used_ns: AtomicU64,
}

impl CpuMeter {
    /// The CPU time used so far.
    pub fn used(&self) -> Duration {
        Duration::from_nanos(self.used_ns.load(Ordering::Relaxed))
    }

    fn add(&self, spent: Duration) {
        let ns = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.used_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

/// `future`, with the time spent in each of its polls added to `meter`.
pub(super) fn metered<F: Future>(meter: Arc<CpuMeter>, future: F) -> Metered<F> {
    Metered {
        meter,
        future: Box::pin(future),
    }
}

/// A future whose polls are metered (see [`metered`]).
pub(super) struct Metered<F> {
    meter: Arc<CpuMeter>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let start = Instant::now();
        let polled = self.future.as_mut().poll(cx);
        self.meter.add(start.elapsed());
        polled
    }
}

/// The CPU time of an instance serving several requests at once, shared
/// among them: whatever it used while `n` requests were open counts 1/n
/// towards each. The guest's tasks share one thread, so which request a
/// moment of it belongs to is not known; an even split keeps a request's
/// limit its own under concurrency, and is exact for one at a time. What it
/// uses with no request open (its own tasks, after the responses) counts
/// as one more share, so that work is bounded by the same limit.
#[derive(Debug, Default)]
pub(super) struct CpuShares(Mutex<Shares>);

#[derive(Debug, Default)]
struct Shares {
    /// The instance's CPU time split so far.
    split: Duration,
    /// The open requests' shares, by id.
    open: Vec<(u64, Duration)>,
    /// What it used with no request open.
    background: Duration,
    next: u64,
}

impl Shares {
    /// Splits what the instance used since the last split (its meter now
    /// reads `used`) among the open requests.
    fn split(&mut self, used: Duration) {
        let spent = used.saturating_sub(self.split);
        self.split = used;
        match u32::try_from(self.open.len()) {
            Ok(0) | Err(_) => self.background += spent,
            Ok(n) => {
                for (_, share) in &mut self.open {
                    *share += spent / n;
                }
            }
        }
    }
}

impl CpuShares {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shares> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request opens while the instance's meter reads `used`; its id.
    pub(super) fn open(&self, used: Duration) -> u64 {
        let mut shares = self.lock();
        shares.split(used);
        let id = shares.next;
        shares.next += 1;
        shares.open.push((id, Duration::ZERO));
        id
    }

    /// Request `id` ends while the meter reads `used`: its share.
    pub(super) fn close(&self, id: u64, used: Duration) -> Duration {
        let mut shares = self.lock();
        shares.split(used);
        let at = shares.open.iter().position(|(open, _)| *open == id);
        at.map_or(Duration::ZERO, |at| shares.open.swap_remove(at).1)
    }

    /// The largest share, the meter reading `used`.
    fn largest(&self, used: Duration) -> Duration {
        let mut shares = self.lock();
        shares.split(used);
        let open = shares.open.iter().map(|(_, share)| *share);
        open.fold(shares.background, Duration::max)
    }
}

/// CPU time after which a request's guest counts as long-running.
const HEAVY_AFTER: Duration = Duration::from_millis(50);

/// The lanes long-running guests share: fewer than the worker threads, so
/// short requests (and the clients on the same machine) always find a core.
static HEAVY_LANES: OnceLock<Arc<Semaphore>> = OnceLock::new();

/// Sets how many long-running guests may run at once (at most one per
/// worker thread but one; at least one). Takes effect if called before the
/// first request; later calls do nothing.
pub fn set_heavy_lanes(workers: usize) {
    let _ = HEAVY_LANES.set(Arc::new(Semaphore::new(workers.saturating_sub(1).max(1))));
}

fn heavy_lanes() -> Arc<Semaphore> {
    HEAVY_LANES
        .get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
            Arc::new(Semaphore::new(workers.saturating_sub(1).max(1)))
        })
        .clone()
}

/// A long-running guest's turn on a heavy lane, held until its next tick.
pub(super) type Lane = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

/// The epoch callback of a request's store. At every tick the guest yields
/// to other requests, so a busy guest cannot starve the worker threads; a
/// guest whose [`CpuMeter`] is past `limit` is stopped; and a guest that has
/// run for long waits for a heavy lane before it goes on, so long-running
/// guests never hold every core.
pub(super) fn cpu_limit(
    limit: Option<Duration>,
    set_by: Arc<str>,
) -> impl FnMut(wasmtime::StoreContextMut<'_, RequestCtx>) -> wasmtime::Result<UpdateDeadline>
+ Send
+ Sync
+ 'static {
    move |store| {
        let ctx = store.data();
        let used = match &ctx.shares {
            Some(shares) => shares.largest(ctx.cpu.used()),
            None => ctx.cpu.used(),
        };
        // The lane held since the last tick is given back first: lanes go
        // round the long-running guests in turn.
        drop(ctx.lane.lock().unwrap_or_else(|p| p.into_inner()).take());
        match limit {
            Some(limit) if used > limit => Err(wasmtime::Error::new(CpuLimitExceeded {
                limit,
                set_by: limit_name(&set_by, "cpu_limit", "--cpu-limit"),
            })),
            _ if used > HEAVY_AFTER => {
                let lane = ctx.lane.clone();
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(async move {
                        if let Ok(permit) = heavy_lanes().acquire_owned().await {
                            *lane.lock().unwrap_or_else(|p| p.into_inner()) = Some(permit);
                        }
                    }),
                ))
            }
            _ => Ok(UpdateDeadline::Yield(1)),
        }
    }
}

/// A request's guest ran past its CPU time limit.
#[derive(Debug)]
pub struct CpuLimitExceeded {
    /// The limit.
    pub limit: Duration,
    /// Where it was set: `--cpu-limit`, or a manifest's key.
    pub set_by: String,
}

impl std::fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the app used more than its {:?} of CPU time for this request ({})",
            self.limit, self.set_by
        )
    }
}

/// How a message names a limit: the command line's `flag`, or `key` of
/// the manifest app `set_by` names.
fn limit_name(set_by: &str, key: &str, flag: &str) -> String {
    if set_by.is_empty() {
        flag.to_string()
    } else {
        format!("{key} of {set_by}")
    }
}

impl std::error::Error for CpuLimitExceeded {}

/// Memory every guest of the process may hold together.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
    /// Requests waiting for room, woken when memory is released.
    waiting: AtomicUsize,
    freed: tokio::sync::Notify,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
        })
    }

    /// Waits until a request starting now would find room (`headroom`
    /// bytes left), woken by each release; false if none came before
    /// `deadline`.
    pub async fn wait_for_room(&self, headroom: usize, deadline: tokio::time::Instant) -> bool {
        // Most requests find room: they neither count as waiting nor
        // register for a wakeup.
        if self.has_room(headroom) {
            return true;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let found = loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            if self.has_room(headroom) {
                break true;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                break self.has_room(headroom);
            }
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        found
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held by guests now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Whether a request starting now would find room (less than
    /// `headroom` bytes left means no).
    pub fn has_room(&self, headroom: usize) -> bool {
        self.used().saturating_add(headroom) <= self.limit
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        // Only a request waiting for room pays for the wakeup.
        if bytes > 0 && self.waiting.load(Ordering::Acquire) > 0 {
            self.freed.notify_waiters();
        }
    }
}

/// The memory of one request's instance: at most `max` bytes of linear
/// memory in all, each byte reserved in the process-wide budget while the
/// store lives.
pub(super) struct MemoryLimit {
    max: usize,
    held: usize,
    budget: Arc<MemoryBudget>,
    set_by: Arc<str>,
    /// Told what the instance holds, for the app's metrics.
    usage: Option<Arc<dyn super::Usage>>,
}

impl MemoryLimit {
    pub(super) fn new(
        max: usize,
        budget: Arc<MemoryBudget>,
        set_by: Arc<str>,
        usage: Option<Arc<dyn super::Usage>>,
    ) -> Self {
        MemoryLimit {
            max,
            held: 0,
            budget,
            set_by,
            usage,
        }
    }
}

impl Drop for MemoryLimit {
    fn drop(&mut self) {
        self.budget.release(self.held);
        if let Some(usage) = &self.usage {
            usage.memory(-(self.held as i64));
        }
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let more = desired.saturating_sub(current);
        let total = self.held.saturating_add(more);
        if total > self.max {
            return Err(wasmtime::Error::new(MemoryLimitExceeded::Instance {
                limit: self.max,
                wanted: total,
                set_by: limit_name(&self.set_by, "max_memory", "--max-memory"),
            }));
        }
        if !self.budget.reserve(more) {
            return Err(wasmtime::Error::new(MemoryLimitExceeded::Budget {
                limit: self.budget.limit(),
            }));
        }
        self.held = total;
        if let Some(usage) = &self.usage {
            usage.memory(more as i64);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The bytes the host buffers for one guest's reads of `wsgi.input`: held
/// to the instance's `max_memory` (a guest cannot take in more than that
/// in one read) and counted in the guests' budget while the host holds
/// them.
pub(super) struct InputLimit {
    pub(super) max: usize,
    pub(super) budget: Arc<MemoryBudget>,
    pub(super) set_by: Arc<str>,
}

impl crate::streams::BufferLimit for InputLimit {
    fn reserve(&self, held: usize, more: usize) -> Result<(), String> {
        let total = held.saturating_add(more);
        if total > self.max {
            return Err(format!(
                "reading wsgi.input would hold {}: {}",
                mib(total),
                MemoryLimitExceeded::Instance {
                    limit: self.max,
                    wanted: total,
                    set_by: limit_name(&self.set_by, "max_memory", "--max-memory"),
                }
            ));
        }
        if !self.budget.reserve(more) {
            let limit = self.budget.limit();
            return Err(MemoryLimitExceeded::Budget { limit }.to_string());
        }
        Ok(())
    }

    fn release(&self, bytes: usize) {
        self.budget.release(bytes);
    }
}

/// A guest wanted more memory than it may have.
#[derive(Debug)]
pub enum MemoryLimitExceeded {
    /// More than its instance's `--max-memory`.
    Instance {
        /// The limit, in bytes.
        limit: usize,
        /// What it would have held, in bytes.
        wanted: usize,
        /// Where the limit was set: `--max-memory`, or a manifest's key.
        set_by: String,
    },
    /// More than the memory left in the process-wide budget.
    Budget {
        /// The budget, in bytes.
        limit: usize,
    },
}

impl std::fmt::Display for MemoryLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryLimitExceeded::Instance {
                limit,
                wanted,
                set_by,
            } => write!(
                f,
                "the app tried to use {} of memory, more than its limit of {} ({set_by})",
                mib(*wanted),
                mib(*limit)
            ),
            MemoryLimitExceeded::Budget { limit } => write!(
                f,
                "the server's memory budget for all apps ({}, --memory-budget) is used up",
                mib(*limit)
            ),
        }
    }
}

impl std::error::Error for MemoryLimitExceeded {}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
