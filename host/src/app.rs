//! The WSGI callable on the host side: [`Application`], its [`Environ`] and
//! the [`Body`] it returns.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use wasgi::{ExcInfo, Vars};

use crate::streams::{ErrorStream, InputStream};

/// A boxed, sendable future, as the async traits here return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A WSGI application: `application(environ, start_response)`.
///
/// A wasm component ([`crate::component::WasmApp`]) is one; the validator
/// wraps one; async closures `Fn(Environ, StartResponse) -> impl Future`
/// are one (handy in tests). Handlers and servers take `Arc<dyn Application>`.
pub trait Application: Send + Sync + 'static {
    /// Handles one request: call `start_response`, return the body, or fail
    /// with an exception.
    fn call(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>>;

    /// Whether a request may start now: waits while the app has no room
    /// for one (a wasm app: a free concurrency slot, room in the guests'
    /// memory budget), and fails with [`Busy`] when none came in time:
    /// the server then answers 503 without calling the app. What it
    /// reserves ([`Admission`]) is handed to [`call_admitted`]
    /// (Self::call_admitted), as tower's `poll_ready` reserves what `call`
    /// uses. The default admits at once and reserves nothing.
    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>> {
        Box::pin(async { Ok(Admission::default()) })
    }

    /// [`call`](Self::call) with the room [`admit`](Self::admit) reserved
    /// for this request. The default lets the admission go and calls.
    fn call_admitted(
        &self,
        environ: Environ,
        start_response: StartResponse,
        _admission: Admission,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        self.call(environ, start_response)
    }
}

/// The room an app reserved for one request when it admitted it (a wasm
/// app's concurrency slot), until the request's call uses it; dropped
/// unused, the room is free again.
#[derive(Default)]
pub struct Admission(pub(crate) Option<tokio::sync::OwnedSemaphorePermit>);

/// An app has no room for another request now.
#[derive(Debug, Clone)]
pub struct Busy {
    /// Why, for the log and the 503 page.
    pub reason: String,
    /// When to try again, for `Retry-After`.
    pub retry_after: std::time::Duration,
}

impl<F, Fut> Application for F
where
    F: Fn(Environ, StartResponse) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Body, ExcInfo>> + Send + 'static,
{
    fn call(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        Box::pin(self(environ, start_response))
    }
}

impl<A: Application + ?Sized> Application for Arc<A> {
    fn call(
        &self,
        environ: Environ,
        start_response: StartResponse,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        (**self).call(environ, start_response)
    }

    fn admit(&self) -> BoxFuture<'_, Result<Admission, Busy>> {
        (**self).admit()
    }

    fn call_admitted(
        &self,
        environ: Environ,
        start_response: StartResponse,
        admission: Admission,
    ) -> BoxFuture<'_, Result<Body, ExcInfo>> {
        (**self).call_admitted(environ, start_response, admission)
    }
}

/// `start_response(status, response_headers, exc_info=None)` and the
/// `write()` callable it returns, as handed to an application. Clones share
/// the same response.
#[derive(Clone)]
pub struct StartResponse(Arc<dyn Responder>);

impl StartResponse {
    /// A `start_response` backed by `responder`.
    pub fn new(responder: impl Responder) -> Self {
        StartResponse(Arc::new(responder))
    }

    /// `start_response(status, response_headers, exc_info)`.
    pub async fn call(
        &self,
        status: impl Into<String>,
        headers: Vec<(String, String)>,
        exc_info: Option<ExcInfo>,
    ) -> Result<(), ExcInfo> {
        self.0
            .start_response(status.into(), headers, exc_info)
            .await
    }

    /// The `write(data)` callable: fails before `start_response`.
    pub async fn write(&self, data: impl Into<Bytes>) -> Result<(), ExcInfo> {
        self.0.write(data.into()).await
    }
}

/// What stands behind a [`StartResponse`]: a handler's response state, or a
/// middleware (such as the validator) wrapping another `StartResponse`.
pub trait Responder: Send + Sync + 'static {
    /// `start_response(status, headers, exc_info)`.
    fn start_response(
        &self,
        status: String,
        headers: Vec<(String, String)>,
        exc_info: Option<ExcInfo>,
    ) -> BoxFuture<'_, Result<(), ExcInfo>>;

    /// `write(data)`.
    fn write(&self, data: Bytes) -> BoxFuture<'_, Result<(), ExcInfo>>;
}

/// The WSGI environ of one request.
///
/// [`vars`](Environ::vars) holds the native-string keys (CGI variables and
/// `wsgi.url_scheme`); the other `wsgi.*` values are typed fields.
pub struct Environ {
    /// CGI variables and `wsgi.url_scheme`, as native strings.
    pub vars: Vars,
    /// `wsgi.input`.
    pub input: InputStream,
    /// `wsgi.errors`.
    pub errors: ErrorStream,
    /// `wsgi.version`.
    pub version: (u32, u32),
    /// `wsgi.multithread`.
    pub multithread: bool,
    /// `wsgi.multiprocess`.
    pub multiprocess: bool,
    /// `wsgi.run_once`.
    pub run_once: bool,
    /// Whether `wsgi.file_wrapper` is offered.
    pub file_wrapper: bool,
    /// `wsgi.input_terminated`: `input` ends where the request body ends.
    pub input_terminated: bool,
}

impl Environ {
    /// The value of a native-string key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }
}

/// The application's return value: PEP 3333's response iterable.
pub enum Body {
    /// A list of chunks (it has a length and no `close`).
    Chunks(VecDeque<Bytes>),
    /// Any other iterable: pulled chunk by chunk, then closed.
    Iter(Box<dyn BodyIter>),
    /// `wsgi.file_wrapper(file, blksize)` over a real file: the handler's
    /// `sendfile()` sends it without involving the app.
    File(FileBody),
}

/// The largest block a [`FileBody`] is read in: a guest asking for a
/// larger `blksize` (a terabyte, say) gets blocks of this size, instead of
/// a host allocation outside every memory limit.
pub const MAX_BLKSIZE: usize = 1 << 20;

/// A file to send as the body, from `offset` to its end.
pub struct FileBody {
    file: Arc<std::fs::File>,
    offset: u64,
    /// Where iteration has got to.
    pos: u64,
    blksize: usize,
    close: Option<Box<dyn BodyIter>>,
}

impl FileBody {
    /// The body `file[offset..]`, read in blocks of `blksize` when it is
    /// iterated rather than sent whole. The block size is the app's choice
    /// but each block is a host allocation, so it is held to
    /// [`MAX_BLKSIZE`].
    pub fn new(file: Arc<std::fs::File>, offset: u64, blksize: usize) -> Self {
        FileBody {
            file,
            offset,
            pos: offset,
            blksize: blksize.clamp(1, MAX_BLKSIZE),
            close: None,
        }
    }

    /// Adds the `close()` of the app's wrapper, called once the file is sent.
    pub fn with_close(mut self, close: Box<dyn BodyIter>) -> Self {
        self.close = Some(close);
        self
    }

    /// Where the body starts within the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The wrapper's block size.
    pub fn blksize(&self) -> usize {
        self.blksize
    }

    /// The bytes from `offset` to the end of the file, now.
    pub fn remaining(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len().saturating_sub(self.offset))
    }

    /// Up to `len` bytes at `pos`: fewer only at the end of the file.
    ///
    /// Read on the calling thread, as nginx reads files without `aio
    /// threads`: a read from the page cache takes microseconds, and a hop
    /// to tokio's blocking pool for each block cost more than the read
    /// (an 8 KiB-block body went 3x faster without it).
    pub fn read_at(&self, pos: u64, len: usize) -> std::io::Result<Bytes> {
        read_at(&self.file, pos, len)
    }

    /// FileWrapper iteration: the next `blksize` block, `None` at the first
    /// empty read.
    pub fn next_block(&mut self) -> std::io::Result<Option<Bytes>> {
        let block = self.read_at(self.pos, self.blksize)?;
        self.pos += block.len() as u64;
        Ok((!block.is_empty()).then_some(block))
    }

    /// The wrapper's `close()`, if the app gave one.
    pub async fn close(&mut self) -> Result<(), ExcInfo> {
        match self.close.as_mut() {
            Some(close) => close.close().await,
            None => Ok(()),
        }
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, pos: u64, len: usize) -> std::io::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], pos + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

#[cfg(not(unix))]
fn read_at(file: &std::fs::File, pos: u64, len: usize) -> std::io::Result<Bytes> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}

impl Body {
    /// A lazy body over `items` (an `Err` item raises mid-body) with a
    /// `close()` that runs `on_close`; for native apps and tests.
    pub fn lazy(
        items: Vec<Result<Bytes, ExcInfo>>,
        on_close: impl FnOnce() -> Result<(), ExcInfo> + Send + 'static,
    ) -> Self {
        Body::Iter(Box::new(LazyBody {
            items: items.into_iter(),
            on_close: Some(Box::new(on_close)),
            len: None,
        }))
    }

    /// Like [`Body::lazy`], but claiming `len(result) == len` as a Python
    /// object with `__len__` could (only a length of 1 matters to handlers).
    pub fn lazy_with_len(items: Vec<Result<Bytes, ExcInfo>>, len: Result<usize, ExcInfo>) -> Self {
        Body::Iter(Box::new(LazyBody {
            items: items.into_iter(),
            on_close: None,
            len: Some(len),
        }))
    }
}

impl Body {
    /// `len(result)`: a list's length, an iterable's own `len`, or `None`.
    pub fn len(&self) -> Result<Option<usize>, ExcInfo> {
        match self {
            Body::Chunks(chunks) => Ok(Some(chunks.len())),
            Body::Iter(iter) => iter.len(),
            Body::File(_) => Ok(None),
        }
    }

    /// The next item of the iterable, whatever its kind (a file gives its
    /// wrapper's `blksize` blocks); `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, ExcInfo> {
        match self {
            Body::Chunks(chunks) => Ok(chunks.pop_front()),
            Body::Iter(iter) => iter.next().await,
            Body::File(file) => Ok(file.next_block()?),
        }
    }

    /// `result.close()`, for the kinds that have one.
    pub async fn close(&mut self) -> Result<(), ExcInfo> {
        match self {
            Body::Chunks(_) => Ok(()),
            Body::Iter(iter) => iter.close().await,
            Body::File(file) => file.close().await,
        }
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::Chunks([Bytes::from_static(text.as_bytes())].into())
    }
}

impl From<Vec<u8>> for Body {
    fn from(chunk: Vec<u8>) -> Self {
        Body::Chunks([Bytes::from(chunk)].into())
    }
}

/// A lazy response iterable with `close()`.
#[allow(clippy::len_without_is_empty)]
pub trait BodyIter: Send {
    /// The next chunk, `None` at the end, or the exception the iterator raised.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>>;
    /// `close()`: called once when the handler is done with the body.
    fn close(&mut self) -> BoxFuture<'_, Result<(), ExcInfo>>;
    /// `len(result)`, when the iterable has one (`Ok(None)`: it has none).
    fn len(&self) -> Result<Option<usize>, ExcInfo> {
        Ok(None)
    }
}

type CloseFn = Box<dyn FnOnce() -> Result<(), ExcInfo> + Send>;

struct LazyBody {
    items: std::vec::IntoIter<Result<Bytes, ExcInfo>>,
    on_close: Option<CloseFn>,
    len: Option<Result<usize, ExcInfo>>,
}

impl BodyIter for LazyBody {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, ExcInfo>> {
        let item = self.items.next();
        Box::pin(async move { item.transpose() })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), ExcInfo>> {
        let on_close = self.on_close.take();
        Box::pin(async move { on_close.map_or(Ok(()), |f| f()) })
    }

    fn len(&self) -> Result<Option<usize>, ExcInfo> {
        self.len.clone().transpose()
    }
}
