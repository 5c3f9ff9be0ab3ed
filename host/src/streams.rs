//! `wsgi.input` and `wsgi.errors` on the host side.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::app::BoxFuture;

/// Where `wsgi.input` gets its bytes: a request body, a CGI stdin, memory.
pub trait ChunkSource: Send {
    /// The next chunk of the body, or `None` at its end.
    fn next_chunk(&mut self) -> BoxFuture<'_, io::Result<Option<Bytes>>>;
}

/// `wsgi.input`: the request body as a readable stream.
///
/// It is bounded: with a limit (the request's `CONTENT_LENGTH`) it reports
/// end of input after that many bytes even if the source holds more, so an
/// app can always read to the end safely. `read(n)` waits for `n` bytes or
/// the end, like a buffered file.
pub struct InputStream {
    source: Option<Box<dyn ChunkSource>>,
    pending: BytesMut,
    remaining: Option<u64>,
    /// What the buffered bytes are counted against, and how many are.
    limit: Option<(Arc<dyn BufferLimit>, usize)>,
}

/// What bounds the bytes `wsgi.input` holds for its reader: a guest's
/// memory limit and the guests' budget. A `read()` with no size buffers
/// the whole body on the host before the reader gets it; without a bound
/// that is up to `--max-body-size` of memory no limit sees.
pub trait BufferLimit: Send + Sync {
    /// Room for `more` bytes on top of the `held` ones, or why there is none.
    fn reserve(&self, held: usize, more: usize) -> Result<(), String>;
    /// `bytes` are no longer held.
    fn release(&self, bytes: usize);
}

impl Drop for InputStream {
    fn drop(&mut self) {
        if let Some((limit, held)) = &self.limit {
            limit.release(*held);
        }
    }
}

impl InputStream {
    /// A stream over `source`, ending after `limit` bytes when a limit is set.
    pub fn new(source: impl ChunkSource + 'static, limit: Option<u64>) -> Self {
        InputStream {
            source: if limit == Some(0) {
                None
            } else {
                Some(Box::new(source))
            },
            pending: BytesMut::new(),
            remaining: limit,
            limit: None,
        }
    }

    /// Counts the bytes buffered for the reader against `limit`: a read
    /// that would hold more fails with [`io::ErrorKind::OutOfMemory`]
    /// (`MemoryError`), and the stream ends there, as when the client
    /// stops sending.
    pub fn set_limit(&mut self, limit: Arc<dyn BufferLimit>) {
        self.limit = Some((limit, 0));
    }

    /// Counts what `pending` holds now against the limit.
    fn settle(&mut self) -> io::Result<()> {
        let Some((limit, held)) = &mut self.limit else {
            return Ok(());
        };
        let now = self.pending.len();
        if now > *held {
            limit
                .reserve(*held, now - *held)
                .map_err(|why| io::Error::new(io::ErrorKind::OutOfMemory, why))?;
        } else {
            limit.release(*held - now);
        }
        *held = now;
        Ok(())
    }

    /// `n` bytes of `pending`, handed to the reader.
    fn take(&mut self, n: usize) -> Bytes {
        let taken = self.pending.split_to(n).freeze();
        let _ = self.settle();
        taken
    }

    /// An empty body.
    pub fn empty() -> Self {
        InputStream {
            source: None,
            pending: BytesMut::new(),
            remaining: Some(0),
            limit: None,
        }
    }

    /// A body held in memory.
    pub fn from_bytes(body: impl Into<Bytes>) -> Self {
        let body: Bytes = body.into();
        InputStream {
            source: None,
            pending: BytesMut::from(&body[..]),
            remaining: Some(0),
            limit: None,
        }
    }

    /// A body read from `reader` (e.g. a CGI script's stdin), bounded by `limit`.
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        limit: Option<u64>,
    ) -> Self {
        InputStream::new(ReaderSource(reader), limit)
    }

    /// Pulls one more chunk into `pending`; false at the end of input.
    async fn fill(&mut self) -> io::Result<bool> {
        let Some(source) = self.source.as_mut() else {
            return Ok(false);
        };
        let chunk = match source.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                self.source = None;
                return Ok(false);
            }
            Err(e) => {
                self.source = None;
                return Err(e);
            }
        };
        let take = match self.remaining {
            Some(left) => {
                let take = (chunk.len() as u64).min(left);
                self.remaining = Some(left - take);
                if left - take == 0 {
                    self.source = None;
                }
                take as usize
            }
            None => chunk.len(),
        };
        self.pending.extend_from_slice(&chunk[..take]);
        if let Err(e) = self.settle() {
            // As when the source fails: the stream ends here.
            let keep = self.pending.len() - take;
            self.pending.truncate(keep);
            self.source = None;
            return Err(e);
        }
        Ok(true)
    }

    /// `read(size)`: `size` bytes (fewer only at the end), or everything
    /// left when `size` is `None`. Empty at the end of input.
    pub async fn read(&mut self, size: Option<u64>) -> io::Result<Bytes> {
        loop {
            if let Some(n) = size
                && self.pending.len() as u64 >= n
            {
                return Ok(self.take(n as usize));
            }
            if !self.fill().await? {
                return Ok(self.take(self.pending.len()));
            }
        }
    }

    /// `readline(size)`: up to and including the next `\n`, at most `size`
    /// bytes. Empty at the end of input.
    pub async fn readline(&mut self, size: Option<u64>) -> io::Result<Bytes> {
        let limit = size.map(|n| n as usize).unwrap_or(usize::MAX);
        let mut scanned = 0;
        loop {
            if let Some(i) = self.pending[scanned..].iter().position(|&b| b == b'\n') {
                let end = (scanned + i + 1).min(limit);
                return Ok(self.take(end));
            }
            if self.pending.len() >= limit {
                return Ok(self.take(limit));
            }
            scanned = self.pending.len();
            if !self.fill().await? {
                return Ok(self.take(self.pending.len()));
            }
        }
    }

    /// `readlines(hint)`: the remaining lines, stopping once they total at
    /// least `hint` bytes when a (positive) hint is given.
    pub async fn readlines(&mut self, hint: Option<u64>) -> io::Result<Vec<Bytes>> {
        let mut lines = Vec::new();
        let mut total = 0u64;
        // The lines gathered so far are held too.
        let gathered = self.limit.as_ref().map(|(limit, _)| limit.clone());
        let result = loop {
            let line = match self.readline(None).await {
                Ok(line) => line,
                Err(e) => break Err(e),
            };
            if line.is_empty() {
                break Ok(lines);
            }
            if let (Some(limit), Some((_, held))) = (&gathered, &self.limit)
                && let Err(why) = limit.reserve(*held + total as usize, line.len())
            {
                break Err(io::Error::new(io::ErrorKind::OutOfMemory, why));
            }
            total += line.len() as u64;
            lines.push(line);
            if hint.is_some_and(|h| h > 0 && total >= h) {
                break Ok(lines);
            }
        };
        if let Some(limit) = gathered {
            limit.release(total as usize);
        }
        result
    }
}

struct ReaderSource<R>(R);

impl<R: AsyncRead + Send + Unpin> ChunkSource for ReaderSource<R> {
    fn next_chunk(&mut self) -> BoxFuture<'_, io::Result<Option<Bytes>>> {
        Box::pin(async move {
            let mut buf = BytesMut::with_capacity(16 * 1024);
            let n = self.0.read_buf(&mut buf).await?;
            Ok((n > 0).then(|| buf.freeze()))
        })
    }
}

/// What a log line is about: a structured log (`--log-format json`)
/// names it, a plain log writes the text alone. Whoever writes a line
/// says what it is; nothing is guessed from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A line of the server's own, of no other kind.
    Log,
    /// What a guest wrote: its stdout, stderr or `wsgi.errors`.
    GuestOutput,
    /// A traceback: an exception an app raised or a trap.
    Exception,
    /// An access line (a structured log gets it formed already).
    Access,
    /// A request refused before any app saw it (`code 400, message ...`).
    Refused,
    /// A reload that took effect.
    Reload,
    /// A reload that did not; the apps loaded before keep serving.
    ReloadFailed,
    /// A component compiled, or loaded from the compile cache.
    Compiled,
    /// The admin endpoints listening.
    Admin,
    /// The server shutting down.
    Shutdown,
    /// A guest's outbound request or connection that its policy denied.
    OutboundDenied,
    /// A guest's store call refused: a label it was not granted, a quota.
    StoreDenied,
    /// A store's backend failing (a database down, a full disk).
    StoreError,
    /// A guest's write refused: it would pass a disk quota
    /// (`max_file_size`, `tmp_size`).
    DiskQuota,
}

impl Event {
    /// Its name in a structured log's `event` field.
    pub fn name(self) -> &'static str {
        match self {
            Event::Log => "log",
            Event::GuestOutput => "guest_output",
            Event::Exception => "exception",
            Event::Access => "access",
            Event::Refused => "refused",
            Event::Reload => "reload",
            Event::ReloadFailed => "reload_failed",
            Event::Compiled => "compiled",
            Event::Admin => "admin",
            Event::Shutdown => "shutdown",
            Event::OutboundDenied => "outbound_denied",
            Event::StoreDenied => "store_denied",
            Event::StoreError => "store_error",
            Event::DiskQuota => "disk_quota",
        }
    }

    /// Its level in a structured log's `level` field.
    pub fn level(self) -> &'static str {
        match self {
            Event::Exception | Event::ReloadFailed | Event::StoreError => "error",
            Event::Refused | Event::OutboundDenied | Event::StoreDenied | Event::DiskQuota => {
                "warning"
            }
            _ => "info",
        }
    }
}

/// One write to the log: its text, what it is, and the app and request it
/// came from, where it came from one.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// What it is.
    pub event: Event,
    /// The app that wrote or caused it.
    pub app: Option<&'a str>,
    /// The request it was written during: its request line.
    pub request: Option<&'a str>,
    /// The text, one or more whole lines.
    pub text: &'a str,
}

/// Where `wsgi.errors` text and the server's log lines go.
pub trait ErrorSink: Send + Sync {
    /// Writes `text` as one unit (lines from concurrent requests do not
    /// interleave within one call).
    fn write(&self, text: &str);
    /// Writes `record`: a structured log keeps what it says about the
    /// text; by default, its text alone ([`write`](Self::write)).
    fn record(&self, record: &Record<'_>) {
        self.write(record.text);
    }
    /// Flushes buffered text.
    fn flush(&self) {}
}

/// `wsgi.errors`: a text stream into a log. Clones share the log; a
/// stream may say which app, and which of its requests, writes through it.
#[derive(Clone)]
pub struct ErrorStream {
    sink: Arc<dyn ErrorSink>,
    app: Option<Arc<str>>,
    request: Option<Arc<str>>,
}

impl ErrorStream {
    /// A stream into `sink`.
    pub fn new(sink: Arc<dyn ErrorSink>) -> Self {
        ErrorStream {
            sink,
            app: None,
            request: None,
        }
    }

    /// The process's standard error, as wsgiref's `sys.stderr`.
    pub fn stderr() -> Self {
        ErrorStream::new(Arc::new(Stderr))
    }

    /// An in-memory log, and a handle to read what was written.
    pub fn memory() -> (Self, MemoryLog) {
        let log = MemoryLog::default();
        (ErrorStream::new(Arc::new(log.clone())), log)
    }

    /// The same log, its writes said to come from the app `app`.
    pub fn with_app(&self, app: &Arc<str>) -> Self {
        ErrorStream {
            app: Some(app.clone()),
            ..self.clone()
        }
    }

    /// The same log, its writes said to come during the request
    /// `request_line` (`GET / HTTP/1.1`).
    pub fn with_request(&self, request_line: Option<Arc<str>>) -> Self {
        ErrorStream {
            request: request_line,
            ..self.clone()
        }
    }

    /// The request its writes are said to come during.
    pub fn request(&self) -> Option<&Arc<str>> {
        self.request.as_ref()
    }

    /// `write(s)`: a line of the kind [`Event::Log`].
    pub fn write(&self, s: &str) {
        self.event(Event::Log, s);
    }

    /// Writes `text`, saying it is an `event`.
    pub fn event(&self, event: Event, text: &str) {
        self.sink.record(&Record {
            event,
            app: self.app.as_deref(),
            request: self.request.as_deref(),
            text,
        });
    }

    /// `writelines(seq)`.
    pub fn writelines<S: AsRef<str>>(&self, lines: impl IntoIterator<Item = S>) {
        let text: String = lines.into_iter().map(|l| l.as_ref().to_string()).collect();
        self.write(&text);
    }

    /// `flush()`.
    pub fn flush(&self) {
        self.sink.flush();
    }
}

struct Stderr;

impl ErrorSink for Stderr {
    fn write(&self, text: &str) {
        use std::io::Write;
        // A log that cannot be written has nowhere to report that.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn flush(&self) {
        use std::io::Write;
        let _ = std::io::stderr().lock().flush();
    }
}

/// An in-memory [`ErrorSink`]: tests read back what was logged.
#[derive(Clone, Default)]
pub struct MemoryLog(Arc<Mutex<String>>);

impl MemoryLog {
    /// Everything written so far.
    pub fn contents(&self) -> String {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl ErrorSink for MemoryLog {
    fn write(&self, text: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.push_str(text);
        }
    }
}
