//! The WSGI callable on the host side: [`Application`], its [`Environ`] and
//! the [`Body`] it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use wasgi::{ExcInfo, Vars};

use crate::handlers::StartResponse;
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
    Chunks(Vec<Bytes>),
    /// Any other iterable: pulled chunk by chunk, then closed.
    Iter(Box<dyn BodyIter>),
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

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::Chunks(vec![Bytes::from_static(text.as_bytes())])
    }
}

impl From<Vec<u8>> for Body {
    fn from(chunk: Vec<u8>) -> Self {
        Body::Chunks(vec![Bytes::from(chunk)])
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
