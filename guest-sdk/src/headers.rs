//! `wsgiref.headers`: a case-insensitive mapping over an ordered list of
//! response headers, plus the checks that keep a header off the wire when it
//! could not be sent safely.

use std::fmt;

/// Why a header cannot be written to the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The name is empty or has a character that is not an HTTP token
    /// character (`A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~`).
    BadName {
        /// The offending name.
        name: String,
    },
    /// The value has a control character (CR, LF, NUL, DEL or any other
    /// except TAB), which would split or corrupt the header block.
    ControlChar {
        /// The header's name.
        name: String,
        /// The offending value.
        value: String,
        /// The first offending character.
        ch: char,
    },
    /// A character above U+00FF: headers are native strings (latin-1).
    NotLatin1 {
        /// The header's name.
        name: String,
        /// The offending value.
        value: String,
        /// The first offending character.
        ch: char,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::pyrepr::str as r;
        match self {
            HeaderError::BadName { name } => write!(
                f,
                "header names must be non-empty HTTP tokens (got {})",
                r(name)
            ),
            HeaderError::ControlChar { name, value, ch } => write!(
                f,
                "header values must not contain control characters such as CR or LF ({} has {} in {})",
                r(name),
                r(&ch.to_string()),
                r(value)
            ),
            HeaderError::NotLatin1 { name, value, ch } => write!(
                f,
                "header values must be latin-1 native strings ({} has {} in {})",
                r(name),
                r(&ch.to_string()),
                r(value)
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Python's `str.lower()` of a header name (no allocation for ASCII
/// lowercase names).
pub fn lower(name: &str) -> std::borrow::Cow<'_, str> {
    if name
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        std::borrow::Cow::Owned(name.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Whether two header names are the same, compared as Python's
/// `Headers` compares them (`a.lower() == b.lower()`).
fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether `b` may appear in an HTTP token (RFC 9110 `tchar`).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks that `name` can be written as a header name.
pub fn check_name(name: &str) -> Result<(), HeaderError> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(HeaderError::BadName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Checks that `value` can be written as the value of header `name`: latin-1
/// and no control characters other than TAB.
pub fn check_value(name: &str, value: &str) -> Result<(), HeaderError> {
    for ch in value.chars() {
        let cp = ch as u32;
        if cp > 0xff {
            return Err(HeaderError::NotLatin1 {
                name: name.to_string(),
                value: value.to_string(),
                ch,
            });
        }
        if (cp < 0x20 && ch != '\t') || cp == 0x7f {
            return Err(HeaderError::ControlChar {
                name: name.to_string(),
                value: value.to_string(),
                ch,
            });
        }
    }
    Ok(())
}

/// Checks both halves of a header.
pub fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    check_name(name)?;
    check_value(name, value)
}

/// Formats one MIME parameter as `add_header` does: a bare `param` when the
/// value is absent or empty, otherwise `param="value"` with `\` and `"`
/// backslash-escaped (`add_header` always quotes).
pub fn format_param(param: &str, value: Option<&str>) -> String {
    match value {
        None | Some("") => param.to_string(),
        Some(v) => {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{param}=\"{escaped}\"")
        }
    }
}

/// Response headers: an ordered list of `(name, value)` pairs with
/// case-insensitive lookups, as `wsgiref.headers.Headers`.
///
/// Lookups of a missing name give `None` rather than an error; setting a
/// name replaces every existing entry and appends the new one at the end;
/// duplicates are kept everywhere else.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    items: Vec<(String, String)>,
}

impl Headers {
    /// Wraps a list of headers (`Headers(headers)`).
    pub fn new(items: Vec<(String, String)>) -> Self {
        Headers { items }
    }

    /// The number of entries, duplicates included (`len(h)`).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first value of `name`, or `None` (`h[name]`, `h.get(name)`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| same_name(k, name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or `default` (`h.get(name, default)`).
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// Whether `name` is present, even with an empty value (`name in h`).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every value of `name`, in order (`h.get_all(name)`).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.items
            .iter()
            .filter(|(k, _)| same_name(k, name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Removes every entry of `name`, then appends `(name, value)` at the end,
    /// keeping the caller's spelling of the name (`h[name] = value`).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.items.push((name, value.into()));
    }

    /// Removes every entry of `name`; a missing name is not an error
    /// (`del h[name]`).
    pub fn remove(&mut self, name: &str) {
        self.items.retain(|(k, _)| !same_name(k, name));
    }

    /// Returns the first value of `name`; when there is none, appends
    /// `(name, value)` and returns `value` (`h.setdefault(name, value)`).
    pub fn setdefault(&mut self, name: &str, value: &str) -> &str {
        match self.items.iter().position(|(k, _)| same_name(k, name)) {
            Some(i) => &self.items[i].1,
            None => {
                self.items.push((name.to_string(), value.to_string()));
                &self.items[self.items.len() - 1].1
            }
        }
    }

    /// Appends a header with MIME parameters, never replacing an existing
    /// one (`h.add_header(name, value, **params)`).
    ///
    /// The value (when given) comes first, then each parameter in order:
    /// `_` in its name becomes `-`; a `None` or empty value gives the bare
    /// name; any other value is quoted. Parts are joined with `"; "`.
    pub fn add_header(&mut self, name: &str, value: Option<&str>, params: &[(&str, Option<&str>)]) {
        let mut parts: Vec<String> = Vec::with_capacity(params.len() + 1);
        if let Some(v) = value {
            parts.push(v.to_string());
        }
        for (param, pvalue) in params {
            parts.push(format_param(&param.replace('_', "-"), *pvalue));
        }
        self.items.push((name.to_string(), parts.join("; ")));
    }

    /// Every name in order, duplicates included (`h.keys()`).
    pub fn keys(&self) -> Vec<&str> {
        self.items.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Every value in order, duplicates included (`h.values()`).
    pub fn values(&self) -> Vec<&str> {
        self.items.iter().map(|(_, v)| v.as_str()).collect()
    }

    /// The entries in order (`h.items()`).
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }

    /// Gives the list back.
    pub fn into_inner(self) -> Vec<(String, String)> {
        self.items
    }

    /// Checks every entry with [`check_header`].
    pub fn check(&self) -> Result<(), HeaderError> {
        self.items.iter().try_for_each(|(k, v)| check_header(k, v))
    }

    /// The wire form (`bytes(h)`): `Name: value\r\n` per entry, then a blank
    /// line, as latin-1 bytes. Unlike CPython, an entry that could not be
    /// written safely is an error and nothing is produced.
    pub fn to_bytes(&self) -> Result<Vec<u8>, HeaderError> {
        self.check()?;
        Ok(crate::util::latin1_bytes(&self.to_string()))
    }
}

/// The `(name, value)` pairs in order, so `Headers` can be handed to
/// `start_response` as they are.
impl IntoIterator for Headers {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl From<Vec<(String, String)>> for Headers {
    fn from(items: Vec<(String, String)>) -> Self {
        Headers::new(items)
    }
}

impl<'a> From<&[(&'a str, &'a str)]> for Headers {
    fn from(items: &[(&'a str, &'a str)]) -> Self {
        Headers::new(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

/// `str(h)`: each entry as `name: value\r\n`, then `\r\n`. No checks: see
/// [`Headers::to_bytes`] for the form that may go on the wire.
impl fmt::Display for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.items {
            write!(f, "{k}: {v}\r\n")?;
        }
        f.write_str("\r\n")
    }
}

/// `repr(h)`: `Headers([('a', 'b')])`.
impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = crate::pyrepr::pairs(self.items.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        write!(f, "Headers({pairs})")
    }
}
