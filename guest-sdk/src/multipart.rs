//! `multipart/form-data` request bodies (HTML forms with file uploads),
//! read as a stream with size limits: what `cgi.FieldStorage` and the
//! `multipart` package give a Python app.
//!
//! The parsing is the [`multer`] crate's; this module drives it from a
//! blocking reader such as `wsgi.input`, part by part, so an upload is
//! never held in memory unless the app asks for it whole:
//!
//! ```ignore
//! use std::io::Read;
//! use wasgi::multipart::{Limits, Multipart};
//!
//! let mut form = Multipart::from_environ(&mut environ, Limits::default())?;
//! while let Some(mut part) = form.next_part()? {
//!     match part.filename() {
//!         Some(file) => { let n = std::io::copy(&mut part, &mut sink)?; }
//!         None => { let value = part.text()?; }
//!     }
//! }
//! ```
//!
//! A body over a limit fails with [`MultipartError::TooLarge`]
//! ([`MultipartError::status`] says `413 Payload Too Large`); a malformed
//! one with [`MultipartError::Malformed`] (`400 Bad Request`).

use std::future::Future;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::Stream;

/// How much of a multipart body is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The whole body, boundaries included (default 64 MiB).
    pub body: u64,
    /// One part's content (default 64 MiB).
    pub part: u64,
    /// The number of parts (default 1,000).
    pub parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: 64 << 20,
            part: 64 << 20,
            parts: 1000,
        }
    }
}

/// Why a multipart body could not be read.
#[derive(Debug)]
pub enum MultipartError {
    /// The body, a part, or the number of parts is over its [`Limits`].
    TooLarge(String),
    /// The body is not valid `multipart/form-data` (or is not multipart).
    Malformed(String),
    /// Reading the request body failed.
    Io(io::Error),
}

impl MultipartError {
    /// The status an app answers with: `413 Payload Too Large` or
    /// `400 Bad Request`.
    pub fn status(&self) -> &'static str {
        match self {
            MultipartError::TooLarge(_) => "413 Payload Too Large",
            MultipartError::Malformed(_) | MultipartError::Io(_) => "400 Bad Request",
        }
    }

    fn from_multer(e: multer::Error) -> Self {
        use multer::Error as E;
        match e {
            E::FieldSizeExceeded { .. } | E::StreamSizeExceeded { .. } => {
                MultipartError::TooLarge(e.to_string())
            }
            E::StreamReadFailed(cause) => match cause.downcast::<io::Error>() {
                Ok(io) => MultipartError::Io(*io),
                Err(cause) => MultipartError::Io(io::Error::other(cause)),
            },
            e => MultipartError::Malformed(e.to_string()),
        }
    }
}

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MultipartError::TooLarge(why) => write!(f, "multipart body too large: {why}"),
            MultipartError::Malformed(why) => write!(f, "malformed multipart body: {why}"),
            MultipartError::Io(e) => write!(f, "reading the multipart body failed: {e}"),
        }
    }
}

impl std::error::Error for MultipartError {}

impl From<MultipartError> for crate::Error {
    #[track_caller]
    fn from(e: MultipartError) -> Self {
        let kind = match e {
            MultipartError::Io(_) => "OSError",
            _ => "ValueError",
        };
        crate::Error::new(kind, e.to_string())
    }
}

/// An I/O error back as what it was: a [`Part`]'s `read` reports a
/// [`MultipartError`] inside an [`io::Error`].
impl From<io::Error> for MultipartError {
    fn from(e: io::Error) -> Self {
        if !e
            .get_ref()
            .is_some_and(|inner| inner.is::<MultipartError>())
        {
            return MultipartError::Io(e);
        }
        let kind = e.kind();
        match e
            .into_inner()
            .map(|inner| inner.downcast::<MultipartError>())
        {
            Some(Ok(original)) => *original,
            Some(Err(other)) => MultipartError::Io(io::Error::new(kind, other)),
            None => MultipartError::Io(kind.into()),
        }
    }
}

impl From<MultipartError> for io::Error {
    fn from(e: MultipartError) -> Self {
        match e {
            MultipartError::Io(e) => e,
            MultipartError::TooLarge(_) => io::Error::new(io::ErrorKind::FileTooLarge, e),
            MultipartError::Malformed(_) => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// The boundary of a `multipart/form-data` `Content-Type`, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    multer::parse_boundary(content_type).ok()
}

/// A `multipart/form-data` body, read part by part from `R`.
///
/// Not `Send` unless `R` is: the parser runs on the reader's thread only.
pub struct Multipart<'r, R> {
    inner: multer::Multipart<'r>,
    parts: usize,
    limit: usize,
    _reader: PhantomData<R>,
}

/// Lets a reader that is not `Send` feed [`multer`], which asks for `Send`
/// streams. Sound because the parser holding it lives in a [`Multipart`]
/// that is `Send` only when `R` is (`PhantomData<R>`), and so are its
/// [`Part`]s.
struct Feed<R>(R);

// SAFETY: see `Feed`: a `Feed<R>` is only reachable through values that are
// `Send` exactly when `R` is.
unsafe impl<R> Send for Feed<R> {}

/// How much is read from the body at a time.
const READ_SIZE: usize = 16 * 1024;

impl<R: Read + Unpin> Stream for Feed<R> {
    type Item = io::Result<Bytes>;

    fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let reader = &mut self.get_mut().0;
        let mut buf = vec![0; READ_SIZE];
        Poll::Ready(loop {
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    buf.truncate(n);
                    break Some(Ok(Bytes::from(buf)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(Err(e)),
            }
        })
    }
}

/// Runs a future whose every wait is a blocking read that has already
/// happened: it is ready at its first poll.
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

impl<'r, R: Read + Unpin + 'r> Multipart<'r, R> {
    /// Reads the body from `reader`, with parts separated by `boundary`.
    pub fn new(reader: R, boundary: &str, limits: Limits) -> Self {
        let size = multer::SizeLimit::new()
            .whole_stream(limits.body)
            .per_field(limits.part);
        let constraints = multer::Constraints::new().size_limit(size);
        Multipart {
            inner: multer::Multipart::with_constraints(Feed(reader), boundary, constraints),
            parts: 0,
            limit: limits.parts,
            _reader: PhantomData,
        }
    }

    /// The next part; `None` after the last. Whatever the app did not
    /// read of the previous part is skipped (a part borrows the body, so
    /// it is gone by then).
    pub fn next_part(&mut self) -> Result<Option<Part<'_, 'r, R>>, MultipartError> {
        let field = now(self.inner.next_field()).map_err(MultipartError::from_multer)?;
        let Some(field) = field else {
            return Ok(None);
        };
        self.parts += 1;
        if self.parts > self.limit {
            return Err(MultipartError::TooLarge(format!(
                "more than {} parts",
                self.limit
            )));
        }
        Ok(Some(Part {
            field,
            pending: Bytes::new(),
            _reader: PhantomData,
        }))
    }
}

/// One part of a multipart body: a form field or an uploaded file. Read
/// it with [`std::io::Read`], or whole with [`Part::data`] or
/// [`Part::text`].
pub struct Part<'m, 'r, R> {
    field: multer::Field<'r>,
    pending: Bytes,
    _reader: PhantomData<(&'m mut (), R)>,
}

impl<R> Part<'_, '_, R> {
    /// The field's name (`name=` of its `Content-Disposition`).
    pub fn name(&self) -> Option<&str> {
        self.field.name()
    }

    /// The uploaded file's name (`filename=`, or `filename*=` decoded), as
    /// the client sent it: never use it as a path unchecked.
    pub fn filename(&self) -> Option<&str> {
        self.field.file_name()
    }

    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<String> {
        self.field.content_type().map(|m| m.to_string())
    }

    /// One of the part's headers, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.field.headers().get(name)?.to_str().ok()
    }

    /// The rest of the part as bytes (bounded by [`Limits::part`]).
    pub fn data(&mut self) -> Result<Vec<u8>, MultipartError> {
        let mut out = std::mem::take(&mut self.pending).to_vec();
        while let Some(chunk) = self.chunk()? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The rest of the part as UTF-8 text (invalid sequences replaced).
    pub fn text(&mut self) -> Result<String, MultipartError> {
        Ok(String::from_utf8_lossy(&self.data()?).into_owned())
    }

    fn chunk(&mut self) -> Result<Option<Bytes>, MultipartError> {
        now(self.field.chunk()).map_err(MultipartError::from_multer)
    }
}

/// Makes a part's borrow of its [`Multipart`] last until the part is
/// dropped, so `next_part` cannot be called while a part is alive (the
/// parser would refuse it at run time).
impl<R> Drop for Part<'_, '_, R> {
    fn drop(&mut self) {}
}

impl<R> Read for Part<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            match self.chunk()? {
                Some(chunk) => self.pending = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}

#[cfg(target_arch = "wasm32")]
impl<'e> Multipart<'e, &'e mut crate::Input> {
    /// The request's `multipart/form-data` body, read from `wsgi.input`;
    /// [`MultipartError::Malformed`] if the request is not one.
    pub fn from_environ(
        environ: &'e mut crate::Environ,
        limits: Limits,
    ) -> Result<Self, MultipartError> {
        let content_type = environ.get("CONTENT_TYPE").unwrap_or_default();
        let Some(boundary) = boundary(content_type) else {
            return Err(MultipartError::Malformed(format!(
                "the request's Content-Type is {}, not multipart/form-data with a boundary",
                crate::pyrepr::str(content_type)
            )));
        };
        Ok(Multipart::new(&mut environ.input, &boundary, limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "--XyZ\r\n\
        Content-Disposition: form-data; name=\"title\"\r\n\r\n\
        caf\u{e9}\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        line 1\r\nline 2\r\n\
        --XyZ--\r\n";

    #[test]
    fn parts_stream_in_order() {
        let mut form = Multipart::new(BODY.as_bytes(), "XyZ", Limits::default());
        let mut title = form.next_part().unwrap().unwrap();
        assert_eq!(title.name(), Some("title"));
        assert_eq!(title.filename(), None);
        assert_eq!(title.text().unwrap(), "caf\u{e9}");
        drop(title);
        let mut upload = form.next_part().unwrap().unwrap();
        assert_eq!(upload.filename(), Some("a.txt"));
        assert_eq!(upload.content_type().as_deref(), Some("text/plain"));
        let mut data = String::new();
        upload.read_to_string(&mut data).unwrap();
        assert_eq!(data, "line 1\r\nline 2");
        drop(upload);
        assert!(form.next_part().unwrap().is_none());
    }

    #[test]
    fn limits_and_malformed_bodies_fail_with_their_status() {
        let small = Limits {
            part: 3,
            ..Limits::default()
        };
        let mut form = Multipart::new(BODY.as_bytes(), "XyZ", small);
        let e = form.next_part().unwrap().unwrap().data().unwrap_err();
        assert_eq!(e.status(), "413 Payload Too Large", "{e}");
        let one = Limits {
            parts: 1,
            ..Limits::default()
        };
        let mut form = Multipart::new(BODY.as_bytes(), "XyZ", one);
        form.next_part().unwrap();
        assert!(matches!(form.next_part(), Err(MultipartError::TooLarge(_))));
        let cut = &BODY[..BODY.len() - 20];
        let mut form = Multipart::new(cut.as_bytes(), "XyZ", Limits::default());
        form.next_part().unwrap();
        let e = form
            .next_part()
            .and_then(|p| p.map(|mut p| p.data()).transpose());
        assert_eq!(e.unwrap_err().status(), "400 Bad Request");
    }

    #[test]
    fn boundary_only_for_form_data() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/mixed; boundary=x"), None);
        assert_eq!(boundary("text/plain"), None);
    }
}
