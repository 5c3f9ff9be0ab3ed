//! The `wasi:http` executor: the request as is, with an absolute URI made
//! from the authority the pipeline settled, to a WASIp2 or WASIp3 guest
//! ([`WasiHttpApp`]). A guest that fails before its head gets the error
//! page, its exception logged.

use std::io;

use http::{Request, Response};
use http_body_util::BodyExt;

use super::{Call, Executor};
use crate::app::{Admission, BoxFuture, Busy};
use crate::component::{RequestLine, WasiHttpApp};
use crate::gateway::body::ResponseBody;
use crate::gateway::reply;
use crate::simple_server::WSGIRequestHandler;

impl Executor for WasiHttpApp {
    fn kind(&self) -> &'static str {
        "wasi:http"
    }

    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>> {
        Box::pin(WasiHttpApp::admit(self))
    }

    fn execute<'a>(&'a self, call: Call<'a>) -> BoxFuture<'a, Response<ResponseBody>> {
        Box::pin(run(self, call))
    }
}

async fn run(app: &WasiHttpApp, call: Call<'_>) -> Response<ResponseBody> {
    let Call {
        conn,
        routed,
        mut parts,
        body,
        access,
        stop,
        admission,
        ..
    } = call;
    crate::router::mount_header(&routed.tenant.mount, &mut parts.headers);
    parts.uri = absolute_uri(conn, &parts);
    if let Some(line) = access.stream().request() {
        parts.extensions.insert(RequestLine(line.clone()));
    }
    let max = body.max;
    let body = body
        .map_err(move |e| match e.kind() {
            io::ErrorKind::InvalidData => wasmtime_wasi_http::Error::HttpRequestBodySize(max),
            _ => wasmtime_wasi_http::Error::ConnectionTerminated,
        })
        .boxed_unsync();
    let request = Request::from_parts(parts, body);
    let tasks = conn.tasks.clone();
    let guest_stop = stop.clone();
    // The guest runs in a task of its own from the start: driven here
    // until its head, it cost more (measured, BENCHMARKS.md), as its
    // head then goes out before its body.
    let spawn = |guest| {
        tasks.spawn(async move {
            let _ = guest_stop.run(guest).await;
        })
    };
    match app.handle(request, admission, spawn).await {
        Ok(response) => {
            let code = response.status().as_u16().to_string();
            response.map(|body| {
                ResponseBody::guest(body, move |sent, error| {
                    if let Some(e) = error {
                        access.stream().write(&format!(
                            "the response was cut short after {sent} bytes: {e}\n"
                        ));
                    }
                    access.write(&code, sent, error.is_some());
                })
            })
        }
        Err(exc) => {
            let shared = &conn.shared;
            let (exc, status) = match stop.reason() {
                Some(reason) => (stop.exception(reason), reason.status()),
                None => (exc, shared.handler_config.error_status.as_str()),
            };
            if let Some(metrics) = &shared.config.metrics {
                metrics.failed(&routed.tenant.name, &exc);
            }
            access.stream().event(
                crate::streams::Event::Exception,
                &exc.format_exception(None),
            );
            reply::error_page(&access, &shared.handler_config, status)
        }
    }
}

/// The request's URI with a scheme and authority: the `Host` header the
/// pipeline settled, else the server's own name and port.
fn absolute_uri(conn: &WSGIRequestHandler, parts: &http::request::Parts) -> http::Uri {
    let shared = &conn.shared;
    let mut uri = http::uri::Parts::from(parts.uri.clone());
    if uri.authority.is_none() {
        let from_host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok());
        uri.authority = Some(from_host.unwrap_or_else(|| {
            let var = |key: &str, default: &'static str| {
                (shared.base_environ.get(key)).map_or(default, String::as_str)
            };
            let (name, port) = (var("SERVER_NAME", "localhost"), var("SERVER_PORT", "80"));
            http::uri::Authority::try_from(format!("{name}:{port}"))
                .unwrap_or_else(|_| http::uri::Authority::from_static("localhost"))
        }));
    }
    if uri.scheme.is_none() {
        uri.scheme = Some(match shared.config.tls {
            Some(_) => http::uri::Scheme::HTTPS,
            None => http::uri::Scheme::HTTP,
        });
    }
    if uri.path_and_query.is_none() {
        uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    http::Uri::from_parts(uri).unwrap_or_else(|_| parts.uri.clone())
}
