//! The wasmtime layer: wasgi components as [`Application`]s.
//!
//! One [`Engine`] (pooling allocator, epoch interruption) compiles each
//! component once; [`WasmApp`] holds it pre-instantiated (`InstancePre`), and
//! every request gets a fresh `Store` and instance, so requests share no
//! guest state and a trap ends only its own request.

mod bindings;
mod engine;
mod host;
mod load;

pub use engine::new_engine;
pub use load::{APPLICATION_EXPORT, LoadError, load_component, load_component_bytes};

use std::sync::Arc;

use bytes::Bytes;
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::app::{Application, Body, BodyIter, BoxFuture, Environ};
use crate::handlers::StartResponse;
use crate::streams::ErrorStream;
use bindings::exports::wasgi::wsgi::application::Response;
use bindings::{App, AppPre};
use wasgi::ExcInfo;

/// What one request's `Store` holds.
pub struct RequestCtx {
    table: ResourceTable,
    wasi: WasiCtx,
}

impl WasiView for RequestCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A wasgi component ready to serve: compiled, linked and pre-instantiated.
#[derive(Clone)]
pub struct WasmApp {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pre: AppPre<RequestCtx>,
    name: String,
    log: ErrorStream,
}

impl WasmApp {
    /// Wraps a component that [`load_component`] accepted. `name` appears in
    /// tracebacks; the guest's stdout and stderr go to `log`.
    pub fn new(engine: &Engine, pre: AppPre<RequestCtx>, name: &str, log: ErrorStream) -> Self {
        WasmApp {
            inner: Arc::new(Inner {
                engine: engine.clone(),
                pre,
                name: name.to_string(),
                log,
            }),
        }
    }

    /// The name tracebacks show for this component.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn new_store(&self) -> Store<RequestCtx> {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(host::LogOutput(self.inner.log.clone()))
            .stderr(host::LogOutput(self.inner.log.clone()));
        let mut store = Store::new(
            &self.inner.engine,
            RequestCtx {
                table: ResourceTable::new(),
                wasi: wasi.build(),
            },
        );
        // Yield to other requests at every epoch tick, so a busy guest
        // cannot starve the runtime's worker threads.
        store.epoch_deadline_async_yield_and_update(1);
        store
    }

    async fn call_guest(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> Result<Body, ExcInfo> {
        let mut store = self.new_store();
        let trap = |e| trap_to_exc(e, &self.inner.name);
        let app = self
            .inner
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(trap)?;
        let table = &mut store.data_mut().table;
        let input = table.push(environ.input).map_err(|e| trap(e.into()))?;
        let errors = table.push(environ.errors).map_err(|e| trap(e.into()))?;
        let start_response = table.push(start_response).map_err(|e| trap(e.into()))?;
        let wit_environ = bindings::wasgi::wsgi::types::Environ {
            vars: environ.vars.into_iter().collect(),
            version: environ.version,
            multithread: environ.multithread,
            multiprocess: environ.multiprocess,
            run_once: environ.run_once,
            file_wrapper: environ.file_wrapper,
            input_terminated: environ.input_terminated,
        };
        let returned = app
            .wasgi_wsgi_application()
            .call_call(&mut store, &wit_environ, input, errors, start_response)
            .await
            .map_err(trap)?;
        match returned.map_err(host::exc_from_wit)? {
            Response::Chunks(chunks) => {
                Ok(Body::Chunks(chunks.into_iter().map(Bytes::from).collect()))
            }
            Response::Iterable(body) => Ok(Body::Iter(Box::new(WasmBody {
                store,
                app,
                body,
                name: self.inner.name.clone(),
                trapped: false,
            }))),
        }
    }
}

impl Application for WasmApp {
    fn call(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        Box::pin(self.call_guest(environ, start_response))
    }
}

/// A guest's lazy body: it keeps the request's store (and instance) alive
/// until the handler has closed it.
struct WasmBody {
    store: Store<RequestCtx>,
    app: App,
    body: ResourceAny,
    name: String,
    trapped: bool,
}

impl BodyIter for WasmBody {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>> {
        Box::pin(async move {
            if self.trapped {
                return Ok(None);
            }
            let next = self
                .app
                .wasgi_wsgi_application()
                .body()
                .call_next(&mut self.store, self.body)
                .await;
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
            let closed = self
                .app
                .wasgi_wsgi_application()
                .body()
                .call_close(&mut self.store, self.body)
                .await;
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

/// A trap (or any wasmtime error) as the exception the handler logs: kind
/// `WasmTrap`, the trap message, and the wasm backtrace as traceback lines
/// (outermost frame first).
pub fn trap_to_exc(err: wasmtime::Error, name: &str) -> ExcInfo {
    let kind = if err.downcast_ref::<wasmtime::Trap>().is_some() {
        "WasmTrap"
    } else {
        "WasmError"
    };
    let mut traceback = Vec::new();
    if let Some(bt) = err.downcast_ref::<wasmtime::WasmBacktrace>() {
        for frame in bt.frames().iter().rev() {
            let func = frame
                .func_name()
                .map(|f| format!("{:#}", rustc_demangle::demangle(f)))
                .unwrap_or_else(|| format!("<wasm function {}>", frame.func_index()));
            traceback.push(format!("  File \"{name}\", in {func}"));
        }
    }
    let message = match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("{trap}"),
        None => format!("{err:#}"),
    };
    ExcInfo {
        kind: kind.to_string(),
        message,
        traceback,
    }
}
