//! WASIp3 instances that serve many requests, several at once (`--reuse`,
//! `--reuse-concurrency`, `--idle-instance-timeout`): what the p3 model is
//! made for, and what `wasmtime serve` and Spin do by default.
//!
//! Each instance is a worker task driving its store's event loop. A request
//! goes to a worker with room (it has taken fewer than its share, has fewer
//! than its concurrency open, and its guest is waiting rather than
//! computing, so a second core gets a second instance), else to a new
//! worker. How an instance ends:
//! * a trap, or a request past its CPU limit, fails the requests it has
//!   open: those waiting for a head get the exception (a 500 and its log
//!   line), those sending a body are cut; the instance is never used again;
//! * a request stopped before its head (timeout, client gone, drain)
//!   retires the instance: it takes no more, and is dropped, with whatever
//!   the stopped request left running, once its other requests have ended;
//! * with no request open for its idle timeout, it is dropped (with its own
//!   tasks); once it has served its share, its tasks get that long to end.
//!
//! Limits stay a fresh instance's: CPU per request (the instance's time
//! split among the requests open, [`CpuShares`]), memory per instance, and
//! the app's concurrency slots per request.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::AtomicWaker;
use tokio::sync::{Notify, OwnedSemaphorePermit, oneshot};
use wasmtime::AsContextMut;
use wasmtime::component::Accessor;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{ExpirationError, Prepared, Proxy};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;

use super::RequestCtx;
use super::ctx::Instances;
use super::host::CurrentRequest;
use super::limits::{CpuMeter, CpuShares, metered};
use super::wasi_http::{GuestBody, Holder, error_code};
use crate::app::Admission;
use wasgi::ExcInfo;

/// What a request's waiter gets: the response head (its body still fed by
/// the instance) with the request's hold on the instance, or why not.
type Answer = Result<(http::Response<wasmtime_wasi_http::WasiBody>, Lease), ExcInfo>;

/// One app's WASIp3 workers, and the requests waiting for one.
pub(super) struct Workers {
    instances: Arc<Instances>,
    pre: ServicePre<RequestCtx>,
    /// Requests an instance serves in all.
    uses: u32,
    /// Requests an instance has open at once.
    at_once: usize,
    /// How long an instance with nothing open is kept.
    idle: Duration,
    queue: Mutex<VecDeque<Job>>,
    pushed: Notify,
    /// Workers that would take a request now.
    available: AtomicUsize,
}

/// `N (M at once, idle after S s)`.
impl std::fmt::Display for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (uses, at_once, idle) = (self.uses, self.at_once, self.idle.as_secs_f64());
        write!(f, "{uses} ({at_once} at once, idle after {idle} s)")
    }
}

/// A request on its way to a worker.
struct Job {
    request: http::Request<wasmtime_wasi_http::WasiBody>,
    slot: OwnedSemaphorePermit,
    line: Option<Arc<str>>,
    answer: oneshot::Sender<Answer>,
    /// Why the instance failed, for a request it dropped before its head.
    why: oneshot::Sender<ExcInfo>,
    /// Set when the instance failed after the head: the body is cut.
    failed: Arc<AtomicBool>,
}

impl Workers {
    /// Workers of `pre` whose instances serve `uses` requests each, at most
    /// `at_once` at a time, and are dropped after `idle` with none.
    pub(super) fn new(
        instances: Arc<Instances>,
        pre: ServicePre<RequestCtx>,
        (uses, at_once, idle): (u32, u32, Duration),
    ) -> Arc<Self> {
        Arc::new(Workers {
            instances,
            pre,
            uses: uses.max(1),
            at_once: usize::try_from(at_once.max(1)).unwrap_or(usize::MAX),
            idle,
            queue: Mutex::default(),
            pushed: Notify::new(),
            available: AtomicUsize::new(0),
        })
    }

    /// One request (`line` names it in the guest's log lines), in the room
    /// `admission` reserved: its response once the guest gave its head. It
    /// is stopped when `stopped` ends: before the head, it fails (and its
    /// instance retires); after, its body is cut. `ended` is dropped with
    /// the body.
    pub(super) async fn handle(
        self: &Arc<Self>,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        admission: Admission,
        line: Option<Arc<str>>,
        mut stopped: oneshot::Receiver<()>,
        ended: oneshot::Sender<()>,
    ) -> Result<http::Response<GuestBody>, ExcInfo> {
        let slot = self.instances.slot(admission).await?;
        let (answer, mut answered) = oneshot::channel();
        let (why, why_rx) = oneshot::channel();
        let failed = Arc::new(AtomicBool::new(false));
        self.submit(Job {
            request,
            slot,
            line,
            answer,
            why,
            failed: failed.clone(),
        });
        let answer = tokio::select! {
            answer = &mut answered => answer,
            _ = &mut stopped => {
                return Err(ExcInfo::new("RuntimeError", "the request was stopped"));
            }
        };
        match answer {
            Ok(Ok((response, lease))) => {
                Ok(
                    GuestBody::response(response, failed, Holder::Lease(lease, ended))
                        .map(|body| body.cut_when(stopped)),
                )
            }
            Ok(Err(exc)) => Err(exc),
            Err(_) => Err(why_rx.await.unwrap_or_else(|_| {
                ExcInfo::new(
                    "RuntimeError",
                    "the instance serving the request ended before it answered",
                )
            })),
        }
    }

    /// Gives `job` to a worker with room, or to a new one. (The checks of
    /// `available` around the push make sure a job never waits in the queue
    /// with no worker to take it; [`Available::set`] does the rest.)
    fn submit(self: &Arc<Self>, job: Job) {
        if self.available.load(Ordering::SeqCst) == 0 {
            return self.start(job);
        }
        let mut queue = self.lock_queue();
        queue.push_back(job);
        if self.available.load(Ordering::SeqCst) == 0 {
            let job = queue.pop_back();
            drop(queue);
            if let Some(job) = job {
                self.start(job);
            }
        } else {
            drop(queue);
            self.pushed.notify_one();
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new worker, serving `first` first.
    fn start(self: &Arc<Self>, first: Job) {
        tokio::spawn(self.clone().work(first));
    }

    /// A worker: one instance, from its first request until it ends.
    async fn work(self: Arc<Self>, first: Job) {
        let instances = &self.instances;
        let shares = Arc::new(CpuShares::default());
        let mut store = match instances.shared_store(shares.clone()) {
            Ok(store) => store,
            Err(exc) => return drop(first.answer.send(Err(exc))),
        };
        let instance = Arc::new(Instance {
            cpu: store.data().cpu.clone(),
            shares,
            usage: instances.options.usage.clone(),
            request: store.data().request.clone(),
            open: Mutex::default(),
            changed: AtomicWaker::new(),
            orphans: Mutex::default(),
        });
        let mut available = Available {
            workers: &self,
            on: false,
        };
        let served = metered(instance.cpu.clone(), async {
            let service = match instances
                .timed(self.pre.instantiate_async(&mut store))
                .await
            {
                Ok(service) => service,
                Err(e) => return drop(first.answer.send(Err(instances.trap(e)))),
            };
            let quiet = AtomicBool::new(false);
            let serving = store.run_concurrent(async |accessor| {
                self.serve(accessor, service, &instance, first, &quiet, &mut available)
                    .await
            });
            let mut serving = pin!(serving);
            // The event loop has nothing to run when it is pending: its
            // guest waits for something, so it may take another request.
            let served = poll_fn(|cx| {
                let polled = serving.as_mut().poll(cx);
                if polled.is_pending() && !quiet.swap(true, Ordering::SeqCst) {
                    return serving.as_mut().poll(cx);
                }
                polled
            });
            if let Err(e) = served.await.and_then(|r| r) {
                instance.fail(instances, instances.trap(e));
            }
        });
        served.await;
        drop(available);
        // The bodies still open have their `failed` set by now: they end
        // in an error when the store (and their senders) go.
        drop(store);
    }

    /// The instance's event loop: takes requests while it has room, until
    /// it is used up, retired or idle.
    async fn serve(
        &self,
        accessor: &Accessor<RequestCtx>,
        service: wasmtime_wasi_http::p3::bindings::Service,
        instance: &Arc<Instance>,
        first: Job,
        quiet: &AtomicBool,
        available: &mut Available<'_>,
    ) -> wasmtime::Result<()> {
        let func = *service.wasi_http_handler().func_handle().func();
        let proxy = Proxy::P3(service);
        let mut heads = FuturesUnordered::new();
        let accept = |job: Job| {
            quiet.store(false, Ordering::SeqCst);
            head(accessor, &proxy, &self.instances, instance, job)
        };
        heads.push(accept(first));
        let mut used = 1;
        let mut taking = true;
        let mut pushed = pin!(self.pushed.notified());
        let mut idle = pin!(tokio::time::sleep(self.idle));
        let mut idle_since_open = false;
        poll_fn(|cx| {
            loop {
                while let Poll::Ready(Some(head)) = heads.poll_next_unpin(cx) {
                    // A request stopped before its head retires the
                    // instance (see the module's comment).
                    if !head? {
                        instance.lock().retired = true;
                    }
                }
                instance.changed.register(cx.waker());
                let (open, retired) = {
                    let open = instance.lock();
                    (open.requests.len(), open.retired)
                };
                if retired || used >= self.uses {
                    taking = false;
                }
                if retired && open == 0 {
                    return Poll::Ready(Ok(()));
                }
                let ready = accessor.poll_ready_for_concurrent_call(func, cx).is_ready();
                let room = taking
                    && ready
                    && open < self.at_once
                    && (open == 0 || quiet.load(Ordering::SeqCst));
                if !room && available.on {
                    // A wakeup this worker was given passes on to another.
                    pushed.set(self.pushed.notified());
                }
                available.set(room);
                if room {
                    pushed.as_mut().enable();
                    let job = self.lock_queue().pop_front();
                    if let Some(job) = job {
                        used += 1;
                        idle_since_open = false;
                        heads.push(accept(job));
                        continue;
                    }
                    if pushed.as_mut().poll(cx).is_ready() {
                        pushed.set(self.pushed.notified());
                        continue;
                    }
                }
                if open > 0 || !heads.is_empty() {
                    idle_since_open = false;
                    return Poll::Pending;
                }
                if !idle_since_open {
                    idle_since_open = true;
                    idle.as_mut().reset(tokio::time::Instant::now() + self.idle);
                }
                if !taking && accessor.poll_no_interesting_tasks(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
                if idle.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
                return Poll::Pending;
            }
        })
        .await
    }
}

/// One request in its instance, until its head is given to its waiter:
/// whether it was (false: it was stopped first).
async fn head(
    accessor: &Accessor<RequestCtx>,
    proxy: &Proxy,
    instances: &Instances,
    instance: &Arc<Instance>,
    job: Job,
) -> wasmtime::Result<bool> {
    let Job {
        request,
        slot,
        line,
        answer: mut waiter,
        why,
        failed,
    } = job;
    let lease = instance.lease(slot, line, failed);
    let mut orphan = Orphan {
        instance: instance.clone(),
        why: Some(why),
    };
    let (tx, rx) = futures::channel::oneshot::channel();
    let prepared = accessor.with(|mut store| {
        Prepared::new(store.as_context_mut(), proxy, request, RequestCtx::http, tx)
    });
    let answer = match prepared {
        Err(e) => Err(instances.trap(e)),
        Ok(prepared) => {
            let responded = prepared.run(accessor, waiter.closed()).await?;
            let Ok(result) = rx.await else {
                return Ok(responded);
            };
            match result {
                Ok(response) => Ok((response, lease)),
                Err(e) if e.is::<ExpirationError>() => return Ok(false),
                Err(e) => match e.downcast::<ErrorCode>() {
                    Ok(code) => Err(error_code(code)),
                    // A trap during the call: it ends the whole instance,
                    // and the waiter hears of it with the others (through
                    // `orphan`).
                    Err(e) => return Err(e),
                },
            }
        }
    };
    orphan.why = None;
    Ok(waiter.send(answer).is_ok())
}

/// One instance: its open requests, shared by its worker and their leases.
struct Instance {
    cpu: Arc<CpuMeter>,
    shares: Arc<CpuShares>,
    usage: Option<Arc<dyn super::Usage>>,
    /// The request the guest's log lines name: the one open, if only one is.
    request: CurrentRequest,
    open: Mutex<Open>,
    /// Wakes the worker when a request ends.
    changed: AtomicWaker,
    /// Where a request the instance dropped before its head waits for why.
    orphans: Mutex<Vec<oneshot::Sender<ExcInfo>>>,
}

#[derive(Default)]
struct Open {
    /// By share id: the request line, and its body's `failed`.
    requests: Vec<(u64, Option<Arc<str>>, Arc<AtomicBool>)>,
    /// Takes no more requests; dropped once those open end.
    retired: bool,
}

impl Instance {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request opens: its lease, holding its slot until it ends.
    fn lease(
        self: &Arc<Self>,
        slot: OwnedSemaphorePermit,
        line: Option<Arc<str>>,
        failed: Arc<AtomicBool>,
    ) -> Lease {
        let id = self.shares.open(self.cpu.used());
        let mut open = self.lock();
        open.requests.push((id, line, failed));
        self.name_request(&open);
        Lease {
            instance: self.clone(),
            id,
            _slot: slot,
        }
    }

    /// Points the guest's log lines at the one request open, or at none.
    fn name_request(&self, open: &Open) {
        match open.requests.as_slice() {
            [(_, line, _)] => self.request.set(line.clone()),
            _ => self.request.set(None),
        }
    }

    /// The instance failed with `exc`: the requests dropped before their
    /// head get it, the bodies open end in an error, and with neither it
    /// goes to the log.
    fn fail(&self, instances: &Instances, exc: ExcInfo) {
        for (_, _, failed) in &self.lock().requests {
            failed.store(true, Ordering::SeqCst);
        }
        let orphans = std::mem::take(&mut *self.orphans.lock().unwrap_or_else(|p| p.into_inner()));
        let mut exc = exc;
        if orphans.len() > 1 {
            // Which of them caused it is not known: each says so.
            exc.message = format!(
                "{} (in the instance serving this request and {} more at once, which all failed with it)",
                exc.message,
                orphans.len() - 1
            );
        }
        let mut told = false;
        for orphan in orphans {
            told |= orphan.send(exc.clone()).is_ok();
        }
        if !told {
            instances.options.log.event(
                crate::streams::Event::Exception,
                &exc.format_exception(None),
            );
        }
    }
}

/// A request's hold on its instance, from its acceptance until its body
/// is dropped: its slot, and its share of the instance's CPU time.
pub(super) struct Lease {
    instance: Arc<Instance>,
    id: u64,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let instance = &self.instance;
        let share = instance.shares.close(self.id, instance.cpu.used());
        if let Some(usage) = &instance.usage {
            usage.cpu(share);
        }
        let mut open = instance.lock();
        open.requests.retain(|(id, _, _)| *id != self.id);
        instance.name_request(&open);
        drop(open);
        instance.changed.wake();
    }
}

/// A request's channel for why its instance failed, handed to the instance
/// if the request is dropped before its head (the instance is going down).
struct Orphan {
    instance: Arc<Instance>,
    why: Option<oneshot::Sender<ExcInfo>>,
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(why) = self.why.take()
            && !why.is_closed()
        {
            let orphans = self.instance.orphans.lock();
            orphans.unwrap_or_else(|p| p.into_inner()).push(why);
        }
    }
}

/// Whether a worker counts among those that would take a request now.
struct Available<'a> {
    workers: &'a Arc<Workers>,
    on: bool,
}

impl Available<'_> {
    fn set(&mut self, on: bool) {
        if on == self.on {
            return;
        }
        self.on = on;
        let workers = self.workers;
        if on {
            workers.available.fetch_add(1, Ordering::SeqCst);
            return;
        }
        // Counted down before the queue is looked at, so a request pushed
        // meanwhile is seen either here or by `submit`.
        if workers.available.fetch_sub(1, Ordering::SeqCst) == 1 {
            let job = workers.lock_queue().pop_front();
            if let Some(job) = job {
                workers.start(job);
            }
        }
    }
}

impl Drop for Available<'_> {
    fn drop(&mut self) {
        self.set(false);
    }
}
