//! The WSGI executor: the environ, then the handlers' run algorithm with a
//! gateway that turns its output into a hyper response.

use std::future::Future;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use tokio::sync::{mpsc, oneshot};
use wasgi::ExcInfo;
use wasgi::util::latin1_bytes;

use super::{Call, Executor};
use crate::app::{Admission, Application, BoxFuture, Busy};
use crate::gateway::access_log::AccessLog;
use crate::gateway::body::ResponseBody;
use crate::handlers::{BaseHandler, Gateway, HandlerConfig, ResponseHead, declared_length};
use crate::router::Tenant;
use crate::simple_server::{Tasks, WSGIRequestHandler};
use crate::streams::{ErrorStream, InputStream};

impl Executor for Arc<dyn Application> {
    fn kind(&self) -> &'static str {
        "wasgi"
    }

    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>> {
        (**self).admit()
    }

    fn execute<'a>(&'a self, call: Call<'a>) -> BoxFuture<'a, Response<ResponseBody>> {
        Box::pin(run(self.clone(), call))
    }

    fn wsgi(&self) -> Option<&Arc<dyn Application>> {
        Some(self)
    }
}

/// The environ, then the handlers' run algorithm with an HTTP gateway, in
/// this task until the head is out.
async fn run(application: Arc<dyn Application>, call: Call<'_>) -> Response<ResponseBody> {
    let Call {
        conn,
        routed,
        parts,
        body,
        length,
        access,
        stop,
        admission,
    } = call;
    let environ = conn.get_environ(&parts);
    let environ = crate::router::mounted_environ(&routed, environ);
    let handler_config = handler_config(conn, &routed.tenant);
    let input = InputStream::new(body, length);
    let (head_tx, head_rx) = oneshot::channel();
    // wsgi.errors and the tracebacks name the app.
    let stderr = access.stream().clone();
    let gateway = HttpGateway {
        head_tx: Some(head_tx),
        body_tx: None,
        head: parts.method == Method::HEAD,
        access,
        code: None,
        sent: 0,
        allowed: None,
        logged: false,
        cut: false,
    };
    let mut handler = BaseHandler::new(handler_config, gateway, input, stderr, environ);
    handler.admitted(admission);
    let work: BoxFuture<'static, ()> = Box::pin(async move {
        if let Err(reason) = stop.run(handler.run(&*application)).await {
            handler
                .interrupt(stop.exception(reason), reason.status())
                .await;
        }
    });
    match until_head(&conn.tasks, head_rx, work).await {
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

/// The handler settings of `tenant`'s requests: its own or the server's,
/// with a hook counting its exceptions when there are metrics.
fn handler_config(conn: &WSGIRequestHandler, tenant: &Tenant) -> Arc<HandlerConfig> {
    let shared = &conn.shared;
    let own = || (tenant.handler.clone()).unwrap_or_else(|| shared.handler_config.clone());
    let Some(metrics) = &shared.config.metrics else {
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

/// The gateway between the handlers' run algorithm and hyper: the head
/// becomes an `http::Response`, body chunks flow through a channel.
struct HttpGateway {
    head_tx: Option<oneshot::Sender<Response<ResponseBody>>>,
    body_tx: Option<mpsc::Sender<io::Result<Bytes>>>,
    /// Whether the request is a `HEAD`: with the status, whether a body
    /// goes out.
    head: bool,
    access: AccessLog,
    /// The status sent, once the head is out.
    code: Option<u16>,
    /// Body bytes handed to the connection.
    sent: u64,
    /// Bytes the `Content-Length` header still allows, if there is one.
    allowed: Option<u64>,
    /// Whether the access line was written.
    logged: bool,
    /// Whether the response was cut short after its head.
    cut: bool,
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
            self.access.stream().write(
                "ConnectionAbortedError: the client closed the connection before the response was complete\n",
            );
        }
        // Past its head, a response that ends here is cut short.
        let code = self.code.map_or("499".to_string(), |c| c.to_string());
        self.access.write(&code, self.sent, self.code.is_some());
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
                    self.access.stream().write(&format!(
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
            self.cut = true;
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
        // Before the head, only the method can say.
        !crate::gateway::body::carries_no_body(self.head, self.code.unwrap_or(200))
    }

    /// The access line counts the body bytes that went to the
    /// connection, not what the app produced: none for HEAD, 204 and 304.
    fn on_close(&mut self, status: &str, _bytes_sent: u64) {
        self.logged = true;
        let code = status.split(' ').next().unwrap_or_default();
        // Failed after its head, or short of its Content-Length: the
        // client did not get the whole response.
        let short = self.allowed.is_some_and(|owed| owed > 0);
        self.access.write(code, self.sent, self.cut || short);
    }
}

impl HttpGateway {
    fn build_response(&mut self, head: &ResponseHead) -> io::Result<Response<ResponseBody>> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let code = head.code();
        let status = StatusCode::from_u16(code).map_err(|e| invalid(e.to_string()))?;
        self.code = Some(code);
        let body = if crate::gateway::body::carries_no_body(self.head, code) {
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
