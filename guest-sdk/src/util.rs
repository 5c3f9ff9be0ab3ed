//! `wsgiref.util`: environ helpers, shared by guests and the host.
//!
//! Functions take the environ's native-string entries ([`Vars`]): the CGI
//! variables plus `wsgi.url_scheme`. Values are native strings (one char per
//! byte, U+0000..U+00FF), so URL quoting works on bytes exactly as CPython's
//! `quote(s, encoding='latin1')` does.

use std::collections::BTreeMap;
use std::fmt;

pub use crate::file_wrapper::FileWrapper;

/// The native-string entries of a WSGI environ, keyed by name.
pub type Vars = BTreeMap<String, String>;

/// Why an environ helper could not produce its result. Each variant is the
/// exception CPython raises in the same situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironError {
    /// A required key is missing (`KeyError`).
    MissingKey(String),
    /// A value has a character above U+00FF, so it is not a native string
    /// (`UnicodeEncodeError` with the latin-1 codec).
    NotLatin1 {
        /// The key whose value is at fault.
        key: String,
        /// The first offending character.
        ch: char,
        /// Its position in the value, in characters.
        position: usize,
    },
    /// `shift_path_info` was given a non-empty PATH_INFO without any `/`
    /// (`IndexError`).
    NoSlash(String),
}

impl EnvironError {
    /// The Python exception class this error stands for.
    pub fn kind(&self) -> &'static str {
        match self {
            EnvironError::MissingKey(_) => "KeyError",
            EnvironError::NotLatin1 { .. } => "UnicodeEncodeError",
            EnvironError::NoSlash(_) => "IndexError",
        }
    }
}

impl fmt::Display for EnvironError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvironError::MissingKey(key) => write!(f, "{}", crate::pyrepr::str(key)),
            EnvironError::NotLatin1 { ch, position, .. } => write!(
                f,
                "'latin-1' codec can't encode character '\\u{:04x}' in position {position}: ordinal not in range(256)",
                *ch as u32
            ),
            EnvironError::NoSlash(_) => f.write_str("list index out of range"),
        }
    }
}

impl std::error::Error for EnvironError {}

/// `guess_scheme(environ)`: `"https"` when `HTTPS` is exactly `yes`, `on` or
/// `1`, otherwise `"http"`. Nothing else is consulted.
pub fn guess_scheme(environ: &Vars) -> &'static str {
    match environ.get("HTTPS").map(String::as_str) {
        Some("yes" | "on" | "1") => "https",
        _ => "http",
    }
}

/// `application_uri(environ)`: the base URI of the application, from
/// `wsgi.url_scheme`, `HTTP_HOST` (verbatim) or `SERVER_NAME` plus a
/// non-default `SERVER_PORT`, and the quoted `SCRIPT_NAME` (or `/`).
pub fn application_uri(environ: &Vars) -> Result<String, EnvironError> {
    let scheme = require(environ, "wsgi.url_scheme")?;
    let mut url = format!("{scheme}://");
    match environ.get("HTTP_HOST").filter(|h| !h.is_empty()) {
        Some(host) => url.push_str(host),
        None => {
            url.push_str(require(environ, "SERVER_NAME")?);
            let port = require(environ, "SERVER_PORT")?;
            let default = if scheme == "https" { "443" } else { "80" };
            if port != default {
                url.push(':');
                url.push_str(port);
            }
        }
    }
    let script_name = environ
        .get("SCRIPT_NAME")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("/");
    url.push_str(&quote(script_name, b"/", "SCRIPT_NAME")?);
    Ok(url)
}

/// `request_uri(environ, include_query)`: the full request URI. PATH_INFO is
/// quoted with `/;=,` kept; when SCRIPT_NAME is empty the first character of
/// the quoted path is dropped (it is assumed to be the `/` that
/// [`application_uri`] already ends with). The query is appended verbatim.
pub fn request_uri(environ: &Vars, include_query: bool) -> Result<String, EnvironError> {
    let mut url = application_uri(environ)?;
    let path_info = environ.get("PATH_INFO").map(String::as_str).unwrap_or("");
    let path = quote(path_info, b"/;=,", "PATH_INFO")?;
    let script_name_empty = environ.get("SCRIPT_NAME").is_none_or(|s| s.is_empty());
    if script_name_empty {
        // Quoted text is ASCII, so slicing at byte 1 is a char boundary.
        url.push_str(path.get(1..).unwrap_or(""));
    } else {
        url.push_str(&path);
    }
    if include_query && let Some(query) = environ.get("QUERY_STRING").filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// `shift_path_info(environ)`: moves one segment from PATH_INFO to
/// SCRIPT_NAME and returns it.
///
/// Returns `Ok(None)` without touching the environ when PATH_INFO is empty
/// or missing, and `Ok(None)` *after* updating it when the segment is `.`.
/// Empty and `.` interior segments are skipped; SCRIPT_NAME is normalised
/// like `posixpath.normpath`; a PATH_INFO of `/` moves a trailing slash onto
/// SCRIPT_NAME and returns `""`.
pub fn shift_path_info(environ: &mut Vars) -> Result<Option<String>, EnvironError> {
    let path_info = match environ.get("PATH_INFO") {
        Some(p) if !p.is_empty() => p.clone(),
        _ => return Ok(None),
    };
    let mut parts: Vec<&str> = path_info.split('/').collect();
    if parts.len() < 2 {
        return Err(EnvironError::NoSlash(path_info));
    }
    let last = parts.len() - 1;
    let mut kept: Vec<&str> = Vec::with_capacity(parts.len());
    kept.push(parts[0]);
    kept.extend(
        parts[1..last]
            .iter()
            .copied()
            .filter(|p| !p.is_empty() && *p != "."),
    );
    kept.push(parts[last]);
    parts = kept;
    let name = parts.remove(1).to_string();

    let old_script = environ.get("SCRIPT_NAME").map(String::as_str).unwrap_or("");
    let mut script_name = normpath(&format!("{old_script}/{name}"));
    if script_name.ends_with('/') {
        script_name.pop();
    }
    if name.is_empty() && !script_name.ends_with('/') {
        script_name.push('/');
    }
    let new_path_info = parts.join("/");
    environ.insert("SCRIPT_NAME".to_string(), script_name);
    environ.insert("PATH_INFO".to_string(), new_path_info);
    Ok(if name == "." { None } else { Some(name) })
}

/// `setup_testing_defaults(environ)`: fills in the CGI and `wsgi.url_scheme`
/// entries a test environ needs, never overwriting a key that is present.
///
/// The typed `wsgi.*` values (version, run_once, multithread, multiprocess,
/// input, errors) are fields of an environ, not entries of [`Vars`]; their
/// defaults are `(1, 0)`, false, false, false and empty streams.
pub fn setup_testing_defaults(environ: &mut Vars) {
    fn setdefault(environ: &mut Vars, key: &str, value: String) {
        environ.entry(key.to_string()).or_insert(value);
    }
    setdefault(environ, "SERVER_NAME", "127.0.0.1".into());
    setdefault(environ, "SERVER_PROTOCOL", "HTTP/1.0".into());
    let server_name = environ.get("SERVER_NAME").cloned().unwrap_or_default();
    setdefault(environ, "HTTP_HOST", server_name);
    setdefault(environ, "REQUEST_METHOD", "GET".into());
    if !environ.contains_key("SCRIPT_NAME") && !environ.contains_key("PATH_INFO") {
        environ.insert("SCRIPT_NAME".into(), String::new());
        environ.insert("PATH_INFO".into(), "/".into());
    }
    let scheme = guess_scheme(environ).to_string();
    setdefault(environ, "wsgi.url_scheme", scheme);
    let port = match environ.get("wsgi.url_scheme").map(String::as_str) {
        Some("http") => Some("80"),
        Some("https") => Some("443"),
        _ => None,
    };
    if let Some(port) = port {
        setdefault(environ, "SERVER_PORT", port.into());
    }
}

/// `is_hop_by_hop(header_name)`: true for the RFC 2616 hop-by-hop names
/// wsgiref lists (note: `Trailers`, not `Trailer`), compared case-insensitively
/// with no trimming.
pub fn is_hop_by_hop(header_name: &str) -> bool {
    const HOP_BY_HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    ];
    let lower = crate::headers::lower(header_name);
    HOP_BY_HOP.contains(&lower.as_ref())
}

/// Percent-encodes a native string as latin-1 bytes, keeping the unreserved
/// characters (`A-Z a-z 0-9 _ . - ~`) and `safe`; uppercase hex.
fn quote(value: &str, safe: &[u8], key: &str) -> Result<String, EnvironError> {
    let mut out = String::with_capacity(value.len());
    for (position, ch) in value.chars().enumerate() {
        let cp = ch as u32;
        if cp > 0xff {
            return Err(EnvironError::NotLatin1 {
                key: key.to_string(),
                ch,
                position,
            });
        }
        let byte = cp as u8;
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) || safe.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    Ok(out)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `posixpath.normpath`: collapses slashes (keeping exactly two leading
/// ones), drops `.`, resolves `..` lexically, and gives `.` for an empty
/// relative result.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let initial_slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        let keep = comp != ".."
            || (initial_slashes == 0 && comps.is_empty())
            || comps.last() == Some(&"..");
        if keep {
            comps.push(comp);
        } else {
            comps.pop();
        }
    }
    let joined = comps.join("/");
    let result = format!("{}{joined}", "/".repeat(initial_slashes));
    if result.is_empty() {
        ".".to_string()
    } else {
        result
    }
}

/// Maps a native string to the bytes it stands for, or `None` when it holds
/// a character above U+00FF.
pub fn to_bytes(native: &str) -> Option<Vec<u8>> {
    native
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// The bytes of a native string that was checked to be one: a character
/// above U+00FF (which a check should have refused) becomes `?`.
pub fn latin1_bytes(native: &str) -> Vec<u8> {
    native
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Maps bytes to the native string that stands for them (ISO-8859-1).
pub fn from_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `environ[key]`: the value, or `KeyError`.
fn require<'a>(environ: &'a Vars, key: &str) -> Result<&'a str, EnvironError> {
    environ
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| EnvironError::MissingKey(key.to_string()))
}
