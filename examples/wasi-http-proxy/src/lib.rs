//! A reverse proxy as a plain `wasi:http/proxy` component: every request is
//! forwarded to `$UPSTREAM` (e.g. `http://127.0.0.1:9000`, passed with
//! `host serve --env UPSTREAM=...`) through `wasi:http/outgoing-handler`,
//! and the upstream's answer streamed back. The host must allow the
//! destination (`--allow-outbound 127.0.0.1:9000`); a refused or failed
//! upstream request answers `502 Bad Gateway` naming the error code, e.g.
//! `HttpRequestDenied`.

use std::io::Write;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingRequest, IncomingResponse, OutgoingBody, OutgoingRequest,
    OutgoingResponse, ResponseOutparam, Scheme,
};

struct Proxy;

impl wasip2::exports::http::incoming_handler::Guest for Proxy {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        match forward(request) {
            Ok(upstream) => relay(upstream, response_out),
            Err(error) => bad_gateway(response_out, &error),
        }
    }
}

/// Sends the request on to the upstream and waits for its response head.
fn forward(request: IncomingRequest) -> Result<IncomingResponse, String> {
    let upstream = std::env::var("UPSTREAM")
        .map_err(|_| "no upstream: set the UPSTREAM environment variable".to_string())?;
    let (scheme, rest) = upstream
        .split_once("://")
        .ok_or_else(|| format!("UPSTREAM={upstream:?} is not an http:// or https:// URL"))?;
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let headers = Fields::from_list(&request.headers().entries())
        .map_err(|e| format!("cannot copy the request headers: {e:?}"))?;
    let outgoing = OutgoingRequest::new(headers);
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let set = outgoing
        .set_method(&request.method())
        .and(outgoing.set_scheme(Some(&match scheme {
            "https" => Scheme::Https,
            _ => Scheme::Http,
        })))
        .and(outgoing.set_authority(Some(authority)))
        .and(outgoing.set_path_with_query(Some(&format!("{base}{path}"))));
    set.map_err(|()| format!("the host refused the upstream request for {upstream}{path}"))?;
    let body = outgoing
        .body()
        .map_err(|()| "the request body was taken twice")?;
    let pending = outgoing_handler::handle(outgoing, None).map_err(describe)?;
    // The request body streams to the upstream before its answer is awaited.
    if let Ok(incoming) = request.consume()
        && let (Ok(mut from), Ok(mut to)) = (incoming.stream(), body.write())
    {
        std::io::copy(&mut from, &mut to).map_err(|e| format!("request body: {e}"))?;
    }
    OutgoingBody::finish(body, None).map_err(describe)?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(describe(code)),
        Some(Err(())) | None => Err("the upstream response was lost".to_string()),
    }
}

/// Streams the upstream's response back to the client.
fn relay(upstream: IncomingResponse, response_out: ResponseOutparam) {
    let headers =
        Fields::from_list(&upstream.headers().entries()).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(upstream.status());
    let body = response.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    let copied = match (upstream.consume(), body.write()) {
        (Ok(incoming), Ok(mut to)) => match incoming.stream() {
            Ok(mut from) => {
                let copied = std::io::copy(&mut from, &mut to).and_then(|_| Write::flush(&mut to));
                drop(from);
                drop(incoming);
                copied.is_ok()
            }
            Err(()) => false,
        },
        _ => false,
    };
    // An unfinished body tells the host the response was cut short.
    if copied {
        let _ = OutgoingBody::finish(body, None);
    }
}

fn bad_gateway(response_out: ResponseOutparam, error: &str) {
    eprintln!("wasi-http-proxy: {error}");
    let text = format!("502 Bad Gateway: {error}\n");
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )])
    .expect("valid headers");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(502);
    let body = response.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(mut stream) = body.write() {
        let _ = stream
            .write_all(text.as_bytes())
            .and_then(|()| Write::flush(&mut stream));
    }
    let _ = OutgoingBody::finish(body, None);
}

fn describe(code: ErrorCode) -> String {
    format!("the upstream request failed: {code:?}")
}

wasip2::http::proxy::export!(Proxy);
