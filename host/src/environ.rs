//! Building the WSGI environ of an HTTP request (wsgiref's
//! `WSGIRequestHandler.get_environ`): hyper's request head fed to the
//! rules in [`wasgi::environ`], which a guest serving `wasi:http` shares.
//! The request target is what hyper accepts: a fragment is not part of it,
//! and an absolute-form target contributes only its path.

use std::net::IpAddr;

use http::{HeaderMap, Method, Uri, Version};
use wasgi::Vars;
use wasgi::environ::RequestLine;

pub use wasgi::environ::path_info;

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
    let remote_addr = remote_ip(remote_addr).to_string();
    let request = RequestLine {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        protocol: protocol(version),
        remote_addr: Some(&remote_addr),
    };
    // `wsgi.input` arrives de-chunked, so `Transfer-Encoding` no longer
    // describes it: an app that decodes chunks itself (bottle does, when it
    // sees HTTP_TRANSFER_ENCODING) would read garbage.
    let mut headers: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(n, _)| **n != http::header::TRANSFER_ENCODING)
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    // HTTP/2 carries the host in `:authority`, not in a Host header.
    if let Some(authority) = uri.authority()
        && !headers.iter().any(|(n, _)| *n == "host")
    {
        headers.push(("host", authority.as_str().as_bytes()));
    }
    wasgi::environ::request_environ(base, &request, headers.iter().copied(), server_software)
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

/// An IPv4 address mapped into IPv6 shown as plain IPv4.
fn remote_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}
