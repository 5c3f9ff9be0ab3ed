//! What the server settles about a request before any app sees it: the
//! request's authority, resolved once, and the RFC 9112 rules that make a
//! request one no app must see.

use http::{HeaderValue, Method, StatusCode};

/// Settles the request's authority once, for the router, the environ and
/// a `wasi:http` guest alike: an absolute-form target's authority replaces
/// the `Host` header (RFC 9112 §3.2.2: the server must ignore the header
/// then), as a proxy forwarding the request must write it.
pub(crate) fn resolve_authority(parts: &mut http::request::Parts) {
    // HTTP/2 carries the authority in the URI (`:authority`) of every
    // request; only an HTTP/1 target with a scheme is absolute-form.
    if parts.version == http::Version::HTTP_2 || parts.uri.scheme().is_none() {
        return;
    }
    if let Some(authority) = parts.uri.authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(http::header::HOST, value);
    }
}

/// The authority routing compares: the `Host` header (HTTP/1, after
/// [`resolve_authority`]) or the URI's (HTTP/2).
pub(crate) fn authority(parts: &http::request::Parts) -> Option<&str> {
    (parts.headers.get(http::header::HOST))
        .and_then(|h| h.to_str().ok())
        .or(parts.uri.host())
}

/// What makes a request one the app must not see (RFC 9112 §3.2,
/// §3.2.3, §3.2.4, §6.1): the status and the reason.
pub(crate) fn malformed(parts: &http::request::Parts) -> Option<(StatusCode, String)> {
    let bad = |why: &str| Some((StatusCode::BAD_REQUEST, format!("Bad request: {why}.\n")));
    let hosts = parts.headers.get_all(http::header::HOST).iter().count();
    if hosts > 1 {
        return bad("more than one Host header");
    }
    if hosts == 0 && parts.version == http::Version::HTTP_11 {
        return bad("an HTTP/1.1 request needs a Host header");
    }
    if parts.headers.contains_key(http::header::CONTENT_LENGTH)
        && parts.headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        return bad("both Transfer-Encoding and Content-Length");
    }
    if parts.method == Method::CONNECT {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not supported: this server is not a proxy.\n".to_string(),
        ));
    }
    let uri = &parts.uri;
    if uri.scheme().is_none() && uri.authority().is_some() {
        return bad("the authority form of a target is for CONNECT only");
    }
    if uri.path() == "*" && parts.method != Method::OPTIONS {
        return bad("the asterisk form of a target is for OPTIONS only");
    }
    None
}
