//! `wsgiref.handlers`: the WSGI run algorithm, once, and the handler family
//! built on it.
//!
//! [`BaseHandler`] runs an [`Application`] against a
//! [`Gateway`] (where the response goes), an `InputStream` and an
//! `ErrorStream`, following wsgiref's `BaseHandler.run` step by step:
//! `setup_environ`, the application call, `finish_response` (write every
//! chunk, `finish_content`, `close`), and `handle_error` on failure. The
//! class attributes that subclasses override in Python are the fields of
//! [`HandlerConfig`]. [`SimpleHandler`], [`BaseCGIHandler`], [`CGIHandler`]
//! and [`IISCGIHandler`] build a configured `BaseHandler`; the HTTP server
//! ([`crate::simple_server`]) is one more user with its own gateway.

mod base;
mod cgi;
pub(crate) mod date;
mod head;
mod simple;

pub use base::BaseHandler;
pub use cgi::{CGIHandler, IISCGIHandler, read_environ, transcode_environ};
pub use date::format_date_time;
pub use head::{ResponseHead, declared_length};
pub use simple::{BaseCGIHandler, SimpleHandler};

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use wasgi::{ExcInfo, Vars};

use crate::app::{Application, BoxFuture};
use crate::streams::ErrorStream;

/// A replacement for [`BaseHandler::log_exception`].
pub type LogException = Arc<dyn Fn(&ExcInfo, &ErrorStream) + Send + Sync>;

/// `BaseHandler`'s class attributes: what a handler subclass customises.
#[derive(Clone)]
pub struct HandlerConfig {
    /// `wsgi.version`.
    pub wsgi_version: (u32, u32),
    /// `wsgi.multithread`.
    pub wsgi_multithread: bool,
    /// `wsgi.multiprocess`.
    pub wsgi_multiprocess: bool,
    /// `wsgi.run_once`.
    pub wsgi_run_once: bool,
    /// True when the handler talks HTTP to the client itself (a status line,
    /// `Date` and `Server`); false for gateways (a `Status:` header).
    pub origin_server: bool,
    /// The HTTP version of an origin server's status line.
    pub http_version: String,
    /// `SERVER_SOFTWARE` and the `Server` header, for origin servers.
    pub server_software: Option<String>,
    /// Variables put in every environ before the request's own. Empty by
    /// default: unlike wsgiref, the process environment is never copied in
    /// unless you put it here (e.g. with [`read_environ`]).
    pub os_environ: Vars,
    /// Whether `wsgi.file_wrapper` is offered.
    pub wsgi_file_wrapper: bool,
    /// Whether file bodies are sent by the handler itself in large blocks
    /// (the `sendfile()` hook); otherwise they are read in the wrapper's
    /// `blksize` blocks like any iterable.
    pub sendfile: bool,
    /// How many traceback frames [`BaseHandler`] logs; `None` for all.
    pub traceback_limit: Option<usize>,
    /// `log_exception(exc_info)`: how an exception is logged. `None` writes
    /// the traceback (at most `traceback_limit` frames) to the handler's
    /// stderr; a function gets the exception and that stream.
    pub log_exception: Option<LogException>,
    /// The status of the error page.
    pub error_status: String,
    /// The headers of the error page.
    pub error_headers: Vec<(String, String)>,
    /// The body of the error page.
    pub error_body: Bytes,
    /// An application that renders the error page instead of
    /// `error_status`/`error_headers`/`error_body`. Its `start_response`
    /// carries the exception as `exc_info` by itself.
    pub error_output: Option<Arc<dyn Application>>,
}

impl HandlerConfig {
    /// What `log_exception` does with these settings: the config's own
    /// `log_exception`, or the traceback (at most `traceback_limit`
    /// frames) and the `Kind: message` line on `stderr`.
    pub fn report_exception(&self, e: &ExcInfo, stderr: &ErrorStream) {
        match &self.log_exception {
            Some(log) => log(e, stderr),
            None => {
                stderr.event(
                    crate::streams::Event::Exception,
                    &e.format_exception(self.traceback_limit),
                );
                stderr.flush();
            }
        }
    }
}

impl Default for HandlerConfig {
    /// wsgiref's `BaseHandler` defaults, with an empty `os_environ`.
    fn default() -> Self {
        HandlerConfig {
            wsgi_version: (1, 0),
            wsgi_multithread: true,
            wsgi_multiprocess: true,
            wsgi_run_once: false,
            origin_server: true,
            http_version: "1.0".to_string(),
            server_software: None,
            os_environ: Vars::new(),
            wsgi_file_wrapper: true,
            sendfile: true,
            traceback_limit: None,
            log_exception: None,
            error_status: "500 Internal Server Error".to_string(),
            error_headers: vec![("Content-Type".to_string(), "text/plain".to_string())],
            error_body: Bytes::from_static(
                b"A server error occurred.  Please contact the administrator.",
            ),
            error_output: None,
        }
    }
}

/// Where a handler's response goes: wsgiref's abstract `_write`, `_flush`
/// and `send_preamble`, plus the hooks an HTTP server needs.
pub trait Gateway: Send + 'static {
    /// `_write(data)`: transmit (or buffer) body bytes.
    fn write(&mut self, data: Bytes) -> BoxFuture<'_, io::Result<()>>;

    /// `_flush()`: push buffered bytes to the client.
    fn flush(&mut self) -> BoxFuture<'_, io::Result<()>>;

    /// `send_preamble()` and the header block. The default writes
    /// [`ResponseHead::to_bytes`] with [`Gateway::write`]; an HTTP server
    /// builds its response head instead.
    fn send_headers<'a>(&'a mut self, head: &'a ResponseHead) -> BoxFuture<'a, io::Result<()>> {
        let bytes = Bytes::from(head.to_bytes());
        self.write(bytes)
    }

    /// A last check of the head before anything is sent: an `Err` names a
    /// rule this gateway cannot honour (the handler then sends its error
    /// page instead).
    fn check_head(&self, _head: &ResponseHead) -> Result<(), String> {
        Ok(())
    }

    /// The response failed after its headers went out: end it so the client
    /// can tell (an HTTP server cuts the connection).
    fn abort(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Called when a response completes, before the body's `close()` (where
    /// wsgiref's `ServerHandler.close` writes the access log line).
    fn on_close(&mut self, _status: &str, _bytes_sent: u64) {}

    /// Whether body bytes are transmitted at all (false for a response that
    /// must not have one, like HEAD's). Asked after the headers are sent, so
    /// a file body is not read for nothing.
    fn wants_body(&self) -> bool {
        true
    }
}
