//! Outbound HTTP for apps that call other services
//! (`wasi:http/outgoing-handler`), blocking, like `urllib.request`.
//!
//! The host decides where requests may go: `host serve --allow-outbound
//! HOST[:PORT]`. A request it refuses fails with a `URLError` whose message
//! names `HttpRequestDenied` (and the host logs one line naming the
//! destination).
//!
//! ```ignore
//! let answer = wasgi::client::get("http://127.0.0.1:9000/api")?;
//! assert_eq!(answer.status, 200);
//! ```

use std::io::{Read, Write};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

use crate::Error;

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// `GET url`.
pub fn get(url: &str) -> crate::Result<Response> {
    request("GET", url, &[], &[])
}

/// Sends `method url` with `headers` and `body`, and reads the response
/// whole. `url` is `http://` or `https://`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> crate::Result<Response> {
    let url_error = |message: String| Error::new("URLError", message);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| url_error(format!("unknown url type: {url:?}")))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(url_error(format!("unknown url type: {other:?}"))),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
        .collect();
    let fields = Fields::from_list(&entries)
        .map_err(|e| url_error(format!("the host refused the headers: {e:?}")))?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    outgoing
        .set_method(&method)
        .and(outgoing.set_scheme(Some(&scheme)))
        .and(outgoing.set_authority(Some(authority)))
        .and(outgoing.set_path_with_query(Some(&path)))
        .map_err(|()| url_error(format!("the host refused the request for {url}")))?;
    let outgoing_body = outgoing
        .body()
        .map_err(|()| url_error("the request body was taken twice".into()))?;
    let pending =
        outgoing_handler::handle(outgoing, None).map_err(|e| url_error(format!("{e:?}")))?;
    // A request the host refused has a closed body stream: what went wrong
    // is the response's error, so a failed body write is reported only when
    // there is a response.
    let sent = send_body(outgoing_body, body);
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(url_error(format!("{code:?}"))),
        Some(Err(())) | None => return Err(url_error("the response was lost".into())),
    };
    sent.map_err(url_error)?;
    let status = response.status();
    let headers = response.headers().entries();
    let mut received = Vec::new();
    let incoming = response
        .consume()
        .map_err(|()| url_error("the response body was taken twice".into()))?;
    {
        let mut stream = incoming
            .stream()
            .map_err(|()| url_error("the response stream was taken twice".into()))?;
        stream
            .read_to_end(&mut received)
            .map_err(|e| url_error(format!("reading the response: {e}")))?;
    }
    drop(incoming);
    Ok(Response {
        status,
        headers,
        body: received,
    })
}

fn send_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), String> {
    if !body.is_empty() {
        let mut stream = outgoing
            .write()
            .map_err(|()| "the request stream was taken twice".to_string())?;
        stream
            .write_all(body)
            .and_then(|()| Write::flush(&mut stream))
            .map_err(|e| format!("sending the request body: {e}"))?;
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("{e:?}"))
}
