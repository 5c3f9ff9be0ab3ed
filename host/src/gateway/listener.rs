//! The listener: each connection accepted, over TLS when the server has it,
//! served as HTTP/1 or HTTP/2 until it ends or the server drains; its
//! requests go to the pipeline ([`super::pipeline`]) through the
//! connection's [`WSGIRequestHandler`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::body::ResponseBody;

/// How long an idle HTTP/1 connection stays open once the server drains,
/// for a request its client may be sending.
const IDLE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

const CLOSE: http::HeaderValue = http::HeaderValue::from_static("close");
use super::half_close;
use crate::simple_server::{Shared, WSGIRequestHandler};

/// A new connection: over TLS when the server has it (HTTP/2 when the
/// client's ALPN asks for it), else plain HTTP/1.
pub(crate) async fn accept(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    keep_alive: bool,
) {
    // Small writes (headers, then a chunk) should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let Some(tls) = shared.config.tls.clone() else {
        return serve_connection(shared, stream, peer, keep_alive).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let handshake = acceptor.accept(stream);
    let stream = match tokio::time::timeout(shared.config.header_read_timeout, handshake).await {
        Ok(Ok(stream)) => stream,
        // A client that cannot speak TLS concerns that client only.
        _ => return,
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        serve_h2(shared, stream, peer).await
    } else {
        serve_connection(shared, stream, peer, keep_alive).await
    }
}

/// The service hyper calls for each request of a connection from `peer`,
/// and the handler tasks it spawns.
#[allow(
    clippy::type_complexity,
    reason = "a closure's type has no name; boxing it would cost an allocation per request"
)]
fn connection_service(
    shared: Arc<Shared>,
    peer: SocketAddr,
    client: Arc<half_close::Client>,
) -> (
    impl hyper::service::Service<
        http::Request<hyper::body::Incoming>,
        Response = http::Response<ResponseBody>,
        Error = Infallible,
        Future = impl std::future::Future<Output = Result<http::Response<ResponseBody>, Infallible>>
                 + Send,
    > + Clone,
    Tasks,
) {
    let handler = WSGIRequestHandler {
        shared,
        peer,
        client,
        tasks: Tasks::default(),
    };
    let tasks = handler.tasks.clone();
    let service = service_fn(move |req| {
        let handler = handler.clone();
        // Counted from the moment hyper has the head, before it can read
        // the client's end of stream.
        let in_flight = handler.client.enter();
        let http2 = req.version() == http::Version::HTTP_2;
        async move {
            let mut response = handler.handle(req).await;
            // Once the server drains, a keep-alive connection ends with the
            // response it is answering (HTTP/2 has GOAWAY for that).
            if !http2 && *handler.shared.shutdown.borrow() {
                (response.headers_mut()).insert(http::header::CONNECTION, CLOSE);
            }
            Ok::<_, Infallible>(response.map(|body| body.in_flight(in_flight)))
        }
    });
    (service, tasks)
}

/// An HTTP/2 connection (TLS with ALPN `h2`): hyper's HTTP/2 server, the
/// same handler for every stream.
async fn serve_h2<S>(shared: Arc<Shared>, stream: S, peer: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, tasks) = connection_service(
        shared.clone(),
        peer,
        Arc::new(half_close::Client::default()),
    );
    let mut builder =
        hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.timer(TokioTimer::new());
    drive(
        &shared,
        peer,
        builder.serve_connection(TokioIo::new(stream), service),
        false,
    )
    .await;
    tasks.wait().await;
}

/// Runs a connection until it ends, or until the server shuts down (then
/// gracefully: requests in flight finish, idle keep-alive is closed). A
/// failed connection (bad request, client gone) concerns that client only;
/// a request hyper refused is logged like wsgiref's.
async fn drive<C>(shared: &Shared, peer: SocketAddr, conn: C, http1: bool)
where
    C: hyper_util::server::graceful::GracefulConnection<Error = hyper::Error>,
{
    tokio::pin!(conn);
    let mut stop = shared.shutdown.subscribe();
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            // An HTTP/1 connection is given a moment for a request its
            // client may be sending right now (closed at once, that request
            // would be lost, and a POST cannot be retried): it gets its
            // answer and `Connection: close`. One that stays idle is closed.
            if http1 {
                tokio::select! {
                    served = conn.as_mut() => served,
                    _ = tokio::time::sleep(IDLE_GRACE) => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                }
            } else {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    };
    if let Err(e) = served {
        let config = &shared.config;
        super::access_log::log_refused(&config.log, config.log_format, peer.ip(), &e);
    }
    // Dropping the connection here drops a response body it still holds,
    // so a handler writing to a client that left sees the pipe broken and
    // closes the app's iterable.
}

async fn serve_connection<S>(shared: Arc<Shared>, stream: S, peer: SocketAddr, keep_alive: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let client = Arc::new(half_close::Client::default());
    let (service, tasks) = connection_service(shared.clone(), peer, client.clone());
    let mut builder = http1::Builder::new();
    builder
        .title_case_headers(true)
        // Heads over 64 KiB (a 70 kB target, a 500 kB header) are refused
        // with 414 or 431, whatever the timing of their arrival.
        .max_buf_size(64 * 1024)
        .keep_alive(keep_alive)
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_read_timeout);
    let io = TokioIo::new(half_close::HalfClose::new(stream, client));
    drive(&shared, peer, builder.serve_connection(io, service), true).await;
    // A response can be complete on the wire before its handler has logged
    // it and closed the app's iterable: the connection is done after that.
    tasks.wait().await;
}

/// The handler tasks a connection has spawned and that are still running.
#[derive(Clone, Default)]
pub(crate) struct Tasks(Arc<TaskCount>);

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
    /// Runs `task` in a task of its own, which the connection waits for.
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
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
