//! A guest's lazy body, pulled through the request's store.

use std::sync::Arc;

use bytes::Bytes;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::App;
use super::ctx::Pool;
use super::limits::metered;
use super::{RequestCtx, host, trap_to_exc};
use crate::app::{BodyIter, BoxFuture};
use wasgi::ExcInfo;

/// A guest's lazy body: it keeps the request's store (and instance) alive
/// until the handler has closed it.
pub(super) struct WasmBody {
    /// The instance and its store; `None` once given back to the warm
    /// pool.
    instance: Option<(Store<RequestCtx>, App)>,
    body: ResourceAny,
    name: String,
    trapped: bool,
    /// Where the instance goes once the body closed cleanly (`--reuse`),
    /// and how many requests it has served.
    reuse: Option<(Arc<Pool<App>>, u32)>,
}

impl WasmBody {
    /// The body resource `body` of the instance `app` in `store`; `name`
    /// names the component in tracebacks.
    pub(super) fn new(store: Store<RequestCtx>, app: App, body: ResourceAny, name: &str) -> Self {
        WasmBody {
            instance: Some((store, app)),
            body,
            name: name.to_string(),
            trapped: false,
            reuse: None,
        }
    }

    /// This body, giving its instance back to `pool` once it has closed
    /// cleanly.
    pub(super) fn reusing(mut self, pool: Arc<Pool<App>>, uses: u32) -> Self {
        self.reuse = Some((pool, uses));
        self
    }

    fn instance(&mut self) -> Result<(&mut Store<RequestCtx>, &App), ExcInfo> {
        match self.instance.as_mut() {
            Some((store, app)) => Ok((store, app)),
            None => Err(ExcInfo::new("ValueError", "the body was already closed")),
        }
    }
}

impl BodyIter for WasmBody {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>> {
        Box::pin(async move {
            if self.trapped {
                return Ok(None);
            }
            let resource = self.body;
            let (store, app) = self.instance()?;
            let cpu = store.data().cpu.clone();
            let body = app.wasgi_wsgi_application().body();
            let next = metered(cpu, body.call_next(store, resource)).await;
            match next {
                Ok(chunk) => Ok(chunk.map_err(host::exc_from_wit)?.map(Bytes::from)),
                Err(e) => {
                    self.trapped = true;
                    Err(trap_to_exc(e, &self.name))
                }
            }
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async move {
            // A trapped instance cannot be entered again; its store is
            // dropped with everything it holds.
            if self.trapped {
                return Ok(());
            }
            let resource = self.body;
            let (store, app) = self.instance()?;
            let cpu = store.data().cpu.clone();
            let body = app.wasgi_wsgi_application().body();
            let closed = metered(cpu, body.call_close(store, resource)).await;
            match closed {
                Ok(result) => {
                    if let (Some((pool, uses)), Some((store, app))) =
                        (self.reuse.take(), self.instance.take())
                    {
                        pool.give_back(store, app, uses);
                    }
                    result.map_err(host::exc_from_wit)
                }
                Err(e) => {
                    self.trapped = true;
                    Err(trap_to_exc(e, &self.name))
                }
            }
        })
    }
}
