//! The wasmtime layer: wasgi components as [`Application`]s.
//!
//! One [`Engine`] (pooling allocator, epoch interruption) compiles each
//! component once; [`WasmApp`] holds it pre-instantiated (`InstancePre`), and
//! every request gets a fresh `Store` and instance, so requests share no
//! guest state and a trap ends only its own request.

mod bindings;
mod body;
mod engine;
mod host;
mod limits;
mod load;
mod options;

pub use limits::CpuLimitExceeded;
pub use options::{AppOptions, Preopen};

pub use engine::{EngineOptions, default_cache_dir, new_engine, new_engine_with};

pub use load::{
    APPLICATION_EXPORT, LoadError, load_component, load_component_bytes, strip_script_line,
};

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::app::StartResponse;
use crate::app::{Application, Body, BoxFuture, Environ, FileBody};
use bindings::AppPre;
use bindings::exports::wasgi::wsgi::application::Response;
use body::WasmBody;
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
        store.epoch_deadline_callback(limits::cpu_meter(options.cpu_limit));
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
            Response::Iterable(body) => Ok(Body::Iter(Box::new(WasmBody::new(
                store,
                app,
                body,
                &self.inner.name,
            )))),
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
                    Some(close) => body.with_close(Box::new(WasmBody::new(
                        store,
                        app,
                        close,
                        &self.inner.name,
                    ))),
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
