use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;
use wasgi::handlers::HandlerState;
use wasgi::{ExcInfo, Vars, util};

use super::{Gateway, HandlerConfig, ResponseHead, date, declared_length};
use crate::app::{
    Admission, Application, Body, BoxFuture, Environ, FileBody, Responder, StartResponse,
};
use crate::streams::{ErrorStream, InputStream};

/// wsgiref's `BaseHandler`: runs one application call at a time against a
/// [`Gateway`], an input stream and an error stream.
///
/// Build one with [`SimpleHandler`](super::SimpleHandler),
/// [`BaseCGIHandler`](super::BaseCGIHandler), [`CGIHandler`](super::CGIHandler)
/// or [`BaseHandler::new`] with a gateway of your own, adjust
/// [`config_mut`](BaseHandler::config_mut), then [`run`](BaseHandler::run).
/// After a successful run the handler's state is reset and it can run again.
pub struct BaseHandler {
    config: Arc<HandlerConfig>,
    core: Arc<Mutex<Core>>,
    stdin: Option<InputStream>,
    /// The room the app reserved for this request, for its call.
    admission: Option<Admission>,
    stderr: ErrorStream,
    base_env: Vars,
    error_vars: Option<Vars>,
}

/// The response state `start_response`, `write` and the run loop share.
struct Core {
    config: Arc<HandlerConfig>,
    gateway: Box<dyn Gateway>,
    state: HandlerState,
    server_protocol: Option<String>,
}

/// The handler's own `start_response` and `write()`.
struct HandlerResponder {
    core: Arc<Mutex<Core>>,
    /// For the error page's application: the exception being handled, used
    /// as `exc_info` when the call does not pass one.
    handling: Option<ExcInfo>,
}

impl BaseHandler {
    /// A handler writing to `gateway`, reading `wsgi.input` from `stdin`,
    /// logging to `stderr`, with `base_env` as the request's CGI variables
    /// (`add_cgi_vars`).
    pub fn new(
        config: impl Into<Arc<HandlerConfig>>,
        gateway: impl Gateway,
        stdin: InputStream,
        stderr: ErrorStream,
        base_env: Vars,
    ) -> Self {
        let config = config.into();
        BaseHandler {
            core: Arc::new(Mutex::new(Core {
                config: config.clone(),
                gateway: Box::new(gateway),
                state: HandlerState::default(),
                server_protocol: None,
            })),
            config,
            stdin: Some(stdin),
            admission: None,
            stderr,
            base_env,
            error_vars: None,
        }
    }

    /// The handler's settings (wsgiref's class attributes).
    pub fn config(&self) -> &HandlerConfig {
        &self.config
    }

    /// Changes the settings, as assigning attributes on a Python handler.
    pub fn config_mut(&mut self) -> &mut HandlerConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Hands the room the app reserved for this request
    /// ([`Application::admit`]) to the call `run` makes.
    pub fn admitted(&mut self, admission: Admission) {
        self.admission = Some(admission);
    }

    /// `run(app)`: `setup_environ`, call the application, `finish_response`;
    /// on failure `handle_error`. Client disconnects end the run quietly.
    pub async fn run(&mut self, app: &dyn Application) {
        let environ = self.setup_environ().await;
        let start_response = StartResponse::new(HandlerResponder {
            core: self.core.clone(),
            handling: None,
        });
        let called = match self.admission.take() {
            Some(admission) => app.call_admitted(environ, start_response, admission),
            None => app.call(environ, start_response),
        };
        let outcome = match called.await {
            Ok(result) => self.finish_response(result).await,
            Err(e) => Err(e),
        };
        let Err(e) = outcome else { return };
        if e.is_disconnect() {
            self.reset().await;
            return;
        }
        if let Err(second) = self.handle_error(e).await {
            // A double fault: the error page itself failed.
            self.log_exception(&second);
            self.core.lock().await.gateway.abort().await;
            self.reset().await;
        }
    }

    /// `setup_environ()`: `os_environ`, then the request's variables, then
    /// the `wsgi.*` values, `wsgi.url_scheme` from `HTTPS` and a default
    /// `SERVER_SOFTWARE` for origin servers.
    async fn setup_environ(&mut self) -> Environ {
        let config = self.config.clone();
        // The request's variables are moved, not copied (a handler runs
        // once); `os_environ` fills in under them.
        let mut vars = std::mem::take(&mut self.base_env);
        for (key, value) in &config.os_environ {
            if !vars.contains_key(key) {
                vars.insert(key.clone(), value.clone());
            }
        }
        let scheme = util::guess_scheme(&vars);
        vars.insert("wsgi.url_scheme".to_string(), scheme.to_string());
        if config.origin_server
            && let Some(sw) = config.server_software.as_ref().filter(|s| !s.is_empty())
        {
            vars.entry("SERVER_SOFTWARE".to_string())
                .or_insert_with(|| sw.clone());
        }
        if config.error_output.is_some() {
            self.error_vars = Some(vars.clone());
        }
        {
            let mut core = self.core.lock().await;
            core.config = config.clone();
            core.server_protocol = vars.get("SERVER_PROTOCOL").cloned();
        }
        Environ {
            vars,
            input: self.stdin.take().unwrap_or_else(InputStream::empty),
            errors: self.stderr.clone(),
            version: config.wsgi_version,
            multithread: config.wsgi_multithread,
            multiprocess: config.wsgi_multiprocess,
            run_once: config.wsgi_run_once,
            file_wrapper: config.wsgi_file_wrapper,
            input_terminated: true,
        }
    }

    /// `finish_response()`: write every chunk, `finish_content`, `close`.
    /// When anything fails the result is closed before the error goes on.
    async fn finish_response(&mut self, mut result: Body) -> Result<(), ExcInfo> {
        match self.send_result(&mut result).await {
            Ok(()) => {
                self.close(result).await;
                Ok(())
            }
            Err(e) => {
                if let Err(close_error) = result.close().await {
                    self.log_exception(&close_error);
                }
                Err(e)
            }
        }
    }

    async fn send_result(&mut self, result: &mut Body) -> Result<(), ExcInfo> {
        self.core.lock().await.state.result_len = result.len()?;
        let sent = match result {
            Body::File(file) if self.config.sendfile => self.sendfile(file).await?,
            _ => false,
        };
        if !sent {
            while let Some(chunk) = result.next_chunk().await? {
                self.core.lock().await.write(chunk).await?;
            }
        }
        self.core.lock().await.finish_content().await
    }

    /// `sendfile()`: sends a file body in large blocks, with a
    /// `Content-Length` of the bytes left in the file unless the app set one
    /// (then exactly that many bytes go out).
    async fn sendfile(&mut self, file: &mut FileBody) -> Result<bool, ExcInfo> {
        /// Large blocks: the file never passes through the guest.
        const BLOCK: u64 = 256 * 1024;
        let mut core = self.core.lock().await;
        let mut len = file.remaining()?;
        if core.state.write(0)? {
            if let Some(headers) = core.state.headers_mut() {
                match declared_length(headers).map_err(ExcInfo::assertion)? {
                    Some(declared) => len = declared,
                    None => headers.set("Content-Length", len.to_string()),
                }
            }
            core.send_headers().await?;
        }
        if !core.gateway.wants_body() {
            // Counted as sent, like any body of a response without one.
            core.state.bytes_sent += len;
            return Ok(true);
        }
        let end = file.offset().checked_add(len).ok_or_else(|| {
            ExcInfo::new(
                "OverflowError",
                "the file body's offset and length overflow",
            )
        })?;
        let mut pos = file.offset();
        while pos < end {
            let block = file.read_at(pos, (end - pos).min(BLOCK) as usize)?;
            if block.is_empty() {
                return Err(ExcInfo::new(
                    "OSError",
                    format!(
                        "the file ended {} bytes before its announced length",
                        end - pos
                    ),
                ));
            }
            pos += block.len() as u64;
            core.state.bytes_sent += block.len() as u64;
            core.gateway.write(block).await?;
        }
        core.gateway.flush().await?;
        Ok(true)
    }

    /// `close()`: the gateway's completion hook (the access log), the
    /// result's `close()`, then a reset. A failing `close()` is logged; the
    /// response is complete by then, so nothing else changes.
    async fn close(&mut self, mut result: Body) {
        {
            let mut core = self.core.lock().await;
            let status = core.state.status().unwrap_or_default().to_string();
            let bytes_sent = core.state.bytes_sent;
            core.gateway.on_close(&status, bytes_sent);
        }
        if let Err(e) = result.close().await {
            self.log_exception(&e);
        }
        self.reset().await;
    }

    async fn reset(&mut self) {
        self.core.lock().await.state.reset();
        self.error_vars = None;
    }

    /// `handle_error()`: log the exception; if no headers were sent, send
    /// the error page; otherwise cut the response short.
    async fn handle_error(&mut self, e: ExcInfo) -> Result<(), ExcInfo> {
        self.log_exception(&e);
        if self.core.lock().await.state.headers_sent {
            self.core.lock().await.gateway.abort().await;
            self.reset().await;
            return Ok(());
        }
        let result = self.error_output(e).await?;
        self.finish_response(result).await
    }

    /// The run was stopped from outside (the client left, a deadline
    /// passed) and the application's call dropped: log `e`, then answer
    /// the error page with `status` if no header was sent, else cut the
    /// response. The access line (the gateway's `on_close`) is written
    /// either way.
    pub async fn interrupt(&mut self, e: ExcInfo, status: &str) {
        self.log_exception(&e);
        let mut core = self.core.lock().await;
        if !core.state.headers_sent {
            drop(core);
            let start_response = StartResponse::new(HandlerResponder {
                core: self.core.clone(),
                handling: Some(e.clone()),
            });
            let page = start_response
                .call(status, self.config.error_headers.clone(), Some(e))
                .await
                .map(|()| Body::Chunks([self.config.error_body.clone()].into()));
            let sent = match page {
                Ok(body) => self.finish_response(body).await,
                Err(e) => Err(e),
            };
            if sent.is_ok() {
                return;
            }
            core = self.core.lock().await;
            // The page could not go out (nobody is listening): the access
            // line still says what happened.
            core.state.reset();
            let _ = core
                .state
                .start_response(status.to_string(), Vec::new(), None);
        }
        core.gateway.abort().await;
        let status = core.state.status().unwrap_or(status).to_string();
        let bytes_sent = core.state.bytes_sent;
        core.gateway.on_close(&status, bytes_sent);
        core.state.reset();
    }

    /// `error_output(environ, start_response)`: the error page, from
    /// `error_status`, `error_headers` and `error_body`, or from the
    /// configured `error_output` application.
    async fn error_output(&mut self, e: ExcInfo) -> Result<Body, ExcInfo> {
        let start_response = StartResponse::new(HandlerResponder {
            core: self.core.clone(),
            handling: Some(e.clone()),
        });
        if let Some(app) = self.config.error_output.clone() {
            let environ = Environ {
                vars: self.error_vars.take().unwrap_or_default(),
                input: InputStream::empty(),
                errors: self.stderr.clone(),
                version: self.config.wsgi_version,
                multithread: self.config.wsgi_multithread,
                multiprocess: self.config.wsgi_multiprocess,
                run_once: self.config.wsgi_run_once,
                file_wrapper: self.config.wsgi_file_wrapper,
                input_terminated: true,
            };
            return app.call(environ, start_response).await;
        }
        start_response
            .call(
                self.config.error_status.clone(),
                self.config.error_headers.clone(),
                Some(e),
            )
            .await?;
        Ok(Body::Chunks([self.config.error_body.clone()].into()))
    }

    /// `log_exception(exc_info)`: the traceback (at most `traceback_limit`
    /// frames) and the `Kind: message` line, on the handler's stderr, unless
    /// the config has its own `log_exception`.
    pub fn log_exception(&self, e: &ExcInfo) {
        self.config.report_exception(e, &self.stderr);
    }

    /// The status of the response under way (`self.status`).
    pub async fn status(&self) -> Option<String> {
        self.core.lock().await.state.status().map(str::to_string)
    }

    /// Whether the headers have been sent (`self.headers_sent`).
    pub async fn headers_sent(&self) -> bool {
        self.core.lock().await.state.headers_sent
    }

    /// Body bytes sent so far (`self.bytes_sent`).
    pub async fn bytes_sent(&self) -> u64 {
        self.core.lock().await.state.bytes_sent
    }
}

impl Core {
    /// `write(data)`: the headers first if they are not sent yet, then the
    /// data, flushed.
    async fn write(&mut self, data: Bytes) -> Result<(), ExcInfo> {
        if self.state.write(data.len() as u64)? {
            self.send_headers().await?;
        }
        self.gateway.write(data).await?;
        self.gateway.flush().await?;
        Ok(())
    }

    /// `send_headers()`: `cleanup_headers`, then the preamble and headers
    /// (skipped for an origin server's HTTP/0.9 client).
    async fn send_headers(&mut self) -> Result<(), ExcInfo> {
        let (status, headers) = self.state.head()?;
        let head = ResponseHead {
            status: status.to_string(),
            headers: headers.clone(),
            origin_server: self.config.origin_server,
            http_version: self.config.http_version.clone(),
            server_software: self.config.server_software.clone(),
            date: date::now(),
        };
        self.gateway.check_head(&head).map_err(ExcInfo::assertion)?;
        self.state.headers_sent = true;
        if !self.config.origin_server || self.client_is_modern()? {
            self.gateway.send_headers(&head).await?;
        }
        Ok(())
    }

    /// `client_is_modern()`: anything but HTTP/0.9.
    fn client_is_modern(&self) -> Result<bool, ExcInfo> {
        match &self.server_protocol {
            Some(p) => Ok(!p.eq_ignore_ascii_case("HTTP/0.9")),
            None => Err(ExcInfo::new("KeyError", "'SERVER_PROTOCOL'")),
        }
    }

    /// `finish_content()`: an empty body still sends its headers, with
    /// `Content-Length: 0` unless the application set one.
    async fn finish_content(&mut self) -> Result<(), ExcInfo> {
        if self.state.finish_content()? {
            self.send_headers().await?;
        }
        Ok(())
    }
}

impl Responder for HandlerResponder {
    fn start_response(
        &self,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<ExcInfo>,
    ) -> BoxFuture<'_, Result<(), ExcInfo>> {
        let exc_info = exc_info.or_else(|| self.handling.clone());
        Box::pin(async move {
            self.core
                .lock()
                .await
                .state
                .start_response(status, headers, exc_info)
        })
    }

    fn write(&self, data: Bytes) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async move { self.core.lock().await.write(data).await })
    }
}
