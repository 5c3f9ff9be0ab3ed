//! A standard `wasi:http/proxy` component, written against the `wasip2`
//! crate alone, with Rust's std (so it also imports `wasi:cli`): what a
//! user of `wasmtime serve` or Spin builds. Nothing here knows about wasgi.
//!
//! `GET /anything?x=1` answers `Hello from wasi:http!` and the method, path
//! and query it saw; a request with a body gets the body's length back.
//! `$GREETING` (an environment variable, if the host passes one) replaces
//! the greeting, and `$QUIET` set to anything stops the one log line each
//! request writes to stderr. `GET /bytes?n=N` answers N bytes the guest
//! makes and writes 64 KiB at a time (the benchmark's streamed body).

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
        if std::env::var_os("QUIET").is_none() {
            eprintln!("wasi-http-hello: {method} {target}");
        }
        let streamed: Option<u64> = target
            .strip_prefix("/bytes?n=")
            .and_then(|n| n.parse().ok());
        let length = streamed.unwrap_or(text.len() as u64);

        let headers = Fields::from_list(&[
            (
                "content-type".to_string(),
                b"text/plain; charset=utf-8".to_vec(),
            ),
            (
                "content-length".to_string(),
                length.to_string().into_bytes(),
            ),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        {
            let mut stream = body.write().expect("the stream is taken once");
            match streamed {
                Some(mut left) => {
                    let block = [b'x'; 64 * 1024];
                    while left > 0 {
                        let n = left.min(block.len() as u64) as usize;
                        if stream.write_all(&block[..n]).is_err() {
                            return; // the client left
                        }
                        left -= n as u64;
                    }
                }
                None => stream.write_all(text.as_bytes()).expect("write the body"),
            }
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
