use std::cell::RefCell;

use super::__private::bindings::exports::wasgi::wsgi::application as wit_app;
use super::__private::{Response, to_wit};

pub(crate) type Chunks = Box<dyn Iterator<Item = crate::Result<Vec<u8>>>>;
pub(crate) type Close = Box<dyn FnOnce() -> crate::Result<()>>;

/// What an application returns: the response body.
///
/// * a list of chunks known up front ([`Body::from`] a `Vec`, `&str`,
///   `Vec<u8>`, ...): the whole response crosses into the host in one call,
///   and a one-chunk list gets a `Content-Length`;
/// * a lazy iterator ([`Body::from_iter`], [`Body::try_from_iter`], or a
///   [`FileWrapper`](crate::FileWrapper) over any reader): chunks are pulled
///   one at a time, like a Python generator;
/// * a file the host sends itself ([`Environ::wrap_file`](super::Environ::wrap_file));
/// * any of these with a `close()` hook ([`Body::on_close`]) that the host
///   calls exactly once when the response is over, on success and on error.
pub struct Body(Inner);

enum Inner {
    Chunks(Vec<Vec<u8>>),
    Lazy {
        chunks: Chunks,
        close: Option<Close>,
    },
    File {
        file: super::fs::File,
        blksize: usize,
        close: Option<Close>,
    },
}

impl Body {
    /// An empty list: no body.
    pub fn empty() -> Self {
        Body(Inner::Chunks(Vec::new()))
    }

    /// A list of chunks.
    pub fn from_chunks<C: Into<Vec<u8>>>(chunks: impl IntoIterator<Item = C>) -> Self {
        Body(Inner::Chunks(chunks.into_iter().map(Into::into).collect()))
    }

    /// A lazy body: the host pulls one chunk at a time.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<C, I>(iter: I) -> Self
    where
        C: Into<Vec<u8>>,
        I: IntoIterator<Item = C>,
        I::IntoIter: 'static,
    {
        Body::try_from_iter(iter.into_iter().map(|c| Ok(c.into())))
    }

    /// A lazy body whose iterator may raise: an `Err` item is an exception
    /// in the middle of the body.
    pub fn try_from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = crate::Result<Vec<u8>>>,
        I::IntoIter: 'static,
    {
        Body(Inner::Lazy {
            chunks: Box::new(iter.into_iter()),
            close: None,
        })
    }

    /// A file the host sends itself (see [`Environ::wrap_file`](super::Environ::wrap_file)).
    pub(crate) fn host_file(file: super::fs::File, blksize: usize) -> Self {
        Body(Inner::File {
            file,
            blksize,
            close: None,
        })
    }

    /// Adds a `close()` hook, run once when the host is done with the body.
    /// A list becomes an iterable (like a Python object with `close`), so it
    /// no longer gets an automatic `Content-Length`.
    pub fn on_close(self, close: impl FnOnce() -> crate::Result<()> + 'static) -> Self {
        let close: Close = Box::new(close);
        Body(match self.0 {
            Inner::Chunks(list) => Inner::Lazy {
                chunks: Box::new(list.into_iter().map(Ok)),
                close: Some(close),
            },
            Inner::Lazy {
                chunks,
                close: first,
            } => Inner::Lazy {
                chunks,
                close: Some(chain(first, close)),
            },
            Inner::File {
                file,
                blksize,
                close: first,
            } => Inner::File {
                file,
                blksize,
                close: Some(chain(first, close)),
            },
        })
    }

    pub(crate) fn into_response(self) -> Response {
        let resource = |chunks: Option<Chunks>, close: Option<Close>| {
            wit_app::Body::new(GuestBody(RefCell::new(State { chunks, close })))
        };
        match self.0 {
            Inner::Chunks(list) => Response::Chunks(list),
            Inner::Lazy { chunks, close } => Response::Iterable(resource(Some(chunks), close)),
            Inner::File {
                file,
                blksize,
                close,
            } => {
                let (descriptor, offset) = file.into_parts();
                Response::File(wit_app::FileBody {
                    file: descriptor,
                    offset,
                    blksize: blksize as u64,
                    close: close.map(|c| resource(None, Some(c))),
                })
            }
        }
    }
}

impl Body {
    /// The body taken apart for a consumer inside the guest: its length
    /// when it is a list, its chunks (a file is read in its block size),
    /// and its `close()`.
    pub(crate) fn into_parts(self) -> (Option<usize>, Chunks, Option<Close>) {
        match self.0 {
            Inner::Chunks(list) => (Some(list.len()), Box::new(list.into_iter().map(Ok)), None),
            Inner::Lazy { chunks, close } => (None, chunks, close),
            Inner::File {
                file,
                blksize,
                close,
            } => {
                let blocks = crate::FileWrapper::new(file, blksize);
                (
                    None,
                    Box::new(blocks.map(|b| b.map_err(crate::Error::from))),
                    close,
                )
            }
        }
    }

    /// The body as the validator's `IteratorWrapper`: a lazy body whose
    /// items and `close()` are checked against `state`. Like wsgiref's
    /// wrapper it has no length and no file.
    pub(crate) fn checked(self, state: super::validator::State, errors: super::Errors) -> Body {
        let (_, chunks, close) = self.into_parts();
        let mut chunks = chunks;
        let (next_state, next_errors) = (state.clone(), errors.clone());
        let items = std::iter::from_fn(move || {
            let item = chunks.next();
            let len = match &item {
                Some(Ok(chunk)) => Some(chunk.len()),
                Some(Err(_)) => return item,
                None => None,
            };
            let checked = next_state.borrow_mut().next_item(len);
            match checked {
                Ok(()) => item,
                Err(v) => Some(Err(super::validator::raise(&next_errors, v))),
            }
        });
        Body(Inner::Lazy {
            chunks: Box::new(items),
            close: Some(Box::new(move || {
                let checked = state.borrow_mut().close();
                let closed = close.map_or(Ok(()), |c| c());
                checked.map_err(|v| super::validator::raise(&errors, v))?;
                closed
            })),
        })
    }
}

/// Runs `first` (if any), then `second`; the first error wins.
fn chain(first: Option<Close>, second: Close) -> Close {
    Box::new(move || {
        let a = first.map_or(Ok(()), |f| f());
        let b = second();
        a.and(b)
    })
}

thread_local! {
    /// Whether this request's environ offers `wsgi.file_wrapper` (one
    /// instance serves one request, so this is per request).
    static FILE_WRAPPER_OFFERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records whether the request's server offers `wsgi.file_wrapper`.
pub(crate) fn set_file_wrapper_offered(offered: bool) {
    FILE_WRAPPER_OFFERED.with(|f| f.set(offered));
}

/// A [`FileWrapper`](crate::FileWrapper) as the body.
///
/// Over a [`wasgi::fs::File`](super::fs::File), when the server offers
/// `wsgi.file_wrapper`, the host sends the file itself from the wrapper's
/// position. Over any other reader (or without `wsgi.file_wrapper`) the
/// guest streams it block by block; dropping the reader closes it.
impl<R: std::io::Read + 'static> From<crate::FileWrapper<R>> for Body {
    fn from(wrapper: crate::FileWrapper<R>) -> Self {
        let boxed: Box<dyn std::any::Any> = Box::new(wrapper);
        let wrapper = match boxed.downcast::<crate::FileWrapper<super::fs::File>>() {
            Ok(file_wrapper) if FILE_WRAPPER_OFFERED.with(|f| f.get()) => {
                let blksize = file_wrapper.blksize();
                return match file_wrapper.into_inner() {
                    Some(file) => Body::host_file(file, blksize),
                    None => Body::empty(),
                };
            }
            Ok(file_wrapper) => file_wrapper as Box<dyn std::any::Any>,
            Err(other) => other,
        };
        match wrapper.downcast::<crate::FileWrapper<R>>() {
            Ok(wrapper) => streamed(*wrapper),
            // Only the two types above were ever boxed.
            Err(_) => Body::empty(),
        }
    }
}

pub(crate) fn streamed<R: std::io::Read + 'static>(wrapper: crate::FileWrapper<R>) -> Body {
    Body::try_from_iter(wrapper.map(|block| block.map_err(crate::Error::from)))
}

impl From<Vec<Vec<u8>>> for Body {
    fn from(chunks: Vec<Vec<u8>>) -> Self {
        Body(Inner::Chunks(chunks))
    }
}

impl From<Vec<u8>> for Body {
    fn from(chunk: Vec<u8>) -> Self {
        Body(Inner::Chunks(vec![chunk]))
    }
}

impl From<&[u8]> for Body {
    fn from(chunk: &[u8]) -> Self {
        Body(Inner::Chunks(vec![chunk.to_vec()]))
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Body(Inner::Chunks(vec![text.as_bytes().to_vec()]))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body(Inner::Chunks(vec![text.into_bytes()]))
    }
}

struct State {
    chunks: Option<Chunks>,
    close: Option<Close>,
}

/// The exported `body` resource behind a lazy [`Body`].
#[doc(hidden)]
pub struct GuestBody(RefCell<State>);

impl wit_app::GuestBody for GuestBody {
    fn next(&self) -> Result<Option<Vec<u8>>, super::__private::WitExcInfo> {
        let mut state = self.0.borrow_mut();
        let Some(chunks) = state.chunks.as_mut() else {
            return Ok(None);
        };
        match chunks.next() {
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(e)) => Err(to_wit(e)),
            None => Ok(None),
        }
    }

    fn close(&self) -> Result<(), super::__private::WitExcInfo> {
        let mut state = self.0.borrow_mut();
        // Dropping the iterator first releases what it holds (files, ...).
        state.chunks = None;
        match state.close.take() {
            Some(close) => close().map_err(to_wit),
            None => Ok(()),
        }
    }
}
