//! The `wasi:http` executor for WASIp3 components (`wasi:http/handler`
//! 0.3.x, the `wasi:http/service` world), through the `p3` support of
//! `wasmtime-wasi-http` 48.0.8, which wasmtime marks experimental.
//!
//! A p3 guest runs on the store's concurrent event loop: `handle` returns
//! the response head, and the guest's own tasks go on writing the body, so
//! the loop runs until the client has the body (or left).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p3::Request;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::RequestCtx;
use super::ctx::Instances;
use super::limits::metered;
use super::wasi_http::{FailIfDropped, GuestBody, Holder, RequestBody, error_code, report};
use crate::app::BoxFuture;
use wasgi::ExcInfo;

/// What the guest answered: a head with its body, or why there is none.
type Answer = Result<http::Response<wasmtime_wasi_http::WasiBody>, ExcInfo>;

/// One request to a WASIp3 component.
pub(super) async fn handle(
    instances: &Arc<Instances>,
    pre: ServicePre<RequestCtx>,
    mut store: Store<RequestCtx>,
    request: http::Request<RequestBody>,
    spawn: impl FnOnce(BoxFuture<'static, ()>),
) -> Result<http::Response<GuestBody>, ExcInfo> {
    let (tx, rx) = oneshot::channel::<Answer>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let (failed_tx, failed_rx) = oneshot::channel::<ExcInfo>();
    let failed = Arc::new(AtomicBool::new(false));
    let guest_failed = failed.clone();
    let task = instances.clone();
    spawn(Box::pin(async move {
        let mut dropped = FailIfDropped(Some(guest_failed.clone()));
        let cpu = store.data().cpu.clone();
        let served = metered(cpu, async {
            let service = task.timed(pre.instantiate_async(&mut store)).await?;
            let (request, request_io) = Request::from_http(store.data_mut().http().hooks, request);
            store
                .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                    let answer = match service.handle(accessor, request).await? {
                        Ok(response) => {
                            let response = accessor
                                .with(|mut store| response.into_http(&mut store, request_io))?;
                            Ok(response)
                        }
                        Err(code) => Err(error_code(code)),
                    };
                    let answered = answer.is_ok();
                    if tx.send(answer).is_ok() && answered {
                        // The loop feeds the body; it runs until the body is
                        // dropped (sent, or the client left).
                        let _ = done_rx.await;
                    }
                    Ok(())
                })
                .await?
        });
        if let Err(e) = served.await {
            guest_failed.store(true, Ordering::SeqCst);
            report(&task, task.trap(e), failed_tx);
        }
        dropped.0 = None;
        drop(store);
    }));
    match rx.await {
        Ok(Ok(response)) => Ok(GuestBody::response(response, failed, Holder::Done(done_tx))),
        Ok(Err(exc)) => Err(exc),
        Err(_) => Err(failed_rx
            .await
            .unwrap_or_else(|_| ExcInfo::new("RuntimeError", "the app returned no response"))),
    }
}
