//! The wasgi executor: a component exporting `wasgi:wsgi/application`
//! is an [`Application`], called once per request in a fresh instance.

use std::sync::Arc;

use bytes::Bytes;
use wasmtime::Engine;

use super::bindings::App;
use super::bindings::AppPre;
use super::bindings::exports::wasgi::wsgi::application::Response;
use super::body::WasmBody;
use super::ctx::{Checkout, Instances, Pool};
use super::limits::metered;
use super::{AppOptions, RequestCtx, host};
use crate::app::{Admission, Application, Body, BoxFuture, Busy, Environ, FileBody, StartResponse};
use wasgi::ExcInfo;

/// A wasgi component ready to serve: compiled, linked and pre-instantiated.
#[derive(Clone)]
pub struct WasmApp {
    instances: Arc<Instances>,
    pre: AppPre<RequestCtx>,
    /// Warm instances, with `--reuse`.
    pool: Arc<Pool<App>>,
}

impl WasmApp {
    /// Wraps a component that [`load_component`](super::load_component)
    /// accepted. `name` appears in tracebacks.
    pub fn new(engine: &Engine, pre: AppPre<RequestCtx>, name: &str, options: AppOptions) -> Self {
        let instances = Instances::new(engine, name, options, super::Compiled::default());
        WasmApp::from_parts(instances, pre)
    }

    pub(super) fn from_parts(instances: Arc<Instances>, pre: AppPre<RequestCtx>) -> Self {
        let pool = Arc::new(Pool::new(instances.options.reuse.requests()));
        WasmApp {
            instances,
            pre,
            pool,
        }
    }

    pub(super) fn instances(&self) -> &Instances {
        &self.instances
    }

    pub(super) fn pre(&self) -> &AppPre<RequestCtx> {
        &self.pre
    }

    async fn call_guest(
        &self,
        environ: Environ,
        start_response: StartResponse,
        admission: Admission,
    ) -> Result<Body, ExcInfo> {
        let Checkout {
            mut store,
            instance,
            uses,
        } = (self.instances)
            .checkout(&self.pool, admission, environ.errors.request().cloned())
            .await?;
        let trap = |e| self.instances.trap(e);
        let cpu = store.data().cpu.clone();
        let app = match instance {
            Some(app) => app,
            None => {
                let instantiate = self.pre.instantiate_async(&mut store);
                (self.instances.timed(metered(cpu.clone(), instantiate)))
                    .await
                    .map_err(trap)?
            }
        };
        let mut environ = environ;
        environ.input.set_limit(self.instances.input_limit.clone());
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
        let call = app.wasgi_wsgi_application().call_call(
            &mut store,
            &wit_environ,
            input,
            errors,
            start_response,
        );
        // A trap ends the instance; an exception the app raised does not.
        let returned = metered(cpu, call).await.map_err(trap)?;
        let response = match returned {
            Ok(response) => response,
            Err(exc) => {
                self.pool.give_back(store, app, uses);
                return Err(host::exc_from_wit(exc));
            }
        };
        match response {
            Response::Chunks(chunks) => {
                self.pool.give_back(store, app, uses);
                Ok(Body::Chunks(chunks.into_iter().map(Bytes::from).collect()))
            }
            Response::Iterable(body) => Ok(Body::Iter(Box::new(
                WasmBody::new(store, app, body, &self.instances.name)
                    .reusing(self.pool.clone(), uses),
            ))),
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
                    Some(close) => body.with_close(Box::new(
                        WasmBody::new(store, app, close, &self.instances.name)
                            .reusing(self.pool.clone(), uses),
                    )),
                    None => {
                        self.pool.give_back(store, app, uses);
                        body
                    }
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
        Box::pin(self.call_guest(environ, start_response, Admission::default()))
    }

    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>> {
        Box::pin(self.instances.admit())
    }

    fn call_admitted(
        &self,
        environ: Environ,
        start_response: StartResponse,
        admission: Admission,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        Box::pin(self.call_guest(environ, start_response, admission))
    }
}
