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

pub use engine::{EngineOptions, default_cache_dir, new_engine, new_engine_with};

pub use load::{
    APPLICATION_EXPORT, LoadError, load_component, load_component_bytes, strip_script_line,
};
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::app::StartResponse;
use crate::app::{Application, Body, BodyIter, BoxFuture, Environ, FileBody};
use crate::streams::ErrorStream;
use bindings::exports::wasgi::wsgi::application::Response;
use bindings::{App, AppPre};
use wasgi::ExcInfo;

/// What one request's `Store` holds.
pub struct RequestCtx {
    table: ResourceTable,
    wasi: WasiCtx,
    /// This request's concurrency slot, released with the store.
    _slot: OwnedSemaphorePermit,
}

impl WasiView for RequestCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What a component may see and where its output goes.
#[derive(Clone)]
pub struct AppOptions {
    /// Where the guest's stdout and stderr go (the server log).
    pub log: ErrorStream,
    /// Host directories the guest can open files in; nothing else of the
    /// host filesystem is visible.
    pub dirs: Vec<Preopen>,
    /// How many requests run in instances of this app at once; more wait
    /// for a free slot rather than failing. Keep it within the engine's
    /// `max_instances`.
    pub max_concurrency: usize,
    /// How much CPU time the guest may use for one request (`None`: no
    /// limit). Time spent waiting (for the client, for the request body)
    /// does not count. Over the limit the guest is stopped and the request
    /// fails with a `TimeoutError`.
    pub cpu_limit: Option<Duration>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            log: ErrorStream::stderr(),
            dirs: Vec::new(),
            max_concurrency: 1000,
            cpu_limit: Some(Duration::from_secs(30)),
        }
    }
}

/// A host directory made visible to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preopen {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

impl Preopen {
    /// Parses `HOST_PATH[::GUEST_PATH]` (the guest path defaults to the host
    /// path as given).
    pub fn parse(spec: &str, writable: bool) -> Preopen {
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            writable,
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
    options: AppOptions,
    slots: Arc<Semaphore>,
}

impl WasmApp {
    /// Wraps a component that [`load_component`] accepted. `name` appears in
    /// tracebacks.
    pub fn new(engine: &Engine, pre: AppPre<RequestCtx>, name: &str, options: AppOptions) -> Self {
        WasmApp {
            inner: Arc::new(Inner {
                engine: engine.clone(),
                pre,
                name: name.to_string(),
                slots: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
                options,
            }),
        }
    }

    /// The name tracebacks show for this component.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn new_store(&self, slot: OwnedSemaphorePermit) -> Result<Store<RequestCtx>, ExcInfo> {
        let options = &self.inner.options;
        let mut wasi = WasiCtx::builder();
        wasi.stdout(host::LogOutput(options.log.clone()))
            .stderr(host::LogOutput(options.log.clone()));
        for dir in &options.dirs {
            let perms = if dir.writable {
                wasmtime_wasi::FsPerms::ReadWrite
            } else {
                wasmtime_wasi::FsPerms::ReadOnly
            };
            wasi.preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|e| {
                    ExcInfo::new(
                        "OSError",
                        format!(
                            "cannot open the directory {} for the guest: {e}",
                            dir.host.display()
                        ),
                    )
                })?;
        }
        let mut store = Store::new(
            &self.inner.engine,
            RequestCtx {
                table: ResourceTable::new(),
                wasi: wasi.build(),
                _slot: slot,
            },
        );
        store.epoch_deadline_callback(cpu_meter(options.cpu_limit));
        store.set_epoch_deadline(1);
        Ok(store)
    }

    async fn call_guest(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> Result<Body, ExcInfo> {
        let slot = self
            .inner
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ExcInfo::new("RuntimeError", e.to_string()))?;
        let mut store = self.new_store(slot)?;
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
            Response::File(file) => {
                let descriptor = store
                    .data_mut()
                    .table
                    .delete(file.file)
                    .map_err(|e| trap(e.into()))?;
                let wasmtime_wasi::filesystem::Descriptor::File(open) = descriptor else {
                    return Err(ExcInfo::new(
                        "IsADirectoryError",
                        "wsgi.file_wrapper was given a directory, not a file",
                    ));
                };
                let body = FileBody::new(open.file.clone(), file.offset, file.blksize as usize);
                Ok(Body::File(match file.close {
                    // The store lives on only if the app's close() must run.
                    Some(close) => body.with_close(Box::new(WasmBody {
                        store,
                        app,
                        body: close,
                        name: self.inner.name.clone(),
                        trapped: false,
                    })),
                    None => body,
                }))
            }
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

/// The epoch callback of a request's store: at every tick the guest yields
/// to other requests, so a busy guest cannot starve the worker threads; and
/// the ticks it ran through without a pause are its CPU time, checked
/// against `limit`. (A guest resuming after a wait sees a deadline that
/// expired while it was not running: that tick is not counted.)
fn cpu_meter(
    limit: Option<Duration>,
) -> impl FnMut(wasmtime::StoreContextMut<'_, RequestCtx>) -> wasmtime::Result<UpdateDeadline>
+ Send
+ Sync
+ 'static {
    let tick_ms = engine::EPOCH_TICK.as_millis().max(1);
    let allowed = limit.map(|l| (l.as_millis() / tick_ms) as u64);
    let mut last = engine::ticks();
    let mut used = 0u64;
    move |_store| {
        let now = engine::ticks();
        if now <= last + 1 {
            used += 1;
        }
        last = now;
        match (allowed, limit) {
            (Some(allowed), Some(limit)) if used > allowed => {
                Err(wasmtime::Error::new(CpuLimitExceeded(limit)))
            }
            _ => Ok(UpdateDeadline::Yield(1)),
        }
    }
}

/// A request's guest ran past its CPU time limit.
#[derive(Debug)]
pub struct CpuLimitExceeded(pub Duration);

impl std::fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the app used more than its {:?} of CPU time for this request (--cpu-limit)",
            self.0
        )
    }
}

impl std::error::Error for CpuLimitExceeded {}

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
    let kind = if err.downcast_ref::<CpuLimitExceeded>().is_some() {
        "TimeoutError"
    } else if err.downcast_ref::<wasmtime::Trap>().is_some() {
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
    let message = if let Some(limit) = err.downcast_ref::<CpuLimitExceeded>() {
        limit.to_string()
    } else if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        trap.to_string()
    } else {
        format!("{err:#}")
    };
    ExcInfo {
        kind: kind.to_string(),
        message,
        traceback,
    }
}
