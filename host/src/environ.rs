//! Building the WSGI environ of an HTTP request (wsgiref's
//! `WSGIRequestHandler.get_environ`).
//!
//! wsgiref's rules, with these deliberate departures:
//! * header names containing `_` are dropped (they would merge with their
//!   `-` spelling into one `HTTP_` key, which lets clients spoof headers a
//!   proxy vetted);
//! * the request target is what hyper accepts: a fragment is not part of
//!   it, and an absolute-form target contributes only its path.

use std::net::IpAddr;

use http::{HeaderMap, Method, Uri, Version};
use wasgi::Vars;

/// The request-dependent part of an environ, on top of `base` (the
/// server's `base_environ`).
pub fn request_environ(
    base: &Vars,
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    remote_addr: IpAddr,
    server_software: &str,
) -> Vars {
    let mut env = base.clone();
    env.insert("SERVER_PROTOCOL".into(), protocol(version).into());
    env.insert("SERVER_SOFTWARE".into(), server_software.into());
    env.insert("REQUEST_METHOD".into(), method.as_str().into());
    env.insert("PATH_INFO".into(), path_info(uri.path()));
    env.insert(
        "QUERY_STRING".into(),
        uri.query().unwrap_or_default().into(),
    );
    env.insert("REMOTE_ADDR".into(), remote_ip(remote_addr).to_string());
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| strip(&native(v.as_bytes())).to_string())
        .unwrap_or_else(|| "text/plain".into());
    env.insert("CONTENT_TYPE".into(), content_type);
    if let Some(length) = headers
        .get(http::header::CONTENT_LENGTH)
        .map(|v| strip(&native(v.as_bytes())).to_string())
        .filter(|v| !v.is_empty())
    {
        env.insert("CONTENT_LENGTH".into(), length);
    }
    for name in headers.keys() {
        let name = name.as_str();
        if name.contains('_') {
            continue;
        }
        let key = name.replace('-', "_").to_ascii_uppercase();
        if env.contains_key(&key) {
            continue;
        }
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| strip(&native(v.as_bytes())).to_string())
            .collect::<Vec<_>>()
            .join(",");
        env.entry(format!("HTTP_{key}"))
            .and_modify(|v| {
                v.push(',');
                v.push_str(&joined);
            })
            .or_insert(joined);
    }
    env
}

/// `SERVER_PROTOCOL` for a request version.
pub fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// PATH_INFO from the raw path: a leading run of slashes becomes one (as
/// CPython 3.11 does against open redirects), then every `%XX` becomes the
/// byte it encodes, shown as latin-1. Invalid escapes stay as they are.
pub fn path_info(path: &str) -> String {
    let path = if path.starts_with("//") {
        format!("/{}", path.trim_start_matches('/'))
    } else {
        path.to_string()
    };
    wasgi::util::from_bytes(&percent_decode(path.as_bytes()))
}

fn percent_decode(raw: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// An IPv4 address mapped into IPv6 shown as plain IPv4.
fn remote_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn native(bytes: &[u8]) -> String {
    wasgi::util::from_bytes(bytes)
}

/// Python's `str.strip()` over a native string: ASCII whitespace, the
/// `\x1c`-`\x1f` separators, NEL and NBSP.
fn strip(value: &str) -> &str {
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
}
