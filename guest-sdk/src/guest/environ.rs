use std::ops::Index;

use super::__private::WitEnviron;
use super::{Body, Errors, Input};
use crate::util::Vars;

/// The WSGI environ of one request.
///
/// [`vars`](Environ::vars) holds every native-string key: the CGI variables
/// and `wsgi.url_scheme`. Native strings have one char (U+0000..U+00FF) per
/// byte of the request; [`Environ::bytes`] and [`Environ::text`] turn them
/// back into bytes or UTF-8 text. The other `wsgi.*` values are fields.
pub struct Environ {
    /// CGI variables and `wsgi.url_scheme`, as native strings.
    pub vars: Vars,
    /// `wsgi.input`: the request body.
    pub input: Input,
    /// `wsgi.errors`: the server's error log.
    pub errors: Errors,
    /// `wsgi.version`.
    pub version: (u32, u32),
    /// `wsgi.multithread`.
    pub multithread: bool,
    /// `wsgi.multiprocess`.
    pub multiprocess: bool,
    /// `wsgi.run_once`.
    pub run_once: bool,
    /// Whether `wsgi.file_wrapper` is offered by the server.
    pub file_wrapper: bool,
    /// `wsgi.input_terminated`: reading `input` to its end is safe.
    pub input_terminated: bool,
}

impl Environ {
    pub(crate) fn from_wit(environ: WitEnviron, input: Input, errors: Errors) -> Self {
        Environ {
            vars: environ.vars.into_iter().collect(),
            input,
            errors,
            version: environ.version,
            multithread: environ.multithread,
            multiprocess: environ.multiprocess,
            run_once: environ.run_once,
            file_wrapper: environ.file_wrapper,
            input_terminated: environ.input_terminated,
        }
    }

    /// The value of `key` (`environ.get(key)`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Sets `key` (`environ[key] = value`).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.vars.remove(key)
    }

    /// `wsgi.url_scheme`: `http` or `https`.
    pub fn url_scheme(&self) -> &str {
        self.get("wsgi.url_scheme").unwrap_or("http")
    }

    /// The bytes a native-string value stands for.
    pub fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.get(key).and_then(crate::util::to_bytes)
    }

    /// `environ['wsgi.file_wrapper'](file, blksize)`: the body that sends
    /// `file` from its current position. When the server offers
    /// `wsgi.file_wrapper` the host sends the file itself; otherwise the
    /// guest streams it in `blksize` blocks.
    pub fn wrap_file(&self, file: super::fs::File, blksize: usize) -> Body {
        if self.file_wrapper {
            Body::host_file(file, blksize)
        } else {
            super::body::streamed(crate::FileWrapper::new(file, blksize))
        }
    }

    /// A native-string value decoded as UTF-8 (invalid sequences replaced),
    /// e.g. `environ.text("PATH_INFO")` gives `/café` for `/caf%C3%A9`.
    pub fn text(&self, key: &str) -> Option<String> {
        self.bytes(key)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// `environ[key]`; panics like a `KeyError` when the key is missing.
impl Index<&str> for Environ {
    type Output = str;

    fn index(&self, key: &str) -> &str {
        match self.vars.get(key) {
            Some(v) => v,
            None => panic!("KeyError: {}", crate::pyrepr::str(key)),
        }
    }
}
