//! `wsgiref.validate`'s rules, once, for every validator wasgi has: the
//! host's `host::validate::validator` (which checks a component at the wasm
//! boundary) and the guest SDK's `wasgi::validate::validator` (for
//! middleware stacks inside a guest).
//!
//! Messages are CPython's, word for word, where wsgiref has the rule; the
//! rules wsgiref lacks (marked "wasgi" below) are worded the same way. A
//! typed API makes wsgiref's type checks (str versus bytes, list versus
//! tuple, argument counts) impossible to break, so they have no rule here.

use crate::pyrepr;
use crate::util::{Vars, is_hop_by_hop};

/// Every diagnostic starts with this, in logs and in `wsgi.errors`.
pub const PREFIX: &str = "wsgi validator: ";

/// A broken rule: the exception the validator raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The Python exception class (`AssertionError`, `KeyError`, `ValueError`
    /// or `IndexError`), as wsgiref raises it.
    pub kind: &'static str,
    /// The message, naming the rule and showing the offending value.
    pub message: String,
}

impl Violation {
    fn assertion(message: impl Into<String>) -> Self {
        Violation {
            kind: "AssertionError",
            message: message.into(),
        }
    }

    /// The line written to `wsgi.errors`: `wsgi validator: <message>`, or
    /// `wsgi validator: <Kind>: <message>` for the exceptions wsgiref lets
    /// Python raise (a `KeyError` for a missing key, a `ValueError` for a
    /// status code that is not a number, ...).
    pub fn diagnostic(&self) -> String {
        if self.kind == "AssertionError" {
            format!("{PREFIX}{}\n", self.message)
        } else {
            format!("{PREFIX}{}: {}\n", self.kind, self.message)
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<Violation> for crate::Error {
    #[track_caller]
    fn from(v: Violation) -> Self {
        crate::Error::new(v.kind, v.message)
    }
}

/// A questionable but allowed behaviour (`WSGIWarning`), as the line
/// written to `wsgi.errors`.
pub fn warning_line(message: &str) -> String {
    format!("{PREFIX}WSGIWarning: {message}\n")
}

/// The request methods that draw no warning.
const KNOWN_METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE", "TRACE",
];

/// `check_environ(environ)`: the server's side of the contract, in
/// wsgiref's order. Warnings are appended to `warnings`.
pub fn check_environ(environ: &Vars, warnings: &mut Vec<String>) -> Result<(), Violation> {
    let get = |k: &str| environ.get(k).map(String::as_str);
    for key in ["REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT"] {
        if !environ.contains_key(key) {
            return Err(Violation::assertion(format!(
                "Environment missing required key: {}",
                pyrepr::str(key)
            )));
        }
    }
    for key in ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"] {
        if environ.contains_key(key) {
            return Err(Violation::assertion(format!(
                "Environment should not have the key: {key} (use {} instead)",
                &key[5..]
            )));
        }
    }
    if !environ.contains_key("QUERY_STRING") {
        warnings.push(
            "QUERY_STRING is not in the WSGI environment; the cgi module will use sys.argv when this variable is missing, so application errors are more likely"
                .to_string(),
        );
    }
    // wasgi: values are native strings, one char per byte.
    for (key, value) in environ {
        if !key.contains('.') && value.chars().any(|c| u32::from(c) > 0xff) {
            return Err(Violation::assertion(format!(
                "Environmental variable {key} is not a native string (a character above U+00FF): {}",
                pyrepr::str(value)
            )));
        }
    }
    let scheme = get("wsgi.url_scheme").ok_or_else(|| key_error("wsgi.url_scheme"))?;
    if scheme != "http" && scheme != "https" {
        return Err(Violation::assertion(format!(
            "wsgi.url_scheme unknown: {}",
            pyrepr::str(scheme)
        )));
    }
    let method = get("REQUEST_METHOD").unwrap_or_default();
    if !KNOWN_METHODS.contains(&method) {
        warnings.push(format!("Unknown REQUEST_METHOD: {}", pyrepr::str(method)));
    }
    let script_name = get("SCRIPT_NAME").ok_or_else(|| key_error("SCRIPT_NAME"))?;
    if !script_name.is_empty() && !script_name.starts_with('/') {
        return Err(Violation::assertion(format!(
            "SCRIPT_NAME doesn't start with /: {}",
            pyrepr::str(script_name)
        )));
    }
    let path_info = get("PATH_INFO").ok_or_else(|| key_error("PATH_INFO"))?;
    if !path_info.is_empty() && !path_info.starts_with('/') {
        return Err(Violation::assertion(format!(
            "PATH_INFO doesn't start with /: {}",
            pyrepr::str(path_info)
        )));
    }
    if let Some(length) = get("CONTENT_LENGTH").filter(|l| !l.is_empty()) {
        match py_int(length) {
            None => return Err(int_error(length)),
            Some(n) if n < 0 => {
                return Err(Violation::assertion(format!(
                    "Invalid CONTENT_LENGTH: {}",
                    pyrepr::str(length)
                )));
            }
            Some(_) => {}
        }
    }
    if script_name == "/" {
        return Err(Violation::assertion(
            "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'",
        ));
    }
    Ok(())
}

/// The start of a validated call: [`check_environ`], then the state that
/// follows the response to this request.
pub fn begin(environ: &Vars, warnings: &mut Vec<String>) -> Result<ResponseState, Violation> {
    check_environ(environ, warnings)?;
    let method = environ.get("REQUEST_METHOD").map_or("", String::as_str);
    Ok(ResponseState::new(method))
}

/// `check_status(status)`: returns the status code. A status whose fourth
/// character is not a space only draws a warning, as in wsgiref.
pub fn check_status(status: &str, warnings: &mut Vec<String>) -> Result<u16, Violation> {
    let code = status
        .split(is_py_space)
        .find(|t| !t.is_empty())
        .ok_or_else(|| Violation {
            kind: "IndexError",
            message: format!(
                "list index out of range (the status {} has no code)",
                pyrepr::str(status)
            ),
        })?;
    if code.chars().count() != 3 {
        return Err(Violation::assertion(format!(
            "Status codes must be three characters: {}",
            pyrepr::str(code)
        )));
    }
    let value = py_int(code).ok_or_else(|| int_error(code))?;
    if value < 100 {
        return Err(Violation::assertion(format!(
            "Status code is invalid: {value}"
        )));
    }
    let chars: Vec<char> = status.chars().collect();
    if chars.len() < 4 || chars[3] != ' ' {
        warnings.push(format!(
            "The status string ({}) should be a three-digit integer followed by a single space and a status explanation",
            pyrepr::str(status)
        ));
    }
    // wasgi: the status line must survive the trip to the wire.
    if let Some(c) = status
        .chars()
        .find(|&c| u32::from(c) > 0xff || (c.is_control() && c != '\t'))
    {
        return Err(Violation::assertion(format!(
            "The status may not contain control characters or characters above U+00FF: {} (bad char: {})",
            pyrepr::str(status),
            pyrepr::str(&c.to_string())
        )));
    }
    // A code outside 100..=999 failed above; this is the exact value.
    Ok(u16::try_from(value).unwrap_or(999))
}

/// `check_headers(headers)`: wsgiref's checks, header by header.
pub fn check_headers(headers: &[(String, String)]) -> Result<(), Violation> {
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("status") {
            return Err(Violation::assertion(format!(
                "The Status header cannot be used; it conflicts with CGI script, and HTTP status is not given through headers (value: {}).",
                pyrepr::str(value)
            )));
        }
        if name.contains(':') || name.contains('\n') {
            return Err(Violation::assertion(format!(
                "Header names may not contain ':' or '\\n': {}",
                pyrepr::str(name)
            )));
        }
        if !is_header_name(name) {
            return Err(Violation::assertion(format!(
                "Bad header name: {}",
                pyrepr::str(name)
            )));
        }
        if name.ends_with('-') || name.ends_with('_') {
            return Err(Violation::assertion(format!(
                "Names may not end in '-' or '_': {}",
                pyrepr::str(name)
            )));
        }
        if let Some(c) = value.chars().find(|&c| u32::from(c) < 0x20) {
            return Err(Violation::assertion(format!(
                "Bad header value: {} (bad char: {})",
                pyrepr::str(value),
                pyrepr::str(&c.to_string())
            )));
        }
    }
    Ok(())
}

/// wasgi's header rules, checked after wsgiref's (so a response both reject
/// gets wsgiref's message): no hop-by-hop names, latin-1 values without DEL,
/// one numeric Content-Length.
pub fn check_wire_headers(headers: &[(String, String)]) -> Result<(), Violation> {
    let mut lengths = 0;
    for (name, value) in headers {
        if is_hop_by_hop(name) {
            return Err(Violation::assertion(format!(
                "Hop-by-hop headers are the server's business, not the application's: {}",
                pyrepr::str(name)
            )));
        }
        if let Some(c) = value.chars().find(|&c| u32::from(c) > 0xff || c == '\x7f') {
            return Err(Violation::assertion(format!(
                "Header values must be latin-1 native strings without DEL: {} (bad char: {})",
                pyrepr::str(value),
                pyrepr::str(&c.to_string())
            )));
        }
        if name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Violation::assertion(format!(
                    "Content-Length must be a non-negative integer: {}",
                    pyrepr::str(value)
                )));
            }
            if lengths > 1 {
                return Err(Violation::assertion(
                    "Content-Length may be given only once",
                ));
            }
        }
    }
    Ok(())
}

/// `check_content_type(status, headers)`: every response needs a
/// Content-Type, except 204 and 304, which must not have one.
pub fn check_content_type(code: u16, headers: &[(String, String)]) -> Result<(), Violation> {
    let found = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let no_body = code == 204 || code == 304;
    if found && no_body {
        return Err(Violation::assertion(format!(
            "Content-Type header found in a {code} response, which must not return content."
        )));
    }
    if !found && !no_body {
        return Err(Violation::assertion(format!(
            "No Content-Type header found in headers ({})",
            pyrepr::pairs(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        )));
    }
    Ok(())
}

/// What the validator tracks for one response: the calls the application
/// makes (start_response, write) and the server makes (iterating, closing).
#[derive(Debug, Default)]
pub struct ResponseState {
    head_request: bool,
    started: bool,
    code: u16,
    declared_length: Option<u64>,
    body_bytes: u64,
    iterated: bool,
    closed: bool,
}

impl ResponseState {
    /// A new response to a request with method `method`: nothing called
    /// yet. (A HEAD response may announce a length without a body.)
    pub fn new(method: &str) -> Self {
        ResponseState {
            head_request: method == "HEAD",
            ..ResponseState::default()
        }
    }

    /// The application calls `start_response(status, headers, exc_info)`.
    pub fn start_response(
        &mut self,
        status: &str,
        headers: &[(String, String)],
        with_exc_info: bool,
        warnings: &mut Vec<String>,
    ) -> Result<(), Violation> {
        // wasgi: wsgiref leaves this to the server.
        if self.started && !with_exc_info {
            return Err(Violation::assertion(
                "start_response() called a second time without exc_info",
            ));
        }
        let code = check_status(status, warnings)?;
        check_headers(headers)?;
        check_content_type(code, headers)?;
        check_wire_headers(headers)?;
        self.started = true;
        self.code = code;
        self.declared_length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok());
        Ok(())
    }

    /// The application calls `write(data)`.
    pub fn write(&mut self, len: usize) -> Result<(), Violation> {
        // wasgi: wsgiref hands out write() only from start_response.
        if !self.started {
            return Err(Violation::assertion(
                "write() called before start_response(); the write callable is what start_response returns",
            ));
        }
        self.count(len)
    }

    /// The server took the next item of the body (`None`: the end).
    pub fn next_item(&mut self, len: Option<usize>) -> Result<(), Violation> {
        if self.closed {
            return Err(Violation::assertion("Iterator read after closed"));
        }
        // Checked on the first item, after it was fetched: an empty body
        // (StopIteration right away) passes, as in wsgiref.
        let first = !self.iterated && len.is_some();
        if len.is_some() {
            self.iterated = true;
        }
        if first && !self.started {
            return Err(Violation::assertion(
                "The application returns and we started iterating over its body, but start_response has not yet been called",
            ));
        }
        match len {
            Some(len) => self.count(len),
            None => {
                // Checked at the end of the body rather than in close(),
                // so the violation is logged before the request's access
                // line and the short response is cut, not completed.
                match self.declared_length {
                    Some(declared) if !self.head_request && self.body_bytes < declared => {
                        Err(Violation::assertion(format!(
                            "The body is shorter than its Content-Length: {} bytes sent, {declared} declared",
                            self.body_bytes
                        )))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// The server calls `close()`.
    pub fn close(&mut self) -> Result<(), Violation> {
        // wasgi: PEP 3333 has the server call close() once.
        if self.closed {
            return Err(Violation::assertion(
                "close() called twice on the application's iterable",
            ));
        }
        self.closed = true;
        Ok(())
    }

    /// Whether `close()` was called.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn count(&mut self, len: usize) -> Result<(), Violation> {
        self.body_bytes += len as u64;
        if len > 0 && (self.code == 204 || self.code == 304) {
            return Err(Violation::assertion(format!(
                "A {} response must not have a body ({len} bytes given)",
                self.code
            )));
        }
        match self.declared_length {
            Some(declared) if self.body_bytes > declared => Err(Violation::assertion(format!(
                "The body is longer than its Content-Length: {} bytes given, {declared} declared",
                self.body_bytes
            ))),
            _ => Ok(()),
        }
    }
}

fn key_error(key: &str) -> Violation {
    Violation {
        kind: "KeyError",
        message: pyrepr::str(key),
    }
}

fn int_error(text: &str) -> Violation {
    Violation {
        kind: "ValueError",
        message: format!(
            "invalid literal for int() with base 10: {}",
            pyrepr::str(text)
        ),
    }
}

/// The header-name pattern `^[a-zA-Z][a-zA-Z0-9\-_]*$`.
fn is_header_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Python's whitespace within the native-string range.
fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Python's `int(text)` for base 10: surrounding whitespace, a sign, and
/// underscores between digits are allowed.
fn py_int(text: &str) -> Option<i128> {
    let t = text.trim_matches(is_py_space);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    // Python's ints are unbounded; past i128 only the sign matters here.
    let value = digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .fold(0i128, |v, d| {
            v.saturating_mul(10).saturating_add(i128::from(d))
        });
    Some(if negative { -value } else { value })
}

#[cfg(target_arch = "wasm32")]
pub use crate::guest::validator::{Validator, validator};
