//! `WSGIRequestHandler` and the gateway that turns the handlers' output into
//! a hyper response.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot};
use wasgi::Vars;
use wasgi::util::latin1_bytes;

use super::body::{RequestBody, ResponseBody};
use super::half_close::Client;
use super::stop::{LEFT_MID_BODY_GRACE, Stop};
use super::{LogFormat, SERVER_VERSION, Shared, Tasks};
use crate::app::{Application, BoxFuture};
use crate::component::WasiHttpApp;
use crate::environ::request_environ;
use crate::handlers::date::PerSecond;
use crate::handlers::{BaseHandler, Gateway, HandlerConfig, ResponseHead, declared_length};
use crate::service::Service;
use crate::streams::{ErrorStream, InputStream};
use wasgi::ExcInfo;

/// A WSGI request on its way to the app: the environ, the request's head
/// and body, the body's length, and the request line for the log.
type WsgiRequest = (Vars, http::request::Parts, RequestBody, Option<u64>, String);

/// `WSGIRequestHandler`: turns one HTTP request into an environ and runs
/// the application on it.
#[derive(Clone)]
pub struct WSGIRequestHandler {
    pub(super) shared: Arc<Shared>,
    pub(super) peer: SocketAddr,
    pub(super) client: Arc<Client>,
    pub(super) tasks: Tasks,
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

    /// `handle()`: runs the service for one request and returns the
    /// response as soon as its headers are known; the body streams on.
    pub(super) async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let (parts, body) = req.into_parts();
        let protocol = crate::environ::protocol(parts.version);
        let request_line = match (parts.version, parts.uri.path_and_query()) {
            // HTTP/2 requests carry an absolute URI; the log shows the
            // target as HTTP/1 sends it.
            (http::Version::HTTP_2, Some(pq)) => format!("{} {pq} {protocol}", parts.method),
            _ => format!("{} {} {protocol}", parts.method, parts.uri),
        };
        let length = body.size_hint().exact();
        let declared = parts.headers.contains_key(http::header::CONTENT_LENGTH);
        if let Some((status, why)) = self.malformed(&parts, declared) {
            return self.refuse(None, &request_line, status, why);
        }
        let router = self.shared.router();
        let host = (parts.headers.get(http::header::HOST))
            .and_then(|h| h.to_str().ok())
            .or(parts.uri.host());
        let Some(routed) = router.route(host, parts.uri.path()) else {
            let text = "Not found: no app is mounted at this path.\n".to_string();
            return self.refuse(None, &request_line, StatusCode::NOT_FOUND, text);
        };
        let metrics = self.shared.config.metrics.as_ref();
        let in_flight = metrics.map(|m| m.start(&routed.tenant.name));
        let response = self
            .handle_routed(parts, body, length, request_line, routed)
            .await;
        if let Some(f) = &in_flight {
            f.answered(response.status().as_u16());
        }
        response
    }

    /// `handle()` once the request's tenant is known.
    async fn handle_routed(
        &self,
        parts: http::request::Parts,
        body: Incoming,
        length: Option<u64>,
        request_line: String,
        routed: crate::router::Routed,
    ) -> Response<ResponseBody> {
        let tenant = routed.tenant.clone();
        let max = tenant.max_body_size.or(self.shared.config.max_body_size);
        if let (Some(length), Some(max)) = (length, max)
            && length > max
        {
            let text = format!(
                "Request body too large: {length} bytes; this server accepts at most {max}.\n"
            );
            return self.refuse(
                Some(&tenant.name),
                &request_line,
                StatusCode::PAYLOAD_TOO_LARGE,
                text,
            );
        }
        let body = RequestBody {
            body,
            seen: 0,
            max,
            client: self.client.clone(),
        };
        let service = tenant.service.clone();
        if let Err(busy) = service.admit().await {
            let text = format!("Service unavailable: {}; try again later.\n", busy.reason);
            let app = Some(&*tenant.name);
            let mut response =
                self.refuse(app, &request_line, StatusCode::SERVICE_UNAVAILABLE, text);
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                busy.retry_after.as_secs().max(1).into(),
            );
            return response;
        }
        let timeout = tenant.timeout.or(self.shared.config.timeout);
        let stop = Stop::new(timeout, self.shared.cut.subscribe());
        // Until hyper has the response, this future going away means the
        // client left.
        let mut client_left = stop.on_drop(Duration::ZERO);
        let no_body = parts.method == Method::HEAD;
        let version = parts.version;
        let response = match service {
            Service::Wsgi(app) => {
                let environ = self.get_environ(&parts);
                let environ = crate::router::mounted_environ(&routed, environ);
                let handler = self.handler_config(&tenant);
                let request = (environ, parts, body, length, request_line);
                let app = (app, tenant.name.clone());
                self.run_wsgi(app, handler, request, stop.clone()).await
            }
            Service::WasiHttp(app) => {
                let mut parts = parts;
                crate::router::mount_header(&tenant.mount, &mut parts.headers);
                let request = (parts, body, request_line);
                self.run_wasi_http(app, &tenant.name, request, stop.clone())
                    .await
            }
        };
        client_left.disarm();
        let mut response = response;
        // An HTTP/1.0 client reads a body without a length to the end of
        // the connection, so the connection cannot stay open for it.
        if version == http::Version::HTTP_10
            && !no_body
            && !response
                .headers()
                .contains_key(http::header::CONTENT_LENGTH)
            && !response.body().is_end_stream()
        {
            // (hyper keeps an HTTP/1.0 connection open unless the response
            // itself is HTTP/1.0 and does not ask for keep-alive.)
            *response.version_mut() = http::Version::HTTP_10;
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let code = response.status().as_u16();
        if no_body || code == 204 || code == 304 {
            response
        } else {
            response.map(|body| body.guarded(stop.on_drop(LEFT_MID_BODY_GRACE)))
        }
    }

    /// A WSGI application: the environ, then the handlers' run algorithm
    /// with an HTTP gateway, in this task until the head is out.
    async fn run_wsgi(
        &self,
        (application, app): (Arc<dyn Application>, Arc<str>),
        handler_config: Arc<HandlerConfig>,
        (environ, parts, body, length, request_line): WsgiRequest,
        stop: Stop,
    ) -> Response<ResponseBody> {
        let input = InputStream::new(body, length);
        let (head_tx, head_rx) = oneshot::channel();
        let gateway = HttpGateway {
            head_tx: Some(head_tx),
            body_tx: None,
            suppress_body: parts.method == Method::HEAD,
            log: self.get_stderr(),
            log_format: self.shared.config.log_format,
            app,
            remote_ip: self.peer.ip(),
            request_line,
            code: None,
            sent: 0,
            allowed: None,
            logged: false,
        };
        let mut handler =
            BaseHandler::new(handler_config, gateway, input, self.get_stderr(), environ);
        let work: BoxFuture<'static, ()> = Box::pin(async move {
            if let Err(reason) = stop.run(handler.run(&*application)).await {
                handler.interrupt(reason.exception(), reason.status()).await;
            }
        });
        match until_head(&self.tasks, head_rx, work).await {
            Ok(response) => response,
            // The handler gave up before any header went out (the client
            // left, or the error page itself failed).
            Err(_) => {
                let mut response = Response::new(ResponseBody::empty());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        }
    }

    /// A `wasi:http` component: the request as is, with an absolute URI
    /// (the authority from `Host`, else the server's address). A guest that
    /// fails before its head gets the error page, its exception logged.
    async fn run_wasi_http(
        &self,
        app: WasiHttpApp,
        tenant_name: &Arc<str>,
        (mut parts, body, request_line): (http::request::Parts, RequestBody, String),
        stop: Stop,
    ) -> Response<ResponseBody> {
        parts.uri = self.absolute_uri(&parts);
        let max = body.max;
        let body = body
            .map_err(move |e| match e.kind() {
                io::ErrorKind::InvalidData => wasmtime_wasi_http::Error::HttpRequestBodySize(max),
                _ => wasmtime_wasi_http::Error::ConnectionTerminated,
            })
            .boxed_unsync();
        let request = Request::from_parts(parts, body);
        let log = self.get_stderr();
        let (format, app_name) = (self.shared.config.log_format, tenant_name.clone());
        let remote_ip = self.peer.ip();
        let tasks = self.tasks.clone();
        let guest_stop = stop.clone();
        // The guest runs in a task of its own from the start: driven here
        // until its head, it cost more (measured, BENCHMARKS.md), as its
        // head then goes out before its body.
        let spawn = |guest| {
            tasks.spawn(async move {
                let _ = guest_stop.run(guest).await;
            })
        };
        match app.handle(request, spawn).await {
            Ok(response) => {
                let code = response.status().as_u16().to_string();
                response.map(|body| {
                    ResponseBody::guest(body, move |sent, error| {
                        if let Some(e) = error {
                            log.write(&format!(
                                "the response was cut short after {sent} bytes: {e}\n"
                            ));
                        }
                        log.write(&access_line(
                            format,
                            Some(&app_name),
                            remote_ip,
                            &request_line,
                            &code,
                            sent,
                        ));
                    })
                })
            }
            Err(exc) => {
                let (exc, status) = match stop.reason() {
                    Some(reason) => (reason.exception(), reason.status()),
                    None => (exc, self.shared.handler_config.error_status.as_str()),
                };
                if let Some(metrics) = &self.shared.config.metrics {
                    metrics.failed(tenant_name, &exc);
                }
                log.write(&exc.format_exception(None));
                self.error_page(Some(&**tenant_name), &request_line, status)
            }
        }
    }

    /// The handler settings of `tenant`'s requests: its own or the
    /// server's, with a hook counting its exceptions when there are metrics.
    fn handler_config(&self, tenant: &crate::router::Tenant) -> Arc<HandlerConfig> {
        let own = || (tenant.handler.clone()).unwrap_or_else(|| self.shared.handler_config.clone());
        let Some(metrics) = &self.shared.config.metrics else {
            return own();
        };
        tenant
            .counted
            .get_or_init(|| {
                let own = own();
                let mut config = (*own).clone();
                let (metrics, name) = (metrics.clone(), tenant.name.clone());
                config.log_exception = Some(Arc::new(move |e: &ExcInfo, stderr: &ErrorStream| {
                    metrics.failed(&name, e);
                    own.report_exception(e, stderr);
                }));
                Arc::new(config)
            })
            .clone()
    }

    /// The request's URI with a scheme and authority.
    fn absolute_uri(&self, parts: &http::request::Parts) -> http::Uri {
        let mut uri = http::uri::Parts::from(parts.uri.clone());
        if uri.authority.is_none() {
            let from_host = parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok());
            uri.authority = Some(from_host.unwrap_or_else(|| {
                let port = self
                    .shared
                    .base_environ
                    .get("SERVER_PORT")
                    .map(String::as_str)
                    .unwrap_or("80");
                let name = self
                    .shared
                    .base_environ
                    .get("SERVER_NAME")
                    .map(String::as_str)
                    .unwrap_or("localhost");
                http::uri::Authority::try_from(format!("{name}:{port}"))
                    .unwrap_or_else(|_| http::uri::Authority::from_static("localhost"))
            }));
        }
        if uri.scheme.is_none() {
            uri.scheme = Some(match self.shared.config.tls {
                Some(_) => http::uri::Scheme::HTTPS,
                None => http::uri::Scheme::HTTP,
            });
        }
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        http::Uri::from_parts(uri).unwrap_or_else(|_| parts.uri.clone())
    }

    /// The handlers' error page (`error_headers`, `error_body`) with
    /// `status`, and its access line.
    fn error_page(
        &self,
        app: Option<&str>,
        request_line: &str,
        status: &str,
    ) -> Response<ResponseBody> {
        let config = &self.shared.handler_config;
        let code = status.get(..3).unwrap_or("500");
        let status = code
            .parse()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = config.error_body.clone();
        self.get_stderr().write(&access_line(
            self.shared.config.log_format,
            app,
            self.peer.ip(),
            request_line,
            status.as_str(),
            body.len() as u64,
        ));
        let mut response = Response::new(ResponseBody::full(body));
        *response.status_mut() = status;
        for (name, value) in &config.error_headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&latin1_bytes(value)),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }

    /// A request the server answers itself, without running the app:
    /// `status` with `text`, the connection closed after it (its body is
    /// never read), a log line in wsgiref's `code N, message ...` form and
    /// the access line.
    fn refuse(
        &self,
        app: Option<&str>,
        request_line: &str,
        status: StatusCode,
        text: String,
    ) -> Response<ResponseBody> {
        let log = self.get_stderr();
        log.write(&format!(
            "{} - - [{}] code {}, message {}\n",
            self.peer.ip(),
            chrono::Local::now().format("%d/%b/%Y %H:%M:%S"),
            status.as_u16(),
            text.trim_end()
        ));
        log.write(&access_line(
            self.shared.config.log_format,
            app,
            self.peer.ip(),
            request_line,
            status.as_str(),
            text.len() as u64,
        ));
        let mut response = Response::new(ResponseBody::full(Bytes::from(text)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(
                http::header::ALLOW,
                HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE"),
            );
        }
        response
    }

    /// What makes a request one the app must not see (RFC 9112 §3.2,
    /// §3.2.3, §3.2.4, §6.1): the status and the reason.
    fn malformed(
        &self,
        parts: &http::request::Parts,
        has_body_length: bool,
    ) -> Option<(StatusCode, String)> {
        let bad = |why: &str| Some((StatusCode::BAD_REQUEST, format!("Bad request: {why}.\n")));
        let hosts = parts.headers.get_all(http::header::HOST).iter().count();
        if hosts > 1 {
            return bad("more than one Host header");
        }
        if hosts == 0 && parts.version == http::Version::HTTP_11 {
            return bad("an HTTP/1.1 request needs a Host header");
        }
        if has_body_length && parts.headers.contains_key(http::header::TRANSFER_ENCODING) {
            return bad("both Transfer-Encoding and Content-Length");
        }
        if parts.method == Method::CONNECT {
            return Some((
                StatusCode::METHOD_NOT_ALLOWED,
                "CONNECT is not supported: this server is not a proxy.\n".to_string(),
            ));
        }
        let uri = &parts.uri;
        if uri.scheme().is_none() && uri.authority().is_some() {
            return bad("the authority form of a target is for CONNECT only");
        }
        if uri.path() == "*" && parts.method != Method::OPTIONS {
            return bad("the asterisk form of a target is for OPTIONS only");
        }
        None
    }
}

/// Waits for `head` (the response head) while driving `work`, the
/// request's run, in this task. Work still going when the head is ready (a
/// body being produced) goes on in a task of its own. A response known
/// whole (a hello, a list body) so costs no second task and no wakeup
/// across tasks.
async fn until_head<T>(
    tasks: &Tasks,
    head: impl Future<Output = T>,
    work: BoxFuture<'static, ()>,
) -> T {
    let mut head = std::pin::pin!(head);
    let mut work = Unfinished(Some(work), tasks.clone());
    let head = std::future::poll_fn(|cx| {
        if let Some(running) = work.0.as_mut()
            && running.as_mut().poll(cx).is_ready()
        {
            work.0 = None;
        }
        head.as_mut().poll(cx)
    })
    .await;
    drop(work);
    head
}

/// A request's work that has not ended: when the request's future lets go
/// of it (the head is out, or the client left), it goes on in a task of its
/// own, which the connection waits for.
struct Unfinished(Option<BoxFuture<'static, ()>>, Tasks);

impl Drop for Unfinished {
    fn drop(&mut self) {
        // (Outside a runtime, which is being dropped, there is nothing to
        // go on in.)
        if let Some(work) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            self.1.spawn(work);
        }
    }
}

/// A request hyper refused before it reached the server (bad syntax, a
/// head too large, headers too slow): wsgiref's `code N, message ...`
/// line, and an access line when an answer went out.
pub(super) fn log_refused(log: &ErrorStream, format: LogFormat, ip: IpAddr, e: &hyper::Error) {
    let answered = if e.is_parse_too_large() {
        if e.to_string().contains("URI") {
            "414"
        } else {
            "431"
        }
    } else if e.is_parse() || e.is_parse_version_h2() {
        "400"
    } else if e.is_timeout() {
        "408"
    } else {
        return; // the client left, or the connection broke: nothing to say
    };
    let time = chrono::Local::now().format("%d/%b/%Y %H:%M:%S");
    log.write(&format!("{ip} - - [{time}] code {answered}, message {e}\n"));
    if answered != "408" {
        log.write(&access_line(format, None, ip, "-", answered, 0));
    }
}

/// wsgiref's access log line: `127.0.0.1 - - [24/Nov/2026 17:00:00]
/// "GET / HTTP/1.1" 200 12`, in local time.
///
/// With [`LogFormat::Json`], one JSON object per line instead, naming the
/// app: `{"time": "2026-11-24T17:00:00+01:00", "remote_addr": "127.0.0.1",
/// "app": "shop", "request": "GET / HTTP/1.1", "status": 200, "bytes": 12}`.
fn access_line(
    format: LogFormat,
    app: Option<&str>,
    ip: IpAddr,
    request_line: &str,
    code: &str,
    size: u64,
) -> String {
    if format == LogFormat::Json {
        let line = serde_json::json!({
            "time": chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "remote_addr": ip.to_string(),
            "app": app,
            "request": request_line,
            "status": code.parse::<u16>().ok(),
            "bytes": size,
        });
        return format!("{line}\n");
    }
    thread_local! {
        static TIME: PerSecond = const { PerSecond::new() };
    }
    let time = TIME
        .with(|time| time.get(|_| chrono::Local::now().format("%d/%b/%Y %H:%M:%S").to_string()));
    let request_line = escape_log(request_line);
    format!("{ip} - - [{time}] \"{request_line}\" {code} {size}\n")
}

/// `log_message`'s escaping: the bytes as latin-1 characters, control
/// characters (U+0000-U+001F, U+007F-U+009F) as `\xNN`, `\` doubled.
pub(super) fn escape_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'\\' => out.push_str("\\\\"),
            0x00..=0x1f | 0x7f..=0x9f => out.push_str(&format!("\\x{byte:02x}")),
            _ => out.push(char::from(byte)),
        }
    }
    out
}

/// The gateway between the handlers' run algorithm and hyper: the head
/// becomes an `http::Response`, body chunks flow through a channel.
struct HttpGateway {
    head_tx: Option<oneshot::Sender<Response<ResponseBody>>>,
    body_tx: Option<mpsc::Sender<io::Result<Bytes>>>,
    suppress_body: bool,
    log: ErrorStream,
    /// The access line's format, and the app it names.
    log_format: LogFormat,
    app: Arc<str>,
    remote_ip: IpAddr,
    request_line: String,
    /// The status sent, once the head is out.
    code: Option<u16>,
    /// Body bytes handed to the connection.
    sent: u64,
    /// Bytes the `Content-Length` header still allows, if there is one.
    allowed: Option<u64>,
    /// Whether the access line was written.
    logged: bool,
}

/// A request whose response never completed still gets its access line:
/// wsgiref's handler returns quietly when the client has gone, and the
/// server says what happened.
impl Drop for HttpGateway {
    fn drop(&mut self) {
        if self.logged {
            return;
        }
        let client_left = self.head_tx.as_ref().is_some_and(|tx| tx.is_closed())
            || self.body_tx.as_ref().is_some_and(|tx| tx.is_closed());
        if client_left {
            self.log.write(
                "ConnectionAbortedError: the client closed the connection before the response was complete\n",
            );
        }
        let code = self.code.map_or("499".to_string(), |c| c.to_string());
        self.log.write(&access_line(
            self.log_format,
            Some(&self.app),
            self.remote_ip,
            &self.request_line,
            &code,
            self.sent,
        ));
    }
}

fn broken_pipe() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the client closed the connection",
    )
}

impl Gateway for HttpGateway {
    fn write(&mut self, mut data: Bytes) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            let Some(tx) = &self.body_tx else {
                return Ok(());
            };
            // Past its Content-Length a body cannot go on the wire: the
            // rest would be read as the next response.
            if let Some(allowed) = self.allowed.as_mut() {
                if data.len() as u64 > *allowed {
                    self.log.write(&format!(
                        "the app's body is longer than its Content-Length; {} bytes were not sent\n",
                        data.len() as u64 - *allowed
                    ));
                    data.truncate(*allowed as usize);
                }
                *allowed -= data.len() as u64;
            }
            if data.is_empty() {
                return Ok(());
            }
            let len = data.len() as u64;
            tx.send(Ok(data)).await.map_err(|_| broken_pipe())?;
            self.sent += len;
            Ok(())
        })
    }

    fn flush(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn check_head(&self, head: &ResponseHead) -> Result<(), String> {
        let code = head.code();
        if code < 200 {
            return Err(format!(
                "HTTP status {code} is not a final status: an application's status must be 200 or above"
            ));
        }
        declared_length(&head.headers).map(drop)
    }

    fn send_headers<'a>(&'a mut self, head: &'a ResponseHead) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let response = self.build_response(head)?;
            match self.head_tx.take() {
                Some(tx) => tx.send(response).map_err(|_| broken_pipe()),
                None => Ok(()),
            }
        })
    }

    fn abort(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(tx) = self.body_tx.take() {
                let _ = tx
                    .send(Err(io::Error::other(
                        "the application failed after the response started",
                    )))
                    .await;
            }
        })
    }

    fn wants_body(&self) -> bool {
        !self.suppress_body
    }

    /// The access line counts the body bytes that went to the
    /// connection, not what the app produced: none for HEAD, 204 and 304.
    fn on_close(&mut self, status: &str, _bytes_sent: u64) {
        self.logged = true;
        let code = status.split(' ').next().unwrap_or_default();
        self.log.write(&access_line(
            self.log_format,
            Some(&self.app),
            self.remote_ip,
            &self.request_line,
            code,
            self.sent,
        ));
    }
}

impl HttpGateway {
    fn build_response(&mut self, head: &ResponseHead) -> io::Result<Response<ResponseBody>> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let code = head.code();
        let status = StatusCode::from_u16(code).map_err(|e| invalid(e.to_string()))?;
        self.code = Some(code);
        self.suppress_body = self.suppress_body || code == 204 || code == 304;
        let body = if self.suppress_body {
            ResponseBody::empty()
        } else {
            let (tx, rx) = mpsc::channel(2);
            self.body_tx = Some(tx);
            // check_head accepted the length, if there is one.
            let owed = declared_length(&head.headers).ok().flatten();
            self.allowed = owed;
            ResponseBody::channel(rx, owed)
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let reason = head.reason();
        if status.canonical_reason() != Some(reason) {
            let phrase = hyper::ext::ReasonPhrase::try_from(latin1_bytes(reason))
                .map_err(|e| invalid(e.to_string()))?;
            response.extensions_mut().insert(phrase);
        }
        let headers = response.headers_mut();
        for (name, value) in head.wire_headers() {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(e.to_string()))?;
            let value = HeaderValue::from_bytes(&latin1_bytes(value))
                .map_err(|e| invalid(e.to_string()))?;
            headers
                .try_append(name, value)
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok(response)
    }
}
