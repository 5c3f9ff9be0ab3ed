//! The host half of the `wasgi:wsgi/types` interface: `wsgi.input`,
//! `wsgi.errors` and `start_response` as resources the guest calls.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime::component::Resource;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::RequestCtx;
use super::bindings::wasgi::wsgi::types::{
    ExcInfo as WitExcInfo, Host, HostErrorStream, HostInputStream, HostStartResponse,
};
use crate::app::StartResponse;
use crate::streams::{ErrorStream, Event, InputStream};
use wasgi::ExcInfo;

pub fn exc_from_wit(e: WitExcInfo) -> ExcInfo {
    ExcInfo {
        kind: e.kind,
        message: e.message,
        traceback: e.traceback,
    }
}

fn exc_to_wit(e: ExcInfo) -> WitExcInfo {
    WitExcInfo {
        kind: e.kind,
        message: e.message,
        traceback: e.traceback,
    }
}

fn io_to_wit(e: std::io::Error) -> WitExcInfo {
    exc_to_wit(ExcInfo::from(e))
}

impl Host for RequestCtx {}

impl HostInputStream for RequestCtx {
    async fn read(
        &mut self,
        this: Resource<InputStream>,
        size: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .read(size)
            .await
            .map(|b| b.to_vec())
            .map_err(io_to_wit))
    }

    async fn readline(
        &mut self,
        this: Resource<InputStream>,
        size: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .readline(size)
            .await
            .map(|b| b.to_vec())
            .map_err(io_to_wit))
    }

    async fn readlines(
        &mut self,
        this: Resource<InputStream>,
        hint: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<Vec<u8>>, WitExcInfo>> {
        let input = self.table.get_mut(&this)?;
        Ok(input
            .readlines(hint)
            .await
            .map(|lines| lines.into_iter().map(|b| b.to_vec()).collect())
            .map_err(io_to_wit))
    }

    async fn drop(&mut self, this: Resource<InputStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl HostErrorStream for RequestCtx {
    async fn write(&mut self, this: Resource<ErrorStream>, s: String) -> wasmtime::Result<()> {
        self.table.get(&this)?.event(Event::GuestOutput, &s);
        Ok(())
    }

    async fn writelines(
        &mut self,
        this: Resource<ErrorStream>,
        lines: Vec<String>,
    ) -> wasmtime::Result<()> {
        (self.table.get(&this)?).event(Event::GuestOutput, &lines.concat());
        Ok(())
    }

    async fn flush(&mut self, this: Resource<ErrorStream>) -> wasmtime::Result<()> {
        self.table.get(&this)?.flush();
        Ok(())
    }

    async fn drop(&mut self, this: Resource<ErrorStream>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl HostStartResponse for RequestCtx {
    async fn call(
        &mut self,
        this: Resource<StartResponse>,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<WitExcInfo>,
    ) -> wasmtime::Result<Result<(), WitExcInfo>> {
        let start_response = self.table.get(&this)?.clone();
        Ok(start_response
            .call(status, headers, exc_info.map(exc_from_wit))
            .await
            .map_err(exc_to_wit))
    }

    async fn write(
        &mut self,
        this: Resource<StartResponse>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), WitExcInfo>> {
        let start_response = self.table.get(&this)?.clone();
        Ok(start_response.write(data).await.map_err(exc_to_wit))
    }

    async fn drop(&mut self, this: Resource<StartResponse>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// The guest's stdout and stderr: lines go to the server log, never to the
/// response (under CGI, the process's stdout *is* the response).
///
/// Output goes to the log a whole line at a time: a guest's `eprintln!` or
/// `print()` arrives in several writes (each flushed), and written as they
/// come, the pieces of requests running at the same time would interleave
/// within a line. A line without its newline goes out when the guest's
/// stream ends (with its instance), or once it is [`MAX_PARTIAL_LINE`]
/// bytes long. Each line names the request the instance was serving
/// when it was written.
pub struct LogOutput {
    log: ErrorStream,
    request: CurrentRequest,
}

impl LogOutput {
    /// Output into `log`, during whatever request `request` says.
    pub fn new(log: ErrorStream, request: CurrentRequest) -> Self {
        LogOutput { log, request }
    }
}

/// The request an instance is serving (its request line), set at each
/// checkout, for the log lines its output makes.
#[derive(Clone, Default)]
pub struct CurrentRequest(Arc<std::sync::Mutex<Option<Arc<str>>>>);

impl CurrentRequest {
    /// The instance now serves `request_line`.
    pub fn set(&self, request_line: Option<Arc<str>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = request_line;
    }

    pub(crate) fn get(&self) -> Option<Arc<str>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The most a guest's unfinished output line is held before it goes to the
/// log as it is.
pub const MAX_PARTIAL_LINE: usize = 64 * 1024;

impl IsTerminal for LogOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl LogOutput {
    fn writer(&self) -> LogWriter {
        LogWriter {
            log: self.log.clone(),
            request: self.request.clone(),
            partial: Vec::new(),
        }
    }
}

impl StdoutStream for LogOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }

    /// A WASIp2 stream written in place. (wasmtime's default puts a task
    /// of its own behind each stream, and every write then waits for that
    /// task: a log line cost a request ~50 µs of CPU.)
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.writer())
    }
}

impl wasmtime_wasi::p2::OutputStream for LogWriter {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        self.log.flush();
        Ok(())
    }

    /// The log never makes a guest wait.
    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(MAX_PARTIAL_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for LogWriter {
    async fn ready(&mut self) {}
}

struct LogWriter {
    log: ErrorStream,
    request: CurrentRequest,
    /// Output after the last newline.
    partial: Vec<u8>,
}

impl LogWriter {
    /// Writes `bytes` to the log as one unit.
    fn emit(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            (self.log.with_request(self.request.get()))
                .event(Event::GuestOutput, &String::from_utf8_lossy(bytes));
        }
    }

    /// Takes `buf`: its complete lines go out, the rest waits.
    fn take(&mut self, buf: &[u8]) {
        match buf.iter().rposition(|&b| b == b'\n') {
            Some(end) => {
                self.partial.extend_from_slice(&buf[..=end]);
                let lines = std::mem::replace(&mut self.partial, buf[end + 1..].to_vec());
                self.emit(&lines);
            }
            None => self.partial.extend_from_slice(buf),
        }
        if self.partial.len() >= MAX_PARTIAL_LINE {
            let long = std::mem::take(&mut self.partial);
            self.emit(&long);
        }
    }
}

impl AsyncWrite for LogWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    /// Complete lines are in the log already; a partial line waits for
    /// its end.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.log.flush();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let partial = std::mem::take(&mut self.partial);
        self.emit(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::{LogOutput, MAX_PARTIAL_LINE};
    use crate::streams::ErrorStream;

    #[test]
    fn guest_output_goes_to_the_log_a_line_at_a_time() {
        let (log, read) = ErrorStream::memory();
        let mut out = LogOutput::new(log, Default::default()).writer();
        out.take(b"one ");
        assert_eq!(read.contents(), "");
        out.take(b"line\ntwo\nthr");
        assert_eq!(read.contents(), "one line\ntwo\n");
        out.take(b"ee");
        out.take(&vec![b'x'; MAX_PARTIAL_LINE]);
        let long = read.contents();
        assert!(long.starts_with("one line\ntwo\nthreexx"), "{long:.20}");
        assert_eq!(long.len(), "one line\ntwo\nthree".len() + MAX_PARTIAL_LINE);
        out.take("caf\u{e9}".as_bytes()[..4].as_ref());
        out.take(&"caf\u{e9}".as_bytes()[4..]);
        drop(out);
        assert!(
            read.contents().ends_with("xcaf\u{e9}"),
            "a partial line goes out at the end"
        );
    }
}
