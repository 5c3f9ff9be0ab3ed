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

/// Where `wsgi.errors` text and the server's log lines go.
pub trait ErrorSink: Send + Sync {
    /// Writes `text` as one unit (lines from concurrent requests do not
    /// interleave within one call).
    fn write(&self, text: &str);
    /// Writes `text` that the app `app` (its guest, or its requests) wrote
    /// or caused: a structured log names it; by default, [`write`]
    /// (Self::write).
    fn write_from(&self, app: Option<&str>, text: &str) {
        let _ = app;
        self.write(text);
    }
    /// Flushes buffered text.
    fn flush(&self) {}
}

/// `wsgi.errors`: a text stream into a log. Clones share the log.
#[derive(Clone)]
pub struct ErrorStream(Arc<dyn ErrorSink>, Option<Arc<str>>);

impl ErrorStream {
    /// A stream into `sink`.
    pub fn new(sink: Arc<dyn ErrorSink>) -> Self {
        ErrorStream(sink, None)
    }

    /// The process's standard error, as wsgiref's `sys.stderr`.
    pub fn stderr() -> Self {
        ErrorStream(Arc::new(Stderr), None)
    }

    /// An in-memory log, and a handle to read what was written.
    pub fn memory() -> (Self, MemoryLog) {
        let log = MemoryLog::default();
        (ErrorStream(Arc::new(log.clone()), None), log)
    }

    /// The same log, its writes said to come from the app `app`.
    pub fn with_app(&self, app: &Arc<str>) -> Self {
        ErrorStream(self.0.clone(), Some(app.clone()))
    }

    /// `write(s)`.
    pub fn write(&self, s: &str) {
        self.0.write_from(self.1.as_deref(), s);
    }

    /// `writelines(seq)`.
    pub fn writelines<S: AsRef<str>>(&self, lines: impl IntoIterator<Item = S>) {
        let text: String = lines.into_iter().map(|l| l.as_ref().to_string()).collect();
        self.write(&text);
    }

    /// `flush()`.
    pub fn flush(&self) {
        self.0.flush();
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
