//! A standard `wasi:http/proxy` component, written against the `wasip2`
//! crate alone, with Rust's std (so it also imports `wasi:cli`): what a
//! user of `wasmtime serve` or Spin builds. Nothing here knows about wasgi.
//!
//! `GET /anything?x=1` answers `Hello from wasi:http!` and the method, path
//! and query it saw; a request with a body gets the body's length back.
//! `$GREETING` (an environment variable, if the host passes one) replaces
//! the greeting.

use std::io::{Read, Write};

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let greeting =
            std::env::var("GREETING").unwrap_or_else(|_| "Hello from wasi:http!".to_string());
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            other => format!("{other:?}"),
        };
        let target = request.path_with_query().unwrap_or_default();
        let mut received = Vec::new();
        if let Ok(body) = request.consume()
            && let Ok(mut stream) = body.stream()
        {
            // Read errors end the body early; the length says so.
            let _ = stream.read_to_end(&mut received);
        }
        let text = format!(
            "{greeting}\nmethod: {method}\ntarget: {target}\nbody bytes: {}\n",
            received.len()
        );
        eprintln!("wasi-http-hello: {method} {target}");

        let headers = Fields::from_list(&[
            (
                "content-type".to_string(),
                b"text/plain; charset=utf-8".to_vec(),
            ),
            (
                "content-length".to_string(),
                text.len().to_string().into_bytes(),
            ),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        {
            let mut stream = body.write().expect("the stream is taken once");
            stream.write_all(text.as_bytes()).expect("write the body");
            // A flush well after the whole length went out: the host has
            // sent the response by then, and the flush must still succeed.
            if target == "/late-flush" {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Write::flush(&mut stream).expect("flush the body");
        }
        OutgoingBody::finish(body, None).expect("finish the body");
        if target == "/late-flush" {
            eprintln!("wasi-http-hello: finished {target}");
        }
    }
}

wasip2::http::proxy::export!(Hello);
