//! The exception type shared by guests and the host: PEP 3333's `exc_info`.

use std::fmt;
use std::panic::Location;

/// An exception: what an app raises, what a rule-breaking call fails with,
/// and what `start_response` receives as `exc_info`.
///
/// `kind` is the Python exception class name (`ValueError`,
/// `AssertionError`, ...), `message` is `str(exc)`, and `traceback` holds one
/// line per frame, outermost first.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    /// The exception class name.
    pub kind: String,
    /// The exception message; may be empty.
    pub message: String,
    /// Traceback lines, outermost frame first.
    pub traceback: Vec<String>,
}

/// PEP 3333 calls the error triple `exc_info`; in wasgi it is [`Error`].
pub type ExcInfo = Error;

/// The result of a WSGI operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new exception of class `kind`, with the caller's source location
    /// as its one traceback frame.
    #[track_caller]
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: kind.into(),
            message: message.into(),
            traceback: vec![frame(Location::caller())],
        }
    }

    /// An exception without traceback frames.
    pub fn bare(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: kind.into(),
            message: message.into(),
            traceback: Vec::new(),
        }
    }

    /// `AssertionError(message)`: how wsgiref reports a broken rule.
    #[track_caller]
    pub fn assertion(message: impl Into<String>) -> Self {
        Error::new("AssertionError", message)
    }

    /// Adds the caller's source location as the outermost traceback frame:
    /// a call into the server that failed names the app's line that made
    /// it, as the frame of the calling function does in Python.
    #[track_caller]
    pub fn called_from_here(mut self) -> Self {
        self.traceback.insert(0, frame(Location::caller()));
        self
    }

    /// Adds a traceback frame below the existing ones (innermost).
    pub fn with_frame(mut self, line: impl Into<String>) -> Self {
        self.traceback.push(line.into());
        self
    }

    /// Whether this is one of the client-disconnect errors that wsgiref's
    /// handlers swallow silently (`BrokenPipeError`, `ConnectionResetError`,
    /// `ConnectionAbortedError`).
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "BrokenPipeError" | "ConnectionResetError" | "ConnectionAbortedError"
        )
    }

    /// The text `traceback.print_exception` would print: a
    /// `Traceback (most recent call last):` header and the frames (at most
    /// `limit` of them, outermost first; none and no header when `limit` is
    /// 0), then the `Kind: message` line.
    pub fn format_exception(&self, limit: Option<usize>) -> String {
        let frames = match limit {
            Some(n) => &self.traceback[..n.min(self.traceback.len())],
            None => &self.traceback[..],
        };
        let mut out = String::new();
        if !frames.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            for line in frames {
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str(&self.to_string());
        out.push('\n');
        out
    }
}

/// `Kind: message`, or just `Kind` when the message is empty, as Python
/// prints the last line of a traceback.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.message)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.kind, crate::pyrepr::str(&self.message))
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    #[track_caller]
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::BrokenPipe => "BrokenPipeError",
            K::ConnectionReset => "ConnectionResetError",
            K::ConnectionAborted => "ConnectionAbortedError",
            K::NotFound => "FileNotFoundError",
            K::PermissionDenied => "PermissionError",
            K::TimedOut => "TimeoutError",
            K::OutOfMemory => "MemoryError",
            K::InvalidInput | K::InvalidData => "ValueError",
            _ => "OSError",
        };
        Error::new(kind, err.to_string())
    }
}

#[cfg(all(target_arch = "wasm32", feature = "sqlite"))]
impl From<rusqlite::Error> for Error {
    /// As Python's `sqlite3` names them: `OperationalError` for what
    /// SQLite refused (`database is locked`, `database or disk is full`).
    #[track_caller]
    fn from(err: rusqlite::Error) -> Self {
        let kind = match err {
            rusqlite::Error::SqliteFailure(..) => "sqlite3.OperationalError",
            _ => "sqlite3.Error",
        };
        Error::new(kind, err.to_string())
    }
}

impl From<crate::util::EnvironError> for Error {
    #[track_caller]
    fn from(err: crate::util::EnvironError) -> Self {
        Error::new(err.kind(), err.to_string())
    }
}

impl From<crate::headers::HeaderError> for Error {
    #[track_caller]
    fn from(err: crate::headers::HeaderError) -> Self {
        Error::new("ValueError", err.to_string())
    }
}

impl From<String> for Error {
    #[track_caller]
    fn from(message: String) -> Self {
        Error::new("Exception", message)
    }
}

impl From<&str> for Error {
    #[track_caller]
    fn from(message: &str) -> Self {
        Error::new("Exception", message)
    }
}

fn frame(loc: &Location<'_>) -> String {
    format!("  File \"{}\", line {}", loc.file(), loc.line())
}
