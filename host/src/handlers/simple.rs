use std::io;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use wasgi::Vars;

use super::{BaseHandler, Gateway, HandlerConfig};
use crate::app::BoxFuture;
use crate::streams::{ErrorStream, InputStream};

/// `SimpleHandler(stdin, stdout, stderr, environ, multithread, multiprocess)`:
/// an origin-server handler over explicit streams. The response is written
/// to `stdout` as HTTP (`HTTP/1.0 200 OK`, `Date`, headers, body).
pub struct SimpleHandler;

impl SimpleHandler {
    /// A handler with explicit streams and environ; wsgiref's defaults for
    /// the flags are `multithread = true`, `multiprocess = false`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        stdin: InputStream,
        stdout: impl AsyncWrite + Send + Unpin + 'static,
        stderr: ErrorStream,
        environ: Vars,
        multithread: bool,
        multiprocess: bool,
    ) -> BaseHandler {
        let config = HandlerConfig {
            wsgi_multithread: multithread,
            wsgi_multiprocess: multiprocess,
            ..HandlerConfig::default()
        };
        BaseHandler::new(config, StreamGateway(stdout), stdin, stderr, environ)
    }
}

/// `BaseCGIHandler(stdin, stdout, stderr, environ, multithread, multiprocess)`:
/// like [`SimpleHandler`] but for gateways: the status goes out as a
/// `Status:` header, with no `Date` or `Server`.
pub struct BaseCGIHandler;

impl BaseCGIHandler {
    /// A gateway handler with explicit streams and environ.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        stdin: InputStream,
        stdout: impl AsyncWrite + Send + Unpin + 'static,
        stderr: ErrorStream,
        environ: Vars,
        multithread: bool,
        multiprocess: bool,
    ) -> BaseHandler {
        let config = HandlerConfig {
            wsgi_multithread: multithread,
            wsgi_multiprocess: multiprocess,
            origin_server: false,
            ..HandlerConfig::default()
        };
        BaseHandler::new(config, StreamGateway(stdout), stdin, stderr, environ)
    }
}

/// A [`Gateway`] writing the whole response, head included, to a byte
/// stream (a socket, a CGI script's stdout, a buffer).
pub struct StreamGateway<W>(pub W);

impl<W: AsyncWrite + Send + Unpin + 'static> Gateway for StreamGateway<W> {
    fn write(&mut self, data: Bytes) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move { self.0.write_all(&data).await })
    }

    fn flush(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move { self.0.flush().await })
    }
}
