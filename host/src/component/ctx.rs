//! What one request's `Store` holds, for every kind of component.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::limits::{CpuMeter, Lane, MemoryLimit};
use super::{AppOptions, limits};
use crate::app::{Admission, Busy};
use crate::capability::outbound::OutboundHooks;
use wasgi::ExcInfo;

/// What one request's `Store` holds: the resource table, the WASI and
/// `wasi:http` contexts, and the request's concurrency slot.
pub struct RequestCtx {
    pub(crate) table: ResourceTable,
    /// The app's capability settings, for host functions that read them.
    pub capabilities: crate::capability::CapabilitySettings,
    pub(crate) wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    /// The guest's CPU time, checked at every epoch tick.
    pub(super) cpu: Arc<CpuMeter>,
    /// The heavy lane this guest holds, once it has run for long.
    pub(super) lane: Lane,
    memory: MemoryLimit,
    /// Told the CPU time each request used (the app's metrics).
    usage: Option<Arc<dyn super::Usage>>,
    /// The request the instance serves, for the log lines of its output.
    pub(crate) request: super::CurrentRequest,
    /// The app's log.
    pub(crate) log: crate::streams::ErrorStream,
    /// The requests sharing the instance's CPU time, when it serves
    /// several at once (a reused WASIp3 instance): its limits and metrics
    /// count each request's share instead of the whole.
    pub(super) shares: Option<Arc<limits::CpuShares>>,
    /// What the capabilities keep for the instance (dropped with it).
    pub(crate) state: crate::capability::InstanceState,
    /// This request's concurrency slot, released with the store (or when
    /// the instance goes back to the warm pool).
    slot: Option<OwnedSemaphorePermit>,
}

impl RequestCtx {
    /// Readies a warm instance's context for its next request: its own
    /// slot, CPU meter, lane and `wasi:http` state.
    fn renew(&mut self, slot: OwnedSemaphorePermit) {
        self.slot = Some(slot);
        self.report_cpu();
        self.cpu = Arc::default();
        self.lane = Lane::default();
        self.http = WasiHttpCtx::new();
    }
}

impl RequestCtx {
    /// Gives back the heavy lane the guest holds, before a host call that
    /// may wait long (a file lock): a guest blocked there must not keep
    /// the lane the guest it waits for needs to finish.
    pub(crate) fn give_back_lane(&self) {
        drop(self.lane.lock().unwrap_or_else(|p| p.into_inner()).take());
    }

    /// Tells the app's metrics the CPU time of the request that ends (an
    /// instance serving several at once tells each request's share as it
    /// ends instead).
    fn report_cpu(&self) {
        if self.shares.is_some() {
            return;
        }
        if let Some(usage) = &self.usage {
            usage.cpu(self.cpu.used());
        }
    }
}

impl Drop for RequestCtx {
    fn drop(&mut self) {
        self.report_cpu();
    }
}

/// An instance that served a request cleanly, kept for the app's next one
/// (`--reuse N`), with its store.
pub(super) struct Warm<I> {
    pub(super) store: Store<RequestCtx>,
    pub(super) instance: I,
    uses: u32,
}

/// The warm instances of one app, and how many requests each may serve.
pub(super) struct Pool<I> {
    idle: std::sync::Mutex<Vec<Warm<I>>>,
    max_uses: u32,
}

impl<I> Pool<I> {
    pub(super) fn new(max_uses: u32) -> Self {
        Pool {
            idle: std::sync::Mutex::new(Vec::new()),
            max_uses,
        }
    }

    /// Keeps the instance of a request that ended cleanly, unless it has
    /// served its share (then it is retired). Its slot is released now, not
    /// when it is reused.
    pub(super) fn give_back(&self, mut store: Store<RequestCtx>, instance: I, uses: u32) {
        if uses >= self.max_uses {
            return retire(store);
        }
        store.data_mut().slot = None;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push(Warm {
            store,
            instance,
            uses,
        });
    }

    fn take(&self) -> Option<Warm<I>> {
        if self.max_uses <= 1 {
            return None;
        }
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }
}

/// Drops the store of an instance that is done in a task of its own: its
/// teardown (the slot's reset, the store's tables) then runs after the
/// responses ready on this thread are written, not before. Under load the
/// responses go out back to back and the client is woken once for several
/// (measured: a fresh wasi:http hello 67 → 42 µs of CPU per request,
/// mostly the kernel's wakeups; BENCHMARKS.md). The instance's slot is
/// held until then, so the limits it counts against still hold.
fn retire(store: Store<RequestCtx>) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(async move { drop(store) })),
        Err(_) => drop(store),
    }
}

/// A store for one request, and its instance when a warm one was free.
pub(super) struct Checkout<I> {
    pub(super) store: Store<RequestCtx>,
    pub(super) instance: Option<I>,
    /// Requests this instance has served, this one included.
    pub(super) uses: u32,
}

impl WasiView for RequestCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestCtx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// How long a request waits for room in the memory budget before it gets
/// a 503.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(10);

/// What every request of one app shares, whatever its kind: the engine,
/// the app's name (in tracebacks), its options and its concurrency slots.
pub(super) struct Instances {
    engine: Engine,
    /// How the component was compiled.
    pub(super) compiled: super::Compiled,
    pub(super) name: String,
    pub(super) options: AppOptions,
    slots: Arc<Semaphore>,
    /// What bounds the bytes the host buffers for the guest's reads.
    pub(super) input_limit: Arc<dyn crate::streams::BufferLimit>,
    /// Requests waiting for a slot.
    waiting: std::sync::atomic::AtomicUsize,
}

impl Instances {
    pub(super) fn new(
        engine: &Engine,
        name: &str,
        options: AppOptions,
        compiled: super::Compiled,
    ) -> Arc<Self> {
        Arc::new(Instances {
            engine: engine.clone(),
            compiled,
            name: name.to_string(),
            slots: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            input_limit: Arc::new(limits::InputLimit {
                max: options.max_memory,
                budget: options.memory_budget.clone(),
                set_by: options.limits_set_by.clone(),
            }),
            waiting: Default::default(),
            options,
        })
    }

    /// Admits a request: one of the app's concurrency slots, waiting
    /// for one among at most `max_queue` others (beyond them: busy at
    /// once), then room in the guests' memory budget (the app's
    /// `max_memory`, at most 16 MiB, left), for up to [`ADMISSION_WAIT`].
    /// The slot is the request's until its store is dropped or given back.
    pub(super) async fn admit(&self) -> Result<Admission, Busy> {
        use std::sync::atomic::Ordering::AcqRel;
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Counted before the check, so the queue's bound holds
                // however many arrive at once.
                let waiting = self.waiting.fetch_add(1, AcqRel);
                if waiting >= self.options.max_queue {
                    self.waiting.fetch_sub(1, AcqRel);
                    return Err(Busy {
                        reason: format!(
                            "the app is busy: {} requests running (max_concurrency) and {waiting} waiting (max_queue)",
                            self.options.max_concurrency
                        ),
                        retry_after: Duration::from_secs(1),
                    });
                }
                // (Uncounted however the wait ends: a client that leaves
                // drops it.)
                let _queued = Queued(&self.waiting);
                let slot = self.slots.clone().acquire_owned().await;
                slot.map_err(|e| Busy {
                    reason: e.to_string(),
                    retry_after: Duration::from_secs(1),
                })?
            }
        };
        let budget = &self.options.memory_budget;
        let headroom = self.options.max_memory.min(16 << 20);
        let deadline = tokio::time::Instant::now() + ADMISSION_WAIT;
        if !budget.wait_for_room(headroom, deadline).await {
            return Err(Busy {
                reason: format!(
                    "the guests' memory budget ({} MiB, --memory-budget) is used up",
                    budget.limit() >> 20
                ),
                retry_after: Duration::from_secs(1),
            });
        }
        Ok(Admission(Some(slot)))
    }

    /// The slot `admission` reserved, or (for a caller that did not admit
    /// the request: an embedder calling the app) one once it is free.
    pub(super) async fn slot(&self, admission: Admission) -> Result<OwnedSemaphorePermit, ExcInfo> {
        if let Some(slot) = admission.0 {
            return Ok(slot);
        }
        let slot = self.slots.clone().acquire_owned().await;
        slot.map_err(|e| ExcInfo::new("RuntimeError", e.to_string()))
    }

    /// A fresh store for one request (`request_line`, for the log lines of
    /// the guest's output), holding its concurrency slot until
    /// it is dropped.
    pub(super) async fn fresh_store(
        &self,
        admission: Admission,
        request_line: Option<Arc<str>>,
    ) -> Result<Store<RequestCtx>, ExcInfo> {
        let slot = self.slot(admission).await?;
        let store = new_store(&self.engine, &self.options, Some(slot))?;
        store.data().request.set(request_line);
        Ok(store)
    }

    /// A store for an instance that serves several requests at once: the
    /// requests hold their slots, and `shares` splits its CPU time among
    /// them.
    pub(super) fn shared_store(
        &self,
        shares: Arc<limits::CpuShares>,
    ) -> Result<Store<RequestCtx>, ExcInfo> {
        let mut store = new_store(&self.engine, &self.options, None)?;
        store.data_mut().shares = Some(shares);
        Ok(store)
    }

    /// A store for one request (`request_line`, for the log lines of the
    /// guest's output), holding its concurrency slot until it is
    /// dropped or given back: a warm instance's from `pool` if one is
    /// idle, else a fresh one.
    pub(super) async fn checkout<I>(
        &self,
        pool: &Pool<I>,
        admission: Admission,
        request_line: Option<Arc<str>>,
    ) -> Result<Checkout<I>, ExcInfo> {
        let slot = self.slot(admission).await?;
        if let Some(mut warm) = pool.take() {
            warm.store.data_mut().renew(slot);
            warm.store.data().request.set(request_line);
            warm.store.set_epoch_deadline(1);
            return Ok(Checkout {
                store: warm.store,
                instance: Some(warm.instance),
                uses: warm.uses + 1,
            });
        }
        let store = new_store(&self.engine, &self.options, Some(slot))?;
        store.data().request.set(request_line);
        Ok(Checkout {
            store,
            instance: None,
            uses: 1,
        })
    }

    /// Instantiates with `instantiate`, telling the app's
    /// [`AppOptions::instantiated`] hook how long it took.
    pub(super) async fn timed<T>(&self, instantiate: impl std::future::Future<Output = T>) -> T {
        let Some(hook) = &self.options.instantiated else {
            return instantiate.await;
        };
        let started = std::time::Instant::now();
        let instance = instantiate.await;
        hook(started.elapsed());
        instance
    }

    /// A trap or wasmtime error of this app as the exception to log.
    pub(super) fn trap(&self, err: wasmtime::Error) -> ExcInfo {
        super::trap_to_exc(err, &self.name)
    }
}

/// A request counted among those waiting for a slot, until dropped.
struct Queued<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A fresh store for one request of an app with `options`: what the
/// capabilities give it ([`crate::capability`]), its memory limit, and the
/// CPU meter on the epoch clock.
fn new_store(
    engine: &Engine,
    options: &AppOptions,
    slot: Option<OwnedSemaphorePermit>,
) -> Result<Store<RequestCtx>, ExcInfo> {
    let instance = crate::capability::InstanceBuilder::configured(options)?;
    let mut wasi = instance.wasi;
    let mut store = Store::new(
        engine,
        RequestCtx {
            table: ResourceTable::new(),
            capabilities: options.capabilities.clone(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: (instance.hooks).unwrap_or_else(|| {
                OutboundHooks::new(Default::default(), options.log.clone(), Default::default())
            }),
            cpu: Arc::default(),
            lane: Lane::default(),
            memory: MemoryLimit::new(
                options.max_memory,
                options.memory_budget.clone(),
                options.limits_set_by.clone(),
                options.usage.clone(),
            ),
            usage: options.usage.clone(),
            request: instance.request,
            log: options.log.clone(),
            shares: None,
            state: instance.state,
            slot,
        },
    );
    store.limiter(|ctx| &mut ctx.memory);
    store.epoch_deadline_callback(limits::cpu_limit(
        options.cpu_limit,
        options.limits_set_by.clone(),
    ));
    store.set_epoch_deadline(1);
    Ok(store)
}
