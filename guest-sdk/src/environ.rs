//! The CGI variables of an HTTP request: wsgiref's
//! `WSGIRequestHandler.get_environ`, written once for the host's server and
//! for a guest that receives requests over `wasi:http`.
//!
//! wsgiref's rules, with these deliberate departures:
//! * header names containing `_` are dropped (they would merge with their
//!   `-` spelling into one `HTTP_` key, which lets clients spoof headers a
//!   proxy vetted);
//! * a leading run of slashes in the path becomes one (as CPython 3.11 does
//!   against open redirects).

use crate::util::{Vars, from_bytes};

/// What [`request_environ`] needs of a request besides its headers.
#[derive(Clone, Copy, Debug)]
pub struct RequestLine<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without the `?`.
    pub query: Option<&'a str>,
    /// `SERVER_PROTOCOL`, e.g. `HTTP/1.1`.
    pub protocol: &'a str,
    /// The client's address, when the transport knows it.
    pub remote_addr: Option<&'a str>,
}

/// The request's CGI variables on top of `base` (the server's
/// `base_environ`): `SERVER_PROTOCOL`, `SERVER_SOFTWARE`, `REQUEST_METHOD`,
/// `PATH_INFO`, `QUERY_STRING`, `REMOTE_ADDR`, `CONTENT_TYPE`,
/// `CONTENT_LENGTH` and one `HTTP_*` key per header name (repeated headers
/// joined with `,`). Header values are bytes, kept as native strings.
pub fn request_environ<'h, I>(
    base: &Vars,
    request: &RequestLine<'_>,
    headers: I,
    server_software: &str,
) -> Vars
where
    I: IntoIterator<Item = (&'h str, &'h [u8])>,
    I::IntoIter: Clone,
{
    let headers = headers.into_iter();
    let first = |wanted: &str| {
        headers
            .clone()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| strip(&from_bytes(value)).to_string())
    };
    let mut env = base.clone();
    env.insert("SERVER_PROTOCOL".into(), request.protocol.into());
    env.insert("SERVER_SOFTWARE".into(), server_software.into());
    env.insert("REQUEST_METHOD".into(), request.method.into());
    env.insert("PATH_INFO".into(), path_info(request.path));
    env.insert(
        "QUERY_STRING".into(),
        request.query.unwrap_or_default().into(),
    );
    if let Some(addr) = request.remote_addr {
        env.insert("REMOTE_ADDR".into(), addr.into());
    }
    let content_type = first("content-type").unwrap_or_else(|| "text/plain".into());
    env.insert("CONTENT_TYPE".into(), content_type);
    if let Some(length) = first("content-length").filter(|v| !v.is_empty()) {
        env.insert("CONTENT_LENGTH".into(), length);
    }
    // wsgiref's loop, one header line at a time: a name that folds onto a
    // key already present (CONTENT_TYPE, an earlier HTTP_ key) is skipped.
    for (name, value) in headers {
        if name.contains('_') {
            continue;
        }
        let key = name.replace('-', "_").to_ascii_uppercase();
        if env.contains_key(&key) {
            continue;
        }
        let value = strip(&from_bytes(value)).to_string();
        env.entry(format!("HTTP_{key}"))
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    env
}

/// PATH_INFO from the raw path: a leading run of slashes becomes one, then
/// every `%XX` becomes the byte it encodes, shown as latin-1. Invalid
/// escapes stay as they are.
pub fn path_info(path: &str) -> String {
    let path = if path.starts_with("//") {
        format!("/{}", path.trim_start_matches('/'))
    } else {
        path.to_string()
    };
    from_bytes(&crate::parse::percent_decode(path.as_bytes()))
}

/// Python's `str.strip()` over a native string: ASCII whitespace, the
/// `\x1c`-`\x1f` separators, NEL and NBSP.
pub fn strip(value: &str) -> &str {
    value.trim_matches(|c: char| {
        matches!(
            c,
            '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}'
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_info_decodes_bytes_as_latin1() {
        assert_eq!(path_info("/a%20b/caf%C3%A9"), "/a b/caf\u{c3}\u{a9}");
        assert_eq!(path_info("/%E9%ff%2f%25"), "/\u{e9}\u{ff}/%");
        assert_eq!(path_info("/a+b%2Fc%zz%00"), "/a+b/c%zz\u{0}");
        assert_eq!(path_info("/%"), "/%");
        assert_eq!(path_info("/%4"), "/%4");
        assert_eq!(path_info("/%41"), "/A");
        assert_eq!(path_info("//evil.com//x"), "/evil.com//x");
        assert_eq!(path_info("/caf\u{e9}"), "/caf\u{c3}\u{a9}");
    }

    #[test]
    fn strip_matches_python() {
        assert_eq!(strip("\u{a0}v\u{a0}"), "v");
        assert_eq!(strip("\tv\t"), "v");
        assert_eq!(strip(""), "");
    }

    #[test]
    fn headers_fold_like_wsgiref() {
        let request = RequestLine {
            method: "POST",
            path: "/x",
            query: None,
            protocol: "HTTP/1.1",
            remote_addr: None,
        };
        let headers: [(&str, &[u8]); 6] = [
            ("content-type", b" application/json "),
            ("content-length", b"5"),
            ("x-a", b"1"),
            ("x_a", b"spoof"),
            ("x-a", b"2"),
            ("accept", b"caf\xc3\xa9"),
        ];
        let env = request_environ(&Vars::new(), &request, headers, "t");
        assert_eq!(env["CONTENT_TYPE"], "application/json");
        assert_eq!(env["CONTENT_LENGTH"], "5");
        assert_eq!(env["HTTP_X_A"], "1,2");
        assert_eq!(env["HTTP_ACCEPT"], "caf\u{c3}\u{a9}");
        assert!(!env.contains_key("HTTP_CONTENT_TYPE"));
        assert!(!env.contains_key("REMOTE_ADDR"));
        assert_eq!(env["QUERY_STRING"], "");
    }
}
