//! `wsgiref.simple_server`: an HTTP server for one WSGI application, on
//! hyper and tokio.
//!
//! [`make_server`] binds and returns a [`WSGIServer`]; `serve_forever`
//! serves until [`WSGIServer::shutdown`]. Each request runs the handlers'
//! run algorithm ([`BaseHandler`](crate::handlers::BaseHandler)) with an HTTP gateway, and logs one access
//! line in wsgiref's format. Departures from wsgiref, all deliberate: HTTP/1.1
//! with keep-alive and chunked responses, concurrent connections, bodies
//! suppressed for HEAD, 1xx, 204 and 304, `wsgi.input` bounded and
//! de-chunked, header names with `_` dropped, response headers checked so
//! CR/LF never reach the wire, a 30 s limit on reading request headers, and
//! no process environment in the environ.

mod request_handler;

pub use crate::gateway::body::ResponseBody;
pub use crate::gateway::tls::tls_config;
pub use request_handler::WSGIRequestHandler;

use crate::gateway::listener;
pub(crate) use crate::gateway::listener::Tasks;

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use wasgi::Vars;

use crate::app::Application;
use crate::executor::Service;
use crate::handlers::HandlerConfig;
use crate::router::Router;
use crate::streams::ErrorStream;

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
    /// after a shutdown; then the remaining ones are cut and it returns.
    pub drain_timeout: Duration,
    /// How long a request may take, from its head to the end of its
    /// response (`None`: no limit). Past it the app is stopped: a 504 if no
    /// header was sent, else a cut connection.
    pub timeout: Option<Duration>,
    /// The largest request body accepted, in bytes (`None`: no limit). A
    /// larger `Content-Length` is answered with 413 without running the
    /// app; a chunked body that grows past it fails the app's read.
    pub max_body_size: Option<u64>,
    /// The handler settings every request runs with.
    pub handler: HandlerConfig,
    /// Bind with `SO_REUSEPORT`, so several processes share the port and
    /// the kernel spreads connections across them.
    pub reuse_port: bool,
    /// Where requests are counted, by app (`None`: not counted).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Serve HTTPS with these settings ([`tls_config`]): HTTP/2 or
    /// HTTP/1.1 as the client's ALPN chooses, and `HTTPS = 'on'` in every
    /// environ (so `wsgi.url_scheme` is `https`, as wsgiref's
    /// `guess_scheme` decides it).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How access lines are written.
    pub log_format: LogFormat,
}

/// The access log's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// wsgiref's: `127.0.0.1 - - [24/Nov/2026 17:00:00] "GET / HTTP/1.1" 200 12`.
    #[default]
    Wsgiref,
    /// One JSON object per line, naming the app (for log pipelines).
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            log: ErrorStream::stderr(),
            header_read_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            timeout: None,
            max_body_size: Some(1 << 30),
            handler: server_handler_config(),
            reuse_port: false,
            metrics: None,
            tls: None,
            log_format: LogFormat::Wsgiref,
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
    let app: Arc<dyn Application> = Arc::new(app);
    WSGIServer::bind(host, port, app, ServerConfig::default())
}

/// `WSGIServer`: a listening socket, the application, and the
/// `base_environ` shared by every request.
pub struct WSGIServer {
    listener: StdListener,
    server_address: SocketAddr,
    shared: Arc<Shared>,
}

/// What every connection of a server shares.
pub(crate) struct Shared {
    router: RwLock<Arc<Router>>,
    pub(crate) base_environ: Vars,
    pub(crate) config: ServerConfig,
    /// `config.handler`, shared by every request's handler.
    pub(crate) handler_config: Arc<HandlerConfig>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Turns true when the drain ran out of time: every request still
    /// running is stopped.
    pub(crate) cut: watch::Sender<bool>,
}

impl WSGIServer {
    /// Binds `host:port` and prepares the base environ; `app` is a WSGI
    /// application (`Arc<dyn Application>`) or any other [`Service`].
    pub fn bind(
        host: &str,
        port: u16,
        app: impl Into<Service>,
        config: ServerConfig,
    ) -> io::Result<Self> {
        Self::bind_router(host, port, Router::single(app), config)
    }

    /// Binds `host:port` for many apps: each request goes to the tenant
    /// `router` picks (a 404 when none is mounted at its path).
    pub fn bind_router(
        host: &str,
        port: u16,
        router: Router,
        config: ServerConfig,
    ) -> io::Result<Self> {
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no address for {host}"),
            )
        })?;
        let listener = listen(addr, config.reuse_port)?;
        if config.reuse_port && !kernel_migrates_on_close() {
            config.log.write(
                "--reuse-port: net.ipv4.tcp_migrate_req is 0, so a connection that reaches \
                 this process in the instant it stops listening (SIGTERM) is reset; with 1 \
                 (Linux 5.14+) the kernel hands it to another process on the port\n",
            );
        }
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
        if config.tls.is_some() {
            base_environ.insert("HTTPS".into(), "on".into());
        }
        Ok(WSGIServer {
            listener,
            server_address,
            shared: Arc::new(Shared {
                router: RwLock::new(Arc::new(router)),
                base_environ,
                handler_config: Arc::new(config.handler.clone()),
                config,
                shutdown: watch::channel(false).0,
                cut: watch::channel(false).0,
            }),
        })
    }

    /// The address the server is bound to (`server_address`).
    pub fn server_address(&self) -> SocketAddr {
        self.server_address
    }

    /// How long `serve_forever` lets requests finish after a shutdown.
    pub fn drain_timeout(&self) -> Duration {
        self.shared.config.drain_timeout
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

    /// The `WSGIRequestHandler` a connection from `peer` gets (for
    /// inspecting the environ a request would have, as a subclass would).
    pub fn request_handler(&self, peer: SocketAddr) -> WSGIRequestHandler {
        WSGIRequestHandler {
            shared: self.shared.clone(),
            peer,
            client: Arc::default(),
            tasks: Tasks::default(),
        }
    }

    /// `set_app(app)`: requests accepted from now on run `app`.
    pub fn set_app(&self, app: Arc<dyn Application>) {
        self.set_service(Service::Wsgi(app));
    }

    /// Requests accepted from now on go to `service`, the only app.
    pub fn set_service(&self, service: Service) {
        self.set_router(Router::single(service));
    }

    /// Requests from now on are routed by `router`; requests in flight
    /// finish with the tenants they started with.
    pub fn set_router(&self, router: Router) {
        let router = Arc::new(router);
        match self.shared.router.write() {
            Ok(mut slot) => *slot = router,
            Err(poisoned) => *poisoned.into_inner() = router,
        }
    }

    /// The tenants requests are routed to now.
    pub fn router(&self) -> Arc<Router> {
        self.shared.router()
    }

    /// `get_app()`: the WSGI application served at the root (`None` when
    /// it is a `wasi:http` component, or there is none).
    pub fn get_app(&self) -> Option<Arc<dyn Application>> {
        let router = self.shared.router();
        let routed = router.route(None, "/")?;
        routed.tenant.service.wsgi().cloned()
    }

    /// `serve_forever()`: accepts connections until [`shutdown`](Self::shutdown),
    /// then lets requests in flight finish; after `drain_timeout` the rest
    /// are cut (their apps stopped) and it returns.
    pub async fn serve_forever(&self) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener.try_clone()?)?;
        let mut stop = self.shared.shutdown.subscribe();
        let mut connections = JoinSet::new();
        while !*stop.borrow() {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        connections.spawn(listener::accept(self.shared.clone(), stream, peer, true));
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
        // Stop listening at once: what the kernel already queued is
        // accepted and served, then the socket is shut, so new connections
        // are refused (or, with --reuse-port, go to the other processes)
        // instead of waiting in a backlog nobody accepts from.
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| TcpStream::from_std(stream));
                    if let Ok(stream) = stream {
                        connections.spawn(listener::accept(
                            self.shared.clone(),
                            stream,
                            peer,
                            true,
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = socket2::SockRef::from(&self.listener).shutdown(std::net::Shutdown::Read);
        drop(listener);
        async fn join_all(connections: &mut JoinSet<()>) {
            while connections.join_next().await.is_some() {}
        }
        let drain_timeout = self.shared.config.drain_timeout;
        if tokio::time::timeout(drain_timeout, join_all(&mut connections))
            .await
            .is_err()
        {
            self.shared.cut.send_replace(true);
            // Stopped requests end at their guest's next epoch tick.
            let cut = join_all(&mut connections);
            if tokio::time::timeout(Duration::from_secs(5), cut)
                .await
                .is_err()
            {
                connections.abort_all();
            }
        }
        Ok(())
    }

    /// `handle_request()`: accepts one connection and serves one request on it.
    pub async fn handle_request(&self) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener.try_clone()?)?;
        let (stream, peer) = listener.accept().await?;
        listener::accept(self.shared.clone(), stream, peer, false).await;
        Ok(())
    }

    /// Turns true when the server starts shutting down (it drains): what
    /// a readiness probe reports.
    pub fn draining(&self) -> watch::Receiver<bool> {
        self.shared.shutdown.subscribe()
    }

    /// `shutdown()`: tells `serve_forever` to stop accepting, to close idle
    /// keep-alive connections, and to return once requests in flight finish.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}

impl Shared {
    /// The tenants requests are routed to now.
    pub(crate) fn router(&self) -> Arc<Router> {
        match self.router.read() {
            Ok(router) => router.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Whether the kernel moves the connections queued on a listening socket
/// that closes to another socket of its `SO_REUSEPORT` group
/// (`net.ipv4.tcp_migrate_req`) instead of resetting them. Closing is the
/// one step of a drain no order of accepts can make safe: a connection
/// can always arrive between the last accept and the close.
fn kernel_migrates_on_close() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").is_ok_and(|v| v.trim() == "1")
}

/// A listening socket on `addr`, shared with other processes when
/// `reuse_port` is set.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<StdListener> {
    if !reuse_port {
        return StdListener::bind(addr);
    }
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
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

#[cfg(test)]
mod tests {
    /// SYS_VERSION names the wasmtime in Cargo.lock.
    #[test]
    fn sys_version_matches_the_locked_wasmtime() {
        let lock = include_str!("../../../Cargo.lock");
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
