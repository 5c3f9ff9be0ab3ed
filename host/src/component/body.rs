//! A guest's lazy body, pulled through the request's store.

use bytes::Bytes;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings::App;
use super::limits::metered;
use super::{RequestCtx, host, trap_to_exc};
use crate::app::{BodyIter, BoxFuture};
use wasgi::ExcInfo;

/// A guest's lazy body: it keeps the request's store (and instance) alive
/// until the handler has closed it.
pub(super) struct WasmBody {
    store: Store<RequestCtx>,
    app: App,
    body: ResourceAny,
    name: String,
    trapped: bool,
}

impl WasmBody {
    /// The body resource `body` of the instance `app` in `store`; `name`
    /// names the component in tracebacks.
    pub(super) fn new(store: Store<RequestCtx>, app: App, body: ResourceAny, name: &str) -> Self {
        WasmBody {
            store,
            app,
            body,
            name: name.to_string(),
            trapped: false,
        }
    }
}

impl BodyIter for WasmBody {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>> {
        Box::pin(async move {
            if self.trapped {
                return Ok(None);
            }
            let cpu = self.store.data().cpu.clone();
            let body = self.app.wasgi_wsgi_application().body();
            let next = metered(cpu, body.call_next(&mut self.store, self.body)).await;
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
            let cpu = self.store.data().cpu.clone();
            let body = self.app.wasgi_wsgi_application().body();
            let closed = metered(cpu, body.call_close(&mut self.store, self.body)).await;
            match closed {
                Ok(result) => result.map_err(host::exc_from_wit),
                Err(e) => {
                    self.trapped = true;
                    Err(trap_to_exc(e, &self.name))
                }
            }
        })
    }
}
