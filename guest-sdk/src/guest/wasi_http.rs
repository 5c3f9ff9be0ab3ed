//! A WSGI app serving `wasi:http/incoming-handler` from inside its
//! component: wsgiref's `SimpleHandler` run over a `wasi:http` request and
//! response, so the app runs under any wasi:http host (`wasmtime serve`,
//! Spin, `host serve`).
//!
//! The environ is built by the rules the wasgi host uses
//! ([`crate::environ`]); the response follows the same [`HandlerState`].
//! What `wasi:http` does not carry is absent: `REMOTE_ADDR`, the client's
//! HTTP version (`SERVER_PROTOCOL` is `HTTP/1.1`) and custom reason phrases.

use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;

use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse,
    ResponseOutparam, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use super::errors::ErrorSink;
use super::input::InputSource;
use super::{Application, Environ, Errors, Input, Respond, StartResponse};
use crate::environ::{RequestLine, request_environ};
use crate::handlers::HandlerState;
use crate::{Error, Vars};

/// `SERVER_SOFTWARE`, as the wasgi host has it.
const SERVER_SOFTWARE: &str = concat!("wasgi/", env!("CARGO_PKG_VERSION"));

/// How much of the request body one read asks for.
const READ_SIZE: u64 = 64 * 1024;

/// Runs `app` for one `wasi:http` request.
pub fn serve<A: Application + ?Sized>(app: &A, request: IncomingRequest, out: ResponseOutparam) {
    super::panic::install_hook();
    let method = method_name(&request.method());
    let mut vars = base_environ(&request);
    let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match path_with_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_with_query.as_str(), None),
    };
    let mut entries = request.headers().entries();
    // wasi:http hosts take `Host` out of the headers and make it the
    // request's authority; it goes back in, as wsgiref's HTTP_HOST.
    if !entries.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
        && let Some(authority) = request.authority()
    {
        entries.insert(0, ("host".to_string(), authority.into_bytes()));
    }
    let line = RequestLine {
        method: &method,
        path,
        query,
        protocol: "HTTP/1.1",
        remote_addr: None,
    };
    let headers = entries.iter().map(|(n, v)| (n.as_str(), v.as_slice()));
    vars = request_environ(&vars, &line, headers, SERVER_SOFTWARE);
    let length = vars
        .get("CONTENT_LENGTH")
        .and_then(|l| l.parse::<u64>().ok());
    let input = Input::new(BodyInput::new(request.consume().ok(), length));
    let errors = Errors::new(Stderr);
    super::body::set_file_wrapper_offered(false);
    let environ = Environ {
        vars,
        input,
        errors: errors.clone(),
        version: (1, 0),
        multithread: false,
        multiprocess: false,
        run_once: false,
        file_wrapper: false,
        input_terminated: true,
    };
    let handler = Rc::new(RefCell::new(Handler {
        state: HandlerState::default(),
        out: Some(out),
        body: None,
    }));
    let start_response = StartResponse::from_respond(Responder(handler.clone()));
    let outcome = app
        .call(environ, start_response)
        .and_then(|body| finish_response(&handler, body, &errors));
    if let Err(e) = outcome {
        handle_error(&handler, e, &errors);
    }
}

/// The server's part of the environ: what wsgiref's `WSGIServer` puts in
/// `base_environ`, with the server's name and port taken from the request's
/// authority, and `wsgi.url_scheme` from its scheme.
fn base_environ(request: &IncomingRequest) -> Vars {
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https".to_string(),
        Some(Scheme::Other(other)) => other.to_ascii_lowercase(),
        Some(Scheme::Http) | None => "http".to_string(),
    };
    let authority = request.authority().unwrap_or_default();
    let (name, port) = split_authority(&authority);
    let port = port.unwrap_or(if scheme == "https" { "443" } else { "80" });
    let mut vars = Vars::new();
    let name = if name.is_empty() { "localhost" } else { name };
    vars.insert("SERVER_NAME".into(), name.to_string());
    vars.insert("SERVER_PORT".into(), port.to_string());
    vars.insert("GATEWAY_INTERFACE".into(), "CGI/1.1".into());
    vars.insert("REMOTE_HOST".into(), String::new());
    vars.insert("CONTENT_LENGTH".into(), String::new());
    vars.insert("SCRIPT_NAME".into(), String::new());
    vars.insert("wsgi.url_scheme".into(), scheme);
    vars
}

/// `host[:port]`, `[v6]:port`: the host and the port, if any.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let port_at = match authority.rfind(']') {
        Some(end) => authority[end..].find(':').map(|i| end + i),
        None => authority.rfind(':'),
    };
    match port_at {
        Some(i) => (
            &authority[..i],
            Some(&authority[i + 1..]).filter(|p| !p.is_empty()),
        ),
        None => (authority, None),
    }
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// `finish_response()`: every chunk, `finish_content`, the end of the
/// response, then `close()`. A failing `close()` after a complete response
/// is logged.
fn finish_response(
    handler: &Rc<RefCell<Handler>>,
    body: super::Body,
    errors: &Errors,
) -> crate::Result<()> {
    let (len, chunks, close) = body.into_parts();
    handler.borrow_mut().state.result_len = len;
    let sent = chunks
        .into_iter()
        .try_for_each(|chunk| handler.borrow_mut().write(&chunk?))
        .and_then(|()| handler.borrow_mut().finish());
    let closed = close.map_or(Ok(()), |close| close());
    match (sent, closed) {
        (Err(e), closed) => {
            if let Err(close_error) = closed {
                log_exception(errors, &close_error);
            }
            Err(e)
        }
        (Ok(()), Err(close_error)) => {
            log_exception(errors, &close_error);
            Ok(())
        }
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// `handle_error()`: log the exception; the error page if no headers were
/// sent, else a response cut short (the body is dropped unfinished, which
/// the host sees as a failed response).
fn handle_error(handler: &Rc<RefCell<Handler>>, e: Error, errors: &Errors) {
    log_exception(errors, &e);
    if e.is_disconnect() {
        return;
    }
    let mut handler = handler.borrow_mut();
    if handler.state.headers_sent {
        handler.body = None;
        return;
    }
    let page = handler
        .state
        .start_response(
            "500 Internal Server Error".into(),
            vec![("Content-Type".into(), "text/plain".into())],
            Some(e),
        )
        .and_then(|()| {
            handler.state.result_len = Some(1);
            handler.write(b"A server error occurred.  Please contact the administrator.")
        })
        .and_then(|()| handler.finish());
    if let Err(second) = page {
        log_exception(errors, &second);
        handler.body = None;
        if let Some(out) = handler.out.take() {
            ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some(second.message))));
        }
    }
}

fn log_exception(errors: &Errors, e: &Error) {
    errors.write(&e.format_exception(None));
    errors.flush();
}

/// The response under way.
struct Handler {
    state: HandlerState,
    /// Where the head goes, until it has gone.
    out: Option<ResponseOutparam>,
    /// The body's stream and the body, once the head is out. The stream is
    /// a child of the body, so it comes first (and is dropped first).
    body: Option<(OutputStream, OutgoingBody)>,
}

impl Handler {
    /// `write(data)`: the headers first if they are not sent yet.
    fn write(&mut self, data: &[u8]) -> crate::Result<()> {
        if self.state.write(data.len() as u64)? {
            self.send_headers()?;
        }
        // Bodies of HEAD, 204 and 304 responses are written too: the host
        // holds the body to its Content-Length and drops it on the wire.
        if data.is_empty() {
            return Ok(());
        }
        match self.body.as_mut() {
            Some((stream, _)) => stream
                .write_all(data)
                .and_then(|()| std::io::Write::flush(stream))
                .map_err(|e| Error::new("BrokenPipeError", e.to_string())),
            None => Ok(()),
        }
    }

    /// `send_headers()`: the head becomes the `outgoing-response`.
    fn send_headers(&mut self) -> crate::Result<()> {
        let (status, headers) = self.state.head()?;
        let code: u16 = status[..3]
            .parse()
            .map_err(|_| Error::assertion("Status message must begin w/3-digit code"))?;
        let entries: Vec<(String, Vec<u8>)> = headers
            .items()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), crate::util::latin1_bytes(v)))
            .collect();
        let fields = Fields::from_list(&entries)
            .map_err(|e| Error::assertion(format!("the host refused the headers: {e:?}")))?;
        let response = OutgoingResponse::new(fields);
        response
            .set_status_code(code)
            .map_err(|()| Error::assertion(format!("the host refused the status code {code}")))?;
        let body = response
            .body()
            .map_err(|()| Error::new("RuntimeError", "the response body was taken twice"))?;
        let stream = body
            .write()
            .map_err(|()| Error::new("RuntimeError", "the response stream was taken twice"))?;
        self.state.headers_sent = true;
        if let Some(out) = self.out.take() {
            ResponseOutparam::set(out, Ok(response));
        }
        self.body = Some((stream, body));
        Ok(())
    }

    /// `finish_content()`, then the end of the body.
    fn finish(&mut self) -> crate::Result<()> {
        if self.state.finish_content()? {
            self.send_headers()?;
        }
        if let Some((stream, body)) = self.body.take() {
            drop(stream);
            OutgoingBody::finish(body, None)
                .map_err(|e| Error::new("BrokenPipeError", format!("{e:?}")))?;
        }
        Ok(())
    }
}

/// The handler's `start_response` and `write()`.
struct Responder(Rc<RefCell<Handler>>);

impl Respond for Responder {
    fn call(
        &self,
        status: &str,
        headers: &[(String, String)],
        exc_info: Option<&Error>,
    ) -> crate::Result<()> {
        self.0.borrow_mut().state.start_response(
            status.to_string(),
            headers.to_vec(),
            exc_info.cloned(),
        )
    }

    fn write(&self, data: &[u8]) -> crate::Result<()> {
        self.0.borrow_mut().write(data)
    }
}

/// `wsgi.input` over the request body, ending at `CONTENT_LENGTH` when the
/// request has one.
struct BodyInput {
    /// The body's stream, then the body (the stream is its child).
    stream: Option<(InputStream, IncomingBody)>,
    remaining: Option<u64>,
    pending: Vec<u8>,
}

impl BodyInput {
    fn new(body: Option<IncomingBody>, length: Option<u64>) -> Self {
        let stream = body.and_then(|body| Some((body.stream().ok()?, body)));
        BodyInput {
            stream,
            remaining: length,
            pending: Vec::new(),
        }
    }

    /// Reads more of the body into `pending`; false at its end.
    fn fill(&mut self) -> crate::Result<bool> {
        let want = self.remaining.map_or(READ_SIZE, |r| r.min(READ_SIZE));
        let Some((stream, _)) = self.stream.as_ref().filter(|_| want > 0) else {
            return Ok(false);
        };
        match stream.blocking_read(want) {
            Ok(chunk) => {
                if let Some(r) = self.remaining.as_mut() {
                    *r -= (chunk.len() as u64).min(*r);
                }
                self.pending.extend(chunk);
                Ok(true)
            }
            Err(StreamError::Closed) => {
                self.stream = None;
                Ok(false)
            }
            Err(StreamError::LastOperationFailed(e)) => Err(Error::new(
                "ConnectionAbortedError",
                format!("reading the request body failed: {}", e.to_debug_string()),
            )),
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.pending.len());
        self.pending.drain(..n).collect()
    }
}

impl InputSource for BodyInput {
    fn read(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>> {
        let size = size.map_or(usize::MAX, |s| usize::try_from(s).unwrap_or(usize::MAX));
        while self.pending.len() < size && self.fill()? {}
        Ok(self.take(size))
    }

    fn readline(&mut self, size: Option<u64>) -> crate::Result<Vec<u8>> {
        let size = size.map_or(usize::MAX, |s| usize::try_from(s).unwrap_or(usize::MAX));
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                return Ok(self.take((i + 1).min(size)));
            }
            if self.pending.len() >= size || !self.fill()? {
                return Ok(self.take(size));
            }
        }
    }
}

/// `wsgi.errors` under `wasi:http`: the component's stderr, which the host
/// logs.
struct Stderr;

impl ErrorSink for Stderr {
    fn write(&self, s: &str) {
        let _ = std::io::stderr().write_all(s.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}
