//! `wsgiref.simple_server`: an HTTP server for one WSGI application, on
//! hyper and tokio.
//!
//! [`make_server`] binds and returns a [`WSGIServer`]; `serve_forever`
//! serves until [`WSGIServer::shutdown`]. Each request runs the handlers'
//! run algorithm ([`BaseHandler`]) with an HTTP gateway, and logs one access
//! line in wsgiref's format. Departures from wsgiref, all deliberate: HTTP/1.1
//! with keep-alive and chunked responses, concurrent connections, bodies
//! suppressed for HEAD, 1xx, 204 and 304, `wsgi.input` bounded and
//! de-chunked, header names with `_` dropped, response headers checked so
//! CR/LF never reach the wire, a 30 s limit on reading request headers, and
//! no process environment in the environ.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use wasgi::Vars;
use wasgi::util::latin1_bytes;

use crate::app::{Application, BoxFuture};
use crate::environ::request_environ;
use crate::handlers::{BaseHandler, Gateway, HandlerConfig, ResponseHead};
use crate::streams::{ChunkSource, ErrorStream, InputStream};

/// `wasgi/<version>`, as a literal for `concat!`.
macro_rules! server_version {
    () => {
        concat!("wasgi/", env!("CARGO_PKG_VERSION"))
    };
}

/// The wasmtime the host is built with (pinned in Cargo.toml), as a literal
/// for `concat!`.
macro_rules! sys_version {
    () => {
        "wasmtime/48.0.8"
    };
}

/// The server's name and version: `SERVER_SOFTWARE` in every environ.
pub const SERVER_VERSION: &str = server_version!();
/// The runtime's name and version (CPython's `sys_version` counterpart).
pub const SYS_VERSION: &str = sys_version!();
/// The `Server` response header: `SERVER_VERSION SYS_VERSION`.
pub const SOFTWARE_VERSION: &str = concat!(server_version!(), " ", sys_version!());

/// Settings of a [`WSGIServer`] beyond wsgiref's.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where access lines, tracebacks and `wsgi.errors` go.
    pub log: ErrorStream,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// How long [`WSGIServer::serve_forever`] waits for requests in flight
    /// after a shutdown before it returns anyway.
    pub drain_timeout: Duration,
    /// The largest request body accepted, in bytes (`None`: no limit). A
    /// larger `Content-Length` is answered with 413 without running the
    /// app; a chunked body that grows past it fails the app's read.
    pub max_body_size: Option<u64>,
    /// The handler settings every request runs with.
    pub handler: HandlerConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            log: ErrorStream::stderr(),
            header_read_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            max_body_size: Some(1 << 30),
            handler: server_handler_config(),
        }
    }
}

/// wsgiref's `ServerHandler` settings, with HTTP/1.1 status lines.
pub fn server_handler_config() -> HandlerConfig {
    HandlerConfig {
        wsgi_multithread: false,
        wsgi_multiprocess: false,
        http_version: "1.1".to_string(),
        server_software: Some(SOFTWARE_VERSION.to_string()),
        ..HandlerConfig::default()
    }
}

/// `make_server(host, port, app)`: a [`WSGIServer`] bound to `host:port`
/// (port 0 picks a free port; `""` means all interfaces), serving `app`.
/// It does not serve until `serve_forever` or `handle_request` runs.
pub fn make_server(host: &str, port: u16, app: impl Application) -> io::Result<WSGIServer> {
    WSGIServer::bind(host, port, Arc::new(app), ServerConfig::default())
}

/// `WSGIServer`: a listening socket, the application, and the
/// `base_environ` shared by every request.
pub struct WSGIServer {
    listener: StdListener,
    server_address: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    app: RwLock<Arc<dyn Application>>,
    base_environ: Vars,
    config: ServerConfig,
    /// `config.handler`, shared by every request's handler.
    handler_config: Arc<HandlerConfig>,
    shutdown: watch::Sender<bool>,
}

impl WSGIServer {
    /// Binds `host:port` and prepares the base environ.
    pub fn bind(
        host: &str,
        port: u16,
        app: Arc<dyn Application>,
        config: ServerConfig,
    ) -> io::Result<Self> {
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no address for {host}"),
            )
        })?;
        let listener = StdListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let server_address = listener.local_addr()?;
        let server_name = server_name(host, server_address.ip());
        let mut base_environ = Vars::new();
        base_environ.insert("SERVER_NAME".into(), server_name);
        base_environ.insert("GATEWAY_INTERFACE".into(), "CGI/1.1".into());
        base_environ.insert("SERVER_PORT".into(), server_address.port().to_string());
        base_environ.insert("REMOTE_HOST".into(), String::new());
        base_environ.insert("CONTENT_LENGTH".into(), String::new());
        base_environ.insert("SCRIPT_NAME".into(), String::new());
        Ok(WSGIServer {
            listener,
            server_address,
            shared: Arc::new(Shared {
                app: RwLock::new(app),
                base_environ,
                handler_config: Arc::new(config.handler.clone()),
                config,
                shutdown: watch::channel(false).0,
            }),
        })
    }

    /// The address the server is bound to (`server_address`).
    pub fn server_address(&self) -> SocketAddr {
        self.server_address
    }

    /// The bound port (`server_port`), useful after binding port 0.
    pub fn server_port(&self) -> u16 {
        self.server_address.port()
    }

    /// The `SERVER_NAME` every environ gets.
    pub fn server_name(&self) -> &str {
        self.shared
            .base_environ
            .get("SERVER_NAME")
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The variables every request's environ starts from.
    pub fn base_environ(&self) -> &Vars {
        &self.shared.base_environ
    }

    /// `set_app(app)`: requests accepted from now on run `app`.
    pub fn set_app(&self, app: Arc<dyn Application>) {
        if let Ok(mut slot) = self.shared.app.write() {
            *slot = app;
        }
    }

    /// `get_app()`.
    pub fn get_app(&self) -> Arc<dyn Application> {
        self.shared.get_app()
    }

    /// `serve_forever()`: accepts connections until [`shutdown`](Self::shutdown),
    /// then lets requests in flight finish (up to `drain_timeout`).
    pub async fn serve_forever(&self) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener.try_clone()?)?;
        let mut stop = self.shared.shutdown.subscribe();
        let mut connections = JoinSet::new();
        while !*stop.borrow() {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        connections.spawn(serve_connection(self.shared.clone(), stream, peer, true));
                    }
                    Err(e) => {
                        // Out of descriptors and the like: keep serving.
                        self.shared.config.log.write(&format!("accept failed: {e}\n"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = stop.changed() => {}
            }
        }
        let drained = tokio::time::timeout(self.shared.config.drain_timeout, async {
            while connections.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            connections.abort_all();
        }
        Ok(())
    }

    /// `handle_request()`: accepts one connection and serves one request on it.
    pub async fn handle_request(&self) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener.try_clone()?)?;
        let (stream, peer) = listener.accept().await?;
        serve_connection(self.shared.clone(), stream, peer, false).await;
        Ok(())
    }

    /// `shutdown()`: tells `serve_forever` to stop accepting, to close idle
    /// keep-alive connections, and to return once requests in flight finish.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

impl Shared {
    fn get_app(&self) -> Arc<dyn Application> {
        match self.app.read() {
            Ok(app) => app.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// `socket.getfqdn(host)` as wsgiref's `server_bind` uses it, without DNS:
/// loopback and wildcard addresses are `localhost`, anything else is the
/// host as given.
fn server_name(host: &str, ip: IpAddr) -> String {
    if ip.is_loopback() || ip.is_unspecified() {
        "localhost".to_string()
    } else {
        host.to_string()
    }
}

async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    keep_alive: bool,
) {
    // Small writes (headers, then a chunk) should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let handler = WSGIRequestHandler {
        shared: shared.clone(),
        peer,
        tasks: Tasks::default(),
    };
    let tasks = handler.tasks.clone();
    let service = service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.handle(req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .title_case_headers(true)
        .keep_alive(keep_alive)
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stop = shared.shutdown.subscribe();
    // A failed connection (bad request, client gone) concerns that client only.
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    // A response can be complete on the wire before its handler has logged
    // it and closed the app's iterable: the connection is done after that.
    tasks.wait().await;
}

/// The handler tasks a connection has spawned and that are still running.
#[derive(Clone, Default)]
struct Tasks(Arc<TaskCount>);

#[derive(Default)]
struct TaskCount {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Decrements the count when a task ends, even by panicking.
struct TaskGuard(Tasks);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let count = &(self.0).0;
        if count
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1
        {
            count.idle.notify_waiters();
        }
    }
}

impl Tasks {
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.0
            .running
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let guard = TaskGuard(self.clone());
        tokio::spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    async fn wait(&self) {
        loop {
            let idle = self.0.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.0.running.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// `WSGIRequestHandler`: turns one HTTP request into an environ and runs
/// the application on it.
#[derive(Clone)]
pub struct WSGIRequestHandler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tasks: Tasks,
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

    /// `handle()`: runs the application for one request and returns the
    /// response as soon as its headers are known; the body streams on.
    async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let (parts, body) = req.into_parts();
        let request_line = format!(
            "{} {} {}",
            parts.method,
            parts.uri,
            crate::environ::protocol(parts.version)
        );
        let limit = body.size_hint().exact();
        let max = self.shared.config.max_body_size;
        if let (Some(length), Some(max)) = (limit, max)
            && length > max
        {
            return self.too_large(&request_line, length, max);
        }
        let environ = self.get_environ(&parts);
        let input = InputStream::new(RequestBody { body, seen: 0, max }, limit);
        let (head_tx, head_rx) = oneshot::channel();
        let gateway = HttpGateway {
            head_tx: Some(head_tx),
            body_tx: None,
            suppress_body: parts.method == Method::HEAD,
            log: self.get_stderr(),
            remote_ip: self.peer.ip(),
            request_line,
        };
        let mut handler = BaseHandler::new(
            self.shared.handler_config.clone(),
            gateway,
            input,
            self.get_stderr(),
            environ,
        );
        let app = self.shared.get_app();
        self.tasks.spawn(async move { handler.run(&*app).await });
        match head_rx.await {
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

    /// 413 for a body announced larger than `max_body_size`; the app does
    /// not run and the connection closes (the body is never read).
    fn too_large(&self, request_line: &str, length: u64, max: u64) -> Response<ResponseBody> {
        let text =
            format!("Request body too large: {length} bytes; this server accepts at most {max}.\n");
        self.get_stderr().write(&access_line(
            self.peer.ip(),
            request_line,
            "413",
            text.len() as u64,
        ));
        let mut response = Response::new(ResponseBody::full(Bytes::from(text)));
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// wsgiref's access log line: `127.0.0.1 - - [24/Nov/2026 17:00:00]
/// "GET / HTTP/1.1" 200 12`, in local time.
fn access_line(ip: IpAddr, request_line: &str, code: &str, size: u64) -> String {
    let time = chrono::Local::now().format("%d/%b/%Y %H:%M:%S");
    format!("{ip} - - [{time}] \"{request_line}\" {code} {size}\n")
}

/// The gateway between the handlers' run algorithm and hyper: the head
/// becomes an `http::Response`, body chunks flow through a channel.
struct HttpGateway {
    head_tx: Option<oneshot::Sender<Response<ResponseBody>>>,
    body_tx: Option<mpsc::Sender<io::Result<Bytes>>>,
    suppress_body: bool,
    log: ErrorStream,
    remote_ip: IpAddr,
    request_line: String,
}

fn broken_pipe() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the client closed the connection",
    )
}

impl Gateway for HttpGateway {
    fn write(&mut self, data: Bytes) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            match &self.body_tx {
                Some(tx) => tx.send(Ok(data)).await.map_err(|_| broken_pipe()),
                None => Ok(()),
            }
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
        let lengths = head.headers.get_all("Content-Length");
        if lengths.len() > 1 {
            return Err(format!(
                "a response may carry one Content-Length header (got {})",
                wasgi::pyrepr::str(&lengths.join(", "))
            ));
        }
        if let Some(len) = lengths.first()
            && (len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "Content-Length must be a number of bytes (got {})",
                wasgi::pyrepr::str(len)
            ));
        }
        Ok(())
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

    fn on_close(&mut self, status: &str, bytes_sent: u64) {
        let code = status.split(' ').next().unwrap_or_default();
        self.log.write(&access_line(
            self.remote_ip,
            &self.request_line,
            code,
            bytes_sent,
        ));
    }
}

impl HttpGateway {
    fn build_response(&mut self, head: &ResponseHead) -> io::Result<Response<ResponseBody>> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let code = head.code();
        let status = StatusCode::from_u16(code).map_err(|e| invalid(e.to_string()))?;
        self.suppress_body = self.suppress_body || code == 204 || code == 304;
        let body = if self.suppress_body {
            ResponseBody::empty()
        } else {
            let (tx, rx) = mpsc::channel(2);
            self.body_tx = Some(tx);
            let owed = head
                .headers
                .get("Content-Length")
                .and_then(|v| v.parse().ok());
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
            headers.append(name, value);
        }
        Ok(response)
    }
}

/// A response body fed by the handler through a channel, or given whole;
/// `None` is empty.
pub struct ResponseBody(Option<BodyChannel>);

struct BodyChannel {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    /// Bytes still owed by the `Content-Length` header, if there is one.
    owed: Option<u64>,
    /// An error received but not reported yet: it is held for one poll so
    /// hyper flushes the bytes before it, and the client sees the response
    /// up to the failure before the connection is cut.
    failed: Option<io::Error>,
}

impl ResponseBody {
    fn empty() -> Self {
        ResponseBody(None)
    }

    /// A body known whole: a channel holding it.
    fn full(data: Bytes) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let owed = Some(data.len() as u64);
        // A fresh channel with room for one item accepts it.
        let _ = tx.try_send(Ok(data));
        ResponseBody::channel(rx, owed)
    }

    fn channel(rx: mpsc::Receiver<io::Result<Bytes>>, owed: Option<u64>) -> Self {
        ResponseBody(Some(BodyChannel {
            rx,
            owed,
            failed: None,
        }))
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(channel) = self.0.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(e) = channel.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        let failed = match channel.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(data))) => {
                if let Some(owed) = channel.owed.as_mut() {
                    *owed = owed.saturating_sub(data.len() as u64);
                }
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Poll::Ready(Some(Err(e))) => e,
            Poll::Ready(None) => match channel.owed {
                Some(owed) if owed > 0 => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the body ended {owed} bytes short of its Content-Length"),
                ),
                _ => return Poll::Ready(None),
            },
            Poll::Pending => return Poll::Pending,
        };
        channel.failed = Some(failed);
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.0 {
            None => SizeHint::with_exact(0),
            Some(_) => SizeHint::default(),
        }
    }
}

/// hyper's request body as the source of `wsgi.input`, failing once it
/// grows past `max` bytes.
struct RequestBody {
    body: Incoming,
    seen: u64,
    max: Option<u64>,
}

impl ChunkSource for RequestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            loop {
                match self.body.frame().await {
                    None => return Ok(None),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            self.seen += data.len() as u64;
                            if let Some(max) = self.max.filter(|&max| self.seen > max) {
                                return Err(io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    format!(
                                        "the request body is larger than this server accepts ({max} bytes, --max-body-size)"
                                    ),
                                ));
                            }
                            return Ok(Some(data));
                        }
                    }
                    Some(Err(e)) => {
                        return Err(io::Error::new(io::ErrorKind::ConnectionAborted, e));
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    /// SYS_VERSION names the wasmtime in Cargo.lock.
    #[test]
    fn sys_version_matches_the_locked_wasmtime() {
        let lock = include_str!("../../Cargo.lock");
        let at = lock
            .find("name = \"wasmtime\"\nversion = \"")
            .expect("wasmtime in Cargo.lock");
        let version = lock[at..].lines().nth(1).unwrap_or_default();
        assert_eq!(
            format!(
                "wasmtime/{}",
                version.trim_start_matches("version = ").trim_matches('"')
            ),
            super::SYS_VERSION
        );
    }
}
