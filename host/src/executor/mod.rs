//! What a server hands each request to: one executor per guest ABI.

use std::sync::Arc;

use crate::app::{Application, Busy};
use crate::component::{Loaded, WasiHttpApp};

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
    /// Waits until the app has room for a request, or says why not (see
    /// [`Application::admit`]).
    pub async fn admit(&self) -> Result<(), Busy> {
        match self {
            Service::Wsgi(app) => app.admit().await,
            Service::WasiHttp(app) => app.admit().await,
        }
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
