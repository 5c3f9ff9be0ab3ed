//! The `wasi:http/proxy` executor (WASIp2): a component exporting
//! `wasi:http/incoming-handler` gets the request as is, through
//! `wasmtime-wasi-http`, in a fresh instance per request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{Semaphore, oneshot};
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use super::{AppOptions, RequestCtx, ctx, trap_to_exc};
use crate::app::BoxFuture;
use wasgi::ExcInfo;

/// A `wasi:http` component ready to serve: compiled, linked and
/// pre-instantiated.
#[derive(Clone)]
pub struct WasiHttpApp {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pre: ProxyPre<RequestCtx>,
    name: String,
    options: AppOptions,
    slots: Arc<Semaphore>,
}

/// A request body for the guest.
pub type RequestBody = WasiBody;

impl WasiHttpApp {
    /// Wraps a pre-instantiated `wasi:http/proxy` component; `name`
    /// appears in tracebacks.
    pub fn new(
        engine: &Engine,
        pre: ProxyPre<RequestCtx>,
        name: &str,
        options: AppOptions,
    ) -> Self {
        WasiHttpApp {
            inner: Arc::new(Inner {
                engine: engine.clone(),
                pre,
                name: name.to_string(),
                slots: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
                options,
            }),
        }
    }

    /// The app's options.
    pub fn options(&self) -> &AppOptions {
        &self.inner.options
    }

    /// Handles one request: `request` must carry an absolute URI (its
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
        spawn: impl FnOnce(BoxFuture<'static, ()>),
    ) -> Result<http::Response<GuestBody>, ExcInfo> {
        let inner = self.inner.clone();
        let slot = inner
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ExcInfo::new("RuntimeError", e.to_string()))?;
        let mut store = ctx::new_store(&inner.engine, &inner.options, slot)?;
        let trap = |e| trap_to_exc(e, &inner.name);
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
        let task = inner.clone();
        spawn(Box::pin(async move {
            let called = async {
                let proxy = task.pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            };
            if let Err(e) = called.await {
                // Set before the store (and with it the body's sender) is
                // dropped, so the body sees it when it ends.
                guest_failed.store(true, Ordering::SeqCst);
                let exc = trap_to_exc(e, &task.name);
                if let Err(exc) = done_tx.send(exc) {
                    task.options.log.write(&exc.format_exception(None));
                }
            }
            drop(store);
        }));
        match rx.await {
            Ok(Ok(response)) => Ok(response.map(|body| GuestBody { body, failed })),
            Ok(Err(code)) => Err(ExcInfo::new(
                "WasiHttpError",
                format!("the app answered with an error instead of a response: {code:?}"),
            )),
            Err(_) => Err(done_rx.await.unwrap_or_else(|_| {
                ExcInfo::new(
                    "RuntimeError",
                    "the app returned without setting a response (response-outparam.set was never called)",
                )
            })),
        }
    }
}

/// A guest's response body; it ends in an error when the guest failed
/// after sending its head.
pub struct GuestBody {
    body: WasiBody,
    failed: Arc<AtomicBool>,
}

impl HttpBody for GuestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
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
