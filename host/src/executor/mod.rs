//! What a server hands each request to: one executor per guest ABI, behind
//! one trait (as Spin's trigger-http has one executor per guest world).
//!
//! * [`wsgi`]: a WSGI application (a wasgi component, the validator around
//!   one, a native closure), run by the handlers' algorithm with an HTTP
//!   gateway;
//! * [`wasi_http`]: a `wasi:http` component (WASIp2 or WASIp3), given the
//!   request as is.

pub(crate) mod wasi_http;
pub(crate) mod wsgi;

use std::sync::Arc;

use http::Response;

use crate::app::{Admission, Application, BoxFuture, Busy};
use crate::component::{Loaded, WasiHttpApp};
use crate::gateway::access_log::AccessLog;
use crate::gateway::body::{RequestBody, ResponseBody};
use crate::gateway::stop::Stop;
use crate::router::Routed;
use crate::simple_server::WSGIRequestHandler;

/// An app a server can serve.
#[derive(Clone)]
pub enum Service {
    /// A WSGI application (a wasgi component, the validator around one, a
    /// native closure): run by the handlers' algorithm
    /// ([`BaseHandler`](crate::BaseHandler)) with an environ built from the
    /// request.
    Wsgi(Arc<dyn Application>),
    /// A `wasi:http` component: given the request as is.
    WasiHttp(WasiHttpApp),
}

impl Service {
    /// The executor for this kind of app: the one place the kinds are
    /// told apart.
    pub(crate) fn executor(&self) -> &dyn Executor {
        match self {
            Service::Wsgi(app) => app,
            Service::WasiHttp(app) => app,
        }
    }

    /// Waits until the app has room for a request, or says why not (see
    /// [`Application::admit`]).
    pub async fn admit(&self) -> Result<Admission, Busy> {
        self.executor().admit().await
    }

    /// What kind of app it is: `wasgi` or `wasi:http`.
    pub fn kind(&self) -> &'static str {
        self.executor().kind()
    }

    /// The WSGI application, when it is one.
    pub fn wsgi(&self) -> Option<&Arc<dyn Application>> {
        self.executor().wsgi()
    }
}

/// One request, routed, on its way to an executor.
pub(crate) struct Call<'a> {
    /// The connection it came on.
    pub(crate) conn: &'a WSGIRequestHandler,
    /// Its tenant, and the path after mounting.
    pub(crate) routed: Routed,
    /// Its head, with the authority settled.
    pub(crate) parts: http::request::Parts,
    /// Its body, within the tenant's size limit.
    pub(crate) body: RequestBody,
    /// The body's length, when the head declared it.
    pub(crate) length: Option<u64>,
    /// Its access line, naming the tenant.
    pub(crate) access: AccessLog,
    /// Its stop signal (client gone, timeout, drain).
    pub(crate) stop: Stop,
    /// The room its app reserved for it.
    pub(crate) admission: Admission,
}

/// Runs requests for one guest ABI.
pub(crate) trait Executor: Send + Sync {
    /// `wasgi` or `wasi:http`.
    fn kind(&self) -> &'static str;

    /// Waits until the app has room for a request, or says why not; what
    /// it reserves goes to [`execute`](Self::execute) with the call.
    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>>;

    /// Runs `call`; the response as soon as its head is known, its access
    /// line written when it ends.
    fn execute<'a>(&'a self, call: Call<'a>) -> BoxFuture<'a, Response<ResponseBody>>;

    /// The WSGI application behind this executor, if it runs one.
    fn wsgi(&self) -> Option<&Arc<dyn Application>> {
        None
    }
}

impl From<Arc<dyn Application>> for Service {
    fn from(app: Arc<dyn Application>) -> Self {
        Service::Wsgi(app)
    }
}

impl From<WasiHttpApp> for Service {
    fn from(app: WasiHttpApp) -> Self {
        Service::WasiHttp(app)
    }
}

impl From<Loaded> for Service {
    fn from(loaded: Loaded) -> Self {
        match loaded {
            Loaded::Wasgi(app) => Service::Wsgi(Arc::new(app)),
            Loaded::WasiHttp(app) => Service::WasiHttp(app),
        }
    }
}
