//! The `wasi:http` executor: a component exporting
//! `wasi:http/incoming-handler` (WASIp2, here) or `wasi:http/handler`
//! (WASIp3, [`super::p3`]) gets the request as is, through
//! `wasmtime-wasi-http`, in a fresh instance per request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::oneshot;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use super::RequestCtx;
use super::ctx::{Checkout, Instances, Pool};
use super::limits::metered;
use crate::app::{Admission, BoxFuture};
use wasgi::ExcInfo;

/// A `wasi:http` component ready to serve: compiled, linked and
/// pre-instantiated.
#[derive(Clone)]
pub struct WasiHttpApp {
    instances: Arc<Instances>,
    pre: Pre,
    /// Warm WASIp2 instances, with `--reuse`.
    pool: Arc<Pool<Proxy>>,
    /// The instances of a WASIp3 component that serve many requests,
    /// several at once; `None`: a fresh instance for each (`--reuse 1`).
    workers: Option<Arc<super::p3_reuse::Workers>>,
}

/// The pre-instantiated component, by `wasi:http` version.
#[derive(Clone)]
pub(super) enum Pre {
    /// `wasi:http/incoming-handler@0.2.x`.
    P2(ProxyPre<RequestCtx>),
    /// `wasi:http/handler@0.3.x`.
    P3(ServicePre<RequestCtx>),
}

/// A request body for the guest.
pub type RequestBody = WasiBody;

impl WasiHttpApp {
    /// A pre-instantiated `wasi:http` component.
    pub(super) fn new(instances: Arc<Instances>, pre: Pre) -> Self {
        let pool = Arc::new(Pool::new(instances.options.reuse.requests()));
        let workers = match (&pre, p3_reuse(&instances.options.reuse)) {
            (Pre::P3(pre), reuse @ (uses, _, _)) if uses > 1 => Some(
                super::p3_reuse::Workers::new(instances.clone(), pre.clone(), reuse),
            ),
            _ => None,
        };
        WasiHttpApp {
            instances,
            pre,
            pool,
            workers,
        }
    }

    /// How its instances serve requests: `1` (a fresh one each), `N` (one
    /// after another), or `N (M at once, idle after S s)`.
    pub fn reuse(&self) -> String {
        match &self.workers {
            Some(workers) => workers.to_string(),
            None => self.instances.options.reuse.requests().to_string(),
        }
    }

    pub(super) fn instances(&self) -> &Instances {
        &self.instances
    }

    /// Waits for room for a request (see [`Application::admit`](crate::Application::admit)):
    /// what it reserves goes to [`handle`](Self::handle).
    pub async fn admit(&self) -> Result<Admission, crate::app::Busy> {
        self.instances.admit().await
    }

    /// Handles one request, in the room `admission` reserved (a default
    /// one: once a slot is free): `request` must carry an absolute URI (its
    /// authority is the guest's `authority()`). The guest runs in the task
    /// given to `spawn`, which ends when the guest returns (it may stream
    /// its body after its head). Resolves to the response once the guest
    /// has set its head, or to the exception that kept it from doing so
    /// (the exception is what to log; the server answers with its error
    /// page). A guest failing after its head makes the body end in an
    /// error, so the client sees a cut response, never a complete one.
    pub async fn handle(
        &self,
        request: http::Request<RequestBody>,
        admission: Admission,
        spawn: impl FnOnce(BoxFuture<'static, ()>),
    ) -> Result<http::Response<GuestBody>, ExcInfo> {
        let instances = &self.instances;
        let line = request_line(&request);
        match &self.pre {
            Pre::P2(pre) => {
                let checkout = instances.checkout(&self.pool, admission, line).await?;
                handle_p2(instances, pre.clone(), &self.pool, checkout, request, spawn).await
            }
            Pre::P3(_) if let Some(workers) = &self.workers => {
                // The guest's instance is not this request's to drop: a task
                // stands in for it, and its being dropped (the request was
                // stopped) stops the request's wait for its head, or cuts
                // its body.
                let (stopped_tx, stopped) = oneshot::channel::<()>();
                let (ended, ended_rx) = oneshot::channel::<()>();
                spawn(Box::pin(async move {
                    let _stopped = stopped_tx;
                    let _ = ended_rx.await;
                }));
                workers
                    .handle(request, admission, line, stopped, ended)
                    .await
            }
            Pre::P3(pre) => {
                let store = instances.fresh_store(admission, line).await?;
                super::p3::handle(instances, pre.clone(), store, request, spawn).await
            }
        }
    }
}

/// A WASIp3 component's reuse settings, its defaults filled in: requests
/// per instance, at once, and the idle timeout.
fn p3_reuse(reuse: &super::Reuse) -> (u32, u32, std::time::Duration) {
    let (uses, at_once, idle) = super::P3_REUSE;
    (
        reuse.requests.unwrap_or(uses),
        reuse.concurrency.unwrap_or(at_once),
        reuse.idle.unwrap_or(idle),
    )
}

/// One request to a WASIp2 component: the guest runs in its own task and
/// sets its response head through `response-outparam`.
async fn handle_p2(
    instances: &Arc<Instances>,
    pre: ProxyPre<RequestCtx>,
    pool: &Arc<Pool<Proxy>>,
    checkout: Checkout<Proxy>,
    request: http::Request<RequestBody>,
    spawn: impl FnOnce(BoxFuture<'static, ()>),
) -> Result<http::Response<GuestBody>, ExcInfo> {
    let Checkout {
        mut store,
        instance,
        uses,
    } = checkout;
    let trap = |e| instances.trap(e);
    let scheme = match request.uri().scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    };
    let (tx, rx) = oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(scheme, request)
        .map_err(trap)?;
    let out = store
        .data_mut()
        .http()
        .new_response_outparam(tx)
        .map_err(trap)?;
    let failed = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = oneshot::channel::<ExcInfo>();
    let guest_failed = failed.clone();
    let task = instances.clone();
    let pool = pool.clone();
    spawn(Box::pin(async move {
        let mut dropped = FailIfDropped(Some(guest_failed.clone()));
        let cpu = store.data().cpu.clone();
        let called = metered(cpu, async {
            let proxy = match instance {
                Some(proxy) => proxy,
                None => task.timed(pre.instantiate_async(&mut store)).await?,
            };
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
                .map(|()| proxy)
        });
        match called.await {
            Ok(proxy) => {
                dropped.0 = None;
                pool.give_back(store, proxy, uses);
            }
            Err(e) => {
                // Set before the store (and with it the body's sender) is
                // dropped, so the body sees it when it ends.
                guest_failed.store(true, Ordering::SeqCst);
                report(&task, task.trap(e), done_tx);
                dropped.0 = None;
                drop(store);
            }
        }
    }));
    match rx.await {
        Ok(Ok(response)) => Ok(GuestBody::response(response, failed, Holder::Nothing)),
        Ok(Err(code)) => Err(error_code(code)),
        Err(_) => Err(done_rx.await.unwrap_or_else(|_| {
            ExcInfo::new(
                "RuntimeError",
                "the app returned without setting a response (response-outparam.set was never called)",
            )
        })),
    }
}

/// Marks the guest as failed when its task is dropped before it ends (the
/// request was stopped from outside), so its body ends in an error.
pub(super) struct FailIfDropped(pub(super) Option<Arc<AtomicBool>>);

impl Drop for FailIfDropped {
    fn drop(&mut self) {
        if let Some(failed) = self.0.take() {
            failed.store(true, Ordering::SeqCst);
        }
    }
}

/// The request line a server read (`GET /x?y HTTP/1.1`), carried in a
/// request's extensions to [`WasiHttpApp::handle`]: the guest's output is
/// logged as during it, as its access line names it.
#[derive(Clone)]
pub struct RequestLine(pub Arc<str>);

/// `request`'s request line: the one the server read, or one made from it.
fn request_line<B>(request: &http::Request<B>) -> Option<Arc<str>> {
    if let Some(RequestLine(line)) = request.extensions().get() {
        return Some(line.clone());
    }
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    Some(format!("{} {target} {:?}", request.method(), request.version()).into())
}

/// A guest's failure: to the waiting request if it is still waiting for
/// its head (it logs it with the error page), else to the log.
pub(super) fn report(instances: &Instances, exc: ExcInfo, waiting: oneshot::Sender<ExcInfo>) {
    if let Err(exc) = waiting.send(exc) {
        instances.options.log.event(
            crate::streams::Event::Exception,
            &exc.format_exception(None),
        );
    }
}

/// A response the guest replaced by an error code.
pub(super) fn error_code(code: impl std::fmt::Debug) -> ExcInfo {
    ExcInfo::new(
        "WasiHttpError",
        format!("the app answered with an error instead of a response: {code:?}"),
    )
}

/// A guest's response body; it ends in an error when the guest failed
/// after sending its head.
pub struct GuestBody {
    body: WasiBody,
    failed: Arc<AtomicBool>,
    /// Body bytes its `Content-Length` still owes, if it has one.
    owed: Option<u64>,
    /// What the body holds its guest's instance with.
    _holder: Holder,
    /// Ends when the request is stopped from outside: the body is cut
    /// (a reused instance goes on without it).
    stopped: Option<oneshot::Receiver<()>>,
}

/// What a guest's response body holds until it is dropped (sent, or the
/// client left).
pub(super) enum Holder {
    /// Nothing: the instance's task does not wait for the body.
    Nothing,
    /// Tells a fresh WASIp3 instance's event loop that the client has what
    /// it will get, when dropped.
    Done(#[allow(dead_code)] oneshot::Sender<()>),
    /// A reused WASIp3 instance's hold for this request, and the sender
    /// whose drop tells the request's stand-in task the body is done.
    Lease(
        #[allow(dead_code)] super::p3_reuse::Lease,
        #[allow(dead_code)] oneshot::Sender<()>,
    ),
}

impl GuestBody {
    /// This body, cut when `stopped` ends.
    pub(super) fn cut_when(mut self, stopped: oneshot::Receiver<()>) -> Self {
        self.stopped = Some(stopped);
        self
    }

    /// `response` with its body wrapped.
    pub(super) fn response(
        response: http::Response<WasiBody>,
        failed: Arc<AtomicBool>,
        holder: Holder,
    ) -> http::Response<GuestBody> {
        let owed = (response.headers().get(http::header::CONTENT_LENGTH))
            .and_then(|v| v.to_str().ok()?.parse().ok());
        response.map(|body| GuestBody {
            body,
            failed,
            owed,
            _holder: holder,
            stopped: None,
        })
    }
}

/// The most a dropped body may still owe of its `Content-Length` and be
/// read to its end.
const DRAINED: u64 = 1 << 20;

/// hyper lets go of a body while the guest may still be writing, flushing
/// or finishing it: as soon as its `Content-Length` is sent, and at once for
/// a response that carries none on the wire (HEAD, 204, 304). When the body
/// owes at most [`DRAINED`] bytes of its declared length (nothing, from a
/// guest that kept to it), the rest is read until the guest is done with
/// it, so its writes and flush succeed instead of failing with a closed
/// stream (a guest that checks them would fail after a complete response).
/// Any other body is dropped, as when a client leaves: a HEAD to an endless
/// stream holds no instance.
impl Drop for GuestBody {
    fn drop(&mut self) {
        let small = self.owed.is_some_and(|owed| owed <= DRAINED);
        if !small || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let empty = http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        let mut rest = std::mem::replace(&mut self.body, empty);
        // Most often the guest is done already: then no task is needed.
        let mut now = Context::from_waker(std::task::Waker::noop());
        loop {
            match Pin::new(&mut rest).poll_frame(&mut now) {
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(_) => return,
                Poll::Pending => break,
            }
        }
        tokio::spawn(async move { while let Some(Ok(_)) = rest.frame().await {} });
    }
}

impl HttpBody for GuestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(stopped) = &mut self.stopped
            && Pin::new(stopped).poll(cx).is_ready()
        {
            self.stopped = None;
            self.failed.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(std::io::Error::other("the request was stopped"))));
        }
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let (Some(owed), Poll::Ready(Some(Ok(frame)))) = (self.owed.as_mut(), &polled) {
            *owed = owed.saturating_sub(frame.data_ref().map_or(0, |d| d.len() as u64));
        }
        match polled {
            Poll::Ready(None) if self.failed.load(Ordering::SeqCst) => Poll::Ready(Some(Err(
                std::io::Error::other("the app failed after the response started"),
            ))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(std::io::Error::other(e)))),
            other => other.map(|f| f.map(|f| f.map_err(std::io::Error::other))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
