//! A WASIp3 `wasi:http/service` component: `wasi:http@0.3.0` with an async
//! `handle`, written against wit-bindgen alone (what Spin 4 builds by
//! default). Nothing here knows about wasgi.
//!
//! * `/anything`: `Hello from wasi:http 0.3!`, the method and target, and
//!   how many body bytes arrived;
//! * `/stream?n=N`: N lines written by a task of the guest after the
//!   response head went out;
//! * `/lookup?NAME`: the addresses WASIp3's `ip-name-lookup` gives for
//!   NAME, or its error;
//! * `/connect?A.B.C.D:PORT`: a WASIp3 TCP connect there: `connected`, or
//!   its error;
//! * `/count`: which request of its instance this is (`host serve` reuses
//!   a WASIp3 instance for up to 128 requests, 16 at once);
//! * `/sleep?ms=N`: answers after N ms, with the most requests its
//!   instance has had open at once;
//! * `/spin`: computes forever (a CPU limit stops it);
//! * `/panic`: traps before answering;
//! * `/panic-mid-body`: traps after the head and one line.

wit_bindgen::generate!({
    path: "wit",
    world: "hello",
    generate_all,
});

use std::sync::atomic::{AtomicU32, Ordering};

use exports::wasi::http::handler::Guest;
use wasi::http::types::{ErrorCode, Fields, Method, Request, Response};

struct Hello;

/// Requests this instance has taken, has open now, and had open at most.
static TAKEN: AtomicU32 = AtomicU32::new(0);
static OPEN: AtomicU32 = AtomicU32::new(0);
static PEAK: AtomicU32 = AtomicU32::new(0);

/// Counts a request open while it lives.
struct Open;

impl Open {
    fn new() -> Open {
        let open = OPEN.fetch_add(1, Ordering::Relaxed) + 1;
        PEAK.fetch_max(open, Ordering::Relaxed);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Guest for Hello {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let target = request.get_path_with_query().unwrap_or_default();
        let method = match request.get_method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            other => format!("{other:?}"),
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let taken = TAKEN.fetch_add(1, Ordering::Relaxed) + 1;
        let _open = Open::new();
        let lines: Vec<String> = match path {
            "/panic" => panic!("the p3 guest panicked before answering"),
            "/count" => vec![format!("request {taken} of this instance\n")],
            "/sleep" => {
                let ms: u64 = query
                    .strip_prefix("ms=")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(100);
                wasi::clocks::monotonic_clock::wait_for(ms * 1_000_000).await;
                let peak = PEAK.load(Ordering::Relaxed);
                vec![format!(
                    "slept {ms} ms; request {taken} of this instance, at most {peak} open at once\n"
                )]
            }
            "/spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "/connect" => {
                use wasi::sockets::types::{
                    IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket,
                };
                let parsed: Option<std::net::SocketAddrV4> = query.parse().ok();
                let answer = match parsed {
                    None => "error: expected A.B.C.D:PORT\n".to_string(),
                    Some(addr) => {
                        let [a, b, c, d] = addr.ip().octets();
                        let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress {
                            port: addr.port(),
                            address: (a, b, c, d),
                        });
                        match TcpSocket::create(IpAddressFamily::Ipv4) {
                            Err(e) => format!("error: {e:?}\n"),
                            Ok(socket) => match socket.connect(remote).await {
                                Ok(()) => "connected\n".to_string(),
                                Err(e) => format!("error: {e:?}\n"),
                            },
                        }
                    }
                };
                vec![answer]
            }
            "/lookup" => {
                use wasi::sockets::types::IpAddress;
                let answer =
                    match wasi::sockets::ip_name_lookup::resolve_addresses(query.to_string()).await
                    {
                        Ok(addresses) => addresses
                            .iter()
                            .map(|a| match a {
                                IpAddress::Ipv4((a, b, c, d)) => format!("{a}.{b}.{c}.{d}\n"),
                                IpAddress::Ipv6(parts) => format!("{parts:?}\n"),
                            })
                            .collect(),
                        Err(e) => format!("error: {e:?}\n"),
                    };
                vec![answer]
            }
            "/stream" | "/panic-mid-body" => {
                let n = query
                    .strip_prefix("n=")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(3);
                (0..n).map(|i| format!("line {i}\n")).collect()
            }
            _ => {
                let (_, result) = wit_future::new(|| Ok(()));
                let (body, _trailers) = Request::consume_body(request, result);
                let received = body.collect().await;
                vec![format!(
                    "Hello from wasi:http 0.3!\nmethod: {method}\ntarget: {target}\nbody bytes: {}\n",
                    received.len()
                )]
            }
        };
        let fail_mid_body = path == "/panic-mid-body";
        let headers = Fields::from_list(&[(
            "content-type".to_string(),
            b"text/plain; charset=utf-8".to_vec(),
        )])
        .map_err(|e| ErrorCode::InternalError(Some(format!("{e:?}"))))?;
        let (mut body_tx, body_rx) = wit_stream::new();
        let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
        let (response, _sent) = Response::new(headers, Some(body_rx), trailers_rx);
        // The body is written after `handle` has returned the head.
        wit_bindgen::spawn_local(async move {
            for line in lines {
                let rest = body_tx.write_all(line.into_bytes()).await;
                if !rest.is_empty() {
                    return; // the client left
                }
                if fail_mid_body {
                    panic!("the p3 guest panicked in the middle of the body");
                }
            }
            drop(body_tx);
            let _ = trailers_tx.write(Ok(None)).await;
        });
        Ok(response)
    }
}

export!(Hello);
