//! `WSGIRequestHandler`: one connection's handler, as wsgiref's class is.
//! A request's path through the gateway starts here
//! ([`crate::gateway::pipeline`]).

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use wasgi::Vars;

use super::{SERVER_VERSION, Shared, Tasks};
use crate::environ::request_environ;
use crate::gateway::body::ResponseBody;
use crate::gateway::half_close::Client;
use crate::streams::ErrorStream;

/// `WSGIRequestHandler`: turns one HTTP request into an environ and runs
/// the application on it.
#[derive(Clone)]
pub struct WSGIRequestHandler {
    pub(crate) shared: Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(crate) client: Arc<Client>,
    pub(crate) tasks: Tasks,
}

impl WSGIRequestHandler {
    /// `get_environ()`: the base environ plus the request's variables.
    pub fn get_environ(&self, parts: &http::request::Parts) -> Vars {
        request_environ(
            &self.shared.base_environ,
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            self.peer.ip(),
            SERVER_VERSION,
        )
    }

    /// `get_stderr()`: the stream `wsgi.errors` writes to.
    pub fn get_stderr(&self) -> ErrorStream {
        self.shared.config.log.clone()
    }

    /// `handle()`: runs the request through the gateway and returns the
    /// response as soon as its headers are known; the body streams on.
    pub(crate) async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        crate::gateway::pipeline::handle(self, req).await
    }
}
