//! The wasgi executor: a component exporting `wasgi:wsgi/application`
//! is an [`Application`], called once per request in a fresh instance.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;
use wasmtime::Engine;

use super::bindings::AppPre;
use super::bindings::exports::wasgi::wsgi::application::Response;
use super::body::WasmBody;
use super::{AppOptions, RequestCtx, ctx, host, trap_to_exc};
use crate::app::{Application, Body, BoxFuture, Environ, FileBody, StartResponse};
use wasgi::ExcInfo;

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
        let mut store = ctx::new_store(&self.inner.engine, &self.inner.options, slot)?;
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
        let wit_environ = super::bindings::wasgi::wsgi::types::Environ {
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
